//! Monitoring: what the tracking events and the registry say about provenance health.
//! [`Stats`] is computed here; [`thresholds`] checks it for alerting and [`prometheus`]
//! renders it for node_exporter's textfile collector.

pub mod prometheus;
pub mod thresholds;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::registry::ANY_PROVENANCE_SQL;
use crate::sql::{Cell, Dialect, get};
use crate::tracking::TrackOutcome;
use crate::{Error, Registry};

pub use prometheus::prometheus_text;
pub use thresholds::{Breach, Thresholds, check};

/// Provenance health since a point in time.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Events counted since this unix time (`None`: all).
    pub since: Option<f64>,
    /// Tracking calls.
    pub events: u64,
    /// Calls by outcome (`tracked`, `partial`, `not_registered`, `failed`).
    pub by_outcome: BTreeMap<String, u64>,
    /// Calls that recorded no provenance, by kind: each `failed` call's failure kind, and
    /// `not_registered` for calls on an unregistered caltable.
    pub by_failure_kind: BTreeMap<String, u64>,
    /// Share of calls that recorded everything (`tracked`); `None` without calls.
    pub success_rate: Option<f64>,
    /// Share of calls that recorded provenance with parts missing (`partial`).
    pub partial_rate: Option<f64>,
    /// Share of calls that recorded no provenance (`failed` + `not_registered`). The three
    /// rates add up to 1.
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
        let db = self.path();
        let since_value = since.unwrap_or(f64::NEG_INFINITY);
        let mut stats = Stats {
            since,
            ..Stats::default()
        };
        let action = "read tracking events";
        let events = self.read_rows(
            "SELECT outcome, failure_kind, latency_us FROM calprov_tracking_events WHERE recorded_at >= ?1",
            &[Cell::from(since_value)],
            action,
        )?;
        let mut latencies = Vec::new();
        for row in &events {
            let outcome: String = get(row, 0, db, action)?;
            let kind: Option<String> = get(row, 1, db, action)?;
            let latency_us: i64 = get(row, 2, db, action)?;
            // A caltable that is not registered loses its record as surely as a failed
            // write: it is counted as a failure kind of its own.
            let kind = match outcome.as_str() {
                TrackOutcome::NOT_REGISTERED => Some(TrackOutcome::NOT_REGISTERED.to_owned()),
                _ => kind,
            };
            *stats.by_outcome.entry(outcome).or_default() += 1;
            if let Some(kind) = kind {
                *stats.by_failure_kind.entry(kind).or_default() += 1;
            }
            latencies.push(latency_us.max(0) as f64 / 1e6);
        }
        stats.events = latencies.len() as u64;
        if stats.events > 0 {
            let count = |name: &str| stats.by_outcome.get(name).copied().unwrap_or(0);
            let share = |n: u64| Some(n as f64 / stats.events as f64);
            stats.success_rate = share(count(TrackOutcome::TRACKED));
            stats.partial_rate = share(count(TrackOutcome::PARTIAL));
            stats.failure_rate =
                share(count(TrackOutcome::FAILED) + count(TrackOutcome::NOT_REGISTERED));
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

        let action = "read coverage";
        let sets = self.read_rows(
            &format!(
                "SELECT set_name, count(*), CAST(sum(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT) \
                 FROM caltables GROUP BY set_name",
                *ANY_PROVENANCE_SQL
            ),
            &[],
            action,
        )?;
        for row in &sets {
            let name: String = get(row, 0, db, action)?;
            let registered: i64 = get(row, 1, db, action)?;
            let with: i64 = get(row, 2, db, action)?;
            let c = coverage(registered as u64, with as u64);
            stats.coverage.registered += c.registered;
            stats.coverage.with_provenance += c.with_provenance;
            stats.coverage_by_set.insert(name, c);
        }
        stats.coverage = coverage(stats.coverage.registered, stats.coverage.with_provenance);

        let action = "read versions";
        let versions = self.read_rows(
            "SELECT solver_version, count(*) FROM caltables WHERE solver_version IS NOT NULL GROUP BY solver_version",
            &[],
            action,
        )?;
        for row in &versions {
            let version: String = get(row, 0, db, action)?;
            let n: i64 = get(row, 1, db, action)?;
            stats.casa_versions.insert(version, n as u64);
        }

        // Rows written by Python may hold NaN tokens that JSON parsers reject: json_valid
        // (SQLite) and calprov_try_jsonb (PostgreSQL) keep one such row from failing the
        // whole report.
        let action = "read QA verdicts";
        let qa = self.dialect().json_bool("quality_metrics", "qa_passed");
        let verdicts = self.read_rows(
            &format!(
                "SELECT count(v), CAST(COALESCE(sum(v), 0) AS BIGINT) FROM (SELECT {qa} AS v \
                 FROM caltables WHERE quality_metrics IS NOT NULL AND {valid}) q WHERE v IS NOT NULL",
                valid = match self.dialect() {
                    Dialect::Sqlite => "json_valid(quality_metrics)",
                    Dialect::Postgres => "TRUE",
                }
            ),
            &[],
            action,
        )?;
        let row = verdicts.first().map(Vec::as_slice).unwrap_or_default();
        let assessed: i64 = get(row, 0, db, action)?;
        let passed: i64 = get(row, 1, db, action)?;
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
