//! Tracking after a solve: version, command, metrics and the registry update in one call
//! that never fails the solve.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant};

use calprov_casa::{PyValue, VersionStep, detect_version, render_command, truncate_command};
use calprov_metrics::{QaThresholds, QualityMetrics, extract_metrics};
use calprov_schema::begin_immediate;
use rusqlite::params;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::env::Environment;
use crate::params::{DEFAULT_PARAMS_CAP, cap_params, drop_nulls};
use crate::paths::normalize_to_string;
use crate::record::{Provenance, ProvenanceUpdate};
use crate::registry::{unix_now, write_provenance};
use crate::version::detection_inputs;
use crate::{Error, Registry};

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
    /// How long to wait for another process's registry lock before failing.
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

/// Why tracking failed, as counted by monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The registry could not be opened (missing directory, not SQLite, damaged).
    RegistryUnavailable,
    /// Another process held the lock past the busy timeout.
    RegistryLocked,
    /// The registry file or its directory is read-only.
    RegistryReadOnly,
    /// The disk or the database is full.
    RegistryFull,
    /// Any other registry error.
    RegistryError,
    /// The parameters cannot be recorded (invalid names, nested too deeply, not an object).
    InvalidParams,
    /// A bug: something panicked. Caught, counted, reported.
    Internal,
}

impl FailureKind {
    /// The stable name stored in events.
    pub fn name(self) -> &'static str {
        match self {
            FailureKind::RegistryUnavailable => "registry_unavailable",
            FailureKind::RegistryLocked => "registry_locked",
            FailureKind::RegistryReadOnly => "registry_read_only",
            FailureKind::RegistryFull => "registry_full",
            FailureKind::RegistryError => "registry_error",
            FailureKind::InvalidParams => "invalid_params",
            FailureKind::Internal => "internal",
        }
    }
}

/// Something tracking could not obtain; everything else was still recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    /// `quality_metrics`, `solver_version` or `solver_command`.
    pub what: &'static str,
    /// Why.
    pub reason: String,
}

/// The outcome of one tracking call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum TrackOutcome {
    /// Everything was recorded.
    Tracked(TrackSummary),
    /// Recorded, but some parts could not be obtained.
    Partial {
        /// What was recorded.
        #[serde(flatten)]
        summary: TrackSummary,
        /// What is missing, and why.
        missing: Vec<Missing>,
    },
    /// The caltable has no row in the registry; nothing was written but the event.
    NotRegistered,
    /// Nothing was recorded.
    Failed {
        /// The class of failure.
        kind: FailureKind,
        /// The cause chain, for the operator.
        message: String,
    },
}

impl TrackOutcome {
    /// The stable outcome name stored in events.
    pub fn name(&self) -> &'static str {
        match self {
            TrackOutcome::Tracked(_) => "tracked",
            TrackOutcome::Partial { .. } => "partial",
            TrackOutcome::NotRegistered => "not_registered",
            TrackOutcome::Failed { .. } => "failed",
        }
    }
}

/// What a successful (or partial) tracking call recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrackSummary {
    /// The caltable as stored.
    pub caltable: String,
    /// The CASA version recorded, if found.
    pub solver_version: Option<String>,
    /// The step that found it.
    pub version_step: Option<VersionStep>,
    /// The command recorded.
    pub solver_command: Option<String>,
    /// The QA verdict, when metrics were read.
    pub qa_passed: Option<bool>,
    /// Parameter keys shortened to fit the cap.
    pub shortened_params: Vec<String>,
    /// Time spent, microseconds.
    pub latency_us: u64,
}

/// A tracking failure, for the strict form.
#[derive(Debug, thiserror::Error)]
#[error("tracking {caltable} failed ({}): {message}", kind.name())]
pub struct TrackError {
    /// The caltable.
    pub caltable: String,
    /// The class of failure.
    pub kind: FailureKind,
    /// The cause chain.
    pub message: String,
}

