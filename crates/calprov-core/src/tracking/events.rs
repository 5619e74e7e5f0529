//! The tracking event table: one row per tracking call, written in the same transaction as
//! the provenance it describes, or on its own (best effort, within what is left of the busy
//! timeout) when the call failed.

use std::time::Instant;

use crate::clock::unix_now;
use crate::sql::{Cell, Tx};
use crate::tracking::{TrackOutcome, chain};
use crate::{Error, Registry};

/// One row of `calprov_tracking_events`.
pub(crate) struct EventRow<'a> {
    pub(crate) caltable: &'a str,
    pub(crate) outcome: &'static str,
    pub(crate) failure_kind: Option<&'static str>,
    pub(crate) message: Option<&'a str>,
    pub(crate) latency_us: u64,
    pub(crate) version_step: Option<&'static str>,
    pub(crate) solver_version: Option<&'a str>,
    pub(crate) qa_passed: Option<bool>,
}

/// Inserts the event inside the caller's transaction.
pub(crate) fn insert_event(tx: &mut Tx<'_>, e: &EventRow<'_>) -> Result<(), Error> {
    tx.execute(
        "INSERT INTO calprov_tracking_events (recorded_at, caltable_path, outcome, failure_kind, message, \
         latency_us, version_step, solver_version, qa_passed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            Cell::from(unix_now()),
            Cell::from(e.caltable),
            Cell::from(e.outcome),
            Cell::from(e.failure_kind),
            Cell::from(e.message),
            Cell::from(i64::try_from(e.latency_us).unwrap_or(i64::MAX)),
            Cell::from(e.version_step),
            Cell::from(e.solver_version),
            Cell::from(e.qa_passed),
        ],
        "record tracking event",
    )?;
    Ok(())
}

/// Records the event of a call that wrote nothing else, in its own transaction.
///
/// The whole tracking call is bounded by one busy timeout: the wait for the lock here is
/// only what is left of it since `started`, so a registry locked by another process costs
/// one timeout, not two. When even this fails (read-only, locked, full), the failure is
/// only logged.
pub(crate) fn record_event_best_effort(
    registry: &mut Registry,
    caltable: &str,
    outcome: &TrackOutcome,
    started: Instant,
) {
    let (kind, message) = match outcome {
        TrackOutcome::Failed { kind, message } => (Some(kind.name()), Some(message.as_str())),
        _ => (None, None),
    };
    let budget = registry.busy_timeout().saturating_sub(started.elapsed());
    let full_timeout = registry.busy_timeout();
    registry.set_lock_wait(budget);
    let result = (|| -> Result<(), Error> {
        let mut tx = registry.begin_write("begin event")?;
        insert_event(
            &mut tx,
            &EventRow {
                caltable,
                outcome: outcome.name(),
                failure_kind: kind,
                message,
                latency_us: elapsed_us(started),
                version_step: None,
                solver_version: None,
                qa_passed: None,
            },
        )?;
        tx.commit("commit event")
    })();
    // The connection keeps its own timeout for whatever the caller does next.
    registry.set_lock_wait(full_timeout);
    if let Err(err) = result {
        tracing::warn!(
            caltable,
            "the tracking event could not be recorded either: {}",
            chain(&err)
        );
    }
}

/// Microseconds since `started`, saturating.
pub(crate) fn elapsed_us(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}
