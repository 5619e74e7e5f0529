//! [`Stats`] in the Prometheus classic text exposition format (written by `output_file`).

use super::Stats;
use crate::tracking::TrackOutcome;

/// Renders the Prometheus classic text exposition format (what node_exporter's textfile
/// collector reads): `calprov_` names, `_total` counters, a `_seconds` histogram, nothing
/// OpenMetrics-only.
pub fn prometheus_text(stats: &Stats) -> String {
    let mut out = String::new();
    family(
        &mut out,
        "calprov_tracking_calls_total",
        "counter",
        "Tracking calls by outcome.",
    );
    for outcome in TrackOutcome::NAMES {
        let n = stats.by_outcome.get(outcome).copied().unwrap_or(0);
        out.push_str(&format!(
            "calprov_tracking_calls_total{{outcome=\"{outcome}\"}} {n}\n"
        ));
    }
    family(
        &mut out,
        "calprov_tracking_failures_total",
        "counter",
        "Tracking calls that recorded no provenance, by kind (not_registered included).",
    );
    for (kind, n) in &stats.by_failure_kind {
        out.push_str(&format!(
            "calprov_tracking_failures_total{{kind=\"{}\"}} {n}\n",
            escape_label(kind)
        ));
    }
    for (name, help, rate) in [
        (
            "calprov_tracking_success_ratio",
            "Share of tracking calls that recorded everything.",
            stats.success_rate,
        ),
        (
            "calprov_tracking_partial_ratio",
            "Share of tracking calls that recorded provenance with parts missing.",
            stats.partial_rate,
        ),
        (
            "calprov_tracking_failure_ratio",
            "Share of tracking calls that recorded no provenance.",
            stats.failure_rate,
        ),
    ] {
        family(&mut out, name, "gauge", help);
        out.push_str(&format!("{name} {}\n", rate.unwrap_or(0.0)));
    }
    family(
        &mut out,
        "calprov_tracking_latency_seconds",
        "histogram",
        "Latency of tracking calls.",
    );
    for (bound, count) in &stats.latency_histogram {
        out.push_str(&format!(
            "calprov_tracking_latency_seconds_bucket{{le=\"{bound}\"}} {count}\n"
        ));
    }
    out.push_str(&format!(
        "calprov_tracking_latency_seconds_bucket{{le=\"+Inf\"}} {}\n",
        stats.events
    ));
    out.push_str(&format!(
        "calprov_tracking_latency_seconds_sum {}\n",
        stats.latency_sum_seconds
    ));
    out.push_str(&format!(
        "calprov_tracking_latency_seconds_count {}\n",
        stats.events
    ));
    family(
        &mut out,
        "calprov_caltables_registered",
        "gauge",
        "Registered caltables per set.",
    );
    for (set, c) in &stats.coverage_by_set {
        out.push_str(&format!(
            "calprov_caltables_registered{{set=\"{}\"}} {}\n",
            escape_label(set),
            c.registered
        ));
    }
    family(
        &mut out,
        "calprov_caltables_with_provenance",
        "gauge",
        "Registered caltables with provenance per set.",
    );
    for (set, c) in &stats.coverage_by_set {
        out.push_str(&format!(
            "calprov_caltables_with_provenance{{set=\"{}\"}} {}\n",
            escape_label(set),
            c.with_provenance
        ));
    }
    family(
        &mut out,
        "calprov_provenance_coverage_ratio",
        "gauge",
        "Share of registered caltables with provenance.",
    );
    out.push_str(&format!(
        "calprov_provenance_coverage_ratio {}\n",
        stats.coverage.ratio.unwrap_or(0.0)
    ));
    family(
        &mut out,
        "calprov_caltables_by_casa_version",
        "gauge",
        "Caltables per recorded CASA version.",
    );
    for (version, n) in &stats.casa_versions {
        out.push_str(&format!(
            "calprov_caltables_by_casa_version{{version=\"{}\"}} {n}\n",
            escape_label(version)
        ));
    }
    family(
        &mut out,
        "calprov_qa_pass_ratio",
        "gauge",
        "Share of assessed caltables whose QA passed.",
    );
    out.push_str(&format!(
        "calprov_qa_pass_ratio {}\n",
        stats.qa_pass_rate.unwrap_or(0.0)
    ));
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
