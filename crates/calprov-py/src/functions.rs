//! The module's functions that need no registry: metrics, the CASA version, and the
//! command a solve's parameters render to.

use std::path::PathBuf;
use std::time::Duration;

use calprov_core::caltable::{QaThresholds, read_quality_metrics};
use calprov_core::casa_command::render_solve_command;
use calprov_core::casa_version::detect_casa_version;
use calprov_core::env::Environment;
use calprov_core::params::drop_nulls;
use pyo3::prelude::*;

use crate::convert::{serialized, to_json_object};
use crate::errors::{InvalidParamsError, to_py_err};

/// How long a probe of the environment (a `casa` or `python3` on the PATH) may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The quality metrics of a caltable, read from its files (the dict `track_after_solve`
/// stores in `quality_metrics`, with the default QA thresholds). Raises `CaltableError`
/// when the table cannot be read.
#[pyfunction]
pub fn metrics<'py>(py: Python<'py>, caltable: PathBuf) -> PyResult<Bound<'py, PyAny>> {
    let metrics = py
        .detach(|| read_quality_metrics(&caltable, &QaThresholds::default()))
        .map_err(|e| to_py_err(&e))?;
    serialized(py, &metrics)
}

/// The CASA version, found as tracking finds it: `explicit`, the caltable's
/// `CASA_Version` keyword, `CASA_VERSION`, a modular CASA in `CALPROV_PYTHON` or `python3`,
/// a monolithic `casa` on the PATH. `None` when no step finds one.
#[pyfunction]
#[pyo3(signature = (caltable=None, *, explicit=None))]
pub fn casa_version(
    py: Python<'_>,
    caltable: Option<PathBuf>,
    explicit: Option<String>,
) -> Option<String> {
    let environment = Environment::from_process();
    py.detach(|| {
        let (result, _unreadable_keyword) =
            detect_casa_version(explicit, caltable.as_deref(), &environment, PROBE_TIMEOUT);
        result.found.map(|(version, _step)| version.to_string())
    })
}

/// The re-executable CASA command for `task` with keyword arguments `params`:
/// `gaincal(caltable='...', solint='int', ...)`, keys sorted, `None` values left out.
#[pyfunction]
pub fn render_command(task: &str, params: &Bound<'_, PyAny>) -> PyResult<String> {
    let params =
        to_json_object(params).map_err(|e| InvalidParamsError::new_err(e.describe("params")))?;
    render_solve_command(task, &drop_nulls(&params)).map_err(|e| to_py_err(&e))
}
