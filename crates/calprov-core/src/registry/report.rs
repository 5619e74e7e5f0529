//! The registry's figures for the operators' report, each one query (aggregated in SQL
//! where it can be, so a registry of a million caltables is summed, not loaded). Written once
//! for both backends; the JSON reads are the dialect's.

use std::collections::BTreeMap;

use calprov_report::data::{Failure, Heatmap, Totals};

use super::Registry;
use crate::Error;
use crate::clock::format_utc;
use crate::sql::{Cell, Dialect, get};

/// The caltables in scope: `?1` the set or NULL (cast: PostgreSQL must know the type of a
/// parameter it only tests for NULL).
const IN_SCOPE: &str = "(CAST(?1 AS TEXT) IS NULL OR set_name = ?1)";

/// How many rows satisfy `condition`, 0 for none.
fn count_if(condition: &str) -> String {
    format!("CAST(COALESCE(sum(CASE WHEN {condition} THEN 1 ELSE 0 END), 0) AS BIGINT)")
}

/// A row has provenance when any of the five columns is filled.
const HAS_PROVENANCE: &str = "(source_ms_path IS NOT NULL OR solver_command IS NOT NULL \
     OR solver_version IS NOT NULL OR solver_params IS NOT NULL OR quality_metrics IS NOT NULL)";

/// Days since 1970 of a unix-seconds column (truncated: registry times are after 1970), kept
/// within a million days of 1970 so that an absurd time in a user's registry cannot overflow
/// the calendar arithmetic.
fn day_of(dialect: Dialect, column: &str) -> String {
    dialect.bounded_integer(&format!("{column} / 86400.0"), 1_000_000)
}

/// A count column (integers are signed on both backends).
fn n(row: &[Cell], i: usize, registry: &std::path::Path, what: &'static str) -> Result<u64, Error> {
    get::<i64>(row, i, registry, what).map(|v| u64::try_from(v).unwrap_or(0))
}

/// `(set, day, registered, with provenance)` rows.
pub(crate) type CoverageRow = (String, i64, u64, u64);

impl Registry {
    fn rows<T>(
        &self,
        sql: &str,
        params: &[Cell],
        what: &'static str,
        mut row: impl FnMut(&[Cell]) -> Result<T, Error>,
    ) -> Result<Vec<T>, Error> {
        self.read_rows(sql, params, what)?
            .iter()
            .map(|r| row(r))
            .collect()
    }

    /// The one row of an aggregate.
    fn one_row(&self, sql: &str, params: &[Cell], what: &'static str) -> Result<Vec<Cell>, Error> {
        Ok(self
            .read_rows(sql, params, what)?
            .into_iter()
            .next()
            .unwrap_or_default())
    }

    /// Headline counts of the caltables in scope, and of solves and tracking calls since.
    pub(crate) fn report_totals(&self, set: Option<&str>, since: f64) -> Result<Totals, Error> {
        let db = self.path();
        let qa = self.dialect().json_bool("quality_metrics", "qa_passed");
        let what = "count caltables for the report";
        let totals = self.one_row(
            &format!(
                "SELECT count(*), {with}, count({qa}), {passed} FROM caltables WHERE {IN_SCOPE}",
                with = count_if(HAS_PROVENANCE),
                passed = count_if(&format!("{qa} = 1")),
            ),
            &[Cell::from(set)],
            what,
        )?;
        let scoped = [Cell::from(set), Cell::from(since)];
        let what_solves = "count solves for the report";
        let solves = self.one_row(
            &format!(
                "SELECT count(*) FROM calprov_solves s WHERE s.solved_at >= ?2 AND (CAST(?1 AS TEXT) IS NULL \
                 OR s.caltable_path IN (SELECT path FROM caltables WHERE {IN_SCOPE}))"
            ),
            &scoped,
            what_solves,
        )?;
        let what_calls = "count tracking calls for the report";
        let calls = self.one_row(
            &format!(
                "SELECT count(*), {failed} \
                 FROM calprov_tracking_events e WHERE e.recorded_at >= ?2 AND (CAST(?1 AS TEXT) IS NULL \
                 OR e.caltable_path IN (SELECT path FROM caltables WHERE {IN_SCOPE}))",
                failed = count_if("outcome IN ('failed', 'not_registered')")
            ),
            &scoped,
            what_calls,
        )?;
        Ok(Totals {
            caltables: n(&totals, 0, db, what)?,
            with_provenance: n(&totals, 1, db, what)?,
            qa_assessed: n(&totals, 2, db, what)?,
            qa_passed: n(&totals, 3, db, what)?,
            solves: n(&solves, 0, db, what_solves)?,
            tracking_calls: n(&calls, 0, db, what_calls)?,
            tracking_failures: n(&calls, 1, db, what_calls)?,
        })
    }

