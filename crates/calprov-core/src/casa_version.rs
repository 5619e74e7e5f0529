//! CASA version detection as calprov runs it: the caltable's keyword read through
//! calprov-metrics, the environment from [`crate::env`], the chain from calprov-casa.

use std::path::Path;
use std::time::Duration;

use calprov_casa::{DetectionInputs, detect_version};

use crate::env::Environment;

pub use calprov_casa::{DetectionResult, Rejected, VersionStep};

/// Builds the chain's inputs; `keyword` is the caltable's `CASA_Version` as already read.
pub fn detection_inputs(
    explicit: Option<String>,
    keyword: Option<String>,
    environment: &Environment,
    probe_timeout: Duration,
) -> DetectionInputs {
    DetectionInputs {
        explicit,
        caltable_keyword: keyword,
        env_casa_version: environment.casa_version.clone(),
        python: environment.calprov_python.clone().map(Into::into),
        path_dirs: environment.path_dirs(),
        probe_timeout,
    }
}

/// Runs the chain, reading the keyword of `caltable` when given. A caltable that cannot be
/// read is reported in the second value and the chain goes on without its keyword.
pub fn detect_casa_version(
    explicit: Option<String>,
    caltable: Option<&Path>,
    environment: &Environment,
    probe_timeout: Duration,
) -> (DetectionResult, Option<crate::Error>) {
    let (keyword, keyword_error) = match caltable.map(calprov_metrics::read_casa_version_keyword) {
        Some(Ok(keyword)) => (keyword, None),
        Some(Err(err)) => (None, Some(crate::Error::Caltable(err))),
        None => (None, None),
    };
    let result = detect_version(&detection_inputs(
        explicit,
        keyword,
        environment,
        probe_timeout,
    ));
    (result, keyword_error)
}
