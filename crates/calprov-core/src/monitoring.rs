//! Monitoring: what the tracking events and the registry say about provenance health, as a
//! report, threshold checks for alerting, and a Prometheus textfile.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use crate::{Error, Registry};

/// Provenance health since a point in time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Events counted since this unix time (`None`: all).
    pub since: Option<f64>,
    /// Tracking calls.
    pub events: u64,
    /// Calls by outcome (`tracked`, `partial`, `not_registered`, `failed`).
    pub by_outcome: BTreeMap<String, u64>,
    /// Failed calls by kind.
    pub by_failure_kind: BTreeMap<String, u64>,
    /// Share of calls that recorded provenance (`tracked` + `partial`); `None` without calls.
    pub success_rate: Option<f64>,
    /// Share of calls that failed.
    pub failure_rate: Option<f64>,
    /// Latency percentiles in milliseconds.
    pub latency_ms: Option<Percentiles>,
    /// Every latency bucket bound (seconds) with its cumulative count, for histograms.
    #[serde(skip)]
    pub latency_histogram: Vec<(f64, u64)>,
    /// Sum of latencies in seconds.
    #[serde(skip)]
    pub latency_sum_seconds: f64,
    /// Registered caltables with any provenance / all registered, overall.
    pub coverage: Coverage,
    /// Coverage per calibration set.
    pub coverage_by_set: BTreeMap<String, Coverage>,
    /// Caltables per recorded CASA version.
    pub casa_versions: BTreeMap<String, u64>,
    /// Share of caltables with metrics whose QA passed.
    pub qa_pass_rate: Option<f64>,
    /// Caltables with a QA verdict.
    pub qa_assessed: u64,
}

/// Latency percentiles.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// Caltables with provenance among those registered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Coverage {
    /// Registered caltables.
    pub registered: u64,
    /// Of which carry provenance.
    pub with_provenance: u64,
    /// `with_provenance / registered`; `None` when nothing is registered.
    pub ratio: Option<f64>,
}

/// The histogram bounds (seconds) for tracking latency.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

