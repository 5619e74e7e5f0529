//! What a tracking call reports: its outcome, the failure kinds monitoring counts, and the
//! strict form's error.

use calprov_casa::VersionStep;
use serde::Serialize;

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
    /// A PostgreSQL registry's server cannot be reached (down, refused, unknown host).
    RegistryUnreachable,
    /// A PostgreSQL registry's server went away during the call (a restart, the network).
    RegistryConnectionLost,
    /// A PostgreSQL registry's server refused the credentials.
    RegistryAuthRefused,
    /// A PostgreSQL statement ran past the configured timeout.
    RegistryTimeout,
    /// A PostgreSQL transaction kept conflicting with others past the bounded retries.
    RegistryConflict,
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
            FailureKind::RegistryUnreachable => "registry_unreachable",
            FailureKind::RegistryConnectionLost => "registry_connection_lost",
            FailureKind::RegistryAuthRefused => "registry_auth_refused",
            FailureKind::RegistryTimeout => "registry_timeout",
            FailureKind::RegistryConflict => "registry_conflict",
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

/// Joins missing parts as `what: reason; what: reason`.
pub(crate) fn describe_missing(missing: &[Missing]) -> String {
    missing
        .iter()
        .map(|m| format!("{}: {}", m.what, m.reason))
        .collect::<Vec<_>>()
        .join("; ")
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
    /// The stored name of [`TrackOutcome::Tracked`].
    pub const TRACKED: &'static str = "tracked";
    /// The stored name of [`TrackOutcome::Partial`].
    pub const PARTIAL: &'static str = "partial";
    /// The stored name of [`TrackOutcome::NotRegistered`].
    pub const NOT_REGISTERED: &'static str = "not_registered";
    /// The stored name of [`TrackOutcome::Failed`].
    pub const FAILED: &'static str = "failed";
    /// Every stored outcome name, in the order reports list them.
    pub const NAMES: [&'static str; 4] = [
        Self::TRACKED,
        Self::PARTIAL,
        Self::NOT_REGISTERED,
        Self::FAILED,
    ];

    /// The stable outcome name stored in events.
    pub fn name(&self) -> &'static str {
        match self {
            TrackOutcome::Tracked(_) => Self::TRACKED,
            TrackOutcome::Partial { .. } => Self::PARTIAL,
            TrackOutcome::NotRegistered => Self::NOT_REGISTERED,
            TrackOutcome::Failed { .. } => Self::FAILED,
        }
    }

    /// The summary of what was recorded, for `Tracked` and `Partial`.
    pub fn summary(&self) -> Option<&TrackSummary> {
        match self {
            TrackOutcome::Tracked(summary) | TrackOutcome::Partial { summary, .. } => Some(summary),
            _ => None,
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

/// Maps a non-`Tracked` outcome to the strict form's error.
pub fn strict_error(caltable: &str, outcome: TrackOutcome) -> TrackError {
    let (kind, message) = match outcome {
        TrackOutcome::Failed { kind, message } => (kind, message),
        TrackOutcome::NotRegistered => (
            FailureKind::RegistryError,
            "the caltable is not registered".to_owned(),
        ),
        TrackOutcome::Partial { missing, .. } => {
            (FailureKind::RegistryError, describe_missing(&missing))
        }
        TrackOutcome::Tracked(_) => (FailureKind::Internal, TrackOutcome::TRACKED.to_owned()),
    };
    TrackError {
        caltable: caltable.to_owned(),
        kind,
        message,
    }
}
