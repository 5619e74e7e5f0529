//! `calprov track` and `track-many`: after a solve, through the core's one tracking path
//! (every call records its event); never failing a pipeline step unless `--strict` asks.

use std::collections::BTreeMap;
use std::io::BufRead;

use anyhow::Context as _;
use calprov_core::{
    ApplicationRecord, FailureKind, Registry, SolveRecord, TrackOutcome, open_failed,
    record_application, strict_error, track_after_solve, track_given_provenance,
    track_rejected_input,
};
use serde_json::{Value, json};

use super::register::provenance;
use crate::args::{TrackArgs, TrackManyArgs};
use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit};
use crate::json_arg::json_object;
use crate::output;

/// What `track` was asked to record, once its flags are read.
enum Request {
    /// `--task`: read, detect and render everything.
    Solve(SolveRecord),
    /// No `--task`: the given fields as they are.
    Given(calprov_core::Provenance),
    /// Flags that cannot be read; recorded as an `invalid_params` failure.
    Rejected(String),
}

fn request(args: &TrackArgs) -> Request {
    let Some(task) = &args.task else {
        return match provenance(&args.provenance) {
            Ok(given) => Request::Given(given),
            Err(err) => Request::Rejected(format!("{:#}", err.error)),
        };
    };
    match json_object("params", args.provenance.params.as_deref()) {
        Ok(params) => Request::Solve(SolveRecord {
            ms: args.provenance.source_ms.clone().unwrap_or_default(),
            caltable: args.caltable.clone(),
            task: task.clone(),
            params: params.unwrap_or_else(|| json!({})),
            solver_version: args.provenance.solver_version.clone(),
            solver_command: args.provenance.solver_command.clone(),
        }),
        Err(err) => Request::Rejected(format!("{:#}", err.error)),
    }
}

/// `track`: one call, one event, one outcome.
pub fn track(ctx: &Context, args: TrackArgs) -> Result<Exit, CliError> {
    let config = ctx.track_config();
    let outcome = match ctx.try_open() {
        Err(err) => open_failed_anyhow(&args.caltable, &err),
        Ok(mut registry) => match request(&args) {
            Request::Solve(solve) => track_after_solve(&mut registry, &solve, &config),
            Request::Given(given) => {
                track_given_provenance(&mut registry, &args.caltable, &given, &config)
            }
            Request::Rejected(message) => {
                track_rejected_input(&mut registry, &args.caltable, &message)
            }
        },
    };
    if args.json.json {
        output::print_json(
            "track",
            &json!({"caltable": args.caltable, "result": outcome}),
        )?;
    }
    match (&outcome, args.strict) {
        (TrackOutcome::Tracked(_), _) => {
            if !args.json.json {
                output::print_text(&format!("{}: provenance recorded", args.caltable))?;
            }
            Ok(Exit::Ok)
        }
        (_, true) => {
            Err(anyhow::Error::new(strict_error(&args.caltable, outcome))).exit(Exit::Data)
        }
        (_, false) => {
            eprintln!("warning: {}: {}", args.caltable, not_recorded(&outcome));
            Ok(Exit::Ok)
        }
    }
}

/// The warning line for an outcome that is not `Tracked`.
pub(super) fn not_recorded(outcome: &TrackOutcome) -> String {
    match outcome {
        TrackOutcome::Partial { missing, .. } => {
            let what: Vec<String> = missing
                .iter()
                .map(|m| format!("{} ({})", m.what, m.reason))
                .collect();
            format!("provenance recorded without {}", what.join(", "))
        }
        TrackOutcome::NotRegistered => {
            "provenance not recorded: the caltable is not registered".to_owned()
        }
        TrackOutcome::Failed { kind, message } => {
            format!("provenance not recorded ({}): {message}", kind.name())
        }
        TrackOutcome::Tracked(_) => "provenance recorded".to_owned(),
    }
}

/// The outcome of a call whose registry the CLI could not open (or whose directory it could
/// not create).
pub(super) fn open_failed_anyhow(caltable: &str, err: &anyhow::Error) -> TrackOutcome {
    match err.downcast_ref::<calprov_core::Error>() {
        Some(core) => open_failed(caltable, core),
        None => {
            let outcome = TrackOutcome::Failed {
                kind: FailureKind::RegistryUnavailable,
                message: format!("{err:#}"),
            };
            tracing::warn!(caltable, "provenance tracking failed: {err:#}");
            outcome
        }
    }
}

