//! Caltables on disk as calprov's users see them: quality metrics and the QA verdict read
//! from a table, and synthetic real-format tables for demos and tests.

use std::path::Path;

use crate::Error;
use crate::clock::unix_now;

pub use calprov_metrics::synthetic::{SyntheticKind, SyntheticSpec};
pub use calprov_metrics::{FlagGrid, GroupQuality, QaThresholds, QualityMetrics};

/// Reads the caltable at `path` and computes its metrics and QA verdict, assessed now.
pub fn read_quality_metrics(
    path: &Path,
    thresholds: &QaThresholds,
) -> Result<QualityMetrics, Error> {
    Ok(calprov_metrics::extract_metrics(
        path,
        thresholds,
        unix_now(),
    )?)
}

/// Writes a synthetic caltable in CASA's on-disk format at `path`.
pub fn write_synthetic_caltable(path: &Path, spec: &SyntheticSpec) -> Result<(), Error> {
    Ok(calprov_metrics::synthetic::write_synthetic_caltable(
        path, spec,
    )?)
}
