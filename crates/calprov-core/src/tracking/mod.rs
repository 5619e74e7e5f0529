//! Tracking after a solve: version, command, metrics and the registry update in one call
//! that never fails the solve.
//!
//! Every entry point runs under one guard ([`guarded`]): panics become `Failed { Internal }`,
//! every failure is logged once as a warning and recorded as an event when the registry can
//! take it, and every success writes its event in the same transaction as the provenance
//! ([`store`]).

mod application;
mod classify;
mod compose;
mod events;
mod outcome;
mod store;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use calprov_metrics::QaThresholds;
use serde_json::Value;

use crate::caltable_row::{Provenance, ProvenanceUpdate};
use crate::env::Environment;
use crate::params::DEFAULT_PARAMS_CAP;
use crate::{Error, OpenOptions, Registry};

pub use application::ApplicationRecord;
pub use classify::{chain, classify};
pub use outcome::{FailureKind, Missing, TrackError, TrackOutcome, TrackSummary, strict_error};

/// One solve to track.
#[derive(Debug, Clone)]
pub struct SolveRecord {
    /// The MS the caltable was solved from.
    pub ms: String,
    /// The caltable directory.
    pub caltable: String,
    /// The CASA task (`gaincal`, `bandpass`, ...).
    pub task: String,
    /// The task's keyword arguments (a JSON object; `null` values are dropped).
    pub params: Value,
    /// A version that overrides detection (`--solver-version`).
    pub solver_version: Option<String>,
    /// A command that overrides rendering (`--solver-command`).
    pub solver_command: Option<String>,
}

/// How tracking behaves.
#[derive(Debug, Clone)]
pub struct TrackConfig {
    /// QA thresholds for the metrics.
    pub thresholds: QaThresholds,
    /// Longest stored command, bytes.
    pub command_limit: usize,
    /// Largest stored `solver_params`, bytes.
    pub params_cap: usize,
    /// The environment the version detection looks at.
    pub environment: Environment,
    /// The longest a version probe may take.
    pub probe_timeout: Duration,
    /// How long to wait for another process's registry lock before failing, when
    /// [`track_after_solve_at`] opens the registry.
    pub busy_timeout: Duration,
}

impl Default for TrackConfig {
    fn default() -> Self {
        Self {
            thresholds: QaThresholds::default(),
            command_limit: calprov_casa::DEFAULT_COMMAND_LIMIT,
            params_cap: DEFAULT_PARAMS_CAP,
            environment: Environment::default(),
            probe_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(30),
        }
    }
}

impl TrackConfig {
    /// The options [`track_after_solve_at`] opens the registry with.
    pub fn open_options(&self) -> OpenOptions {
        OpenOptions {
            busy_timeout: self.busy_timeout,
            ..OpenOptions::default()
        }
    }
}

/// Tracks one solve; never panics and never returns an error. Every failure is logged as one
/// warning naming the caltable and the cause, and recorded as an event when the registry can
/// take it. The whole call waits at most one busy timeout for another process's lock.
pub fn track_after_solve(
    registry: &mut Registry,
    solve: &SolveRecord,
    config: &TrackConfig,
) -> TrackOutcome {
    guarded(registry, &solve.caltable, |registry, started| {
        compose::compose(registry, solve, config, started)
    })
}

/// Records provenance fields given by the caller (`calprov track` without `--task`): the
/// same guarantees and event as [`track_after_solve`], but nothing is read, detected or
/// rendered.
pub fn track_given_provenance(
    registry: &mut Registry,
    caltable: &str,
    provenance: &Provenance,
    config: &TrackConfig,
) -> TrackOutcome {
    guarded(registry, caltable, |registry, started| {
        compose::compose_given(registry, caltable, provenance, config, started)
    })
}

/// Records that applycal applied its `gaintable` list to an MS: the same guarantees and
/// event as [`track_after_solve`] (never an error, never a panic).
pub fn record_application(
    registry: &mut Registry,
    app: &ApplicationRecord,
    config: &TrackConfig,
) -> TrackOutcome {
    let target = app.target();
    guarded(registry, &target, |registry, started| {
        application::compose_application(registry, app, config, started)
    })
}

