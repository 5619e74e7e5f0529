//! Monitoring commands: `stats`, `check`, `export-prom`.

use anyhow::Context;
use calprov_core::Registry;
use calprov_core::monitoring::{Stats, Thresholds, check as check_thresholds, prometheus_text};
use serde_json::json;

use calprov_core::output_file::write_atomically;

use crate::args::{CheckArgs, ExportPromArgs, StatsArgs};
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;
use crate::time_arg::parse_time;

fn load(registry: &Registry, since_text: Option<&str>) -> Result<Stats, CliError> {
    let since = parse_time("since", since_text)?;
    registry
        .stats(since)
        .map_err(|e| registry_or_data(e, "cannot compute statistics"))
}

fn pct(v: Option<f64>) -> String {
    v.map(|x| format!("{:.1}%", x * 100.0))
        .unwrap_or_else(|| "-".into())
}

pub fn stats(registry: &Registry, args: StatsArgs) -> Result<Exit, CliError> {
    let stats = load(registry, args.since.as_deref())?;
    if args.json.json {
        output::print_json("stats", &stats)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!(
        "tracking calls   {} (success {}, partial {}, failure {})\n",
        stats.events,
        pct(stats.success_rate),
        pct(stats.partial_rate),
        pct(stats.failure_rate)
    );
    for (outcome, n) in &stats.by_outcome {
        text.push_str(&format!("  {outcome:<15} {n}\n"));
    }
    for (kind, n) in &stats.by_failure_kind {
        text.push_str(&format!("  not recorded: {kind:<20} {n}\n"));
    }
    if let Some(l) = stats.latency_ms {
        text.push_str(&format!(
            "latency          p50 {:.2} ms  p95 {:.2} ms  p99 {:.2} ms  max {:.2} ms\n",
            l.p50, l.p95, l.p99, l.max
        ));
    }
    text.push_str(&format!(
        "coverage         {} of {} caltables ({})\n",
        stats.coverage.with_provenance,
        stats.coverage.registered,
        pct(stats.coverage.ratio)
    ));
    for (set, c) in &stats.coverage_by_set {
        text.push_str(&format!(
            "  {set:<24} {}/{} ({})\n",
            c.with_provenance,
            c.registered,
            pct(c.ratio)
        ));
    }
    text.push_str("CASA versions   ");
    for (v, n) in &stats.casa_versions {
        text.push_str(&format!(" {v}: {n}"));
    }
    text.push_str(&format!(
        "\nQA pass rate     {} of {} assessed",
        pct(stats.qa_pass_rate),
        stats.qa_assessed
    ));
    output::print_text(&text)?;
    Ok(Exit::Ok)
}

pub fn check(registry: &Registry, args: CheckArgs) -> Result<Exit, CliError> {
    for (flag, value) in [
        ("--max-failure-rate", args.max_failure_rate),
        ("--max-partial-rate", args.max_partial_rate),
        ("--min-coverage", args.min_coverage),
    ] {
        if value.is_some_and(|v| !(0.0..=1.0).contains(&v)) {
            return Err(anyhow::anyhow!("{flag} must be between 0 and 1")).exit(Exit::Usage);
        }
    }
    let stats = load(registry, args.since.as_deref())?;
    let thresholds = Thresholds {
        max_failure_rate: args.max_failure_rate,
        max_partial_rate: args.max_partial_rate,
        min_coverage: args.min_coverage,
    };
    let breaches = check_thresholds(&stats, &thresholds);
    if args.json.json {
        output::print_json(
            "check",
            &json!({"ok": breaches.is_empty(), "breaches": breaches}),
        )?;
    } else if breaches.is_empty() {
        output::print_text(&format!(
            "ok: failure rate {}, partial rate {}, coverage {}",
            pct(stats.failure_rate),
            pct(stats.partial_rate),
            pct(stats.coverage.ratio)
        ))?;
    }
    if breaches.is_empty() {
        return Ok(Exit::Ok);
    }
    for b in &breaches {
        eprintln!("ALERT {}: {}", b.metric, b.message);
    }
    Ok(Exit::Alert)
}

pub fn export_prom(registry: &Registry, args: ExportPromArgs) -> Result<Exit, CliError> {
    let stats = load(registry, args.since.as_deref())?;
    write_atomically(&args.file, &prometheus_text(&stats))
        .with_context(|| format!("cannot write {}", args.file.display()))
        .exit(Exit::Data)?;
    Ok(Exit::Ok)
}
