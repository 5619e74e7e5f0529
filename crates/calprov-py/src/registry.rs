//! `calprov.Registry`: one open registry, shared safely by the threads of a process.
//!
//! The connection sits behind a mutex and every call runs with the GIL released: threads
//! that track in parallel wait for the registry, not for each other's Python code, and a
//! call waiting for another process's lock does not stall the interpreter.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use calprov_core::db_path::{DbLocation, ensure_parent_dir, pg_environment, resolve_db_path};
use calprov_core::env::Environment;
use calprov_core::lineage::graph::{BadPart, Window};
use calprov_core::lineage::selection::parse_user_ids;
use calprov_core::{
    ApplicationRecord, FailureKind, OpenOptions, RegisterMode, SolveRecord, TrackConfig,
    TrackOutcome, record_application, strict_error, track_after_solve, track_rejected_input,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString, PyTuple};
use serde_json::Value;

use crate::convert::{serialized, to_json_object};
use crate::errors::{InvalidParamsError, RegistryError, to_py_err, tracking_error};
use crate::outcome::Outcome;
use crate::rows::new_caltable;
use crate::same_process::Held;

/// A calibration registry, opened (created and migrated when needed) once and used for
/// many calls.
///
/// `Registry(path_or_url=None, *, busy_timeout=30.0)`: the path follows the CLI's rules (the
/// argument, then `PIPELINE_DB`, `CAL_REGISTRY_DB`, `$PIPELINE_STATE_DIR/cal_registry.sqlite3`,
/// then the default location). One object may be shared by the threads of a process; after
/// `os.fork()`, open a new one in the child.
#[pyclass(frozen, module = "calprov")]
pub struct Registry {
    /// `None` once closed.
    inner: Mutex<Option<Open>>,
    location: DbLocation,
    /// The registry file; for a PostgreSQL registry its URL without the password.
    path: PathBuf,
    busy_timeout: Duration,
}

/// An open registry, and its mark as a file calprov holds (`same_process`).
struct Open {
    registry: calprov_core::Registry,
    /// A file's mark; a server registry has none.
    _held: Option<Held>,
}

impl Registry {
    /// The lock on the open registry (`None` once closed). A thread that panicked while
    /// holding the lock cannot have left the connection mid-transaction (SQLite rolls an
    /// unfinished transaction back), so a poisoned lock is taken over.
    fn lock(&self) -> MutexGuard<'_, Option<Open>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `call` on the open registry with the GIL released.
    fn with<T: Send>(
        &self,
        py: Python<'_>,
        call: impl FnOnce(&mut calprov_core::Registry) -> T + Send,
    ) -> PyResult<T> {
        py.detach(|| {
            let mut guard = self.lock();
            match guard.as_mut() {
                Some(open) => Ok(call(&mut open.registry)),
                None => Err(RegistryError::new_err(format!(
                    "registry {} is closed",
                    self.path.display()
                ))),
            }
        })
    }

    /// Runs a query on the open registry with the GIL released; its answer as Python values
    /// (`None` for a `None` answer), its error as the matching exception.
    fn query<'py, T: serde::Serialize + Send>(
        &self,
        py: Python<'py>,
        call: impl FnOnce(&mut calprov_core::Registry) -> Result<T, calprov_core::Error> + Send,
    ) -> PyResult<Bound<'py, PyAny>> {
        let answer = self.with(py, call)?.map_err(|e| to_py_err(&e))?;
        serialized(py, &answer)
    }

    /// How tracking behaves for a call now: the environment as it is at this call (a
    /// long-running pipeline may change its working directory or CASA between solves).
    fn track_config(&self) -> TrackConfig {
        TrackConfig {
            environment: Environment::from_process(),
            busy_timeout: self.busy_timeout,
            ..TrackConfig::default()
        }
    }

    /// Runs one tracking call under the Python contract: the outcome, whatever happens
    /// (a closed registry is a `failed` one), logged when it is not `tracked`; with
    /// `strict`, anything but `tracked` raised instead.
    fn track(
        &self,
        py: Python<'_>,
        target: &str,
        strict: bool,
        started: Instant,
        call: impl FnOnce(&mut calprov_core::Registry) -> TrackOutcome + Send,
    ) -> PyResult<Outcome> {
        let outcome = match self.with(py, call) {
            Ok(outcome) => outcome,
            Err(closed) if strict => return Err(closed),
            Err(closed) => TrackOutcome::Failed {
                kind: FailureKind::RegistryUnavailable,
                message: closed.to_string(),
            },
        };
        if strict && !matches!(outcome, TrackOutcome::Tracked(_)) {
            let status = outcome.name();
            return Err(tracking_error(py, status, &strict_error(target, outcome)));
        }
        Ok(finish(py, target, &outcome, started))
    }

    /// A call whose parameters could not be converted: recorded as a counted
    /// `invalid_params` failure, then its outcome (or, strict, `InvalidParamsError`).
    fn rejected(
        &self,
        py: Python<'_>,
        target: &str,
        message: String,
        strict: bool,
        started: Instant,
    ) -> PyResult<Outcome> {
        let outcome = self.track(py, target, false, started, |registry| {
            track_rejected_input(registry, target, &message)
        })?;
        if strict {
            return Err(InvalidParamsError::new_err(message));
        }
        Ok(outcome)
    }
}

