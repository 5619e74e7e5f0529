//! The export's passes: for each PROV kind, the history rows it comes from and the record
//! each row becomes (ids, names and times by `ids`, which mirror the PROV views). A pass
//! reads either every row (`--all`) or the rows of the solves and applications staged in
//! temporary tables; for a part of the graph it notes the entities and agents its relations
//! name, so that the entity and agent passes write exactly those.

use std::borrow::Cow;
use std::collections::BTreeSet;

use calprov_prov::{Kind, Record, Value, param_name};
use serde::Deserialize;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::ids;
use crate::Error;
use crate::json::parse_python_json;
use crate::sql::RowRef;

/// Where a pass reads solves, inputs, applications and applied tables from: every row, or
/// those of the staged selection.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tables {
    pub(super) solves: &'static str,
    pub(super) inputs: &'static str,
    pub(super) applications: &'static str,
    pub(super) applied: &'static str,
    /// Whether each statement takes an id range (`?1`, `?2`) of its owner: a solve or an
    /// application.
    pub(super) ranged: bool,
}

/// Every row, in id ranges (the parallel export of `--all`).
pub(super) const RANGED: Tables = Tables {
    solves: "calprov_solves s",
    inputs: "calprov_solve_inputs i",
    applications: "calprov_applications a",
    applied: "calprov_application_tables t",
    ranged: true,
};

/// Every row, in one go.
pub(super) const ALL: Tables = Tables {
    ranged: false,
    ..RANGED
};

/// The rows of the staged selection.
pub(super) const STAGED: Tables = Tables {
    solves: "calprov_export_solves x JOIN calprov_solves s ON s.id = x.id",
    inputs: "calprov_export_solves x JOIN calprov_solve_inputs i ON i.solve_id = x.id",
    applications: "calprov_export_applications x JOIN calprov_applications a ON a.id = x.id",
    applied: "calprov_export_applications x JOIN calprov_application_tables t ON t.application_id = x.id",
    ranged: false,
};

/// Whose id a statement's rows are ranged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Solve,
    Application,
}

/// One statement of a pass.
#[derive(Debug, Clone)]
pub(super) struct Statement {
    pub(super) shape: Shape,
    pub(super) owner: Owner,
    pub(super) sql: String,
}

/// The entities and agents a part of the graph's relations name.
#[derive(Debug, Default)]
pub(super) struct Referenced {
    pub(super) versions: BTreeSet<i64>,
    pub(super) ms: BTreeSet<String>,
    pub(super) paths: BTreeSet<String>,
    pub(super) casa: BTreeSet<Option<String>>,
}