/// Tracks one solve; never panics and never returns an error. Every failure is logged as one
/// warning naming the caltable and the cause, and recorded as an event when the registry can
/// take it.
pub fn track_after_solve(
    registry: &mut Registry,
    solve: &SolveRecord,
    config: &TrackConfig,
) -> TrackOutcome {
    let started = Instant::now();
    let outcome = match catch_unwind(AssertUnwindSafe(|| {
        track_inner(registry, solve, config, started)
    })) {
        Ok(outcome) => outcome,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panic".to_owned());
            let outcome = TrackOutcome::Failed {
                kind: FailureKind::Internal,
                message,
            };
            record_event_best_effort(registry, solve, &outcome, started);
            outcome
        }
    };
    log_outcome(&solve.caltable, &outcome);
    outcome
}

/// Tracks one solve against the registry at `db`, opening it first: the form the CLI uses.
/// A registry that cannot even be opened is a `Failed` outcome too (logged; no event can be
/// recorded in it).
pub fn track_after_solve_at(db: &Path, solve: &SolveRecord, config: &TrackConfig) -> TrackOutcome {
    let options = calprov_schema::OpenOptions {
        busy_timeout: config.busy_timeout,
        ..calprov_schema::OpenOptions::default()
    };
    match Registry::open_with(db, &options) {
        Ok(mut registry) => track_after_solve(&mut registry, solve, config),
        Err(err) => {
            let outcome = TrackOutcome::Failed {
                kind: classify(&err),
                message: chain(&err),
            };
            log_outcome(&solve.caltable, &outcome);
            outcome
        }
    }
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

/// Maps a non-`Tracked` outcome to the strict form's error.
pub fn strict_error(caltable: &str, outcome: TrackOutcome) -> TrackError {
    let (kind, message) = match outcome {
        TrackOutcome::Failed { kind, message } => (kind, message),
        TrackOutcome::NotRegistered => (
            FailureKind::RegistryError,
            "the caltable is not registered".to_owned(),
        ),
        TrackOutcome::Partial { missing, .. } => (
            FailureKind::RegistryError,
            missing
                .iter()
                .map(|m| format!("{}: {}", m.what, m.reason))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        TrackOutcome::Tracked(_) => (FailureKind::Internal, "tracked".to_owned()),
    };
    TrackError {
        caltable: caltable.to_owned(),
        kind,
        message,
    }
}

fn log_outcome(caltable: &str, outcome: &TrackOutcome) {
    match outcome {
        TrackOutcome::Tracked(_) => tracing::debug!(caltable, "provenance tracked"),
        TrackOutcome::Partial { missing, .. } => {
            let what: Vec<String> = missing
                .iter()
                .map(|m| format!("{}: {}", m.what, m.reason))
                .collect();
            tracing::warn!(caltable, "provenance recorded without {}", what.join("; "));
        }
        TrackOutcome::NotRegistered => tracing::warn!(
            caltable,
            "provenance not recorded: the caltable is not registered"
        ),
        TrackOutcome::Failed { kind, message } => {
            tracing::warn!(
                caltable,
                kind = kind.name(),
                "provenance tracking failed: {message}"
            )
        }
    }
}

fn track_inner(
    registry: &mut Registry,
    solve: &SolveRecord,
    config: &TrackConfig,
    started: Instant,
) -> TrackOutcome {
    let mut missing = Vec::new();
    let caltable_path = Path::new(&solve.caltable);

    // Parameters first: invalid ones fail the call before anything is read or written.
    let Some(object) = solve.params.as_object() else {
        return fail_and_record(
            registry,
            solve,
            started,
            FailureKind::InvalidParams,
            "the parameters are not a JSON object".to_owned(),
        );
    };
    let object = drop_nulls(object);
    let command = match &solve.solver_command {
        Some(explicit) => Some(explicit.clone()),
        None => {
            let py: Vec<(String, PyValue)> = object
                .iter()
                .map(|(k, v)| (k.clone(), PyValue::from_json(v)))
                .collect();
            match render_command(&solve.task, py.iter().map(|(k, v)| (k.as_str(), v))) {
                Ok(command) => Some(command),
                Err(err) => {
                    return fail_and_record(
                        registry,
                        solve,
                        started,
                        FailureKind::InvalidParams,
                        err.to_string(),
                    );
                }
            }
        }
    }
    .map(|c| truncate_command(&c, config.command_limit).into_owned());
    let stored = cap_params(object, config.params_cap);

    let metrics: Option<QualityMetrics> =
        match extract_metrics(caltable_path, &config.thresholds, unix_now()) {
            Ok(m) => Some(m),
            Err(err) => {
                missing.push(Missing {
                    what: "quality_metrics",
                    reason: chain(&err),
                });
                None
            }
        };
    let inputs = detection_inputs(
        solve.solver_version.clone(),
        metrics.as_ref().and_then(|m| m.casa_version.clone()),
        &config.environment,
        config.probe_timeout,
    );
    let detection = detect_version(&inputs);
    let (version, step) = match detection.found {
        Some((v, s)) => (Some(v.to_string()), Some(s)),
        None => {
            let tried: Vec<String> = detection
                .rejected
                .iter()
                .map(|r| format!("{} {:?}: {}", r.step.name(), r.value, r.reason))
                .collect();
            missing.push(Missing {
                what: "solver_version",
                reason: if tried.is_empty() {
                    "no detection step found a CASA version".to_owned()
                } else {
                    tried.join("; ")
                },
            });
            (None, None)
        }
    };
    let metrics_value = metrics.as_ref().map(|m| {
        let mut value = serde_json::to_value(m).unwrap_or(Value::Object(Map::new()));
        if let (Value::Object(map), Some(step)) = (&mut value, step) {
            map.insert(
                "solver_version_source".to_owned(),
                Value::String(step.name().to_owned()),
            );
        }
        value
    });
    let provenance = Provenance {
        source_ms_path: Some(normalize_to_string(Path::new(&solve.ms))),
        solver_command: command.clone(),
        solver_version: version.clone(),
        solver_params: Some(stored.value),
        quality_metrics: metrics_value,
    };
    let qa_passed = metrics.as_ref().map(|m| m.qa_passed);

    let db = registry.path().to_path_buf();
    let conn = registry.connection_mut();
    let result = (|| -> Result<ProvenanceUpdate, Error> {
        let tx = begin_immediate(conn).map_err(Error::sql(&db, "begin track"))?;
        let update = write_provenance(&tx, &db, &solve.caltable, &provenance)?;
        let summary_outcome = match (update, missing.is_empty()) {
            (ProvenanceUpdate::NotRegistered, _) => "not_registered",
            (ProvenanceUpdate::Updated, true) => "tracked",
            (ProvenanceUpdate::Updated, false) => "partial",
        };
        let message = (!missing.is_empty()).then(|| {
            missing
                .iter()
                .map(|m| format!("{}: {}", m.what, m.reason))
                .collect::<Vec<_>>()
                .join("; ")
        });
        insert_event(
            &tx,
            &db,
            &EventRow {
                caltable: &solve.caltable,
                outcome: summary_outcome,
                failure_kind: None,
                message: message.as_deref(),
                latency_us: elapsed_us(started),
                version_step: step.map(VersionStep::name),
                solver_version: version.as_deref(),
                qa_passed,
            },
        )?;
        tx.commit().map_err(Error::sql(&db, "commit track"))?;
        Ok(update)
    })();
    match result {
        Ok(ProvenanceUpdate::NotRegistered) => TrackOutcome::NotRegistered,
        Ok(ProvenanceUpdate::Updated) => {
            let summary = TrackSummary {
                caltable: solve.caltable.clone(),
                solver_version: version,
                version_step: step,
                solver_command: command,
                qa_passed,
                shortened_params: stored.shortened,
                latency_us: elapsed_us(started),
            };
            if missing.is_empty() {
                TrackOutcome::Tracked(summary)
            } else {
                TrackOutcome::Partial { summary, missing }
            }
        }
        Err(err) => {
            let kind = classify(&err);
            fail_and_record(registry, solve, started, kind, chain(&err))
        }
    }
}

fn fail_and_record(
    registry: &mut Registry,
    solve: &SolveRecord,
    started: Instant,
    kind: FailureKind,
    message: String,
) -> TrackOutcome {
    let outcome = TrackOutcome::Failed { kind, message };
    record_event_best_effort(registry, solve, &outcome, started);
    outcome
}

/// Records the event of a failed call in its own transaction; when even that fails (the
/// registry is read-only, locked, full), the failure is only logged.
fn record_event_best_effort(
    registry: &mut Registry,
    solve: &SolveRecord,
    outcome: &TrackOutcome,
    started: Instant,
) {
    let (kind, message) = match outcome {
        TrackOutcome::Failed { kind, message } => (Some(kind.name()), Some(message.as_str())),
        _ => (None, None),
    };
    let db = registry.path().to_path_buf();
    let conn = registry.connection_mut();
    let result = (|| -> Result<(), Error> {
        let tx = begin_immediate(conn).map_err(Error::sql(&db, "begin event"))?;
        insert_event(
            &tx,
            &db,
            &EventRow {
                caltable: &solve.caltable,
                outcome: outcome.name(),
                failure_kind: kind,
                message,
                latency_us: elapsed_us(started),
                version_step: None,
                solver_version: None,
                qa_passed: None,
            },
        )?;
        tx.commit().map_err(Error::sql(&db, "commit event"))
    })();
    if let Err(err) = result {
        tracing::warn!(
            caltable = solve.caltable,
            "the tracking event could not be recorded either: {}",
            chain(&err)
        );
    }
}

struct EventRow<'a> {
    caltable: &'a str,
    outcome: &'a str,
    failure_kind: Option<&'a str>,
    message: Option<&'a str>,
    latency_us: u64,
    version_step: Option<&'a str>,
    solver_version: Option<&'a str>,
    qa_passed: Option<bool>,
}

fn insert_event(tx: &rusqlite::Transaction<'_>, db: &Path, e: &EventRow<'_>) -> Result<(), Error> {
    tx.prepare_cached(
        "INSERT INTO calprov_tracking_events (recorded_at, caltable_path, outcome, failure_kind, message, \
         latency_us, version_step, solver_version, qa_passed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            unix_now(),
            e.caltable,
            e.outcome,
            e.failure_kind,
            e.message,
            i64::try_from(e.latency_us).unwrap_or(i64::MAX),
            e.version_step,
            e.solver_version,
            e.qa_passed,
        ])
    })
    .map_err(Error::sql(db, "record tracking event"))?;
    Ok(())
}

