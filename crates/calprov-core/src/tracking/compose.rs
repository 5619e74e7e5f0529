//! The tracking composer: a solve becomes provenance in named steps (parameters and command,
//! metrics, version, assembly), then one [`store`](super::store::store).

use std::path::Path;
use std::time::Instant;

use calprov_casa::{VersionStep, detect_version};
use calprov_metrics::{Extracted, extract};
use serde_json::{Map, Value};

use crate::caltable_row::{Provenance, ProvenanceUpdate};
use crate::casa_command::render_solve_command;
use crate::casa_version::detection_inputs;
use crate::clock::unix_now;
use crate::params::{StoredParams, cap_params, drop_nulls};
use crate::paths::normalize_to_string;
use crate::tracking::events::elapsed_us;
use crate::tracking::store::{Record, SolveContext, store};
use crate::tracking::{
    FailureKind, Missing, SolveRecord, TrackConfig, TrackOutcome, TrackSummary, chain, classify,
};
use crate::{Error, Registry};

/// The parameters as stored and the command they render to.
struct PreparedParams {
    stored: StoredParams,
    command: Option<String>,
}

/// The CASA version found, and the step that found it.
struct Version {
    version: Option<String>,
    step: Option<VersionStep>,
}

/// Runs every step for one solve. Parameters come first: invalid ones fail the call before
/// anything is read or written.
pub(crate) fn compose(
    registry: &mut Registry,
    solve: &SolveRecord,
    config: &TrackConfig,
    started: Instant,
) -> TrackOutcome {
    let params = match prepare_params(solve, config) {
        Ok(params) => params,
        Err(message) => {
            return TrackOutcome::Failed {
                kind: FailureKind::InvalidParams,
                message,
            };
        }
    };
    let mut missing = Vec::new();
    let extracted = read_metrics(solve, config, &mut missing);
    let (metrics, groups) = match extracted {
        Some(Extracted { metrics, groups }) => (Some(metrics), Some(groups)),
        None => (None, None),
    };
    let version = find_version(solve, config, metrics.as_ref(), &mut missing);
    let provenance = assemble(solve, &params, metrics.as_ref(), &version);
    let qa_passed = metrics.as_ref().map(|m| m.qa_passed);
    let record = Record {
        context: SolveContext {
            task: Some(&solve.task),
            cwd: config.environment.cwd.as_deref(),
            host: config.environment.host.as_deref(),
        },
        caltable: &solve.caltable,
        provenance: &provenance,
        missing: &missing,
        version_step: version.step,
        qa_passed,
        groups: groups.as_deref(),
    };
    let summary = |latency_us| TrackSummary {
        caltable: solve.caltable.clone(),
        solver_version: version.version.clone(),
        version_step: version.step,
        solver_command: params.command.clone(),
        qa_passed,
        shortened_params: params.stored.shortened.clone(),
        latency_us,
    };
    outcome_of(store(registry, &record, started), summary, missing, started)
}

/// Records provenance fields given by the caller as they are: nothing is read, detected or
/// rendered, and nothing can be missing.
pub(crate) fn compose_given(
    registry: &mut Registry,
    caltable: &str,
    provenance: &Provenance,
    config: &TrackConfig,
    started: Instant,
) -> TrackOutcome {
    let record = Record {
        context: SolveContext {
            task: None,
            cwd: config.environment.cwd.as_deref(),
            host: config.environment.host.as_deref(),
        },
        caltable,
        provenance,
        missing: &[],
        version_step: None,
        qa_passed: None,
        groups: None,
    };
    let summary = |latency_us| TrackSummary {
        caltable: caltable.to_owned(),
        solver_version: provenance.solver_version.clone(),
        version_step: None,
        solver_command: provenance.solver_command.clone(),
        qa_passed: None,
        shortened_params: Vec::new(),
        latency_us,
    };
    outcome_of(
        store(registry, &record, started),
        summary,
        Vec::new(),
        started,
    )
}

