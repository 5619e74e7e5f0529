//! `calprov.Outcome`: what a tracking call did, as a small immutable Python object.

use std::collections::BTreeMap;

use calprov_core::TrackOutcome;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// What one tracking call did.
///
/// `status` is `"tracked"` (everything recorded), `"partial"` (recorded without what
/// `missing` names), `"not_registered"` (the caltable has no row; nothing written but the
/// event) or `"failed"` (nothing recorded; `failure_kind` and `message` say why).
#[pyclass(frozen, module = "calprov", eq)]
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `tracked`, `partial`, `not_registered` or `failed`.
    #[pyo3(get)]
    status: &'static str,
    /// The caltable (or, for an application, the MS) the call was about.
    #[pyo3(get)]
    target: String,
    /// What could not be obtained, and why (`{"solver_version": "..."}`).
    #[pyo3(get)]
    missing: BTreeMap<String, String>,
    /// For `failed`: `registry_locked`, `registry_unavailable`, `invalid_params`, ...
    #[pyo3(get)]
    failure_kind: Option<&'static str>,
    /// For `failed`, the cause chain; for `partial` and `not_registered`, what happened.
    #[pyo3(get)]
    message: Option<String>,
    /// The whole call, milliseconds.
    #[pyo3(get)]
    latency_ms: f64,
    /// The CASA version recorded.
    #[pyo3(get)]
    solver_version: Option<String>,
    /// The command recorded.
    #[pyo3(get)]
    solver_command: Option<String>,
    /// The QA verdict, when metrics were read.
    #[pyo3(get)]
    qa_passed: Option<bool>,
    /// Parameter keys shortened to fit the stored size cap.
    #[pyo3(get)]
    shortened_params: Vec<String>,
}

impl Outcome {
    /// The Python view of a core outcome, with the call's measured latency.
    pub fn new(target: &str, outcome: &TrackOutcome, latency_ms: f64) -> Self {
        let summary = outcome.summary();
        let (failure_kind, message, missing) = match outcome {
            TrackOutcome::Failed { kind, message } => {
                (Some(kind.name()), Some(message.clone()), BTreeMap::new())
            }
            TrackOutcome::Partial { missing, .. } => (
                None,
                Some(format!(
                    "recorded without {}",
                    missing
                        .iter()
                        .map(|m| m.what)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                missing
                    .iter()
                    .map(|m| (m.what.to_owned(), m.reason.clone()))
                    .collect(),
            ),
            TrackOutcome::NotRegistered => (
                None,
                Some(format!("{target} is not registered: nothing was recorded")),
                BTreeMap::new(),
            ),
            TrackOutcome::Tracked(_) => (None, None, BTreeMap::new()),
        };
        Self {
            status: outcome.name(),
            target: target.to_owned(),
            missing,
            failure_kind,
            message,
            latency_ms,
            solver_version: summary.and_then(|s| s.solver_version.clone()),
            solver_command: summary.and_then(|s| s.solver_command.clone()),
            qa_passed: summary.and_then(|s| s.qa_passed),
            shortened_params: summary
                .map(|s| s.shortened_params.clone())
                .unwrap_or_default(),
        }
    }

    /// The line logged for an outcome that is not `tracked`.
    pub fn warning(&self) -> Option<String> {
        let message = self.message.as_deref()?;
        Some(match self.failure_kind {
            Some(kind) => format!(
                "provenance tracking failed for {} ({kind}): {message}",
                self.target
            ),
            None => format!("provenance for {}: {message}", self.target),
        })
    }
}

#[pymethods]
impl Outcome {
    /// True when provenance was recorded (`tracked` or `partial`).
    #[getter]
    fn ok(&self) -> bool {
        matches!(self.status, TrackOutcome::TRACKED | TrackOutcome::PARTIAL)
    }

    /// Every field as a dict (for logs and JSON).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("status", self.status)?;
        dict.set_item("target", &self.target)?;
        dict.set_item("missing", &self.missing)?;
        dict.set_item("failure_kind", self.failure_kind)?;
        dict.set_item("message", &self.message)?;
        dict.set_item("latency_ms", self.latency_ms)?;
        dict.set_item("solver_version", &self.solver_version)?;
        dict.set_item("solver_command", &self.solver_command)?;
        dict.set_item("qa_passed", self.qa_passed)?;
        dict.set_item("shortened_params", &self.shortened_params)?;
        Ok(dict)
    }

    fn __repr__(&self) -> String {
        match (&self.failure_kind, &self.message) {
            (Some(kind), _) => format!(
                "Outcome(status='failed', failure_kind='{kind}', target={:?})",
                self.target
            ),
            (None, Some(message)) if self.status != TrackOutcome::TRACKED => {
                format!(
                    "Outcome(status='{}', target={:?}, message={message:?})",
                    self.status, self.target
                )
            }
            _ => format!(
                "Outcome(status='{}', target={:?}, latency_ms={:.3})",
                self.status, self.target, self.latency_ms
            ),
        }
    }
}
