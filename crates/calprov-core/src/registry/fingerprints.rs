//! Reading back what a solve recorded of its table: the fingerprint (in its metrics) and
//! the solution groups (`calprov_solve_groups`), for `verify`; and the caltables to verify.

use calprov_metrics::fingerprint::{Fingerprint, Group, METRICS_KEY, decode_groups};

use super::Registry;
use crate::Error;
use crate::json::parse_python_json;
use crate::lineage::graph::SolveId;
use crate::sql::{Cell, get};

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
        let rows = self.read_rows(
            "SELECT s.metrics, g.groups FROM calprov_solves s \
             LEFT JOIN calprov_solve_groups g ON g.solve_id = s.id WHERE s.id = ?1",
            &[Cell::from(solve)],
            "read a solve's fingerprint",
        )?;
        let row = rows.first().map(Vec::as_slice).unwrap_or_default();
        let metrics = match row.first() {
            Some(Cell::Text(text)) => Some(text.as_str()),
            _ => None,
        };
        let digests = match row.get(1) {
            Some(Cell::Blob(bytes)) => Some(bytes.as_slice()),
            _ => None,
        };
        // A fingerprint that does not parse is as good as none: `verify` says so.
        let fingerprint = metrics
            .and_then(|text| parse_python_json(text).ok())
            .and_then(|mut value| value.get_mut(METRICS_KEY).map(serde_json::Value::take))
            .and_then(|value| serde_json::from_value::<Fingerprint>(value).ok());
        Ok(RecordedFingerprint {
            solve: Some(solve),
            fingerprint,
            groups: digests.and_then(decode_groups),
        })
    }

    /// The registered caltables that are not retired, of one set or of all, by path.
    pub fn caltable_paths(&self, set: Option<&str>) -> Result<Vec<String>, Error> {
        let action = "list caltables";
        let rows = match set {
            Some(set) => self.read_rows(
                "SELECT path FROM caltables WHERE status != 'retired' AND set_name = ?1 ORDER BY path",
                &[Cell::from(set)],
                action,
            )?,
            None => self.read_rows(
                "SELECT path FROM caltables WHERE status != 'retired' ORDER BY path",
                &[],
                action,
            )?,
        };
        rows.iter()
            .map(|r| get(r, 0, self.path(), action))
            .collect()
    }
}