/// One line of a `track-many` file.
#[derive(serde::Deserialize)]
struct SolveLine {
    ms: String,
    caltable: String,
    task: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    solver_version: Option<String>,
    #[serde(default)]
    solver_command: Option<String>,
}

impl From<SolveLine> for SolveRecord {
    fn from(line: SolveLine) -> Self {
        SolveRecord {
            ms: line.ms,
            caltable: line.caltable,
            task: line.task,
            params: if line.params.is_null() {
                json!({})
            } else {
                line.params
            },
            solver_version: line.solver_version,
            solver_command: line.solver_command,
        }
    }
}

/// A line of a `track-many` file: a solve, or an application (`"task": "applycal"`).
enum Line {
    Solve(Box<SolveLine>),
    Application(ApplicationRecord),
}

impl Line {
    fn target(&self) -> String {
        match self {
            Line::Solve(solve) => solve.caltable.clone(),
            Line::Application(app) => app.ms.clone().unwrap_or_else(|| "applycal".to_owned()),
        }
    }
}

fn parse_line(line: &str) -> Result<Line, serde_json::Error> {
    let value: Value = serde_json::from_str(line)?;
    if value.get("task").and_then(Value::as_str) == Some("applycal") {
        return Ok(Line::Application(ApplicationRecord {
            ms: value.get("ms").and_then(Value::as_str).map(str::to_owned),
            params: value.get("params").cloned().unwrap_or_else(|| json!({})),
        }));
    }
    serde_json::from_value::<SolveLine>(value).map(|s| Line::Solve(Box::new(s)))
}

/// `track-many`: like `track --task` (or `applied`) for each line, over one registry connection.
///
/// Lines are tracked as they arrive, so a pipeline can stream its solves through one process
/// as they finish.
pub fn track_many(ctx: &Context, args: TrackManyArgs) -> Result<Exit, CliError> {
    let source = if args.file.as_os_str() == "-" {
        "stdin".to_owned()
    } else {
        args.file.display().to_string()
    };
    let reader: Box<dyn BufRead> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot read {source}"))
            .exit(Exit::Data)?;
        Box::new(std::io::BufReader::new(file))
    };
    let config = ctx.track_config();
    let mut registry: Result<Registry, anyhow::Error> = ctx.try_open();
    let mut counts: BTreeMap<&'static str, u64> = BTreeMap::new();
    for (number, line) in reader.lines().enumerate() {
        let line = line
            .with_context(|| format!("cannot read line {} of {source}", number + 1))
            .exit(Exit::Data)?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = parse_line(&line);
        let outcome = match (parsed, registry.as_mut()) {
            (Ok(Line::Solve(solve)), Ok(registry)) => {
                track_after_solve(registry, &(*solve).into(), &config)
            }
            (Ok(Line::Application(app)), Ok(registry)) => {
                record_application(registry, &app, &config)
            }
            (Err(err), Ok(registry)) => track_rejected_input(
                registry,
                &format!("line {}", number + 1),
                &format!("line {}: {err}", number + 1),
            ),
            (Ok(line), Err(err)) => open_failed_anyhow(&line.target(), err),
            (Err(err), Err(_)) => TrackOutcome::Failed {
                kind: FailureKind::InvalidParams,
                message: format!("line {}: {err}", number + 1),
            },
        };
        if let TrackOutcome::Failed { kind, message } = &outcome {
            eprintln!(
                "warning: line {}: provenance not recorded ({}): {message}",
                number + 1,
                kind.name()
            );
        }
        *counts.entry(outcome.name()).or_default() += 1;
    }
    let total: u64 = counts.values().sum();
    let tracked = counts.get(TrackOutcome::TRACKED).copied().unwrap_or(0);
    if args.json.json {
        output::print_json("track-many", &json!({"total": total, "by_outcome": counts}))?;
    } else {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        output::print_text(&format!("{total} solves: {}", parts.join(", ")))?;
    }
    if args.strict && tracked != total {
        return Err(anyhow::anyhow!(
            "{} of {total} solves were not fully recorded",
            total - tracked
        ))
        .exit(Exit::Data);
    }
    Ok(Exit::Ok)
}
