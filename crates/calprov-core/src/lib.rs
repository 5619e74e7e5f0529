//! The calibration registry API for pipeline crates: registering caltables, recording their
//! provenance after a solve, and answering provenance, by-source and impact questions.
//!
//! This crate composes the leaves (`calprov-schema`, `calprov-metrics`, `calprov-casa`) and
//! is the only API the CLI uses. [`env`](mod@env) is the one module that reads environment variables,
//! [`db_path`] the one place that decides the registry path, and [`Registry::open_with`] the
//! one way a registry is opened.
//!
//! # A pipeline step
//!
//! ```
//! use calprov_core::{
//!     NewCaltable, RegisterMode, Registry, SolveRecord, TrackConfig, TrackOutcome,
//!     track_after_solve,
//! };
//! use calprov_core::caltable::{SyntheticSpec, write_synthetic_caltable};
//! # fn main() -> Result<(), calprov_core::Error> {
//! # let dir = tempfile::tempdir().expect("a temporary directory");
//! # let db = dir.path().join("cal_registry.sqlite3");
//! # let caltable = dir.path().join("obs1_gacal");
//! # write_synthetic_caltable(&caltable, &SyntheticSpec::gain(112))?;
//! # let caltable = caltable.to_string_lossy().into_owned();
//! // Open (creating and migrating when needed) the registry the pipeline shares.
//! let mut registry = Registry::open(&db)?;
//! registry.register_set(
//!     "obs1",
//!     &[NewCaltable {
//!         path: caltable.clone(),
//!         table_type: "GA".into(),
//!         order_index: 40,
//!         ..NewCaltable::default()
//!     }],
//!     RegisterMode::Upsert,
//! )?;
//!
//! // After CASA's gaincal wrote the table: record its provenance. This never fails the
//! // solve; the outcome says what was recorded.
//! let solve = SolveRecord {
//!     ms: "/data/obs1.ms".into(),
//!     caltable: caltable.clone(),
//!     task: "gaincal".into(),
//!     params: serde_json::json!({"vis": "/data/obs1.ms", "gaintype": "G", "solint": "int"}),
//!     solver_version: Some("6.7.0.31".into()),
//!     solver_command: None,
//! };
//! let outcome = track_after_solve(&mut registry, &solve, &TrackConfig::default());
//! assert!(matches!(outcome, TrackOutcome::Tracked(_)));
//!
//! // Later: where did this caltable come from?
//! let record = registry.get_caltable_provenance(&caltable)?.expect("registered");
//! assert_eq!(record.source_ms_path.as_deref(), Some("/data/obs1.ms"));
//! assert_eq!(
//!     record.solver_command.as_deref(),
//!     Some("gaincal(gaintype='G', solint='int', vis='/data/obs1.ms')")
//! );
//! # Ok(())
//! # }
//! ```

pub mod backfill;
pub mod caltable;
mod caltable_row;
pub mod casa_command;
pub mod casa_version;
mod clock;
pub mod copy;
pub mod db_path;
pub mod env;
mod error;
pub mod export;
pub mod json;
pub mod lineage;
pub mod monitoring;
pub mod output_file;
pub mod params;
pub mod paths;
pub mod postgres;
mod registry;
pub mod report;
mod sql;
pub mod suffix_rules;
mod tracking;
pub mod verify;

pub use calprov_metrics::fingerprint::Verdict;
pub use calprov_schema::{MigrationReport, OpenOptions, RegistryShape};
pub use caltable_row::{
    CaltableRecord, NewCaltable, Provenance, ProvenanceUpdate, RegisterMode, RegisterSummary,
    STATUSES, SetSummary, registrable_columns,
};
pub use clock::{civil_from_days, format_utc, unix_now};
pub use error::Error;
pub use registry::{
    ORIGIN_IMPORTED, Recall, RecordResult, RecordedFingerprint, Registry, SolveEntry,
};
pub use tracking::{
    ApplicationRecord, FailureKind, Missing, SolveRecord, TrackConfig, TrackError, TrackOutcome,
    TrackSummary, chain, classify, open_failed, record_application, strict_error,
    track_after_solve, track_after_solve_at, track_after_solve_strict, track_given_provenance,
    track_rejected_input,
};
pub use verify::{VerifyDetails, VerifyReport, verify, verify_many};

/// The schema version the migrations lead to, reported in `--json` documents.
pub fn schema_version() -> i64 {
    calprov_schema::latest_version()
}

#[cfg(test)]
mod tests;
