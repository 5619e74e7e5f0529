//! The `caltables` row as SQL sees it: the column lists (derived from the schema's one list),
//! validation and serialisation of rows to register, and decoding of rows read.

use std::path::Path;
use std::sync::LazyLock;

use calprov_schema::{ALL_COLUMNS, PROVENANCE_COLUMNS};
use serde_json::Value;

use crate::Error;
use crate::caltable_row::{CaltableRecord, NewCaltable, STATUSES};
use crate::json::parse_python_json;
use crate::paths::normalize_to_string;
use crate::sql::{Cell, get};

/// `SELECT <the 17 columns, in schema order> FROM caltables`.
pub(crate) static SELECT_RECORD: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {} FROM caltables", ALL_COLUMNS.join(", ")));

/// True for a row that carries any provenance: `source_ms_path IS NOT NULL OR ...`.
pub(crate) static ANY_PROVENANCE_SQL: LazyLock<String> = LazyLock::new(|| {
    let tests: Vec<String> = PROVENANCE_COLUMNS
        .iter()
        .map(|(name, _)| format!("{name} IS NOT NULL"))
        .collect();
    format!("({})", tests.join(" OR "))
});

/// The columns an INSERT writes: every column but `id`, bound as `?1..?16` in this order.
fn insert_columns() -> &'static [&'static str] {
    &ALL_COLUMNS[1..]
}

/// Columns a re-registration always replaces; `status` falls back to the stored value and
/// every other column keeps what is stored when the incoming value is NULL, so provenance
/// is never erased.
const REPLACED_ON_UPSERT: [&str; 4] = ["set_name", "table_type", "order_index", "created_at"];

fn insert_values() -> String {
    insert_columns()
        .iter()
        .enumerate()
        .map(|(i, name)| match *name {
            "status" => format!("COALESCE(?{}, 'active')", i + 1),
            _ => format!("?{}", i + 1),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn insert_head() -> String {
    format!(
        "INSERT INTO caltables ({}) VALUES ({})",
        insert_columns().join(", "),
        insert_values()
    )
}

/// The merge-upsert of `register_set`.
pub(crate) static UPSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let assignments: Vec<String> = insert_columns()
        .iter()
        .enumerate()
        .filter(|(_, name)| **name != "path")
        .map(|(i, name)| {
            if REPLACED_ON_UPSERT.contains(name) {
                format!("{name} = excluded.{name}")
            } else if *name == "status" {
                format!("status = COALESCE(?{}, caltables.status)", i + 1)
            } else {
                // Qualified: PostgreSQL finds a bare name ambiguous here.
                format!("{name} = COALESCE(excluded.{name}, caltables.{name})")
            }
        })
        .collect();
    format!(
        "{} ON CONFLICT(path) DO UPDATE SET {}",
        insert_head(),
        assignments.join(", ")
    )
});

/// The insert of `register_set` in ignore mode.
pub(crate) static INSERT_IGNORE_SQL: LazyLock<String> =
    LazyLock::new(|| format!("{} ON CONFLICT(path) DO NOTHING", insert_head()));

/// The stored form of a caltable path first, then the path exactly as given, so rows the
/// Python pipeline registered under a relative or unnormalised name are still found.
pub(crate) fn lookup_candidates(caltable: &str) -> Vec<String> {
    let normalized = normalize_to_string(Path::new(caltable));
    if normalized == caltable {
        vec![normalized]
    } else {
        vec![normalized, caltable.to_owned()]
    }
}

/// Serialises a JSON column value; only objects are accepted.
pub(crate) fn object_text(
    caltable: &str,
    column: &'static str,
    value: &Value,
) -> Result<String, Error> {
    if !value.is_object() {
        return Err(Error::NotAnObject {
            caltable: caltable.to_owned(),
            column,
            found: json_type(value),
        });
    }
    // serde_json cannot hold non-finite numbers, so this text is always standard JSON.
    serde_json::to_string(value).map_err(|source| Error::InvalidJson {
        caltable: caltable.to_owned(),
        column,
        source,
    })
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A row validated and serialised for the INSERT, fields in [`insert_columns`] order.
pub(crate) struct PreparedRow {
    pub(crate) path: String,
    table_type: String,
    order_index: i64,
    cal_field: Option<String>,
    refant: Option<String>,
    valid_start_mjd: Option<f64>,
    valid_end_mjd: Option<f64>,
    status: Option<String>,
    notes: Option<String>,
    source_ms_path: Option<String>,
    solver_command: Option<String>,
    solver_version: Option<String>,
    solver_params: Option<String>,
    quality_metrics: Option<String>,
}

impl PreparedRow {
    /// Validates `row` for set `set`: a clear error names the caltable and the field.
    pub(crate) fn new(set: &str, row: &NewCaltable) -> Result<Self, Error> {
        let invalid = |field: &'static str, reason: String| Error::InvalidField {
            caltable: row.path.clone(),
            field,
            reason,
        };
        if set.trim().is_empty() {
            return Err(invalid("set_name", "the set name is empty".into()));
        }
        if row.path.trim().is_empty() {
            return Err(invalid("path", "the path is empty".into()));
        }
        if row.table_type.trim().is_empty() {
            return Err(invalid("table_type", "the table type is empty".into()));
        }
        if let Some(status) = &row.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(invalid(
                "status",
                format!("{status:?} is not one of {}", STATUSES.join(", ")),
            ));
        }
        for (field, value) in [
            ("valid_start_mjd", row.valid_start_mjd),
            ("valid_end_mjd", row.valid_end_mjd),
        ] {
            if value.is_some_and(|v| !v.is_finite()) {
                return Err(invalid(field, "not a finite number".into()));
            }
        }
        if let (Some(start), Some(end)) = (row.valid_start_mjd, row.valid_end_mjd)
            && start > end
        {
            return Err(invalid(
                "valid_end_mjd",
                format!("{end} is before the start {start}"),
            ));
        }
        let p = &row.provenance;
        Ok(Self {
            path: normalize_to_string(Path::new(&row.path)),
            table_type: row.table_type.clone(),
            order_index: row.order_index,
            cal_field: row.cal_field.clone(),
            refant: row.refant.clone(),
            valid_start_mjd: row.valid_start_mjd,
            valid_end_mjd: row.valid_end_mjd,
            status: row.status.clone(),
            notes: row.notes.clone(),
            source_ms_path: p
                .source_ms_path
                .as_deref()
                .map(|ms| normalize_to_string(Path::new(ms))),
            solver_command: p.solver_command.clone(),
            solver_version: p.solver_version.clone(),
            solver_params: p
                .solver_params
                .as_ref()
                .map(|v| object_text(&row.path, "solver_params", v))
                .transpose()?,
            quality_metrics: p
                .quality_metrics
                .as_ref()
                .map(|v| object_text(&row.path, "quality_metrics", v))
                .transpose()?,
        })
    }

    /// Executes `statement` (an insert in [`insert_columns`] order) for this row.
    /// The values of [`UPSERT_SQL`] / [`INSERT_IGNORE_SQL`], `?1..?16` in order.
    pub(crate) fn values(&self, set: &str, created_at: f64) -> Vec<Cell> {
        vec![
            Cell::from(set),
            Cell::from(self.path.as_str()),
            Cell::from(self.table_type.as_str()),
            Cell::from(self.order_index),
            Cell::from(self.cal_field.as_deref()),
            Cell::from(self.refant.as_deref()),
            Cell::from(created_at),
            Cell::from(self.valid_start_mjd),
            Cell::from(self.valid_end_mjd),
            Cell::from(self.status.as_deref()),
            Cell::from(self.notes.as_deref()),
            Cell::from(self.source_ms_path.as_deref()),
            Cell::from(self.solver_command.as_deref()),
            Cell::from(self.solver_version.as_deref()),
            Cell::from(self.solver_params.as_deref()),
            Cell::from(self.quality_metrics.as_deref()),
        ]
    }
}