impl Registry {
    /// Computes provenance health from the events since `since` (unix seconds) and the
    /// current registry.
    pub fn stats(&self, since: Option<f64>) -> Result<Stats, Error> {
        let conn = self.connection();
        let db = self.path();
        let since_value = since.unwrap_or(f64::NEG_INFINITY);
        let mut stats = Stats {
            since,
            ..Stats::default()
        };
        let mut stmt = conn
            .prepare("SELECT outcome, failure_kind, latency_us FROM calprov_tracking_events WHERE recorded_at >= ?1")
            .map_err(Error::sql(db, "read tracking events"))?;
        let rows = stmt
            .query_map([since_value], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(Error::sql(db, "read tracking events"))?;
        let mut latencies = Vec::new();
        for row in rows {
            let (outcome, kind, latency_us) =
                row.map_err(Error::sql(db, "read tracking events"))?;
            *stats.by_outcome.entry(outcome).or_default() += 1;
            if let Some(kind) = kind {
                *stats.by_failure_kind.entry(kind).or_default() += 1;
            }
            latencies.push(latency_us.max(0) as f64 / 1e6);
        }
        stats.events = latencies.len() as u64;
        if stats.events > 0 {
            let ok = stats.by_outcome.get("tracked").copied().unwrap_or(0)
                + stats.by_outcome.get("partial").copied().unwrap_or(0);
            let failed = stats.by_outcome.get("failed").copied().unwrap_or(0);
            stats.success_rate = Some(ok as f64 / stats.events as f64);
            stats.failure_rate = Some(failed as f64 / stats.events as f64);
            latencies.sort_by(f64::total_cmp);
            stats.latency_ms = Some(Percentiles {
                p50: percentile(&latencies, 0.50) * 1e3,
                p95: percentile(&latencies, 0.95) * 1e3,
                p99: percentile(&latencies, 0.99) * 1e3,
                max: latencies[latencies.len() - 1] * 1e3,
            });
            stats.latency_sum_seconds = latencies.iter().sum();
        }
        stats.latency_histogram = LATENCY_BUCKETS
            .iter()
            .map(|bound| (*bound, latencies.partition_point(|l| l <= bound) as u64))
            .collect();

        let mut stmt = conn
            .prepare(
                "SELECT set_name, count(*), sum(source_ms_path IS NOT NULL OR solver_command IS NOT NULL \
                 OR solver_version IS NOT NULL OR solver_params IS NOT NULL OR quality_metrics IS NOT NULL) \
                 FROM caltables GROUP BY set_name",
            )
            .map_err(Error::sql(db, "read coverage"))?;
        let sets = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(Error::sql(db, "read coverage"))?;
        for set in sets {
            let (name, registered, with) = set.map_err(Error::sql(db, "read coverage"))?;
            let c = coverage(registered as u64, with as u64);
            stats.coverage.registered += c.registered;
            stats.coverage.with_provenance += c.with_provenance;
            stats.coverage_by_set.insert(name, c);
        }
        stats.coverage = coverage(stats.coverage.registered, stats.coverage.with_provenance);

        let mut stmt = conn
            .prepare("SELECT solver_version, count(*) FROM caltables WHERE solver_version IS NOT NULL GROUP BY solver_version")
            .map_err(Error::sql(db, "read versions"))?;
        let versions = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(Error::sql(db, "read versions"))?;
        for v in versions {
            let (version, n) = v.map_err(Error::sql(db, "read versions"))?;
            stats.casa_versions.insert(version, n as u64);
        }

        // Rows written by Python may hold NaN tokens that SQLite's JSON functions reject:
        // json_valid keeps one such row from failing the whole report.
        let (assessed, passed): (i64, i64) = conn
            .query_row(
                "SELECT count(v), COALESCE(sum(v), 0) FROM (SELECT json_extract(quality_metrics, '$.qa_passed') AS v \
                 FROM caltables WHERE quality_metrics IS NOT NULL AND json_valid(quality_metrics)) WHERE v IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(Error::sql(db, "read QA verdicts"))?;
        stats.qa_assessed = assessed as u64;
        stats.qa_pass_rate = (assessed > 0).then(|| passed as f64 / assessed as f64);
        Ok(stats)
    }
}

fn coverage(registered: u64, with_provenance: u64) -> Coverage {
    Coverage {
        registered,
        with_provenance,
        ratio: (registered > 0).then(|| with_provenance as f64 / registered as f64),
    }
}

/// A threshold that `check` found breached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `failure_rate` or `coverage`.
    pub metric: &'static str,
    /// The measured value.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// For the operator.
    pub message: String,
}

/// Checks the failure rate (at most `max_failure_rate`) and the overall coverage (at least
/// `min_coverage`); an empty result means healthy.
pub fn check(
    stats: &Stats,
    max_failure_rate: Option<f64>,
    min_coverage: Option<f64>,
) -> Vec<Breach> {
    let mut breaches = Vec::new();
    if let (Some(max), Some(rate)) = (max_failure_rate, stats.failure_rate)
        && rate > max
    {
        breaches.push(Breach {
            metric: "failure_rate",
            value: rate,
            threshold: max,
            message: format!(
                "{:.1}% of {} tracking calls failed (allowed: {:.1}%)",
                rate * 100.0,
                stats.events,
                max * 100.0
            ),
        });
    }
    if let (Some(min), Some(ratio)) = (min_coverage, stats.coverage.ratio)
        && ratio < min
    {
        breaches.push(Breach {
            metric: "coverage",
            value: ratio,
            threshold: min,
            message: format!(
                "only {} of {} registered caltables have provenance ({:.1}%, required: {:.1}%)",
                stats.coverage.with_provenance,
                stats.coverage.registered,
                ratio * 100.0,
                min * 100.0
            ),
        });
    }
    breaches
}

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
    for outcome in ["tracked", "partial", "not_registered", "failed"] {
        let n = stats.by_outcome.get(outcome).copied().unwrap_or(0);
        out.push_str(&format!(
            "calprov_tracking_calls_total{{outcome=\"{outcome}\"}} {n}\n"
        ));
    }
    family(
        &mut out,
        "calprov_tracking_failures_total",
        "counter",
        "Failed tracking calls by failure kind.",
    );
    for (kind, n) in &stats.by_failure_kind {
        out.push_str(&format!(
            "calprov_tracking_failures_total{{kind=\"{}\"}} {n}\n",
            escape_label(kind)
        ));
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

/// Writes `text` to `path` atomically: a temporary file in the same directory, fsynced, then
/// renamed, so the textfile collector never reads half a file.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calprov.prom".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