fn elapsed_us(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// The cause chain of an error on one line.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Classifies a registry error by SQLite's error code.
pub fn classify(err: &Error) -> FailureKind {
    use rusqlite::ErrorCode as C;
    // SQLITE_IOERR_SHMSIZE: the shared-memory file of WAL mode could not be grown, which
    // on a full filesystem is the first write to fail.
    const IOERR_SHMSIZE: i32 = rusqlite::ffi::SQLITE_IOERR_SHMSIZE;
    let code = |e: &rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == IOERR_SHMSIZE => {
            Some(C::DiskFull)
        }
        _ => e.sqlite_error_code(),
    };
    let sqlite = match err {
        Error::Sql { source, .. } => code(source),
        Error::Schema(schema) => match schema {
            calprov_schema::Error::Open { source, .. }
            | calprov_schema::Error::Pragma { source, .. }
            | calprov_schema::Error::Adopt { source, .. } => code(source),
            calprov_schema::Error::NotADatabase { .. } => return FailureKind::RegistryUnavailable,
            calprov_schema::Error::LockTimeout { .. } => return FailureKind::RegistryLocked,
            calprov_schema::Error::Lock { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                return FailureKind::RegistryReadOnly;
            }
            _ => None,
        },
        Error::InvalidJson { .. } | Error::NotAnObject { .. } | Error::InvalidField { .. } => {
            return FailureKind::InvalidParams;
        }
        _ => None,
    };
    match sqlite {
        Some(C::DatabaseBusy | C::DatabaseLocked) => FailureKind::RegistryLocked,
        Some(C::ReadOnly) => FailureKind::RegistryReadOnly,
        Some(C::DiskFull) => FailureKind::RegistryFull,
        Some(C::CannotOpen | C::NotADatabase | C::DatabaseCorrupt | C::PermissionDenied) => {
            FailureKind::RegistryUnavailable
        }
        _ => match err {
            Error::Schema(_) => FailureKind::RegistryUnavailable,
            _ => FailureKind::RegistryError,
        },
    }
}
