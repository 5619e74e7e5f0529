//! Reading back what a solve recorded of its table: the fingerprint (in its metrics) and
//! the solution groups (`calprov_solve_groups`), for `verify`; and the caltables to verify.

use calprov_metrics::fingerprint::{Fingerprint, Group, METRICS_KEY, decode_groups};
use rusqlite::OptionalExtension;

use super::Registry;
use crate::Error;
use crate::json::parse_python_json;
use crate::lineage::graph::SolveId;

/// What the latest solve of a caltable recorded of its table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordedFingerprint {
    /// The latest solve; `None` when the caltable was never solved on record.
    pub solve: Option<SolveId>,
    /// Its fingerprint; `None` when it was recorded without one.
    pub fingerprint: Option<Fingerprint>,
    /// Its solution groups, when stored and whole.
    pub groups: Option<Vec<Group>>,
}

impl Registry {
    /// The fingerprint the latest solve of `caltable` recorded.
    pub fn recorded_fingerprint(&self, caltable: &str) -> Result<RecordedFingerprint, Error> {
        let Some(solve) = self.current_solve(caltable)? else {
            return Ok(RecordedFingerprint::default());
        };
        let (metrics, digests): (Option<String>, Option<Vec<u8>>) = self
            .connection()?
            .prepare_cached(
                "SELECT s.metrics, g.groups FROM calprov_solves s \
                 LEFT JOIN calprov_solve_groups g ON g.solve_id = s.id WHERE s.id = ?1",
            )
            .and_then(|mut stmt| {
                stmt.query_row([solve], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()
            })
            .map_err(Error::sql(self.path(), "read a solve's fingerprint"))?
            .unwrap_or((None, None));
        // A fingerprint that does not parse is as good as none: `verify` says so.
        let fingerprint = metrics
            .as_deref()
            .and_then(|text| parse_python_json(text).ok())
            .and_then(|mut value| value.get_mut(METRICS_KEY).map(serde_json::Value::take))
            .and_then(|value| serde_json::from_value::<Fingerprint>(value).ok());
        Ok(RecordedFingerprint {
            solve: Some(solve),
            fingerprint,
            groups: digests.as_deref().and_then(decode_groups),
        })
    }

    /// The registered caltables that are not retired, of one set or of all, by path.
    pub fn caltable_paths(&self, set: Option<&str>) -> Result<Vec<String>, Error> {
        let mut stmt = self
            .connection()?
            .prepare_cached(
                "SELECT path FROM caltables WHERE status != 'retired' \
                 AND (?1 IS NULL OR set_name = ?1) ORDER BY path",
            )
            .map_err(Error::sql(self.path(), "list caltables"))?;
        stmt.query_map([set], |r| r.get(0))
            .and_then(|rows| rows.collect())
            .map_err(Error::sql(self.path(), "list caltables"))
    }
}
