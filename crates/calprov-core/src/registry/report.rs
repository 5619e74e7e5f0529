//! The registry's figures for the operators' report, each one query (aggregated in SQL
//! where it can be, so a registry of a million caltables is summed, not loaded).

use std::collections::BTreeMap;

use calprov_report::data::{Failure, Heatmap, Totals};
use rusqlite::params;

use super::Registry;
use crate::Error;
use crate::clock::format_utc;

/// The caltables in scope: `?1` the set or NULL.
const IN_SCOPE: &str = "(?1 IS NULL OR set_name = ?1)";

/// A row has provenance when any of the five columns is filled.
const HAS_PROVENANCE: &str = "(source_ms_path IS NOT NULL OR solver_command IS NOT NULL \
     OR solver_version IS NOT NULL OR solver_params IS NOT NULL OR quality_metrics IS NOT NULL)";

/// Days since 1970 of a unix-seconds column (truncated: registry times are after 1970, and
/// the bundled SQLite has no math functions), kept within a million days of 1970 so that an
/// absurd time in a user's registry cannot overflow the calendar arithmetic.
fn day_of(column: &str) -> String {
    format!("CAST(max(-1000000, min(1000000, {column} / 86400.0)) AS INTEGER)")
}

/// A count column (SQLite integers are signed).
fn n(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    r.get::<_, i64>(i).map(|v| u64::try_from(v).unwrap_or(0))
}

/// `(set, day, registered, with provenance)` rows.
pub(crate) type CoverageRow = (String, i64, u64, u64);

