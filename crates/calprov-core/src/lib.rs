//! The calibration registry API: registering caltables, recording their provenance after a
//! solve, and answering provenance, by-source and impact questions.
//!
//! This crate composes the leaves (`calprov-schema`, `calprov-metrics`, `calprov-casa`); the
//! CLI is its only user inside the project. [`env`] is the one module that reads environment
//! variables, and [`db_path`] the one place that decides the registry path.

pub mod db_path;
pub mod env;
mod error;
pub mod json;
pub mod monitoring;
pub mod params;
pub mod paths;
pub mod prefix;
mod record;
mod registry;
mod tracking;
pub mod version;

pub use calprov_casa as casa;
pub use calprov_metrics as metrics;
pub use calprov_schema::{MigrationReport, OpenOptions, RegistryShape};
pub use error::Error;
pub use record::{
    CaltableRecord, NewCaltable, Provenance, ProvenanceUpdate, RegisterMode, RegisterSummary,
    STATUSES, SetSummary,
};
pub use registry::{RecordResult, Registry, unix_now};
pub use tracking::{
    FailureKind, Missing, SolveRecord, TrackConfig, TrackError, TrackOutcome, TrackSummary,
    chain as tracking_chain, classify, strict_error, track_after_solve, track_after_solve_at,
    track_after_solve_strict,
};

/// The schema version the migrations lead to, reported in `--json` documents.
pub fn schema_version() -> i64 {
    calprov_schema::latest_version()
}

#[cfg(test)]
mod tests;