/// Records a tracking call whose input the caller could not even read (parameters that are
/// not JSON, say) as `Failed { InvalidParams }` with its event, so monitoring counts it.
pub fn track_rejected_input(
    registry: &mut Registry,
    caltable: &str,
    message: &str,
) -> TrackOutcome {
    guarded(registry, caltable, |_, _| TrackOutcome::Failed {
        kind: FailureKind::InvalidParams,
        message: message.to_owned(),
    })
}

/// Tracks one solve against the registry at `db`, opening it first: the form for a pipeline
/// step that holds no registry. A registry that cannot even be opened is a `Failed` outcome
/// too (logged; no event can be recorded in it).
pub fn track_after_solve_at(db: &Path, solve: &SolveRecord, config: &TrackConfig) -> TrackOutcome {
    match Registry::open_with(db, &config.open_options()) {
        Ok(mut registry) => track_after_solve(&mut registry, solve, config),
        Err(err) => open_failed(&solve.caltable, &err),
    }
}

/// The outcome of a call whose registry could not be opened: classified and logged.
pub fn open_failed(caltable: &str, err: &Error) -> TrackOutcome {
    let outcome = TrackOutcome::Failed {
        kind: classify(err),
        message: chain(err),
    };
    log_outcome(caltable, &outcome);
    outcome
}

/// The strict form: anything but `Tracked` is an error.
pub fn track_after_solve_strict(
    registry: &mut Registry,
    solve: &SolveRecord,
    config: &TrackConfig,
) -> Result<TrackSummary, TrackError> {
    match track_after_solve(registry, solve, config) {
        TrackOutcome::Tracked(summary) => Ok(summary),
        other => Err(strict_error(&solve.caltable, other)),
    }
}

impl Registry {
    /// Writes the five provenance columns of a registered caltable, replacing what was
    /// there, and records the tracking event in the same transaction (the Python pipeline's
    /// helper of the same name, with errors returned instead of swallowed). An unregistered
    /// caltable gets no row.
    pub fn track_calibration_provenance(
        &mut self,
        caltable: &str,
        provenance: &Provenance,
    ) -> Result<ProvenanceUpdate, Error> {
        let started = Instant::now();
        let record = store::Record {
            context: store::SolveContext::default(),
            caltable,
            provenance,
            missing: &[],
            version_step: None,
            qa_passed: None,
            groups: None,
        };
        store::store(self, &record, started)
    }
}

/// Runs one tracking call: catches panics, records the event of a failed call, logs.
fn guarded(
    registry: &mut Registry,
    caltable: &str,
    call: impl FnOnce(&mut Registry, Instant) -> TrackOutcome,
) -> TrackOutcome {
    let started = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(|| call(registry, started))) {
        Ok(outcome) => outcome,
        Err(panic) => TrackOutcome::Failed {
            kind: FailureKind::Internal,
            message: panic_message(panic.as_ref()),
        },
    };
    if matches!(outcome, TrackOutcome::Failed { .. }) {
        events::record_event_best_effort(registry, caltable, &outcome, started);
    }
    log_outcome(caltable, &outcome);
    outcome
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "panic".to_owned())
}

fn log_outcome(caltable: &str, outcome: &TrackOutcome) {
    match outcome {
        TrackOutcome::Tracked(_) => tracing::debug!(caltable, "provenance tracked"),
        TrackOutcome::Partial { missing, .. } => tracing::warn!(
            caltable,
            "provenance recorded without {}",
            outcome::describe_missing(missing)
        ),
        TrackOutcome::NotRegistered => tracing::warn!(
            caltable,
            "provenance not recorded: the caltable is not registered"
        ),
        TrackOutcome::Failed { kind, message } => tracing::warn!(
            caltable,
            kind = kind.name(),
            "provenance tracking failed: {message}"
        ),
    }
}