/// The statements of each relation and activity pass, rows turned into records by
/// [`relation`].
pub(super) fn relation_sql(tables: Tables) -> Vec<(Kind, Vec<Statement>)> {
    let Tables {
        solves,
        inputs,
        applications,
        applied,
        ranged,
    } = tables;
    let range = |column: &str| {
        if ranged {
            format!(" AND {column} BETWEEN ?1 AND ?2")
        } else {
            String::new()
        }
    };
    let (by_solve, by_input) = (range("s.id"), range("i.solve_id"));
    let (by_application, by_applied) = (range("a.id"), range("t.application_id"));
    let statement = |shape, owner, sql: String| Statement { shape, owner, sql };
    let solve_inputs = format!(
        "SELECT i.solve_id, i.role, i.idx, i.path, i.input_solve_id, i.interp, i.gainfield, i.spwmap \
         FROM {inputs} WHERE i.path IS NOT NULL{by_input}"
    );
    let application_ms =
        format!("SELECT a.id, a.ms_path FROM {applications} WHERE true{by_application}");
    vec![
        (
            Kind::Used,
            vec![
                statement(Shape::SolveInput, Owner::Solve, solve_inputs.clone()),
                statement(
                    Shape::ApplicationMs,
                    Owner::Application,
                    application_ms.clone(),
                ),
                statement(
                    Shape::AppliedTable,
                    Owner::Application,
                    format!(
                        "SELECT t.application_id, t.idx, t.caltable_path, t.solve_id, t.interp, t.gainfield, \
                         t.spwmap FROM {applied} WHERE t.caltable_path IS NOT NULL{by_applied}"
                    ),
                ),
            ],
        ),
        (
            Kind::WasGeneratedBy,
            vec![
                statement(
                    Shape::SolveTime,
                    Owner::Solve,
                    format!("SELECT s.id, s.solved_at FROM {solves} WHERE true{by_solve}"),
                ),
                statement(
                    Shape::ApplicationTime,
                    Owner::Application,
                    format!(
                        "SELECT a.id, a.applied_at FROM {applications} WHERE true{by_application}"
                    ),
                ),
            ],
        ),
        (
            Kind::WasDerivedFrom,
            vec![
                statement(Shape::SolveInput, Owner::Solve, solve_inputs),
                statement(
                    Shape::Revision,
                    Owner::Solve,
                    format!(
                        "SELECT s.id, (SELECT max(p.id) FROM calprov_solves p \
                         WHERE p.caltable_path = s.caltable_path AND p.id < s.id) FROM {solves} WHERE true{by_solve}"
                    ),
                ),
                statement(Shape::ApplicationMs, Owner::Application, application_ms),
            ],
        ),
        (
            Kind::WasAssociatedWith,
            vec![
                statement(
                    Shape::SolveCasa,
                    Owner::Solve,
                    format!("SELECT s.id, s.casa_version FROM {solves} WHERE true{by_solve}"),
                ),
                statement(
                    Shape::ApplicationId,
                    Owner::Application,
                    format!("SELECT a.id FROM {applications} WHERE true{by_application}"),
                ),
            ],
        ),
        (
            Kind::Activity,
            vec![
                statement(
                    Shape::Solve,
                    Owner::Solve,
                    format!(
                        "SELECT s.id, s.solved_at, s.task, s.command, s.origin, s.outcome, s.host, s.cwd, \
                         s.params FROM {solves} WHERE true{by_solve}"
                    ),
                ),
                statement(
                    Shape::Application,
                    Owner::Application,
                    format!(
                        "SELECT a.id, a.applied_at, a.command, a.host, a.cwd, a.params FROM {applications} \
                         WHERE true{by_application}"
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
    row: &RowRef<'_>,
    record: &mut Record,
    referenced: Option<&mut Referenced>,
) -> Result<bool, Error> {
    record.reset(kind);
    let id = row.id(0)?;
    match (kind, shape) {
        (Kind::Used | Kind::WasDerivedFrom, Shape::SolveInput) => {
            let role = row.text(1)?.unwrap_or_default();
            let index = row.id(2)?;
            let path = row.text(3)?.unwrap_or_default();
            let pinned = row.integer(4)?;
            let entity = used_entity(record, &role, &path, pinned, referenced);
            let activity = id_string(record, ids::SOLVE, id);
            ids::push(&mut record.id, ids::SOLVE, id);
            record
                .id
                .push_str(if kind == Kind::Used { "." } else { ".from-" });
            record.id.push_str(&role);
            record.id.push('-');
            ids::push_int(&mut record.id, index);
            if kind == Kind::Used {
                record.formal[0] = Some(activity);
                record.formal[1] = Some(entity);
                usage_attributes(row, &role, index, [5, 6, 7], record)?;
            } else {
                record.formal[0] = Some(id_string(record, ids::VERSION, id));
                record.formal[1] = Some(entity);
                record.formal[2] = Some(activity);
            }
        }
        (Kind::Used, Shape::ApplicationMs) => {
            let path = row.text(1)?.unwrap_or_default();
            ids::push(&mut record.id, ids::APPLICATION, id);
            record.id.push_str(".vis-0");
            record.formal[0] = Some(id_string(record, ids::APPLICATION, id));
            record.formal[1] = Some(used_entity(record, "vis", &path, None, referenced));
            record.push_str("prov:role", "vis");
        }
        (Kind::Used, Shape::AppliedTable) => {
            let index = row.id(1)?;
            let path = row.text(2)?.unwrap_or_default();
            let pinned = row.integer(3)?;
            ids::push(&mut record.id, ids::APPLICATION, id);
            record.id.push_str(".gaintable-");
            ids::push_int(&mut record.id, index);
            record.formal[0] = Some(id_string(record, ids::APPLICATION, id));
            record.formal[1] = Some(used_entity(record, "gaintable", &path, pinned, referenced));
            usage_attributes(row, "gaintable", index, [4, 5, 6], record)?;
        }
        (Kind::WasGeneratedBy, Shape::SolveTime | Shape::ApplicationTime) => {
            let at = row.real(1)?;
            let (activity, entity) = if shape == Shape::SolveTime {
                if let Some(r) = referenced {
                    r.versions.insert(id);
                }
                (ids::SOLVE, ids::VERSION)
            } else {
                (ids::APPLICATION, ids::CALIBRATED)
            };
            ids::push(&mut record.id, activity, id);
            record.id.push_str(".generated");
            record.formal[0] = Some(id_string(record, entity, id));
            record.formal[1] = Some(id_string(record, activity, id));
            record.formal[2] = at.and_then(ids::time);
        }
        (Kind::WasDerivedFrom, Shape::Revision) => {
            let Some(previous) = row.integer(1)? else {
                return Ok(false);
            };
            if let Some(r) = referenced {
                r.versions.insert(previous);
            }
            ids::push(&mut record.id, ids::SOLVE, id);
            record.id.push_str(".revision");
            record.formal[0] = Some(id_string(record, ids::VERSION, id));
            record.formal[1] = Some(id_string(record, ids::VERSION, previous));
            record.formal[2] = Some(id_string(record, ids::SOLVE, id));
            record.push("prov:type", Value::QName("prov:Revision".into()));
        }
        (Kind::WasDerivedFrom, Shape::ApplicationMs) => {
            let path = row.text(1)?.unwrap_or_default();
            ids::push(&mut record.id, ids::APPLICATION, id);
            record.id.push_str(".revision");
            record.formal[0] = Some(id_string(record, ids::CALIBRATED, id));
            record.formal[1] = Some(used_entity(record, "vis", &path, None, referenced));
            record.formal[2] = Some(id_string(record, ids::APPLICATION, id));
            record.push("prov:type", Value::QName("prov:Revision".into()));
        }
        (Kind::WasAssociatedWith, Shape::SolveCasa | Shape::ApplicationId) => {
            let (activity, version) = if shape == Shape::SolveCasa {
                (ids::SOLVE, row.text(1)?.map(Cow::into_owned))
            } else {
                (ids::APPLICATION, None)
            };
            ids::push(&mut record.id, activity, id);
            record.id.push_str(".associated");
            record.formal[0] = Some(id_string(record, activity, id));
            record.formal[1] = Some(ids::casa(version.as_deref()));
            if let Some(r) = referenced {
                r.casa.insert(version);
            }
        }
        (Kind::Activity, Shape::Solve) => {
            ids::push(&mut record.id, ids::SOLVE, id);
            record.formal[1] = row.real(1)?.and_then(ids::time);
            let task = row.text(2)?;
            record.push_str("prov:label", task.as_deref().unwrap_or("solve"));
            record.push_str("prov:type", "Calibration");
            for (index, name) in [
                (3, "calprov:command"),
                (4, "calprov:origin"),
                (5, "calprov:outcome"),
                (6, "calprov:host"),
                (7, "calprov:cwd"),
            ] {
                push_text(row, index, name, record)?;
            }
            if let Some(params) = row.text(8)? {
                parameters(&params, record);
            }
        }
        (Kind::Activity, Shape::Application) => {
            ids::push(&mut record.id, ids::APPLICATION, id);
            record.formal[1] = row.real(1)?.and_then(ids::time);
            record.push_str("prov:label", "applycal");
            record.push_str("prov:type", "Calibration");
            for (index, name) in [
                (2, "calprov:command"),
                (3, "calprov:host"),
                (4, "calprov:cwd"),
            ] {
                push_text(row, index, name, record)?;
            }
            if let Some(params) = row.text(5)? {
                parameters(&params, record);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `prefix<id>` in a reused buffer.
fn id_string(record: &mut Record, prefix: &str, id: i64) -> String {
    let mut s = record.string();
    ids::push(&mut s, prefix, id);
    s
}

/// The entity a use reads: the pinned version of a gaintable, else an MS or a caltable by
/// path.
fn used_entity(
    record: &mut Record,
    role: &str,
    path: &str,
    pinned: Option<i64>,
    referenced: Option<&mut Referenced>,
) -> String {
    let mut id = record.string();
    match (role, pinned) {
        ("gaintable", Some(solve)) => {
            if let Some(r) = referenced {
                r.versions.insert(solve);
            }
            ids::push(&mut id, ids::VERSION, solve);
        }
        ("vis", _) => {
            if let Some(r) = referenced {
                r.ms.insert(path.to_owned());
            }
            ids::push_ms(&mut id, path);
        }
        _ => {
            if let Some(r) = referenced {
                r.paths.insert(path.to_owned());
            }
            ids::push_caltable_path(&mut id, path);
        }
    }
    id
}

/// `prov:role` and, for a gaintable, its index and companions (empty ones left out, as the
/// views' `nullif`).
fn usage_attributes(
    row: &RowRef<'_>,
    role: &str,
    index: i64,
    companions: [usize; 3],
    record: &mut Record,
) -> Result<(), Error> {
    record.push_str("prov:role", role);
    if role == "gaintable" {
        record.push("calprov:index", Value::Int(index));
    }
    for (column, name) in
        companions
            .into_iter()
            .zip(["calprov:interp", "calprov:gainfield", "calprov:spwmap"])
    {
        if let Some(value) = row.text(column)?.filter(|v| !v.is_empty()) {
            record.push_str(name, &value);
        }
    }
    Ok(())
}

/// One entity: a caltable version from `SELECT s.id, s.caltable_path, s.metrics, <latest>`.
/// Returns whether it is its caltable's latest version.
pub(super) fn version_entity(row: &RowRef<'_>, record: &mut Record) -> Result<bool, Error> {
    record.reset(Kind::Entity);
    let id = row.id(0)?;
    let path = row.text(1)?.unwrap_or_default();
    record.id = ids::version(id);
    dataset(&path, "caltable", record);
    if let Some(metrics) = row.text(2)? {
        key_metrics(&metrics, record);
    }
    row.flag(3)
}

/// One entity: an MS after applycal, from `SELECT a.id, a.ms_path`.
pub(super) fn calibrated_entity(row: &RowRef<'_>, record: &mut Record) -> Result<(), Error> {
    let path = row.text(1)?.unwrap_or_default();
    path_entity(ids::calibrated(row.id(0)?), &path, "calibrated", record);
    Ok(())
}

/// One entity known by its path alone (an MS, a caltable never solved) or an MS after
/// applycal.
pub(super) fn path_entity(id: String, path: &str, kind: &'static str, record: &mut Record) {
    record.reset(Kind::Entity);
    record.id = id;
    dataset(path, kind, record);
}

fn dataset(path: &str, kind: &'static str, record: &mut Record) {
    let mut entity_type = record.string();
    entity_type.push_str("voprov:DatasetEntity");
    record.push("prov:type", Value::QName(entity_type));
    record.push_str("prov:label", ids::name(path));
    record.push_str("prov:location", path);
    record.push_str("calprov:kind", kind);
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
    row: &RowRef<'_>,
    index: usize,
    name: &'static str,
    record: &mut Record,
) -> Result<(), Error> {
    if let Some(value) = row.text(index)? {
        record.push_str(name, &value);
    }
    Ok(())
}
