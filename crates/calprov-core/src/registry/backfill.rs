//! The registry side of backfill: the caltables without provenance, and one transaction per
//! batch that fills those still without it.

use std::path::Path;

use calprov_metrics::fingerprint::Group;
use serde_json::Map;

use super::Registry;
use super::history::{NewSolve, insert_solve};
use crate::Error;
use crate::backfill::{Candidate, ORIGIN_BACKFILL};
use crate::lineage::inputs::{Role, vis_input};
use crate::lineage::selection::Selection;
use crate::sql::{Cell, get};

/// "This row has no provenance": all five columns null. Backfill reads only such rows and
/// writes only to rows still such, so a concurrent track always wins.
const NO_PROVENANCE: &str = "source_ms_path IS NULL AND solver_command IS NULL \
     AND solver_version IS NULL AND solver_params IS NULL AND quality_metrics IS NULL";

/// What backfill records of one caltable.
#[derive(Debug, Clone)]
pub(crate) struct BackfillRow {
    pub(crate) path: String,
    pub(crate) solved_at: f64,
    pub(crate) source_ms: Option<String>,
    pub(crate) casa_version: Option<String>,
    /// The quality metrics as JSON text (an object), rendered where the table was read.
    pub(crate) metrics: String,
    pub(crate) groups: Vec<Group>,
}

impl Registry {
    /// The caltables of `set` (all when `None`) without provenance, in registration order,
    /// and how many in scope already have some.
    pub(crate) fn backfill_candidates(
        &self,
        set: Option<&str>,
    ) -> Result<(Vec<Candidate>, usize), Error> {
        let db = self.path();
        let action = "list caltables to backfill";
        // CAST: PostgreSQL must know the parameter's type where it is only tested for NULL.
        let rows = self
            .read_rows(
                &format!(
                    "SELECT path, created_at, CASE WHEN {NO_PROVENANCE} THEN 1 ELSE 0 END FROM caltables \
                     WHERE (CAST(?1 AS TEXT) IS NULL OR set_name = ?1) ORDER BY id"
                ),
                &[Cell::from(set)],
                action,
            )?
            .iter()
            .map(|r| {
                Ok((
                    Candidate {
                        path: get(r, 0, db, action)?,
                        created_at: get(r, 1, db, action)?,
                    },
                    get::<i64>(r, 2, db, action)? != 0,
                ))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let total = rows.len();
        let candidates: Vec<Candidate> = rows
            .into_iter()
            .filter_map(|(c, empty)| empty.then_some(c))
            .collect();
        let already = total - candidates.len();
        Ok((candidates, already))
    }

    /// How many caltables of `set` (all when `None`) have no provenance.
    pub fn count_without_provenance(&self, set: Option<&str>) -> Result<usize, Error> {
        let action = "count caltables without provenance";
        let rows = self.read_rows(
            &format!(
                "SELECT count(*) FROM caltables WHERE (CAST(?1 AS TEXT) IS NULL OR set_name = ?1) \
                 AND {NO_PROVENANCE}"
            ),
            &[Cell::from(set)],
            action,
        )?;
        let row = rows.first().map(Vec::as_slice).unwrap_or_default();
        Ok(usize::try_from(get::<i64>(row, 0, self.path(), action)?).unwrap_or(0))
    }

    /// Writes `rows` in one transaction: each caltable still without provenance gets its
    /// columns and a `backfill` solve. Returns, per row, whether it was written.
    pub(crate) fn write_backfill(&mut self, rows: &[BackfillRow]) -> Result<Vec<bool>, Error> {
        let mut tx = self.begin_write("begin backfill")?;
        let mut written = Vec::with_capacity(rows.len());
        let no_params = Map::new();
        let selection = Selection::from_params(&no_params);
        for row in rows {
            let changed = tx.execute(
                &format!(
                    "UPDATE caltables SET source_ms_path = ?2, solver_version = ?3, \
                     quality_metrics = ?4 WHERE path = ?1 AND {NO_PROVENANCE}"
                ),
                &[
                    Cell::from(row.path.as_str()),
                    Cell::from(row.source_ms.as_deref()),
                    Cell::from(row.casa_version.as_deref()),
                    Cell::from(row.metrics.as_str()),
                ],
                "write backfilled provenance",
            )?;
            if changed > 0 {
                let inputs = [(
                    Role::Vis,
                    vis_input(row.source_ms.as_deref(), &no_params, None::<&Path>),
                )];
                insert_solve(
                    &mut tx,
                    &NewSolve {
                        caltable: &row.path,
                        solved_at: row.solved_at,
                        origin: ORIGIN_BACKFILL,
                        outcome: ORIGIN_BACKFILL,
                        task: None,
                        params: None,
                        command: None,
                        casa_version: row.casa_version.as_deref(),
                        version_step: row
                            .casa_version
                            .as_ref()
                            .map(|_| calprov_casa::VersionStep::CaltableKeyword.name()),
                        metrics: Some(&row.metrics),
                        source_ms: row.source_ms.as_deref(),
                        selection: &selection,
                        cwd: None,
                        host: None,
                        inputs: &inputs,
                        groups: Some(&row.groups),
                    },
                )?;
            }
            written.push(changed > 0);
        }
        tx.commit("commit backfill")?;
        Ok(written)
    }
}