/// The outcome object of a non-strict call; anything but `tracked` is logged as a warning
/// on the `calprov` logger.
fn finish(py: Python<'_>, target: &str, outcome: &TrackOutcome, started: Instant) -> Outcome {
    let outcome = Outcome::new(target, outcome, started.elapsed().as_secs_f64() * 1e3);
    if let Some(line) = outcome.warning() {
        log_warning(py, &line);
    }
    outcome
}

/// Logs on Python's `logging.getLogger("calprov")`. Logging must not fail a call: an error
/// from the logging module itself is printed by Python's own handler of last resort.
pub fn log_warning(py: Python<'_>, line: &str) {
    let logged = py
        .import("logging")
        .and_then(|logging| logging.call_method1("getLogger", ("calprov",)))
        .and_then(|logger| logger.call_method1("warning", (line,)));
    if let Err(err) = logged {
        err.write_unraisable(py, None);
    }
}

/// A path argument: `str` or `os.PathLike`.
fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Ids of the bad part: `None` (all), an int, an iterable of ints, or CASA-style text
/// (`"3,5~7"`).
fn id_set(name: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<BTreeSet<i64>>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if let Ok(text) = value.cast::<PyString>() {
        let text = text.to_cow()?;
        return parse_user_ids(&text).map(Some).ok_or_else(|| {
            PyValueError::new_err(format!(
                "{name}: {text:?} is not a list of ids and ranges (3,5~7)"
            ))
        });
    }
    if let Ok(id) = value.extract::<i64>() {
        return Ok(Some(BTreeSet::from([id])));
    }
    let mut ids = BTreeSet::new();
    let iter = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} must be an int, an iterable of ints or a str like \"3,5~7\""
        ))
    })?;
    for item in iter {
        ids.insert(
            item?
                .extract::<i64>()
                .map_err(|_| PyTypeError::new_err(format!("{name} must hold ints")))?,
        );
    }
    Ok(Some(ids))
}

#[pymethods]
impl Registry {
    #[new]
    #[pyo3(signature = (path_or_url=None, *, busy_timeout=30.0))]
    fn new(py: Python<'_>, path_or_url: Option<PathBuf>, busy_timeout: f64) -> PyResult<Self> {
        let busy_timeout = Duration::try_from_secs_f64(busy_timeout).map_err(|_| {
            PyValueError::new_err("busy_timeout must be a non-negative number of seconds")
        })?;
        let environment = Environment::from_process();
        let location = resolve_db_path(path_or_url.as_deref(), &environment)
            .map_err(|e| RegistryError::new_err(calprov_core::chain(&e)))?;
        for warning in &location.warnings {
            log_warning(py, warning);
        }
        let options = OpenOptions {
            busy_timeout,
            ..OpenOptions::default()
        };
        // Only a file can be held by another SQLite library in this process.
        let held = location.file().map(|file| {
            let (held, foreign) = Held::before_open(file);
            if let Some(warning) = foreign {
                log_warning(py, &warning);
            }
            held
        });
        let registry = py.detach(|| {
            ensure_parent_dir(&location).map_err(|e| RegistryError::new_err(e.to_string()))?;
            calprov_core::Registry::open_address(
                &location.address,
                &options,
                &pg_environment(&environment),
            )
            .map_err(|e| {
                RegistryError::new_err(format!(
                    "registry chosen by {}: {}",
                    location.rule,
                    calprov_core::chain(&e)
                ))
            })
        })?;
        let path = registry.path().to_path_buf();
        let open = Open {
            registry,
            _held: held.map(Held::after_open),
        };
        Ok(Self {
            inner: Mutex::new(Some(open)),
            location,
            path,
            busy_timeout,
        })
    }

    /// The registry file.
    #[getter]
    fn path(&self) -> String {
        path_text(&self.path)
    }

