//! Quality metrics and a QA verdict, read from real CASA calibration tables.
//!
//! [`reader`] (and [`synthetic`], its writing twin) is the only code that touches the table
//! library; [`reduce`] holds the pure, deterministic, optionally parallel reductions;
//! [`qa`] turns metrics into a verdict.

pub mod breakdown;
mod error;
pub mod fingerprint;
pub mod qa;
mod quality_metrics;
pub mod reader;
pub mod reduce;
pub mod synthetic;

pub use breakdown::{FlagGrid, GroupQuality};
pub use error::Error;
pub use qa::QaThresholds;
pub use quality_metrics::{
    Extracted, QualityMetrics, compute_metrics, compute_metrics_with, extract, extract_metrics,
};

/// Tables with at least this many rows are read and reduced in parallel (rayon).
pub const PARALLEL_THRESHOLD: usize = 100_000;

/// Reads only the `CASA_Version` keyword of a caltable (for version detection).
pub fn read_casa_version_keyword(path: &std::path::Path) -> Result<Option<String>, Error> {
    reader::read_keywords_only(path).map(|k| k.casa_version)
}
