//! The registry's PROV views, row by row, as PROV records: which columns each kind reads and
//! which PROV attribute each column becomes. The views (schema migration V5) decide the
//! graph and the ids; this module only names and types what they hold.

use calprov_prov::{Kind, Record, Value, param_name};
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde_json::Value as Json;

use crate::json::parse_python_json;

/// One kind's view and the columns read from it, in the order [`fill`] expects them.
pub(super) struct Source {
    pub(super) kind: Kind,
    pub(super) view: &'static str,
    /// How many of the kind's formal attributes the view holds, right after the id.
    pub(super) formal: usize,
    pub(super) columns: &'static str,
}

/// The export's passes, relations first: for a part of the graph, the relations say which
/// entities and agents it needs (PROV-JSON's sections may come in any order).
pub(super) const SOURCES: [Source; 7] = [
    Source {
        kind: Kind::Used,
        view: "prov_used",
        formal: 3,
        columns: "used_id, used_act_id, used_ent_id, used_time, used_ent_role, calprov_index, \
                  calprov_interp, calprov_gainfield, calprov_spwmap",
    },
    Source {
        kind: Kind::WasGeneratedBy,
        view: "prov_was_generated_by",
        formal: 3,
        columns: "wgb_id, wgb_ent_id, wgb_act_id, wgb_time",
    },
    Source {
        kind: Kind::WasDerivedFrom,
        view: "prov_was_derived_from",
        formal: 3,
        columns: "wdf_id, wdf_generated_ent_id, wdf_used_ent_id, wdf_act_id, wdf_type",
    },
    Source {
        kind: Kind::WasAssociatedWith,
        view: "prov_was_associated_with",
        formal: 2,
        columns: "waw_id, waw_act_id, waw_agent_id",
    },
    Source {
        kind: Kind::Activity,
        view: "prov_activity",
        formal: 2,
        columns: "act_id, act_start_time, act_end_time, act_name, act_type, calprov_command, \
                  calprov_origin, calprov_outcome, calprov_host, calprov_cwd, calprov_params",
    },
    Source {
        kind: Kind::Entity,
        view: "prov_entity",
        formal: 0,
        columns: "ent_id, ent_type, ent_name, ent_location, calprov_kind, calprov_fingerprint, \
                  calprov_n_solutions, calprov_flagged_fraction, calprov_snr_median, \
                  calprov_qa_passed, calprov_is_latest",
    },
    Source {
        kind: Kind::Agent,
        view: "prov_agent",
        formal: 0,
        columns: "agent_id, agent_type, agent_name, calprov_casa_version",
    },
];

/// What an entity row says beyond its attributes: the latest version of a caltable is the
/// one `verify` can compare with the disk.
pub(super) struct EntityFacts {
    pub(super) latest_caltable: bool,
}

/// Fills `record` from a row of `kind`'s view (columns as in [`SOURCES`]).
pub(super) fn fill(
    source: &Source,
    row: &Row<'_>,
    record: &mut Record,
) -> rusqlite::Result<EntityFacts> {
    let kind = source.kind;
    record.reset(kind);
    record.id = row.get(0)?;
    let formal = source.formal;
    // The formal attributes follow the id in every source's column list.
    for (i, slot) in (1..=formal).zip(0..) {
        if let ValueRef::Text(text) = row.get_ref(i)? {
            record.formal[slot] = Some(String::from_utf8_lossy(text).into_owned());
        }
    }
    let mut facts = EntityFacts {
        latest_caltable: false,
    };
    let next = 1 + formal;
    match kind {
        Kind::Used => {
            text(row, next, "prov:role", record)?;
            scalar(row, next + 1, "calprov:index", record)?;
            text(row, next + 2, "calprov:interp", record)?;
            text(row, next + 3, "calprov:gainfield", record)?;
            text(row, next + 4, "calprov:spwmap", record)?;
        }
        Kind::WasDerivedFrom => qname(row, next, "prov:type", record)?,
        Kind::Activity => {
            text(row, next, "prov:label", record)?;
            text(row, next + 1, "prov:type", record)?;
            text(row, next + 2, "calprov:command", record)?;
            text(row, next + 3, "calprov:origin", record)?;
            text(row, next + 4, "calprov:outcome", record)?;
            text(row, next + 5, "calprov:host", record)?;
            text(row, next + 6, "calprov:cwd", record)?;
            if let ValueRef::Text(params) = row.get_ref(next + 7)? {
                parameters(&String::from_utf8_lossy(params), record);
            }
        }
        Kind::Entity => {
            qname(row, 1, "prov:type", record)?;
            text(row, 2, "prov:label", record)?;
            text(row, 3, "prov:location", record)?;
            text(row, 4, "calprov:kind", record)?;
            text(row, 5, "calprov:fingerprint", record)?;
            scalar(row, 6, "calprov:n_solutions", record)?;
            scalar(row, 7, "calprov:flagged_fraction", record)?;
            scalar(row, 8, "calprov:snr_median", record)?;
            if let ValueRef::Integer(passed) = row.get_ref(9)? {
                record.push("calprov:qa_passed", Value::Bool(passed != 0));
            }
            facts.latest_caltable = matches!(row.get_ref(10)?, ValueRef::Integer(1));
        }
        Kind::Agent => {
            qname(row, 1, "prov:type", record)?;
            text(row, 2, "prov:label", record)?;
            text(row, 3, "calprov:casa_version", record)?;
        }
        Kind::WasGeneratedBy | Kind::WasAssociatedWith => {}
    }
    Ok(facts)
}

/// The formal attributes of `kind` that name other records (not times).
pub(super) fn referenced_ids(record: &Record) -> impl Iterator<Item = &str> {
    record
        .formal
        .iter()
        .enumerate()
        .filter(|(i, _)| !record.kind.formal_is_time(*i))
        .filter_map(|(_, v)| v.as_deref())
}

fn text(
    row: &Row<'_>,
    index: usize,
    name: &'static str,
    record: &mut Record,
) -> rusqlite::Result<()> {
    if let ValueRef::Text(value) = row.get_ref(index)? {
        record.push(
            name,
            Value::Str(String::from_utf8_lossy(value).into_owned()),
        );
    }
    Ok(())
}

fn qname(
    row: &Row<'_>,
    index: usize,
    name: &'static str,
    record: &mut Record,
) -> rusqlite::Result<()> {
    if let ValueRef::Text(value) = row.get_ref(index)? {
        record.push(
            name,
            Value::QName(String::from_utf8_lossy(value).into_owned()),
        );
    }
    Ok(())
}

/// A number as it is stored (integer or double); text (`"NaN"`, as calprov stores
/// non-finite numbers) as text.
fn scalar(
    row: &Row<'_>,
    index: usize,
    name: &'static str,
    record: &mut Record,
) -> rusqlite::Result<()> {
    let value = match row.get_ref(index)? {
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Str(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Null | ValueRef::Blob(_) => return Ok(()),
    };
    record.push(name, value);
    Ok(())
}

/// Each CASA parameter as `casaparam:<name>`: strings, numbers and booleans as themselves,
/// lists and dicts as their JSON text (a PROV attribute with several values would be an
/// unordered set); nulls left out, as calprov stores none.
fn parameters(text: &str, record: &mut Record) {
    let Ok(Json::Object(params)) = parse_python_json(text) else {
        return;
    };
    for (key, value) in params {
        let value = match value {
            Json::Null => continue,
            Json::Bool(b) => Value::Bool(b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Json::String(s) => Value::Str(s),
            nested @ (Json::Array(_) | Json::Object(_)) => Value::Str(nested.to_string()),
        };
        record.push(param_name(&key), value);
    }
}