    /// The rule that chose the file (`explicit path`, `PIPELINE_DB`, ..., `default location`).
    #[getter]
    fn rule(&self) -> String {
        self.location.rule.to_string()
    }

    /// Tracks one solve after CASA wrote `caltable`: the CASA version, the command rendered
    /// from `params`, the metrics and fingerprint read from the table, in one transaction
    /// with its event. Whatever goes wrong is in the returned `Outcome`, never raised, unless
    /// `strict=True` (then anything but `tracked` raises `TrackingError`, and unrecordable
    /// params `InvalidParamsError`). Arguments of the wrong type raise `TypeError`, as for any
    /// Python call; the pipeline's hook `_track_calibration_provenance` catches even those.
    #[pyo3(signature = (ms, caltable, task, params, *, strict=false, solver_version=None, solver_command=None))]
    #[allow(clippy::too_many_arguments)]
    fn track_after_solve(
        &self,
        py: Python<'_>,
        ms: PathBuf,
        caltable: PathBuf,
        task: &str,
        params: &Bound<'_, PyAny>,
        strict: bool,
        solver_version: Option<String>,
        solver_command: Option<String>,
    ) -> PyResult<Outcome> {
        let started = Instant::now();
        let caltable = path_text(&caltable);
        let params = match to_json_object(params) {
            Ok(map) => Value::Object(map),
            Err(e) => return self.rejected(py, &caltable, e.describe("params"), strict, started),
        };
        let solve = SolveRecord {
            ms: path_text(&ms),
            caltable: caltable.clone(),
            task: task.to_owned(),
            params,
            solver_version,
            solver_command,
        };
        let config = self.track_config();
        self.track(py, &caltable, strict, started, |registry| {
            track_after_solve(registry, &solve, &config)
        })
    }

    /// Records that applycal applied its `gaintable` list (in `params`) to an MS (`ms`,
    /// else `params["vis"]`), each table pinned to its current solve. The same guarantees
    /// as `track_after_solve`.
    #[pyo3(signature = (params, ms=None, *, strict=false))]
    fn record_application(
        &self,
        py: Python<'_>,
        params: &Bound<'_, PyAny>,
        ms: Option<PathBuf>,
        strict: bool,
    ) -> PyResult<Outcome> {
        let started = Instant::now();
        let mut app = ApplicationRecord {
            ms: ms.as_deref().map(path_text),
            params: Value::Null,
        };
        match to_json_object(params) {
            Ok(map) => app.params = Value::Object(map),
            Err(e) => {
                return self.rejected(py, &app.target(), e.describe("params"), strict, started);
            }
        }
        let target = app.target();
        let config = self.track_config();
        self.track(py, &target, strict, started, |registry| {
            record_application(registry, &app, &config)
        })
    }

