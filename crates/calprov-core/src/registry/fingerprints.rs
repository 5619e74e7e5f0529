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

/// The query of a solve's fingerprint. `CAST`: with a bare parameter compared with the key,
/// SQLite (built with STAT4) re-prepared the statement for every new id.
const FINGERPRINT_SQL: &str = "SELECT s.metrics, g.groups FROM calprov_solves s \
     LEFT JOIN calprov_solve_groups g ON g.solve_id = s.id WHERE s.id = CAST(?1 AS BIGINT)";

/// The fingerprint in a solve's metrics text. Only its key is built: the rest (the breakdowns
/// by antenna and spw, most of the text) is skipped unparsed, which made loading the
/// recorded side of `verify --all` several times cheaper. Text Python wrote with `NaN` tokens
/// fails that strict parse and takes the tolerant one.
fn stored_fingerprint(metrics: &str) -> Option<Fingerprint> {
    #[derive(serde::Deserialize)]
    struct Stored {
        // METRICS_KEY.
        fingerprint: Option<Fingerprint>,
    }
    match serde_json::from_str::<Stored>(metrics) {
        Ok(stored) => stored.fingerprint,
        Err(_) => parse_python_json(metrics)
            .ok()
            .and_then(|mut value| value.get_mut(METRICS_KEY).map(serde_json::Value::take))
            .and_then(|value| serde_json::from_value::<Fingerprint>(value).ok()),
    }
}

impl Registry {
    /// The fingerprint the latest solve of `caltable` recorded.
    pub fn recorded_fingerprint(&self, caltable: &str) -> Result<RecordedFingerprint, Error> {
        let Some(solve) = self.current_solve(caltable)? else {
            return Ok(RecordedFingerprint::default());
        };
        let rows = self.read_rows(
            FINGERPRINT_SQL,
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
        let fingerprint = metrics.and_then(stored_fingerprint);
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

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::{FINGERPRINT_SQL, METRICS_KEY, stored_fingerprint};

    const FINGERPRINT: &str = r#"{"algorithm":"xxh3-128","n_rows":3,"description":"d",
        "columns":{"TIME":"xxh3-128:00"},"subtables":{}}"#;

    #[test]
    fn the_fingerprint_is_read_whatever_else_the_metrics_hold() {
        // `Stored` names the key literally (serde's attribute takes no constant).
        assert_eq!(METRICS_KEY, "fingerprint");
        let text =
            format!(r#"{{"by_antenna":[{{"id":0,"snr":1.5}}],"fingerprint":{FINGERPRINT}}}"#);
        let fingerprint = stored_fingerprint(&text).unwrap();
        assert_eq!(fingerprint.n_rows, 3);
        assert_eq!(fingerprint.columns["TIME"], "xxh3-128:00");
        // Python's tokens elsewhere in the text take the tolerant parse, to the same result.
        let python = format!(r#"{{"snr_median":NaN,"amp":-Infinity,"fingerprint":{FINGERPRINT}}}"#);
        assert_eq!(stored_fingerprint(&python), Some(fingerprint));
    }

    #[test]
    fn metrics_without_a_whole_fingerprint_have_none() {
        assert_eq!(stored_fingerprint(r#"{"flagged_fraction":0.5}"#), None);
        assert_eq!(
            stored_fingerprint(r#"{"fingerprint":{"algorithm":"x"}}"#),
            None
        );
        assert_eq!(stored_fingerprint(r#"{"fingerprint":null}"#), None);
        assert_eq!(stored_fingerprint("[1, 2]"), None);
        assert_eq!(stored_fingerprint("not json"), None);
    }

    #[test]
    fn the_fingerprint_query_is_not_recompiled_for_each_solve() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::migrated_connection(dir.path());
        for id in 1..=4i64 {
            conn.execute(
                "INSERT INTO calprov_solves (id, caltable_path, solved_at, origin, outcome, metrics) \
                 VALUES (?1, ?2, 1.7e9, 'tracked', 'tracked', '{}')",
                rusqlite::params![id, format!("/cal/obs{id}_gacal")],
            )
            .unwrap();
            let mut statement = conn.prepare_cached(FINGERPRINT_SQL).unwrap();
            let found: Option<String> = statement.query_row([id], |r| r.get(0)).unwrap();
            assert_eq!(found.as_deref(), Some("{}"));
            assert_eq!(
                statement.get_status(StatementStatus::RePrepare),
                0,
                "solve {id}"
            );
        }
    }
}
