//! The figures of a report: what `calprov report --json` prints and what the HTML page
//! draws, so the two always give the same numbers.

use serde::{Deserialize, Serialize};

/// Everything a report shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    /// Unix seconds when the report was made.
    pub generated_at: f64,
    /// Its UTC date and time, for people.
    pub generated: String,
    /// Only what happened from this Unix time (`--since`).
    pub since: Option<f64>,
    /// Only this set (`--set`).
    pub set: Option<String>,
    /// The registry it was made from.
    pub registry: String,
    /// Headline counts.
    pub totals: Totals,
    /// Provenance coverage per set, day by day of registration.
    pub coverage: Vec<CoverageSeries>,
    /// QA verdicts day by day of assessment.
    pub qa: Vec<QaDay>,
    /// The flagged fraction of each caltable with metrics, binned.
    pub flagged_fraction: Histogram,
    /// Flagged cells per antenna and spw, summed over the caltables of one set.
    pub heatmap: Option<Heatmap>,
    /// Tracking call latencies (ms), binned.
    pub latency_ms: Histogram,
    /// Solves per CASA version, day by day.
    pub casa_versions: Vec<VersionSeries>,
    /// Every day from the first to the last of the daily series (at most
    /// [`CALENDAR_DAYS`]), with its date: the plots' time axes are labelled from it.
    pub calendar: Vec<Day>,
    /// The latest failed tracking calls, newest first.
    pub latest_failures: Vec<Failure>,
    /// Caltables that are not what their latest solve recorded (verify), in path order.
    pub changed_tables: Vec<Changed>,
    /// Whether the caltables were verified (`--no-verify` skips reading them).
    pub verified: bool,
}

/// The longest calendar a report carries (about ten years).
pub const CALENDAR_DAYS: i64 = 3660;

/// Headline counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Caltables in scope.
    pub caltables: u64,
    /// Of which with provenance.
    pub with_provenance: u64,
    /// Solves on record.
    pub solves: u64,
    /// Tracking calls on record.
    pub tracking_calls: u64,
    /// Of which failed.
    pub tracking_failures: u64,
    /// Caltables whose QA verdict passed, of those with one.
    pub qa_passed: u64,
    /// Caltables with a QA verdict.
    pub qa_assessed: u64,
}

/// One day of a daily series: its Unix day number and UTC date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Day {
    /// Days since 1970-01-01.
    pub day: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// One set's coverage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoverageSeries {
    /// The set.
    pub set: String,
    /// One point per day a caltable of the set was registered.
    pub points: Vec<CoveragePoint>,
}

/// The caltables registered on one day, and how many of them have provenance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CoveragePoint {
    /// The day.
    #[serde(flatten)]
    pub day: Day,
    /// Caltables registered that day.
    pub registered: u64,
    /// Of which with provenance now.
    pub with_provenance: u64,
}

/// QA verdicts of one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QaDay {
    /// The day.
    #[serde(flatten)]
    pub day: Day,
    /// Verdicts given.
    pub assessed: u64,
    /// Of which passed.
    pub passed: u64,
}

/// Counts of values in consecutive bins `[edges[i], edges[i + 1])` (the last bin closed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// `counts.len() + 1` ascending edges.
    pub edges: Vec<f64>,
    /// Values per bin.
    pub counts: Vec<u64>,
    /// Values outside the edges or not numbers (not drawn).
    pub outside: u64,
}

/// Flagged cells per (antenna, spw), summed over the caltables of a set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    /// The set.
    pub set: String,
    /// Caltables summed.
    pub caltables: u64,
    /// Antenna ids, ascending.
    pub antennas: Vec<i32>,
    /// Spectral window ids, ascending.
    pub spws: Vec<i32>,
    /// True FLAG cells, `[antenna][spw]`.
    pub flagged: Vec<Vec<u64>>,
    /// FLAG cells, same layout.
    pub cells: Vec<Vec<u64>>,
}

/// Solves made with one CASA version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionSeries {
    /// The version (`unknown` when none was recorded).
    pub version: String,
    /// Solves per day.
    pub points: Vec<VersionPoint>,
}

/// Solves on one day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VersionPoint {
    /// The day.
    #[serde(flatten)]
    pub day: Day,
    /// Solves.
    pub solves: u64,
}

/// A failed tracking call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    /// UTC time, for people.
    pub at: String,
    /// The caltable.
    pub caltable: String,
    /// The outcome (`failed`, `not_registered`).
    pub outcome: String,
    /// The failure kind.
    pub kind: Option<String>,
    /// What went wrong.
    pub message: Option<String>,
}

/// A caltable `verify` found changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Changed {
    /// The caltable.
    pub caltable: String,
    /// Its verdicts (`flags_edited`, `missing`, ...).
    pub verdicts: String,
    /// What changed, in words.
    pub detail: Option<String>,
}

impl Histogram {
    /// Bins `values` into `bins` equal bins over `[lo, hi]`.
    pub fn of(values: impl IntoIterator<Item = f64>, lo: f64, hi: f64, bins: usize) -> Histogram {
        let bins = bins.max(1);
        let width = (hi - lo) / bins as f64;
        let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
        let mut counts = vec![0u64; bins];
        let mut outside = 0;
        for v in values {
            if !(lo..=hi).contains(&v) || width <= 0.0 {
                outside += 1;
                continue;
            }
            let i = (((v - lo) / width) as usize).min(bins - 1);
            counts[i] += 1;
        }
        Histogram {
            edges,
            counts,
            outside,
        }
    }

    /// Values in the bins.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}