    /// Caltables registered per set and day since `since`, and of them with provenance.
    pub(crate) fn report_coverage(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<CoverageRow>, Error> {
        let (db, what) = (self.path(), "coverage for the report");
        self.rows(
            &format!(
                "SELECT set_name, {day}, count(*), {with} FROM caltables \
                 WHERE {IN_SCOPE} AND created_at >= ?2 GROUP BY 1, 2 ORDER BY 1, 2",
                day = day_of(self.dialect(), "created_at"),
                with = count_if(HAS_PROVENANCE),
            ),
            &[Cell::from(set), Cell::from(since)],
            what,
            |r| {
                Ok((
                    get(r, 0, db, what)?,
                    get(r, 1, db, what)?,
                    n(r, 2, db, what)?,
                    n(r, 3, db, what)?,
                ))
            },
        )
    }

    /// QA verdicts per day of assessment: `(day, assessed, passed)`.
    pub(crate) fn report_qa(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<(i64, u64, u64)>, Error> {
        let (db, what) = (self.path(), "QA for the report");
        let dialect = self.dialect();
        self.rows(
            &format!(
                "SELECT {day}, count(*), {passed} FROM (SELECT \
                 {at} AS at, {qa} AS passed FROM caltables \
                 WHERE {IN_SCOPE} AND quality_metrics IS NOT NULL) q WHERE passed IS NOT NULL \
                 AND at >= ?2 GROUP BY 1 ORDER BY 1",
                day = day_of(dialect, "at"),
                passed = count_if("passed = 1"),
                at = dialect.json_number("quality_metrics", "assessed_at"),
                qa = dialect.json_bool("quality_metrics", "qa_passed"),
            ),
            &[Cell::from(set), Cell::from(since)],
            what,
            |r| Ok((get(r, 0, db, what)?, n(r, 1, db, what)?, n(r, 2, db, what)?)),
        )
    }

    /// The flagged fraction of each caltable in scope with metrics.
    pub(crate) fn report_flagged(&self, set: Option<&str>) -> Result<Vec<f64>, Error> {
        let (db, what) = (self.path(), "flagged fractions for the report");
        let dialect = self.dialect();
        self.rows(
            &format!(
                "SELECT {v} FROM caltables WHERE {IN_SCOPE} AND quality_metrics IS NOT NULL \
                 AND {is_number}",
                v = dialect.json_number("quality_metrics", "flagged_fraction"),
                is_number = dialect.json_is_number("quality_metrics", "flagged_fraction"),
            ),
            &[Cell::from(set)],
            what,
            |r| get(r, 0, db, what),
        )
    }

    /// The set the heatmap shows: the one given, else the set of the newest caltable with a
    /// flag grid.
    pub(crate) fn report_heatmap_set(&self, set: Option<&str>) -> Result<Option<String>, Error> {
        if let Some(set) = set {
            return Ok(Some(set.to_owned()));
        }
        let (db, what) = (self.path(), "the heatmap's set");
        Ok(self
            .rows(
                &format!(
                    "SELECT set_name FROM caltables WHERE {grid} \
                     IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
                    grid = self.dialect().json_text("quality_metrics", "flag_grid")
                ),
                &[],
                what,
                |r| get(r, 0, db, what),
            )?
            .into_iter()
            .next())
    }

    /// The flag grids of a set's caltables, summed by antenna and spw id.
    pub(crate) fn report_heatmap(&self, set: &str) -> Result<Option<Heatmap>, Error> {
        let (db, what) = (self.path(), "flag grids for the report");
        let grid = self.dialect().json_text("quality_metrics", "flag_grid");
        let grids: Vec<String> = self.rows(
            &format!("SELECT {grid} FROM caltables WHERE set_name = ?1 AND {grid} IS NOT NULL"),
            &[Cell::from(set)],
            what,
            |r| get(r, 0, db, what),
        )?;
        let mut sums: BTreeMap<(i32, i32), (u64, u64)> = BTreeMap::new();
        let mut tables = 0u64;
        for text in &grids {
            // A grid that does not parse is left out: the report shows what it can.
            let Ok(grid) = serde_json::from_str::<calprov_metrics::FlagGrid>(text) else {
                continue;
            };
            tables += 1;
            for (a, antenna) in grid.antennas.iter().enumerate() {
                for (s, spw) in grid.spws.iter().enumerate() {
                    let cell =
                        |m: &Vec<Vec<u64>>| m.get(a).and_then(|r| r.get(s)).copied().unwrap_or(0);
                    let sum = sums.entry((*antenna, *spw)).or_default();
                    sum.0 += cell(&grid.flagged);
                    sum.1 += cell(&grid.cells);
                }
            }
        }
        if tables == 0 {
            return Ok(None);
        }
        let mut antennas: Vec<i32> = sums.keys().map(|k| k.0).collect();
        antennas.dedup();
        let mut spws: Vec<i32> = sums.keys().map(|k| k.1).collect();
        spws.sort_unstable();
        spws.dedup();
        let table = |pick: fn(&(u64, u64)) -> u64| -> Vec<Vec<u64>> {
            antennas
                .iter()
                .map(|a| {
                    spws.iter()
                        .map(|s| sums.get(&(*a, *s)).map(pick).unwrap_or(0))
                        .collect()
                })
                .collect()
        };
        Ok(Some(Heatmap {
            set: set.to_owned(),
            caltables: tables,
            flagged: table(|v| v.0),
            cells: table(|v| v.1),
            antennas: antennas.clone(),
            spws: spws.clone(),
        }))
    }

    /// Tracking latencies in ms since `since`.
    pub(crate) fn report_latencies(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<f64>, Error> {
        let (db, what) = (self.path(), "latencies for the report");
        self.rows(
            &format!(
                "SELECT CAST(latency_us AS DOUBLE PRECISION) / 1000 FROM calprov_tracking_events e \
                 WHERE e.recorded_at >= ?2 AND (CAST(?1 AS TEXT) IS NULL OR e.caltable_path IN \
                 (SELECT path FROM caltables WHERE {IN_SCOPE}))"
            ),
            &[Cell::from(set), Cell::from(since)],
            what,
            |r| get(r, 0, db, what),
        )
    }

    /// Solves per CASA version and day: `(version, day, solves)`.
    pub(crate) fn report_versions(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<(String, i64, u64)>, Error> {
        let (db, what) = (self.path(), "CASA versions for the report");
        self.rows(
            &format!(
                "SELECT COALESCE(casa_version, 'unknown'), {day}, count(*) FROM calprov_solves s \
                 WHERE s.solved_at >= ?2 AND (CAST(?1 AS TEXT) IS NULL OR s.caltable_path IN \
                 (SELECT path FROM caltables WHERE {IN_SCOPE})) GROUP BY 1, 2 ORDER BY 1, 2",
                day = day_of(self.dialect(), "solved_at")
            ),
            &[Cell::from(set), Cell::from(since)],
            what,
            |r| {
                Ok((
                    get(r, 0, db, what)?,
                    get(r, 1, db, what)?,
                    n(r, 2, db, what)?,
                ))
            },
        )
    }

    /// The latest `limit` failed tracking calls since `since`, newest first.
    pub(crate) fn report_failures(
        &self,
        set: Option<&str>,
        since: f64,
        limit: usize,
    ) -> Result<Vec<Failure>, Error> {
        let (db, what) = (self.path(), "failures for the report");
        self.rows(
            &format!(
                "SELECT recorded_at, caltable_path, outcome, failure_kind, message \
                 FROM calprov_tracking_events e WHERE outcome IN ('failed', 'not_registered') \
                 AND e.recorded_at >= ?2 AND (CAST(?1 AS TEXT) IS NULL OR e.caltable_path IN \
                 (SELECT path FROM caltables WHERE {IN_SCOPE})) ORDER BY recorded_at DESC, id DESC LIMIT ?3"
            ),
            &[
                Cell::from(set),
                Cell::from(since),
                Cell::from(i64::try_from(limit).unwrap_or(i64::MAX)),
            ],
            what,
            |r| {
                Ok(Failure {
                    at: format_utc(get(r, 0, db, what)?),
                    caltable: get(r, 1, db, what)?,
                    outcome: get(r, 2, db, what)?,
                    kind: get(r, 3, db, what)?,
                    message: get(r, 4, db, what)?,
                })
            },
        )
    }
}
