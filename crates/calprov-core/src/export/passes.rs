//! The export's passes: for each PROV kind, the history rows it comes from and the record
//! each row becomes (ids, names and times by `ids`, which mirror the PROV views). A pass
//! reads either every row (`--all`) or the rows of the solves and applications staged in
//! temporary tables; for a part of the graph it notes the entities and agents its relations
//! name, so that the entity and agent passes write exactly those.

use std::borrow::Cow;
use std::collections::BTreeSet;

use calprov_prov::{Kind, Record, Value, param_name};
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::ids;
use crate::json::parse_python_json;

/// Where a pass reads solves, inputs, applications and applied tables from: every row, or
/// those of the staged selection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tables {
    pub(super) solves: &'static str,
    pub(super) inputs: &'static str,
    pub(super) applications: &'static str,
    pub(super) applied: &'static str,
}

pub(super) const ALL: Tables = Tables {
    solves: "calprov_solves s",
    inputs: "calprov_solve_inputs i",
    applications: "calprov_applications a",
    applied: "calprov_application_tables t",
};

pub(super) const STAGED: Tables = Tables {
    solves: "temp.calprov_export_solves x JOIN calprov_solves s ON s.id = x.id",
    inputs: "temp.calprov_export_solves x JOIN calprov_solve_inputs i ON i.solve_id = x.id",
    applications: "temp.calprov_export_applications x JOIN calprov_applications a ON a.id = x.id",
    applied: "temp.calprov_export_applications x JOIN calprov_application_tables t ON t.application_id = x.id",
};

/// The entities and agents a part of the graph's relations name.
#[derive(Debug, Default)]
pub(super) struct Referenced {
    pub(super) versions: BTreeSet<i64>,
    pub(super) ms: BTreeSet<String>,
    pub(super) paths: BTreeSet<String>,
    pub(super) casa: BTreeSet<Option<String>>,
}

/// The SQL of each relation and activity pass: `(kind, [statements])`, rows turned into
/// records by [`relation`].
pub(super) fn relation_sql(tables: Tables) -> Vec<(Kind, Vec<(Shape, String)>)> {
    let Tables {
        solves,
        inputs,
        applications,
        applied,
    } = tables;
    let solve_inputs = format!(
        "SELECT i.solve_id, i.role, i.idx, i.path, i.input_solve_id, i.interp, i.gainfield, i.spwmap \
         FROM {inputs} WHERE i.path IS NOT NULL"
    );
    let application_ms = format!("SELECT a.id, a.ms_path FROM {applications}");
    vec![
        (
            Kind::Used,
            vec![
                (Shape::SolveInput, solve_inputs.clone()),
                (Shape::ApplicationMs, application_ms.clone()),
                (
                    Shape::AppliedTable,
                    format!(
                        "SELECT t.application_id, t.idx, t.caltable_path, t.solve_id, t.interp, t.gainfield, \
                         t.spwmap FROM {applied} WHERE t.caltable_path IS NOT NULL"
                    ),
                ),
            ],
        ),
        (
            Kind::WasGeneratedBy,
            vec![
                (
                    Shape::SolveTime,
                    format!("SELECT s.id, s.solved_at FROM {solves}"),
                ),
                (
                    Shape::ApplicationTime,
                    format!("SELECT a.id, a.applied_at FROM {applications}"),
                ),
            ],
        ),
        (
            Kind::WasDerivedFrom,
            vec![
                (Shape::SolveInput, solve_inputs),
                (
                    Shape::Revision,
                    format!(
                        "SELECT s.id, (SELECT max(p.id) FROM calprov_solves p \
                         WHERE p.caltable_path = s.caltable_path AND p.id < s.id) FROM {solves}"
                    ),
                ),
                (Shape::ApplicationMs, application_ms),
            ],
        ),
        (
            Kind::WasAssociatedWith,
            vec![
                (
                    Shape::SolveCasa,
                    format!("SELECT s.id, s.casa_version FROM {solves}"),
                ),
                (
                    Shape::ApplicationId,
                    format!("SELECT a.id FROM {applications}"),
                ),
            ],
        ),
        (
            Kind::Activity,
            vec![
                (
                    Shape::Solve,
                    format!(
                        "SELECT s.id, s.solved_at, s.task, s.command, s.origin, s.outcome, s.host, s.cwd, \
                         s.params FROM {solves}"
                    ),
                ),
                (
                    Shape::Application,
                    format!(
                        "SELECT a.id, a.applied_at, a.command, a.host, a.cwd, a.params FROM {applications}"
                    ),
                ),
            ],
        ),
    ]
}

