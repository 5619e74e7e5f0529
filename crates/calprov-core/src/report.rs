//! The operators' report: the registry's figures gathered into a [`ReportData`] (rendered
//! by the pure `calprov-report` crate), and the caltables that changed on disk found by
//! verifying them.

use std::collections::BTreeMap;

pub use calprov_report::data::ReportData;
use calprov_report::data::{
    CALENDAR_DAYS, Changed, CoveragePoint, CoverageSeries, Day, Histogram, QaDay, VersionPoint,
    VersionSeries,
};
pub use calprov_report::{PLOTS, PlotError, render as render_html};

use crate::clock::{format_utc, unix_now, utc_date};
use crate::{Error, Registry, verify_many};

/// Sets drawn in the coverage plot: the largest ones.
const COVERAGE_SETS: usize = 8;
/// Rows in each of the report's tables.
const LIST_ROWS: usize = 25;

/// What to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Only this set.
    pub set: Option<String>,
    /// Only what happened from this unix time.
    pub since: Option<f64>,
    /// Verify the caltables in scope for the changed-tables list (reads every table: a
    /// second per few thousand).
    pub verify: bool,
    /// Tables verified at once (0: one per core).
    pub jobs: usize,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            set: None,
            since: None,
            verify: true,
            jobs: 0,
        }
    }
}

/// Gathers the report's figures.
pub fn report_data(registry: &Registry, options: &ReportOptions) -> Result<ReportData, Error> {
    let set = options.set.as_deref();
    let since = options.since.unwrap_or(f64::NEG_INFINITY);
    let day = |d: i64| Day {
        day: d,
        date: utc_date(d),
    };

    let mut coverage: BTreeMap<String, Vec<CoveragePoint>> = BTreeMap::new();
    for (set_name, d, registered, with_provenance) in registry.report_coverage(set, since)? {
        coverage.entry(set_name).or_default().push(CoveragePoint {
            day: day(d),
            registered,
            with_provenance,
        });
    }
    let mut coverage: Vec<CoverageSeries> = coverage
        .into_iter()
        .map(|(set, points)| CoverageSeries { set, points })
        .collect();
    let size = |s: &CoverageSeries| s.points.iter().map(|p| p.registered).sum::<u64>();
    coverage.sort_by(|a, b| size(b).cmp(&size(a)).then(a.set.cmp(&b.set)));
    coverage.truncate(COVERAGE_SETS);

    let qa: Vec<QaDay> = registry
        .report_qa(set, since)?
        .into_iter()
        .map(|(d, assessed, passed)| QaDay {
            day: day(d),
            assessed,
            passed,
        })
        .collect();

    let mut versions: BTreeMap<String, Vec<VersionPoint>> = BTreeMap::new();
    for (version, d, solves) in registry.report_versions(set, since)? {
        versions.entry(version).or_default().push(VersionPoint {
            day: day(d),
            solves,
        });
    }

    let latencies = registry.report_latencies(set, since)?;
    let heatmap = match registry.report_heatmap_set(set)? {
        Some(s) => registry.report_heatmap(&s)?,
        None => None,
    };
    let casa_versions: Vec<VersionSeries> = versions
        .into_iter()
        .map(|(version, points)| VersionSeries { version, points })
        .collect();
    let days = coverage
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.day.day))
        .chain(qa.iter().map(|q: &QaDay| q.day.day))
        .chain(
            casa_versions
                .iter()
                .flat_map(|s| s.points.iter().map(|p| p.day.day)),
        );
    let calendar = match days.fold(None, |span: Option<(i64, i64)>, d| {
        Some(span.map_or((d, d), |(lo, hi)| (lo.min(d), hi.max(d))))
    }) {
        // One day either side, as the plots' axes show (saturating: the days come from
        // the registry's times, which an absurd value must not overflow).
        Some((lo, hi)) if hi.saturating_sub(lo) < CALENDAR_DAYS => (lo.saturating_sub(1)
            ..=hi.saturating_add(1))
            .map(day)
            .collect(),
        _ => Vec::new(),
    };
    let generated_at = unix_now();
    Ok(ReportData {
        generated_at,
        generated: format!("{} UTC", format_utc(generated_at)),
        since: options.since,
        set: options.set.clone(),
        registry: registry.path().display().to_string(),
        totals: registry.report_totals(set, since)?,
        coverage,
        qa,
        flagged_fraction: Histogram::of(registry.report_flagged(set)?, 0.0, 1.0, 20),
        heatmap,
        latency_ms: Histogram::of(
            latencies.iter().copied(),
            0.0,
            latency_range(&latencies),
            25,
        ),
        casa_versions,
        calendar,
        latest_failures: registry.report_failures(set, since, LIST_ROWS)?,
        changed_tables: if options.verify {
            changed_tables(registry, set, options.jobs)?
        } else {
            Vec::new()
        },
        verified: options.verify,
    })
}

/// The latency histogram's upper edge: the 99th percentile rounded up to a whole ms, so one
/// call stuck behind a lock does not squash the rest into one bin.
fn latency_range(latencies: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = latencies
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    sorted.sort_by(f64::total_cmp);
    let at = (sorted.len() * 99 / 100).min(sorted.len().saturating_sub(1));
    sorted.get(at).map_or(1.0, |p99| p99.ceil().max(1.0))
}

/// The caltables in scope that verify finds changed (not unchanged, and not merely without
/// a fingerprint): the first [`LIST_ROWS`].
fn changed_tables(
    registry: &Registry,
    set: Option<&str>,
    jobs: usize,
) -> Result<Vec<Changed>, Error> {
    let paths = registry.caltable_paths(set)?;
    let reports = verify_many(registry, &paths, jobs, &|_| {})?;
    Ok(reports
        .into_iter()
        .filter(|r| {
            !r.is_unchanged()
                && !r
                    .verdicts
                    .contains(&calprov_metrics::fingerprint::Verdict::NoFingerprint)
        })
        .take(LIST_ROWS)
        .map(|r| Changed {
            verdicts: r.verdict_names(),
            detail: r.details.reason.clone().or_else(|| {
                r.details.comparison.as_ref().map(|d| {
                    let mut parts = vec![format!("rows {} -> {}", d.rows_recorded, d.rows_now)];
                    if !d.columns_changed.is_empty() {
                        parts.push(format!("columns {}", d.columns_changed.join(",")));
                    }
                    parts.join("; ")
                })
            }),
            caltable: r.caltable,
        })
        .collect())
}