/// A row as stored (selected with [`SELECT_RECORD`]), JSON columns still text.
pub(crate) struct RawRecord {
    record: CaltableRecord,
    solver_params: Option<String>,
    quality_metrics: Option<String>,
}

impl RawRecord {
    /// Reads the columns in [`ALL_COLUMNS`] order from a row of either backend.
    pub(crate) fn from_cells(row: &[Cell], registry: &Path) -> Result<Self, Error> {
        let action = "read caltable";
        Ok(Self {
            record: CaltableRecord {
                id: get(row, 0, registry, action)?,
                set_name: get(row, 1, registry, action)?,
                path: get(row, 2, registry, action)?,
                table_type: get(row, 3, registry, action)?,
                order_index: get(row, 4, registry, action)?,
                cal_field: get(row, 5, registry, action)?,
                refant: get(row, 6, registry, action)?,
                created_at: get(row, 7, registry, action)?,
                valid_start_mjd: get(row, 8, registry, action)?,
                valid_end_mjd: get(row, 9, registry, action)?,
                status: get(row, 10, registry, action)?,
                notes: get(row, 11, registry, action)?,
                source_ms_path: get(row, 12, registry, action)?,
                solver_command: get(row, 13, registry, action)?,
                solver_version: get(row, 14, registry, action)?,
                solver_params: None,
                quality_metrics: None,
            },
            solver_params: get(row, 15, registry, action)?,
            quality_metrics: get(row, 16, registry, action)?,
        })
    }

    /// Parses the JSON columns (Python's NaN tokens accepted); a row whose JSON cannot be
    /// read is an error naming the caltable and the column.
    pub(crate) fn parse(self) -> Result<CaltableRecord, Error> {
        let mut record = self.record;
        let parse = |column: &'static str, text: Option<String>| -> Result<Option<Value>, Error> {
            text.map(|t| {
                parse_python_json(&t).map_err(|source| Error::InvalidJson {
                    caltable: record.path.clone(),
                    column,
                    source,
                })
            })
            .transpose()
        };
        let params = parse("solver_params", self.solver_params)?;
        let metrics = parse("quality_metrics", self.quality_metrics)?;
        record.solver_params = params;
        record.quality_metrics = metrics;
        Ok(record)
    }
}