impl Registry {
    fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: &'static str,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Vec<T>, Error> {
        let mut stmt = self
            .connection()?
            .prepare(sql)
            .map_err(Error::sql(self.path(), what))?;
        stmt.query_map(params, row)
            .and_then(|rows| rows.collect())
            .map_err(Error::sql(self.path(), what))
    }

    /// Headline counts of the caltables in scope, and of solves and tracking calls since.
    pub(crate) fn report_totals(&self, set: Option<&str>, since: f64) -> Result<Totals, Error> {
        let db = self.path();
        let conn = self.connection()?;
        let (caltables, with_provenance, qa_assessed, qa_passed): (u64, u64, u64, u64) = conn
            .query_row(
                &format!(
                    "SELECT count(*), COALESCE(sum({HAS_PROVENANCE}), 0), \
                     count(json_extract(quality_metrics, '$.qa_passed')), \
                     COALESCE(sum(json_extract(quality_metrics, '$.qa_passed') = 1), 0) \
                     FROM caltables WHERE {IN_SCOPE}"
                ),
                [set],
                |r| Ok((n(r, 0)?, n(r, 1)?, n(r, 2)?, n(r, 3)?)),
            )
            .map_err(Error::sql(db, "count caltables for the report"))?;
        let solves: u64 = conn
            .query_row(
                &format!(
                    "SELECT count(*) FROM calprov_solves s WHERE s.solved_at >= ?2 AND (?1 IS NULL \
                     OR s.caltable_path IN (SELECT path FROM caltables WHERE {IN_SCOPE}))"
                ),
                params![set, since],
                |r| n(r, 0),
            )
            .map_err(Error::sql(db, "count solves for the report"))?;
        let (tracking_calls, tracking_failures): (u64, u64) = conn
            .query_row(
                &format!(
                    "SELECT count(*), COALESCE(sum(outcome IN ('failed', 'not_registered')), 0) \
                     FROM calprov_tracking_events e WHERE e.recorded_at >= ?2 AND (?1 IS NULL \
                     OR e.caltable_path IN (SELECT path FROM caltables WHERE {IN_SCOPE}))"
                ),
                params![set, since],
                |r| Ok((n(r, 0)?, n(r, 1)?)),
            )
            .map_err(Error::sql(db, "count tracking calls for the report"))?;
        Ok(Totals {
            caltables,
            with_provenance,
            solves,
            tracking_calls,
            tracking_failures,
            qa_passed,
            qa_assessed,
        })
    }

    /// Caltables registered per set and day since `since`, and of them with provenance.
    pub(crate) fn report_coverage(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<CoverageRow>, Error> {
        self.rows(
            &format!(
                "SELECT set_name, {day}, count(*), COALESCE(sum({HAS_PROVENANCE}), 0) FROM caltables \
                 WHERE {IN_SCOPE} AND created_at >= ?2 GROUP BY 1, 2 ORDER BY 1, 2",
                day = day_of("created_at")
            ),
            params![set, since],
            "coverage for the report",
            |r| Ok((r.get(0)?, r.get(1)?, n(r, 2)?, n(r, 3)?)),
        )
    }

    /// QA verdicts per day of assessment: `(day, assessed, passed)`.
    pub(crate) fn report_qa(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<(i64, u64, u64)>, Error> {
        self.rows(
            &format!(
                "SELECT {day}, count(*), sum(passed = 1) FROM (SELECT \
                 json_extract(quality_metrics, '$.assessed_at') AS at, \
                 json_extract(quality_metrics, '$.qa_passed') AS passed FROM caltables \
                 WHERE {IN_SCOPE} AND quality_metrics IS NOT NULL) WHERE passed IS NOT NULL \
                 AND at >= ?2 GROUP BY 1 ORDER BY 1",
                day = day_of("at")
            ),
            params![set, since],
            "QA for the report",
            |r| Ok((r.get(0)?, n(r, 1)?, n(r, 2)?)),
        )
    }

    /// The flagged fraction of each caltable in scope with metrics.
    pub(crate) fn report_flagged(&self, set: Option<&str>) -> Result<Vec<f64>, Error> {
        self.rows(
            &format!(
                "SELECT v FROM (SELECT json_extract(quality_metrics, '$.flagged_fraction') AS v \
                 FROM caltables WHERE {IN_SCOPE} AND quality_metrics IS NOT NULL) \
                 WHERE typeof(v) IN ('real', 'integer')"
            ),
            [set],
            "flagged fractions for the report",
            |r| r.get(0),
        )
    }

    /// The set the heatmap shows: the one given, else the set of the newest caltable with a
    /// flag grid.
    pub(crate) fn report_heatmap_set(&self, set: Option<&str>) -> Result<Option<String>, Error> {
        if let Some(set) = set {
            return Ok(Some(set.to_owned()));
        }
        Ok(self
            .rows(
                "SELECT set_name FROM caltables WHERE json_extract(quality_metrics, '$.flag_grid') \
                 IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT 1",
                [],
                "the heatmap's set",
                |r| r.get(0),
            )?
            .into_iter()
            .next())
    }

    /// The flag grids of a set's caltables, summed by antenna and spw id.
    pub(crate) fn report_heatmap(&self, set: &str) -> Result<Option<Heatmap>, Error> {
        let grids: Vec<String> = self.rows(
            "SELECT json_extract(quality_metrics, '$.flag_grid') FROM caltables \
             WHERE set_name = ?1 AND json_extract(quality_metrics, '$.flag_grid') IS NOT NULL",
            [set],
            "flag grids for the report",
            |r| r.get(0),
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
        self.rows(
            &format!(
                "SELECT latency_us / 1000.0 FROM calprov_tracking_events e WHERE e.recorded_at >= ?2 \
                 AND (?1 IS NULL OR e.caltable_path IN (SELECT path FROM caltables WHERE {IN_SCOPE}))"
            ),
            params![set, since],
            "latencies for the report",
            |r| r.get(0),
        )
    }

    /// Solves per CASA version and day: `(version, day, solves)`.
    pub(crate) fn report_versions(
        &self,
        set: Option<&str>,
        since: f64,
    ) -> Result<Vec<(String, i64, u64)>, Error> {
        self.rows(
            &format!(
                "SELECT COALESCE(casa_version, 'unknown'), {day}, count(*) FROM calprov_solves s \
                 WHERE s.solved_at >= ?2 AND (?1 IS NULL OR s.caltable_path IN \
                 (SELECT path FROM caltables WHERE {IN_SCOPE})) GROUP BY 1, 2 ORDER BY 1, 2",
                day = day_of("solved_at")
            ),
            params![set, since],
            "CASA versions for the report",
            |r| Ok((r.get(0)?, r.get(1)?, n(r, 2)?)),
        )
    }

    /// The latest `limit` failed tracking calls since `since`, newest first.
    pub(crate) fn report_failures(
        &self,
        set: Option<&str>,
        since: f64,
        limit: usize,
    ) -> Result<Vec<Failure>, Error> {
        self.rows(
            &format!(
                "SELECT recorded_at, caltable_path, outcome, failure_kind, message \
                 FROM calprov_tracking_events e WHERE outcome IN ('failed', 'not_registered') \
                 AND e.recorded_at >= ?2 AND (?1 IS NULL OR e.caltable_path IN \
                 (SELECT path FROM caltables WHERE {IN_SCOPE})) ORDER BY recorded_at DESC, id DESC LIMIT ?3"
            ),
            params![set, since, i64::try_from(limit).unwrap_or(i64::MAX)],
            "failures for the report",
            |r| {
                Ok(Failure {
                    at: format_utc(r.get(0)?),
                    caltable: r.get(1)?,
                    outcome: r.get(2)?,
                    kind: r.get(3)?,
                    message: r.get(4)?,
                })
            },
        )
    }
}
