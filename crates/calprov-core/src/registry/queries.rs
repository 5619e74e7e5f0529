//! Queries on `caltables`: one caltable's record, what an MS produced, impact, and sets.

use std::collections::BTreeSet;
use std::path::Path;

use super::Registry;
use super::rows::{ANY_PROVENANCE_SQL, RawRecord, SELECT_RECORD, lookup_candidates};
use crate::Error;
use crate::caltable_row::{CaltableRecord, SetSummary};
use crate::paths::normalize_to_string;
use crate::sql::{Cell, get};

/// A read of one row: the record, or why its JSON could not be read.
pub type RecordResult = Result<CaltableRecord, Error>;

impl Registry {
    /// The full record of one caltable, or `None` when it is not registered.
    pub fn get_caltable_provenance(&self, caltable: &str) -> Result<Option<CaltableRecord>, Error> {
        let sql = format!("{} WHERE path = ?1", *SELECT_RECORD);
        for candidate in lookup_candidates(caltable) {
            let rows = self.read_rows(&sql, &[Cell::from(candidate)], "read caltable")?;
            if let Some(row) = rows.first() {
                return RawRecord::from_cells(row, self.path())?.parse().map(Some);
            }
        }
        Ok(None)
    }

    /// Every caltable solved from `ms`, by `order_index` ascending then newest first.
    ///
    /// A row whose JSON cannot be read is an `Err` in its place; the other rows are intact.
    pub fn query_caltables_by_source(&self, ms: &str) -> Result<Vec<RecordResult>, Error> {
        let normalized = normalize_to_string(Path::new(ms));
        let rows = self.read_rows(
            &format!(
                "{} WHERE source_ms_path = ?1 OR source_ms_path = ?2 \
                 ORDER BY order_index ASC, created_at DESC, id ASC",
                *SELECT_RECORD
            ),
            &[Cell::from(ms), Cell::from(normalized)],
            "query by source",
        )?;
        Ok(rows
            .iter()
            .map(|row| RawRecord::from_cells(row, self.path()).and_then(RawRecord::parse))
            .collect())
    }

    /// The distinct source MS paths of `caltables` (NULLs excluded), sorted.
    pub fn impact_analysis(&self, caltables: &[String]) -> Result<Vec<String>, Error> {
        let mut sources = BTreeSet::new();
        for caltable in caltables {
            for candidate in lookup_candidates(caltable) {
                let rows = self.read_rows(
                    "SELECT source_ms_path FROM caltables WHERE path = ?1 AND source_ms_path IS NOT NULL",
                    &[Cell::from(candidate)],
                    "impact analysis",
                )?;
                if let Some(row) = rows.first() {
                    sources.insert(get::<String>(row, 0, self.path(), "impact analysis")?);
                    break;
                }
            }
        }
        Ok(sources.into_iter().collect())
    }

    /// Every calibration set with its counts, by name.
    pub fn list_sets(&self) -> Result<Vec<SetSummary>, Error> {
        let action = "list sets";
        let rows = self.read_rows(
            &format!(
                "SELECT set_name, count(*), \
                 CAST(sum(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS BIGINT), \
                 CAST(sum(CASE WHEN {} THEN 1 ELSE 0 END) AS BIGINT), \
                 min(valid_start_mjd), max(valid_end_mjd), max(created_at) \
                 FROM caltables GROUP BY set_name ORDER BY set_name",
                *ANY_PROVENANCE_SQL
            ),
            &[],
            action,
        )?;
        let db = self.path();
        rows.iter()
            .map(|row| {
                Ok(SetSummary {
                    set_name: get(row, 0, db, action)?,
                    n_caltables: get(row, 1, db, action)?,
                    n_active: get(row, 2, db, action)?,
                    n_with_provenance: get(row, 3, db, action)?,
                    valid_start_mjd: get(row, 4, db, action)?,
                    valid_end_mjd: get(row, 5, db, action)?,
                    last_created_at: get(row, 6, db, action)?,
                })
            })
            .collect()
    }
}