/// What the columns of a statement are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    SolveInput,
    ApplicationMs,
    AppliedTable,
    SolveTime,
    ApplicationTime,
    Revision,
    SolveCasa,
    ApplicationId,
    Solve,
    Application,
}

/// Fills `record` from one row of a relation or activity statement; `false` when the row
/// makes no record (a first version has no previous one).
pub(super) fn relation(
    kind: Kind,
    shape: Shape,
    row: &Row<'_>,
    record: &mut Record,
    referenced: Option<&mut Referenced>,
) -> rusqlite::Result<bool> {
    record.reset(kind);
    let id: i64 = row.get(0)?;
    match (kind, shape) {
        (Kind::Used | Kind::WasDerivedFrom, Shape::SolveInput) => {
            let role = text(row, 1)?.unwrap_or_default();
            let index: i64 = row.get(2)?;
            let path = text(row, 3)?.unwrap_or_default();
            let pinned: Option<i64> = row.get(4)?;
            let activity = ids::solve(id);
            let entity = used_entity(&role, &path, pinned, referenced);
            if kind == Kind::Used {
                record.id = format!("{activity}.{role}-{index}");
                record.formal[0] = Some(activity);
                record.formal[1] = Some(entity);
                usage_attributes(row, &role, index, [5, 6, 7], record)?;
            } else {
                record.id = format!("{activity}.from-{role}-{index}");
                record.formal[0] = Some(ids::version(id));
                record.formal[1] = Some(entity);
                record.formal[2] = Some(activity);
            }
        }
        (Kind::Used, Shape::ApplicationMs) => {
            let path = text(row, 1)?.unwrap_or_default();
            let activity = ids::application(id);
            record.id = format!("{activity}.vis-0");
            record.formal[0] = Some(activity);
            record.formal[1] = Some(used_entity("vis", &path, None, referenced));
            record.push("prov:role", Value::Str("vis".into()));
        }
        (Kind::Used, Shape::AppliedTable) => {
            let index: i64 = row.get(1)?;
            let path = text(row, 2)?.unwrap_or_default();
            let pinned: Option<i64> = row.get(3)?;
            let activity = ids::application(id);
            record.id = format!("{activity}.gaintable-{index}");
            record.formal[0] = Some(activity);
            record.formal[1] = Some(used_entity("gaintable", &path, pinned, referenced));
            usage_attributes(row, "gaintable", index, [4, 5, 6], record)?;
        }
        (Kind::WasGeneratedBy, Shape::SolveTime | Shape::ApplicationTime) => {
            let at: Option<f64> = row.get(1)?;
            let (activity, entity) = if shape == Shape::SolveTime {
                if let Some(r) = referenced {
                    r.versions.insert(id);
                }
                (ids::solve(id), ids::version(id))
            } else {
                (ids::application(id), ids::calibrated(id))
            };
            record.id = format!("{activity}.generated");
            record.formal[0] = Some(entity);
            record.formal[1] = Some(activity);
            record.formal[2] = at.and_then(ids::time);
        }
        (Kind::WasDerivedFrom, Shape::Revision) => {
            let Some(previous) = row.get::<_, Option<i64>>(1)? else {
                return Ok(false);
            };
            if let Some(r) = referenced {
                r.versions.insert(previous);
            }
            let activity = ids::solve(id);
            record.id = format!("{activity}.revision");
            record.formal[0] = Some(ids::version(id));
            record.formal[1] = Some(ids::version(previous));
            record.formal[2] = Some(activity);
            record.push("prov:type", Value::QName("prov:Revision".into()));
        }
        (Kind::WasDerivedFrom, Shape::ApplicationMs) => {
            let path = text(row, 1)?.unwrap_or_default();
            let activity = ids::application(id);
            record.id = format!("{activity}.revision");
            record.formal[0] = Some(ids::calibrated(id));
            record.formal[1] = Some(used_entity("vis", &path, None, referenced));
            record.formal[2] = Some(activity);
            record.push("prov:type", Value::QName("prov:Revision".into()));
        }
        (Kind::WasAssociatedWith, Shape::SolveCasa | Shape::ApplicationId) => {
            let version = if shape == Shape::SolveCasa {
                text(row, 1)?.map(Cow::into_owned)
            } else {
                None
            };
            let (activity, agent) = if shape == Shape::SolveCasa {
                (ids::solve(id), ids::casa(version.as_deref()))
            } else {
                (ids::application(id), ids::casa(None))
            };
            if let Some(r) = referenced {
                r.casa.insert(version);
            }
            record.id = format!("{activity}.associated");
            record.formal[0] = Some(activity);
            record.formal[1] = Some(agent);
        }
        (Kind::Activity, Shape::Solve) => {
            record.id = ids::solve(id);
            record.formal[1] = row.get::<_, Option<f64>>(1)?.and_then(ids::time);
            let task = text(row, 2)?;
            record.push(
                "prov:label",
                Value::Str(task.map_or_else(|| "solve".into(), Cow::into_owned)),
            );
            record.push("prov:type", Value::Str("Calibration".into()));
            for (index, name) in [
                (3, "calprov:command"),
                (4, "calprov:origin"),
                (5, "calprov:outcome"),
                (6, "calprov:host"),
                (7, "calprov:cwd"),
            ] {
                push_text(row, index, name, record)?;
            }
            if let Some(params) = text(row, 8)? {
                parameters(&params, record);
            }
        }
        (Kind::Activity, Shape::Application) => {
            record.id = ids::application(id);
            record.formal[1] = row.get::<_, Option<f64>>(1)?.and_then(ids::time);
            record.push("prov:label", Value::Str("applycal".into()));
            record.push("prov:type", Value::Str("Calibration".into()));
            for (index, name) in [
                (2, "calprov:command"),
                (3, "calprov:host"),
                (4, "calprov:cwd"),
            ] {
                push_text(row, index, name, record)?;
            }
            if let Some(params) = text(row, 5)? {
                parameters(&params, record);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// The entity a use reads: the pinned version of a gaintable, else an MS or a caltable by
/// path.
fn used_entity(
    role: &str,
    path: &str,
    pinned: Option<i64>,
    referenced: Option<&mut Referenced>,
) -> String {
    match (role, pinned) {
        ("gaintable", Some(solve)) => {
            if let Some(r) = referenced {
                r.versions.insert(solve);
            }
            ids::version(solve)
        }
        ("vis", _) => {
            if let Some(r) = referenced {
                r.ms.insert(path.to_owned());
            }
            ids::ms(path)
        }
        _ => {
            if let Some(r) = referenced {
                r.paths.insert(path.to_owned());
            }
            ids::caltable_path(path)
        }
    }
}

/// `prov:role` and, for a gaintable, its index and companions (empty ones left out, as the
/// views' `nullif`).
fn usage_attributes(
    row: &Row<'_>,
    role: &str,
    index: i64,
    companions: [usize; 3],
    record: &mut Record,
) -> rusqlite::Result<()> {
    record.push("prov:role", Value::Str(role.to_owned()));
    if role == "gaintable" {
        record.push("calprov:index", Value::Int(index));
    }
    for (column, name) in
        companions
            .into_iter()
            .zip(["calprov:interp", "calprov:gainfield", "calprov:spwmap"])
    {
        if let Some(value) = text(row, column)?.filter(|v| !v.is_empty()) {
            record.push(name, Value::Str(value.into_owned()));
        }
    }
    Ok(())
}

/// One entity: a caltable version from `SELECT s.id, s.caltable_path, s.metrics, <latest>`.
/// Returns whether it is its caltable's latest version.
pub(super) fn version_entity(row: &Row<'_>, record: &mut Record) -> rusqlite::Result<bool> {
    record.reset(Kind::Entity);
    let id: i64 = row.get(0)?;
    let path = text(row, 1)?.unwrap_or_default();
    record.id = ids::version(id);
    dataset(&path, "caltable", record);
    if let Some(metrics) = text(row, 2)? {
        key_metrics(&metrics, record);
    }
    Ok(matches!(row.get_ref(3)?, ValueRef::Integer(1)))
}

/// One entity known by its path alone (an MS, a caltable never solved) or an MS after
/// applycal.
pub(super) fn path_entity(id: String, path: &str, kind: &'static str, record: &mut Record) {
    record.reset(Kind::Entity);
    record.id = id;
    dataset(path, kind, record);
}

fn dataset(path: &str, kind: &'static str, record: &mut Record) {
    record.push("prov:type", Value::QName("voprov:DatasetEntity".into()));
    record.push("prov:label", Value::Str(ids::name(path).to_owned()));
    record.push("prov:location", Value::Str(path.to_owned()));
    record.push("calprov:kind", Value::Str(kind.into()));
}

/// One agent: CASA at a version, or of an unknown one.
pub(super) fn agent(version: Option<&str>, record: &mut Record) {
    record.reset(Kind::Agent);
    record.id = ids::casa(version);
    record.push("prov:type", Value::QName("prov:SoftwareAgent".into()));
    let label = match version {
        Some(v) => format!("CASA {v}"),
        None => "CASA".to_owned(),
    };
    record.push("prov:label", Value::Str(label));
    if let Some(v) = version {
        record.push("calprov:casa_version", Value::Str(v.to_owned()));
    }
}

/// The metrics a caltable version carries, as the views' `json_extract`s read them: only
/// from standard JSON (SQLite's `json_valid`), numbers as stored.
#[derive(Deserialize)]
struct KeyMetrics<'a> {
    #[serde(borrow)]
    fingerprint: Option<&'a RawValue>,
    n_solutions: Option<Json>,
    flagged_fraction: Option<Json>,
    snr_median: Option<Json>,
    qa_passed: Option<Json>,
}

fn key_metrics(text: &str, record: &mut Record) {
    let Ok(metrics) = serde_json::from_str::<KeyMetrics<'_>>(text) else {
        return;
    };
    if let Some(fingerprint) = metrics.fingerprint.filter(|f| f.get() != "null") {
        record.push(
            "calprov:fingerprint",
            Value::Str(fingerprint.get().to_owned()),
        );
    }
    for (name, value) in [
        ("calprov:n_solutions", metrics.n_solutions),
        ("calprov:flagged_fraction", metrics.flagged_fraction),
        ("calprov:snr_median", metrics.snr_median),
    ] {
        match value {
            Some(Json::Number(n)) => record.push(name, number(&n)),
            Some(Json::String(s)) => record.push(name, Value::Str(s)),
            _ => {}
        }
    }
    match metrics.qa_passed {
        Some(Json::Bool(b)) => record.push("calprov:qa_passed", Value::Bool(b)),
        Some(Json::Number(n)) if n.as_i64().is_some() => {
            record.push("calprov:qa_passed", Value::Bool(n.as_i64() != Some(0)));
        }
        _ => {}
    }
}

fn number(n: &serde_json::Number) -> Value {
    match n.as_i64() {
        Some(i) => Value::Int(i),
        None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
    }
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
            Json::Number(n) => number(&n),
            Json::String(s) => Value::Str(s),
            nested @ (Json::Array(_) | Json::Object(_)) => Value::Str(nested.to_string()),
        };
        record.push(param_name(&key), value);
    }
}

fn push_text(
    row: &Row<'_>,
    index: usize,
    name: &'static str,
    record: &mut Record,
) -> rusqlite::Result<()> {
    if let Some(value) = text(row, index)? {
        record.push(name, Value::Str(value.into_owned()));
    }
    Ok(())
}

/// A text column, borrowed when it is UTF-8 (always, for what calprov writes).
pub(super) fn text<'r>(row: &'r Row<'_>, index: usize) -> rusqlite::Result<Option<Cow<'r, str>>> {
    Ok(match row.get_ref(index)? {
        ValueRef::Text(bytes) => Some(match std::str::from_utf8(bytes) {
            Ok(s) => Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(bytes),
        }),
        _ => None,
    })
}
