//! The one place tracking writes: the provenance columns and the call's event, together in
//! one `BEGIN IMMEDIATE` transaction, so the two always agree.

use std::time::Instant;

use calprov_casa::VersionStep;
use calprov_schema::begin_immediate;

use crate::caltable_row::{Provenance, ProvenanceUpdate};
use crate::registry::write_provenance;
use crate::tracking::events::{EventRow, elapsed_us, insert_event};
use crate::tracking::outcome::describe_missing;
use crate::tracking::{Missing, TrackOutcome};
use crate::{Error, Registry};

/// What one tracking call writes.
pub(crate) struct Record<'a> {
    /// The caltable, as given.
    pub(crate) caltable: &'a str,
    /// The five provenance columns.
    pub(crate) provenance: &'a Provenance,
    /// What could not be obtained (makes the call `partial`).
    pub(crate) missing: &'a [Missing],
    /// The detection step that found the version.
    pub(crate) version_step: Option<VersionStep>,
    /// The QA verdict of the metrics read.
    pub(crate) qa_passed: Option<bool>,
}

/// Writes `record` and its event in one transaction; nothing is written when it fails.
pub(crate) fn store(
    registry: &mut Registry,
    record: &Record<'_>,
    started: Instant,
) -> Result<ProvenanceUpdate, Error> {
    let db = registry.path().to_path_buf();
    let tx = begin_immediate(registry.connection_mut()).map_err(Error::sql(&db, "begin track"))?;
    let update = write_provenance(&tx, &db, record.caltable, record.provenance)?;
    let outcome = match (update, record.missing.is_empty()) {
        (ProvenanceUpdate::NotRegistered, _) => TrackOutcome::NOT_REGISTERED,
        (ProvenanceUpdate::Updated, true) => TrackOutcome::TRACKED,
        (ProvenanceUpdate::Updated, false) => TrackOutcome::PARTIAL,
    };
    let message = (!record.missing.is_empty()).then(|| describe_missing(record.missing));
    insert_event(
        &tx,
        &db,
        &EventRow {
            caltable: record.caltable,
            outcome,
            failure_kind: None,
            message: message.as_deref(),
            latency_us: elapsed_us(started),
            version_step: record.version_step.map(VersionStep::name),
            solver_version: record.provenance.solver_version.as_deref(),
            qa_passed: record.qa_passed,
        },
    )?;
    tx.commit().map_err(Error::sql(&db, "commit track"))?;
    Ok(update)
}
