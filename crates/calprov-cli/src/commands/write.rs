//! The commands that write to the registry.

use std::time::Duration;

use anyhow::Context;
use calprov_core::db_path::DbLocation;
use calprov_core::env::Environment;
use calprov_core::json::parse_python_json;
use calprov_core::{
    NewCaltable, Provenance, ProvenanceUpdate, RegisterMode, Registry, SolveRecord, TrackConfig,
    TrackOutcome, TrackSummary, classify, strict_error, track_after_solve_at,
};
use serde_json::{Value, json};

use crate::args::{
    ProvenanceFlags, RegisterArgs, RegisterPrefixArgs, RetireArgs, RowFlags, TrackArgs,
    TrackManyArgs,
};
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

pub fn init(location: &DbLocation, busy: Duration, json: bool) -> Result<Exit, CliError> {
    let registry = super::open(location, busy)?;
    let report = registry.migration();
    let data = json!({
        "path": registry.path(),
        "decided_by": location.rule,
        "shape_before": report.shape_before.name(),
        "columns_added": report.columns_added,
        "migrations_applied": report.migrations_applied,
        "schema_version": report.schema_version,
        "elapsed_ms": report.elapsed.as_secs_f64() * 1e3,
    });
    if json {
        output::print_json("init", &data)?;
    } else {
        output::print_text(&format!(
            "registry {} ready (was {}, schema version {}, {:.1} ms)",
            registry.path().display(),
            report.shape_before.name(),
            report.schema_version,
            report.elapsed.as_secs_f64() * 1e3
        ))?;
    }
    Ok(Exit::Ok)
}

fn mode(row: &RowFlags) -> RegisterMode {
    if row.ignore_existing {
        RegisterMode::Ignore
    } else {
        RegisterMode::Upsert
    }
}

fn template(row: &RowFlags) -> NewCaltable {
    NewCaltable {
        cal_field: row.cal_field.clone(),
        refant: row.refant.clone(),
        valid_start_mjd: row.valid_start,
        valid_end_mjd: row.valid_end,
        status: row.status.clone(),
        notes: row.notes.clone(),
        ..NewCaltable::default()
    }
}

/// Parses a `--params`/`--metrics` value; Python's NaN tokens are accepted.
pub(crate) fn json_object(flag: &str, text: Option<&str>) -> Result<Option<Value>, CliError> {
    let Some(text) = text else { return Ok(None) };
    let value = parse_python_json(text)
        .with_context(|| format!("--{flag} is not valid JSON"))
        .exit(Exit::Data)?;
    if !value.is_object() {
        return Err(anyhow::anyhow!("--{flag} must be a JSON object")).exit(Exit::Data);
    }
    Ok(Some(value))
}

fn provenance(flags: &ProvenanceFlags) -> Result<Provenance, CliError> {
    Ok(Provenance {
        source_ms_path: flags.source_ms.clone(),
        solver_command: flags.solver_command.clone(),
        solver_version: flags.solver_version.clone(),
        solver_params: json_object("params", flags.params.as_deref())?,
        quality_metrics: json_object("metrics", flags.metrics.as_deref())?,
    })
}

pub fn register(registry: &mut Registry, args: RegisterArgs) -> Result<Exit, CliError> {
    let row = NewCaltable {
        path: args.path.clone(),
        table_type: args.table_type.clone(),
        order_index: args.order,
        provenance: provenance(&args.provenance)?,
        ..template(&args.row)
    };
    let summary = registry
        .register_set(&args.row.set, &[row], mode(&args.row))
        .map_err(|e| registry_or_data(e, "cannot register"))?;
    if args.json.json {
        output::print_json("register", &summary)?;
    } else {
        output::print_text(&format!(
            "{}: inserted {}, updated {}, left unchanged {}",
            args.path, summary.inserted, summary.updated, summary.ignored
        ))?;
    }
    Ok(Exit::Ok)
}

pub fn register_prefix(
    registry: &mut Registry,
    args: RegisterPrefixArgs,
) -> Result<Exit, CliError> {
    let (rows, summary) = registry
        .register_from_prefix(
            &args.row.set,
            &args.prefix,
            &template(&args.row),
            mode(&args.row),
        )
        .map_err(|e| registry_or_data(e, "cannot register from prefix"))?;
    if args.json.json {
        let tables: Vec<Value> = rows
            .iter()
            .map(|r| json!({"path": r.path, "table_type": r.table_type, "order_index": r.order_index}))
            .collect();
        output::print_json(
            "register-prefix",
            &json!({"caltables": tables, "inserted": summary.inserted, "updated": summary.updated, "ignored": summary.ignored}),
        )?;
    } else {
        let mut text = String::new();
        for r in &rows {
            text.push_str(&format!(
                "{:>4}  {:<5} {}\n",
                r.order_index, r.table_type, r.path
            ));
        }
        text.push_str(&format!(
            "inserted {}, updated {}, left unchanged {}",
            summary.inserted, summary.updated, summary.ignored
        ));
        output::print_text(&text)?;
    }
    Ok(Exit::Ok)
}

