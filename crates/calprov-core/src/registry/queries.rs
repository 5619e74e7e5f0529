//! Queries on `caltables`: one caltable's record, what an MS produced, impact, and sets.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{OptionalExtension, params};

use super::Registry;
use super::rows::{ANY_PROVENANCE_SQL, RawRecord, SELECT_RECORD, lookup_candidates};
use crate::Error;
use crate::caltable_row::{CaltableRecord, SetSummary};
use crate::paths::normalize_to_string;

/// A read of one row: the record, or why its JSON could not be read.
pub type RecordResult = Result<CaltableRecord, Error>;

impl Registry {
    /// The full record of one caltable, or `None` when it is not registered.
    pub fn get_caltable_provenance(&self, caltable: &str) -> Result<Option<CaltableRecord>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()?
            .prepare_cached(&format!("{} WHERE path = ?1", *SELECT_RECORD))
            .map_err(Error::sql(db, "prepare show"))?;
        for candidate in lookup_candidates(caltable) {
            let raw = stmt
                .query_row([&candidate], RawRecord::from_row)
                .optional()
                .map_err(Error::sql(db, "read caltable"))?;
            if let Some(raw) = raw {
                return raw.parse().map(Some);
            }
        }
        Ok(None)
    }

    /// Every caltable solved from `ms`, by `order_index` ascending then newest first.
    ///
    /// A row whose JSON cannot be read is an `Err` in its place; the other rows are intact.
    pub fn query_caltables_by_source(&self, ms: &str) -> Result<Vec<RecordResult>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()?
            .prepare_cached(&format!(
                "{} WHERE source_ms_path = ?1 OR source_ms_path = ?2 \
                 ORDER BY order_index ASC, created_at DESC, id ASC",
                *SELECT_RECORD
            ))
            .map_err(Error::sql(db, "prepare by-source"))?;
        let normalized = normalize_to_string(Path::new(ms));
        let rows = stmt
            .query_map(params![ms, normalized], RawRecord::from_row)
            .map_err(Error::sql(db, "query by source"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql(db, "query by source"))?;
        Ok(rows.into_iter().map(RawRecord::parse).collect())
    }

    /// The distinct source MS paths of `caltables` (NULLs excluded), sorted.
    pub fn impact_analysis(&self, caltables: &[String]) -> Result<Vec<String>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()?
            .prepare_cached(
                "SELECT source_ms_path FROM caltables WHERE path = ?1 AND source_ms_path IS NOT NULL",
            )
            .map_err(Error::sql(db, "prepare impact"))?;
        let mut sources = BTreeSet::new();
        for caltable in caltables {
            for candidate in lookup_candidates(caltable) {
                let found: Option<String> = stmt
                    .query_row([&candidate], |row| row.get(0))
                    .optional()
                    .map_err(Error::sql(db, "impact analysis"))?;
                if let Some(source) = found {
                    sources.insert(source);
                    break;
                }
            }
        }
        Ok(sources.into_iter().collect())
    }

    /// Every calibration set with its counts, by name.
    pub fn list_sets(&self) -> Result<Vec<SetSummary>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()?
            .prepare_cached(&format!(
                "SELECT set_name, count(*), sum(status = 'active'), sum({}), \
                 min(valid_start_mjd), max(valid_end_mjd), max(created_at) \
                 FROM caltables GROUP BY set_name ORDER BY set_name",
                *ANY_PROVENANCE_SQL
            ))
            .map_err(Error::sql(db, "prepare sets"))?;
        let sets = stmt
            .query_map([], |row| {
                Ok(SetSummary {
                    set_name: row.get(0)?,
                    n_caltables: row.get(1)?,
                    n_active: row.get(2)?,
                    n_with_provenance: row.get(3)?,
                    valid_start_mjd: row.get(4)?,
                    valid_end_mjd: row.get(5)?,
                    last_created_at: row.get(6)?,
                })
            })
            .map_err(Error::sql(db, "list sets"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql(db, "list sets"))?;
        Ok(sets)
    }
}
