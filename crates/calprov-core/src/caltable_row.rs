//! The rows of the registry, as read and as registered.

use serde::Serialize;
use serde_json::Value;

/// One row of `caltables`, all 17 columns, JSON columns parsed.
///
/// Serialises with exactly the column names as keys: this is the `--json` record shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaltableRecord {
    /// Row id, stable across upserts.
    pub id: i64,
    /// The calibration set the caltable belongs to.
    pub set_name: String,
    /// The caltable directory.
    pub path: String,
    /// `K`, `BP`, `GA`, ...
    pub table_type: String,
    /// Apply order within the set.
    pub order_index: i64,
    /// Calibrator field.
    pub cal_field: Option<String>,
    /// Reference antenna.
    pub refant: Option<String>,
    /// Unix seconds when registered.
    pub created_at: f64,
    /// Validity start (MJD).
    pub valid_start_mjd: Option<f64>,
    /// Validity end (MJD).
    pub valid_end_mjd: Option<f64>,
    /// `active`, `retired` or `failed`.
    pub status: String,
    /// Free text.
    pub notes: Option<String>,
    /// The MS the caltable was solved from.
    pub source_ms_path: Option<String>,
    /// The re-executable CASA command.
    pub solver_command: Option<String>,
    /// The CASA version.
    pub solver_version: Option<String>,
    /// The solve's keyword arguments.
    pub solver_params: Option<Value>,
    /// Quality metrics and QA verdict.
    pub quality_metrics: Option<Value>,
}

/// The columns a caller sets when registering a row (every column but `id` and
/// `created_at`, which the registry assigns), in the table's order: the field names a row to
/// register may carry (the Python package's row dicts).
pub fn registrable_columns() -> impl Iterator<Item = &'static str> {
    calprov_schema::ALL_COLUMNS
        .iter()
        .copied()
        .filter(|c| !matches!(*c, "id" | "created_at"))
}

/// The allowed values of `status`.
pub const STATUSES: [&str; 3] = ["active", "retired", "failed"];

/// A caltable to register. Optional fields left `None` keep what is stored on upsert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewCaltable {
    /// The caltable directory (normalised to an absolute path when stored).
    pub path: String,
    /// `K`, `BP`, `GA`, ...
    pub table_type: String,
    /// Apply order within the set.
    pub order_index: i64,
    /// Calibrator field.
    pub cal_field: Option<String>,
    /// Reference antenna.
    pub refant: Option<String>,
    /// Validity start (MJD).
    pub valid_start_mjd: Option<f64>,
    /// Validity end (MJD).
    pub valid_end_mjd: Option<f64>,
    /// `active` when `None`.
    pub status: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Provenance, when already known at registration.
    pub provenance: Provenance,
}

/// The five provenance columns. `None` fields are written as NULL by tracking and kept as
/// stored by an upsert.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provenance {
    /// The MS the caltable was solved from.
    pub source_ms_path: Option<String>,
    /// The re-executable CASA command.
    pub solver_command: Option<String>,
    /// The CASA version.
    pub solver_version: Option<String>,
    /// The solve's keyword arguments (a JSON object).
    pub solver_params: Option<Value>,
    /// Quality metrics (a JSON object).
    pub quality_metrics: Option<Value>,
}

/// How `register_set` treats a path that is already registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisterMode {
    /// Keep the row's id; incoming non-null values win, nulls keep what is stored.
    Upsert,
    /// Leave the existing row untouched.
    Ignore,
}

/// What `register_set` did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RegisterSummary {
    /// New rows.
    pub inserted: usize,
    /// Existing rows merged (upsert).
    pub updated: usize,
    /// Existing rows left alone (ignore).
    pub ignored: usize,
}

/// The result of `track_calibration_provenance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvenanceUpdate {
    /// The five provenance columns were written.
    Updated,
    /// No row has this path; nothing was created.
    NotRegistered,
}

/// One calibration set, as listed by `list_sets`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SetSummary {
    /// The set name.
    pub set_name: String,
    /// Caltables in the set.
    pub n_caltables: i64,
    /// Of which active.
    pub n_active: i64,
    /// Of which carry any provenance.
    pub n_with_provenance: i64,
    /// Earliest validity start.
    pub valid_start_mjd: Option<f64>,
    /// Latest validity end.
    pub valid_end_mjd: Option<f64>,
    /// Latest registration time.
    pub last_created_at: f64,
}
