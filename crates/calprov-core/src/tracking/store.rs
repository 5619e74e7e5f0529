//! The one place tracking writes: the provenance columns and the call's event, together in
//! one `BEGIN IMMEDIATE` transaction, so the two always agree.

use std::path::Path;
use std::time::Instant;

use calprov_casa::VersionStep;
use serde_json::{Map, Value};

use crate::caltable_row::{Provenance, ProvenanceUpdate};
use crate::clock::unix_now;
use crate::lineage::inputs::{Role, gaintable_inputs, vis_input};
use crate::lineage::selection::Selection;
use crate::paths::normalize_to_string;
use crate::registry::history::{NewSolve, insert_solve};
use crate::registry::write_provenance;
use crate::sql::Tx;
use crate::tracking::classify::is_retryable;
use crate::tracking::events::{EventRow, elapsed_us, insert_event};
use crate::tracking::outcome::describe_missing;
use crate::tracking::{Missing, TrackOutcome};
use crate::{Error, Registry};

/// Where and how a solve ran, for its history row.
#[derive(Clone, Copy, Default)]
pub(crate) struct SolveContext<'a> {
    /// The CASA task, when known.
    pub(crate) task: Option<&'a str>,
    /// The working directory.
    pub(crate) cwd: Option<&'a Path>,
    /// The host.
    pub(crate) host: Option<&'a str>,
}

/// What one tracking call writes.
pub(crate) struct Record<'a> {
    /// How the solve ran.
    pub(crate) context: SolveContext<'a>,
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
    /// The caltable's solution groups, when its fingerprint was taken.
    pub(crate) groups: Option<&'a [calprov_metrics::fingerprint::Group]>,
}

/// How many times a transaction that conflicted with others is run again.
const RETRIES: u32 = 3;

/// Writes `record` and its event in one transaction; nothing is written when it fails. A
/// transaction PostgreSQL could not serialise with others is run again, a bounded number
/// of times.
pub(crate) fn store(
    registry: &mut Registry,
    record: &Record<'_>,
    started: Instant,
) -> Result<ProvenanceUpdate, Error> {
    let mut attempt = 0;
    loop {
        match store_once(registry, record, started) {
            Err(err) if is_retryable(&err) && attempt < RETRIES => {
                attempt += 1;
                tracing::debug!(caltable = record.caltable, attempt, "conflict; run again");
                std::thread::sleep(std::time::Duration::from_millis(5 << attempt));
            }
            result => return result,
        }
    }
}

fn store_once(
    registry: &mut Registry,
    record: &Record<'_>,
    started: Instant,
) -> Result<ProvenanceUpdate, Error> {
    let mut tx = registry.begin_write("begin track")?;
    let update = write_provenance(&mut tx, record.caltable, record.provenance)?;
    let outcome = match (update, record.missing.is_empty()) {
        (ProvenanceUpdate::NotRegistered, _) => TrackOutcome::NOT_REGISTERED,
        (ProvenanceUpdate::Updated, true) => TrackOutcome::TRACKED,
        (ProvenanceUpdate::Updated, false) => TrackOutcome::PARTIAL,
    };
    if update == ProvenanceUpdate::Updated {
        append_solve(&mut tx, record, outcome)?;
    }
    let message = (!record.missing.is_empty()).then(|| describe_missing(record.missing));
    insert_event(
        &mut tx,
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
    tx.commit("commit track")?;
    Ok(update)
}

/// The history row of a recorded solve, its inputs read from its parameters.
fn append_solve(tx: &mut Tx<'_>, record: &Record<'_>, outcome: &str) -> Result<(), Error> {
    let provenance = record.provenance;
    let empty = Map::new();
    let params = provenance
        .solver_params
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let cwd = record.context.cwd;
    let mut inputs = vec![(
        Role::Vis,
        vis_input(provenance.source_ms_path.as_deref(), params, cwd),
    )];
    inputs.extend(
        gaintable_inputs(params, cwd)
            .into_iter()
            .map(|input| (Role::Gaintable, input)),
    );
    for (role, input) in &inputs {
        if let (Role::Gaintable, Some(problem)) = (role, &input.problem) {
            tracing::warn!(
                caltable = record.caltable,
                "input {} of the solve recorded as malformed: {problem}",
                input.index
            );
        }
    }
    let caltable = normalize_to_string(Path::new(record.caltable));
    let cwd_text = cwd.map(|c| c.to_string_lossy().into_owned());
    let metrics_text = provenance.quality_metrics.as_ref().map(Value::to_string);
    insert_solve(
        tx,
        &NewSolve {
            caltable: &caltable,
            solved_at: unix_now(),
            origin: ORIGIN_TRACKED,
            outcome,
            task: record.context.task,
            params: provenance.solver_params.as_ref(),
            command: provenance.solver_command.as_deref(),
            casa_version: provenance.solver_version.as_deref(),
            version_step: record.version_step.map(VersionStep::name),
            metrics: metrics_text.as_deref(),
            source_ms: provenance.source_ms_path.as_deref(),
            selection: &Selection::from_params(params),
            cwd: cwd_text.as_deref(),
            host: record.context.host,
            inputs: &inputs,
            groups: record.groups,
        },
    )?;
    Ok(())
}

/// The origin of solves recorded by tracking.
pub(crate) const ORIGIN_TRACKED: &str = "tracked";