/// `track`: never fails a pipeline step unless `--strict` asks for it.
pub fn track(location: &DbLocation, busy: Duration, args: TrackArgs) -> Result<Exit, CliError> {
    let outcome = match &args.task {
        Some(task) => {
            let params = match json_object("params", args.provenance.params.as_deref()) {
                Ok(params) => params.unwrap_or_else(|| json!({})),
                Err(err) if !args.strict => {
                    // Bad --params still must not fail the solve's shell step.
                    eprintln!(
                        "warning: provenance not recorded for {}: {}",
                        args.caltable, err.error
                    );
                    return Ok(Exit::Ok);
                }
                Err(err) => return Err(err),
            };
            let solve = SolveRecord {
                ms: args.provenance.source_ms.clone().unwrap_or_default(),
                caltable: args.caltable.clone(),
                task: task.clone(),
                params,
                solver_version: args.provenance.solver_version.clone(),
                solver_command: args.provenance.solver_command.clone(),
            };
            let config = TrackConfig {
                environment: Environment::from_process(),
                busy_timeout: busy,
                ..TrackConfig::default()
            };
            track_after_solve_at(&location.path, &solve, &config)
        }
        None => direct_track(location, busy, &args),
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
        (TrackOutcome::Partial { missing, .. }, false) => {
            let what: Vec<String> = missing
                .iter()
                .map(|m| format!("{} ({})", m.what, m.reason))
                .collect();
            eprintln!(
                "warning: {}: provenance recorded without {}",
                args.caltable,
                what.join(", ")
            );
            Ok(Exit::Ok)
        }
        (TrackOutcome::NotRegistered, false) => {
            eprintln!(
                "warning: {}: provenance not recorded: the caltable is not registered",
                args.caltable
            );
            Ok(Exit::Ok)
        }
        (TrackOutcome::Failed { kind, message }, false) => {
            eprintln!(
                "warning: {}: provenance not recorded ({}): {message}",
                args.caltable,
                kind.name()
            );
            Ok(Exit::Ok)
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

/// `track-many`: like `track --task` for each line, over one registry connection.
pub fn track_many(
    location: &DbLocation,
    busy: Duration,
    args: TrackManyArgs,
) -> Result<Exit, CliError> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read stdin")
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("cannot read {}", args.file.display()))
    }
    .exit(Exit::Data)?;
    let config = TrackConfig {
        environment: Environment::from_process(),
        busy_timeout: busy,
        ..TrackConfig::default()
    };
    let mut registry = Registry::open_with(&location.path, &super::open_options(busy));
    let mut counts: std::collections::BTreeMap<&'static str, u64> =
        std::collections::BTreeMap::new();
    for (number, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let outcome = match (serde_json::from_str::<SolveLine>(line), registry.as_mut()) {
            (Err(err), _) => TrackOutcome::Failed {
                kind: calprov_core::FailureKind::InvalidParams,
                message: format!("line {}: {err}", number + 1),
            },
            (Ok(solve), Ok(registry)) => {
                let solve = SolveRecord {
                    ms: solve.ms,
                    caltable: solve.caltable,
                    task: solve.task,
                    params: if solve.params.is_null() {
                        json!({})
                    } else {
                        solve.params
                    },
                    solver_version: solve.solver_version,
                    solver_command: solve.solver_command,
                };
                calprov_core::track_after_solve(registry, &solve, &config)
            }
            (Ok(solve), Err(err)) => TrackOutcome::Failed {
                kind: classify(err),
                message: format!("{}: {}", solve.caltable, calprov_core::tracking_chain(err)),
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
    let tracked = counts.get("tracked").copied().unwrap_or(0);
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

/// Writes the given provenance fields as they are (no detection, no metrics read).
fn direct_track(location: &DbLocation, busy: Duration, args: &TrackArgs) -> TrackOutcome {
    let provenance = match provenance(&args.provenance) {
        Ok(p) => p,
        Err(err) => {
            return TrackOutcome::Failed {
                kind: calprov_core::FailureKind::InvalidParams,
                message: format!("{:#}", err.error),
            };
        }
    };
    let result = Registry::open_with(&location.path, &super::open_options(busy))
        .and_then(|mut r| r.track_calibration_provenance(&args.caltable, &provenance));
    match result {
        Ok(ProvenanceUpdate::Updated) => TrackOutcome::Tracked(TrackSummary {
            caltable: args.caltable.clone(),
            solver_version: provenance.solver_version,
            version_step: None,
            solver_command: provenance.solver_command,
            qa_passed: None,
            shortened_params: Vec::new(),
            latency_us: 0,
        }),
        Ok(ProvenanceUpdate::NotRegistered) => TrackOutcome::NotRegistered,
        Err(err) => TrackOutcome::Failed {
            kind: classify(&err),
            message: calprov_core::tracking_chain(&err),
        },
    }
}

pub fn retire(registry: &mut Registry, args: RetireArgs) -> Result<Exit, CliError> {
    let changed = registry
        .retire_set(&args.set, &args.reason)
        .map_err(|e| registry_or_data(e, "cannot retire"))?;
    if args.json.json {
        output::print_json("retire", &json!({"set": args.set, "retired": changed}))?;
    } else {
        output::print_text(&format!("set {}: {changed} caltables retired", args.set))?;
    }
    if changed == 0
        && !registry
            .list_sets()
            .map(|s| s.iter().any(|x| x.set_name == args.set))
            .unwrap_or(false)
    {
        return Err(anyhow::anyhow!("no calibration set named {}", args.set)).exit(Exit::Data);
    }
    Ok(Exit::Ok)
}

/// Input errors exit 1; failures of the registry itself exit 3.
pub(crate) fn registry_or_data(error: calprov_core::Error, what: &'static str) -> CliError {
    let exit = match error {
        calprov_core::Error::Sql { .. } | calprov_core::Error::Schema(_) => Exit::Registry,
        _ => Exit::Data,
    };
    CliError {
        exit,
        error: anyhow::Error::new(error).context(what),
    }
}
