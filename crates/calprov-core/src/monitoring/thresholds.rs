//! Alert thresholds on [`Stats`]: what `calprov check` breaches.

use serde::Serialize;

use super::Stats;

/// The limits an operator alerts on; `None` is not checked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Thresholds {
    /// Largest allowed share of calls that recorded no provenance.
    pub max_failure_rate: Option<f64>,
    /// Largest allowed share of calls that recorded provenance with parts missing.
    pub max_partial_rate: Option<f64>,
    /// Smallest allowed share of registered caltables with provenance.
    pub min_coverage: Option<f64>,
}

/// A threshold that `check` found breached.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Breach {
    /// `failure_rate`, `partial_rate` or `coverage`.
    pub metric: &'static str,
    /// The measured value.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// For the operator.
    pub message: String,
}

/// Checks every given threshold; an empty result means healthy.
pub fn check(stats: &Stats, thresholds: &Thresholds) -> Vec<Breach> {
    let mut breaches = Vec::new();
    let rates = [
        (
            "failure_rate",
            thresholds.max_failure_rate,
            stats.failure_rate,
            "recorded no provenance",
        ),
        (
            "partial_rate",
            thresholds.max_partial_rate,
            stats.partial_rate,
            "recorded provenance with parts missing",
        ),
    ];
    for (metric, max, rate, what) in rates {
        if let (Some(max), Some(rate)) = (max, rate)
            && rate > max
        {
            breaches.push(Breach {
                metric,
                value: rate,
                threshold: max,
                message: format!(
                    "{:.1}% of {} tracking calls {what} (allowed: {:.1}%)",
                    rate * 100.0,
                    stats.events,
                    max * 100.0
                ),
            });
        }
    }
    if let (Some(min), Some(ratio)) = (thresholds.min_coverage, stats.coverage.ratio)
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