/// The outcome of a store; a failure keeps its classified kind.
fn outcome_of(
    stored: Result<ProvenanceUpdate, Error>,
    summary: impl FnOnce(u64) -> TrackSummary,
    missing: Vec<Missing>,
    started: Instant,
) -> TrackOutcome {
    match stored {
        Ok(ProvenanceUpdate::NotRegistered) => TrackOutcome::NotRegistered,
        Ok(ProvenanceUpdate::Updated) if missing.is_empty() => {
            TrackOutcome::Tracked(summary(elapsed_us(started)))
        }
        Ok(ProvenanceUpdate::Updated) => TrackOutcome::Partial {
            summary: summary(elapsed_us(started)),
            missing,
        },
        Err(err) => TrackOutcome::Failed {
            kind: classify(&err),
            message: chain(&err),
        },
    }
}

/// Step 1: `null` values dropped, the command rendered (or the explicit one kept) and cut
/// to the limit, the parameters capped.
fn prepare_params(solve: &SolveRecord, config: &TrackConfig) -> Result<PreparedParams, String> {
    let Some(object) = solve.params.as_object() else {
        return Err("the parameters are not a JSON object".to_owned());
    };
    let object: Map<String, Value> = drop_nulls(object);
    let command = match &solve.solver_command {
        Some(explicit) => explicit.clone(),
        None => render_solve_command(&solve.task, &object).map_err(|e| e.to_string())?,
    };
    let command = calprov_casa::truncate_command(&command, config.command_limit).into_owned();
    Ok(PreparedParams {
        stored: cap_params(object, config.params_cap),
        command: Some(command),
    })
}

/// Step 2: the quality metrics and the fingerprint, from one read of the caltable; a table
/// that cannot be read makes the call partial.
fn read_metrics(
    solve: &SolveRecord,
    config: &TrackConfig,
    missing: &mut Vec<Missing>,
) -> Option<Extracted> {
    match extract(Path::new(&solve.caltable), &config.thresholds, unix_now()) {
        Ok(metrics) => Some(metrics),
        Err(err) => {
            missing.push(Missing {
                what: "quality_metrics",
                reason: chain(&err),
            });
            None
        }
    }
}

/// Step 3: the CASA version, from the explicit value, the caltable's keyword (already read
/// with the metrics) and the environment.
fn find_version(
    solve: &SolveRecord,
    config: &TrackConfig,
    metrics: Option<&calprov_metrics::QualityMetrics>,
    missing: &mut Vec<Missing>,
) -> Version {
    let inputs = detection_inputs(
        solve.solver_version.clone(),
        metrics.and_then(|m| m.casa_version.clone()),
        &config.environment,
        config.probe_timeout,
    );
    let detection = detect_version(&inputs);
    if let Some((version, step)) = detection.found {
        return Version {
            version: Some(version.to_string()),
            step: Some(step),
        };
    }
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
    Version {
        version: None,
        step: None,
    }
}

/// Step 4: the five provenance columns; the metrics carry the step that found the version.
fn assemble(
    solve: &SolveRecord,
    params: &PreparedParams,
    metrics: Option<&calprov_metrics::QualityMetrics>,
    version: &Version,
) -> Provenance {
    let metrics_value = metrics.map(|m| {
        let mut value = serde_json::to_value(m).unwrap_or(Value::Object(Map::new()));
        if let (Value::Object(map), Some(step)) = (&mut value, version.step) {
            map.insert(
                "solver_version_source".to_owned(),
                Value::String(step.name().to_owned()),
            );
        }
        value
    });
    Provenance {
        source_ms_path: Some(normalize_to_string(Path::new(&solve.ms))),
        solver_command: params.command.clone(),
        solver_version: version.version.clone(),
        solver_params: Some(params.stored.value.clone()),
        quality_metrics: metrics_value,
    }
}
