//! Recording an applycal: which tables were applied to which MS, with what selection, each
//! table pinned to its solve current at that time. The same guarantees as tracking a solve:
//! never an error or a panic, one event per call in the same transaction.

use std::time::Instant;

use serde_json::Value;

use crate::casa_command::{render_solve_command, truncate_command};
use crate::clock::unix_now;
use crate::lineage::inputs::{gaintable_inputs, vis_input};
use crate::lineage::selection::Selection;
use crate::registry::history::{NewApplication, insert_application};
use crate::tracking::events::{EventRow, elapsed_us, insert_event};
use crate::tracking::outcome::describe_missing;
use crate::tracking::{
    FailureKind, Missing, TrackConfig, TrackOutcome, TrackSummary, chain, classify,
};
use crate::{Error, Registry};

/// One applycal to record.
#[derive(Debug, Clone)]
pub struct ApplicationRecord {
    /// The MS written (else `params["vis"]`).
    pub ms: Option<String>,
    /// applycal's keyword arguments (a JSON object).
    pub params: Value,
}

impl ApplicationRecord {
    /// The MS the application writes (`ms`, else `params["vis"]`), as logs, events and
    /// outcomes name it.
    pub fn target(&self) -> String {
        self.ms
            .clone()
            .filter(|m| !m.is_empty())
            .or_else(|| {
                self.params
                    .get("vis")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "(no vis)".to_owned())
    }
}

/// Composes and stores one application. Tables that cannot be pinned to a solve (not
/// tracked, malformed) make the call `partial`; the application is recorded all the same.
pub(crate) fn compose_application(
    registry: &mut Registry,
    app: &ApplicationRecord,
    config: &TrackConfig,
    started: Instant,
) -> TrackOutcome {
    let Some(params) = app.params.as_object() else {
        return TrackOutcome::Failed {
            kind: FailureKind::InvalidParams,
            message: "the applycal parameters are not a JSON object".to_owned(),
        };
    };
    let cwd = config.environment.cwd.as_deref();
    let vis = vis_input(app.ms.as_deref(), params, cwd);
    let Some(ms) = vis.path else {
        return TrackOutcome::Failed {
            kind: FailureKind::InvalidParams,
            message: "the application names no MS (neither --ms nor vis)".to_owned(),
        };
    };
    let command = match render_solve_command("applycal", params) {
        Ok(command) => truncate_command(&command, config.command_limit).into_owned(),
        Err(err) => {
            return TrackOutcome::Failed {
                kind: FailureKind::InvalidParams,
                message: chain(&err),
            };
        }
    };
    let tables = gaintable_inputs(params, cwd);
    let cwd_text = cwd.map(|c| c.to_string_lossy().into_owned());
    let stored = (|| -> Result<Vec<String>, Error> {
        let mut tx = registry.begin_write("begin application")?;
        let (_, unpinned) = insert_application(
            &mut tx,
            &NewApplication {
                ms: &ms,
                applied_at: unix_now(),
                params: &app.params,
                selection: &Selection::from_params(params),
                command: Some(&command),
                cwd: cwd_text.as_deref(),
                host: config.environment.host.as_deref(),
                tables: &tables,
            },
        )?;
        let message = (!unpinned.is_empty()).then(|| unpinned.join("; "));
        insert_event(
            &mut tx,
            &EventRow {
                caltable: &ms,
                outcome: if unpinned.is_empty() {
                    TrackOutcome::TRACKED
                } else {
                    TrackOutcome::PARTIAL
                },
                failure_kind: None,
                message: message.as_deref(),
                latency_us: elapsed_us(started),
                version_step: None,
                solver_version: None,
                qa_passed: None,
            },
        )?;
        tx.commit("commit application")?;
        Ok(unpinned)
    })();
    match stored {
        Err(err) => TrackOutcome::Failed {
            kind: classify(&err),
            message: chain(&err),
        },
        Ok(unpinned) => {
            let summary = TrackSummary {
                caltable: ms,
                solver_version: None,
                version_step: None,
                solver_command: Some(command),
                qa_passed: None,
                shortened_params: Vec::new(),
                latency_us: elapsed_us(started),
            };
            if unpinned.is_empty() {
                TrackOutcome::Tracked(summary)
            } else {
                let missing: Vec<Missing> = unpinned
                    .into_iter()
                    .map(|reason| Missing {
                        what: "pinned_solve",
                        reason,
                    })
                    .collect();
                tracing::debug!("application partial: {}", describe_missing(&missing));
                TrackOutcome::Partial { summary, missing }
            }
        }
    }
}