    /// The caltable's row (its 17 columns, the JSON ones as dicts), or `None` when it is
    /// not registered.
    fn provenance<'py>(&self, py: Python<'py>, caltable: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let caltable = path_text(&caltable);
        self.query(py, |registry| registry.get_caltable_provenance(&caltable))
    }

    /// Every caltable solved from `ms`, as rows (dicts), by `order_index` ascending then
    /// newest first. A row whose stored JSON cannot be read raises `RegistryError`.
    fn by_source<'py>(&self, py: Python<'py>, ms: PathBuf) -> PyResult<Bound<'py, PyList>> {
        let ms = path_text(&ms);
        let rows = self
            .with(py, |registry| registry.query_caltables_by_source(&ms))?
            .map_err(|e| to_py_err(&e))?;
        let list = PyList::empty(py);
        for row in rows {
            let row = row.map_err(|e| to_py_err(&e))?;
            list.append(serialized(py, &row)?)?;
        }
        Ok(list)
    }

    /// What the given caltables touched, transitively: `{"caltables": [...], "ms": [...],
    /// "findings": [...]}`. `antenna` / `spw` narrow the bad part (an int, ints, or
    /// `"3,5~7"`); `since` / `until` (unix seconds) the users counted; `explain` spells out
    /// each finding's chain.
    #[pyo3(signature = (caltables, antenna=None, spw=None, explain=false, *, since=None, until=None))]
    #[allow(clippy::too_many_arguments)]
    fn impact<'py>(
        &self,
        py: Python<'py>,
        caltables: &Bound<'py, PyAny>,
        antenna: Option<&Bound<'py, PyAny>>,
        spw: Option<&Bound<'py, PyAny>>,
        explain: bool,
        since: Option<f64>,
        until: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let caltables = caltable_list(caltables)?;
        let bad = BadPart {
            antennas: id_set("antenna", antenna)?,
            spws: id_set("spw", spw)?,
        };
        let window = Window { since, until };
        self.query(py, |registry| {
            registry.impact(&caltables, &bad, window, explain)
        })
    }

    /// The caltable's lineage: its current solve and, recursively, the solves of everything
    /// it was made from (a dict tree), or `None` when no solve of it is recorded.
    fn lineage<'py>(&self, py: Python<'py>, caltable: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let caltable = path_text(&caltable);
        self.query(py, |registry| registry.lineage(&caltable))
    }

    /// Every recorded solve of the caltable, oldest first (dicts).
    fn history<'py>(&self, py: Python<'py>, caltable: PathBuf) -> PyResult<Bound<'py, PyAny>> {
        let caltable = path_text(&caltable);
        self.query(py, |registry| registry.history(&caltable))
    }

    /// The distinct source MSes of the caltables (the pipeline's `impact_analysis`).
    fn source_ms_of(&self, py: Python<'_>, caltables: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let caltables = caltable_list(caltables)?;
        self.with(py, |registry| registry.impact_analysis(&caltables))?
            .map_err(|e| to_py_err(&e))
    }

    /// Registers `rows` (dicts or `CalTableRow`s) in set `set_name` in one transaction.
    /// `upsert=True` merges into existing rows: incoming values win, `None` keeps what is
    /// stored, so recorded provenance is never erased; `upsert=False` leaves existing rows
    /// untouched. Returns `{"inserted": n, "updated": n, "ignored": n}`.
    #[pyo3(signature = (set_name, rows, *, upsert=true))]
    fn register_set<'py>(
        &self,
        py: Python<'py>,
        set_name: &str,
        rows: &Bound<'py, PyAny>,
        upsert: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let rows = rows
            .try_iter()?
            .enumerate()
            .map(|(i, row)| new_caltable(&row?, i))
            .collect::<PyResult<Vec<_>>>()?;
        let mode = if upsert {
            RegisterMode::Upsert
        } else {
            RegisterMode::Ignore
        };
        self.query(py, |registry| registry.register_set(set_name, &rows, mode))
    }

    /// Writes the five provenance columns of a registered caltable as given (nothing read
    /// or detected), with the tracking event; `False` when the caltable is not registered.
    /// Raises on failure: this is the pipeline helper's contract.
    #[pyo3(signature = (caltable, *, source_ms_path=None, solver_command=None, solver_version=None, solver_params=None, quality_metrics=None))]
    #[allow(clippy::too_many_arguments)]
    fn record_provenance(
        &self,
        py: Python<'_>,
        caltable: PathBuf,
        source_ms_path: Option<PathBuf>,
        solver_command: Option<String>,
        solver_version: Option<String>,
        solver_params: Option<&Bound<'_, PyAny>>,
        quality_metrics: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        let caltable = path_text(&caltable);
        let object = |name: &str, value: Option<&Bound<'_, PyAny>>| -> PyResult<Option<Value>> {
            value
                .filter(|v| !v.is_none())
                .map(|v| {
                    to_json_object(v)
                        .map(Value::Object)
                        .map_err(|e| InvalidParamsError::new_err(e.describe(name)))
                })
                .transpose()
        };
        let provenance = calprov_core::Provenance {
            source_ms_path: source_ms_path.as_deref().map(path_text),
            solver_command,
            solver_version,
            solver_params: object("solver_params", solver_params)?,
            quality_metrics: object("quality_metrics", quality_metrics)?,
        };
        let update = self
            .with(py, |registry| {
                registry.track_calibration_provenance(&caltable, &provenance)
            })?
            .map_err(|e| to_py_err(&e))?;
        Ok(matches!(update, calprov_core::ProvenanceUpdate::Updated))
    }

    /// Closes the connection; later calls raise `RegistryError`. Also done by `with`.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| {
            self.lock().take();
        });
        Ok(())
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Closes the registry at the end of a `with` block; exceptions propagate.
    #[pyo3(signature = (*exc))]
    fn __exit__(&self, py: Python<'_>, exc: &Bound<'_, PyTuple>) -> PyResult<bool> {
        let _exception_info_is_not_needed = exc;
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("Registry({:?})", path_text(&self.path))
    }
}

/// A caltable list argument: one path, or an iterable of paths.
fn caltable_list(value: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(one) = value.extract::<PathBuf>() {
        return Ok(vec![path_text(&one)]);
    }
    value
        .try_iter()
        .map_err(|_| PyTypeError::new_err("caltables must be a path or an iterable of paths"))?
        .map(|item| Ok(path_text(&item?.extract::<PathBuf>()?)))
        .collect()
}
