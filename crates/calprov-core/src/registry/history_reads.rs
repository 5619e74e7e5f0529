//! Reading the history: a caltable's solves and its lineage up. The walk itself is pure
//! (`crate::lineage::graph`); this module loads what it asks for.

use rusqlite::OptionalExtension;
use serde::Serialize;
use serde_json::Value;

use super::Registry;
use super::rows::lookup_candidates;
use crate::Error;
use crate::json::parse_python_json;
use crate::lineage::graph::{InputInfo, LineageNode, SolveId, SolveInfo, lineage};
use crate::lineage::inputs::Role;
use crate::lineage::selection::Selection;
use crate::sql::{Cell, get};

/// One recorded solve with everything it recorded, as `calprov history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolveEntry {
    /// The solve.
    #[serde(flatten)]
    pub info: SolveInfo,
    /// `tracked` or `partial` for tracked solves; the origin otherwise.
    pub outcome: String,
    /// The command.
    pub command: Option<String>,
    /// The detection step of the version.
    pub version_step: Option<String>,
    /// The parameters.
    pub params: Option<Value>,
    /// The metrics.
    pub metrics: Option<Value>,
    /// The MS it was solved from.
    pub source_ms_path: Option<String>,
    /// Its working directory.
    pub cwd: Option<String>,
    /// Its host.
    pub host: Option<String>,
    /// Its inputs.
    pub inputs: Vec<InputInfo>,
}

pub(super) const SOLVE_COLUMNS: &str = "s.id, s.caltable_path, s.solved_at, s.origin, s.task, s.casa_version, \
     (SELECT count(*) FROM calprov_solves v WHERE v.caltable_path = s.caltable_path AND v.id <= s.id)";

pub(super) fn solve_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<SolveInfo> {
    Ok(SolveInfo {
        id: row.get(0)?,
        caltable: row.get(1)?,
        solved_at: row.get(2)?,
        origin: row.get(3)?,
        task: row.get(4)?,
        casa_version: row.get(5)?,
        version: row.get(6)?,
    })
}

pub(super) fn spwmap_of(text: Option<String>) -> Option<Vec<i64>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

pub(super) fn selection_of(text: Option<String>) -> Option<Box<Selection>> {
    match text.as_deref() {
        None | Some("{}") => None,
        Some(t) => serde_json::from_str(t).ok().map(Box::new),
    }
}

impl Registry {
    /// The current (latest) solve of a caltable.
    pub fn current_solve(&self, caltable: &str) -> Result<Option<SolveId>, Error> {
        let action = "find the current solve";
        for candidate in lookup_candidates(caltable) {
            let rows = self.read_rows(
                "SELECT max(id) FROM calprov_solves WHERE caltable_path = ?1",
                &[Cell::from(candidate)],
                action,
            )?;
            let id: Option<SolveId> = match rows.first() {
                Some(row) => get(row, 0, self.path(), action)?,
                None => None,
            };
            if id.is_some() {
                return Ok(id);
            }
        }
        Ok(None)
    }

    pub(super) fn solve_info(&self, id: SolveId) -> Result<Option<SolveInfo>, Error> {
        self.connection()?
            .prepare_cached(&format!(
                "SELECT {SOLVE_COLUMNS} FROM calprov_solves s WHERE s.id = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([id], solve_info).optional())
            .map_err(Error::sql(self.path(), "read a solve"))
    }

    pub(super) fn solve_inputs(&self, id: SolveId) -> Result<Vec<InputInfo>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()?
            .prepare_cached(
                "SELECT role, idx, path, input_solve_id, problem FROM calprov_solve_inputs \
                 WHERE solve_id = ?1 ORDER BY role DESC, idx",
            )
            .map_err(Error::sql(db, "read inputs"))?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(InputInfo {
                    role: Role::from_name(&r.get::<_, String>(0)?).unwrap_or(Role::Gaintable),
                    index: r.get::<_, i64>(1)? as usize,
                    path: r.get(2)?,
                    pinned: r.get(3)?,
                    problem: r.get(4)?,
                })
            })
            .map_err(Error::sql(db, "read inputs"))?;
        rows.collect::<Result<_, _>>()
            .map_err(Error::sql(db, "read inputs"))
    }

    /// Every recorded solve of `caltable`, oldest first.
    pub fn history(&self, caltable: &str) -> Result<Vec<SolveEntry>, Error> {
        let db = self.path();
        let mut entries = Vec::new();
        for candidate in lookup_candidates(caltable) {
            let mut stmt = self
                .connection()?
                .prepare_cached(&format!(
                    "SELECT {SOLVE_COLUMNS}, s.outcome, s.command, s.version_step, s.params, s.metrics, \
                     s.source_ms_path, s.cwd, s.host FROM calprov_solves s WHERE s.caltable_path = ?1 ORDER BY s.id"
                ))
                .map_err(Error::sql(db, "read history"))?;
            let rows = stmt
                .query_map([&candidate], |r| {
                    let json = |i: usize| -> rusqlite::Result<Option<Value>> {
                        Ok(r.get::<_, Option<String>>(i)?
                            .and_then(|t| parse_python_json(&t).ok()))
                    };
                    Ok(SolveEntry {
                        info: solve_info(r)?,
                        outcome: r.get(7)?,
                        command: r.get(8)?,
                        version_step: r.get(9)?,
                        params: json(10)?,
                        metrics: json(11)?,
                        source_ms_path: r.get(12)?,
                        cwd: r.get(13)?,
                        host: r.get(14)?,
                        inputs: Vec::new(),
                    })
                })
                .map_err(Error::sql(db, "read history"))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(Error::sql(db, "read history"))?;
            if !rows.is_empty() {
                entries = rows;
                break;
            }
        }
        for entry in &mut entries {
            entry.inputs = self.solve_inputs(entry.info.id)?;
        }
        Ok(entries)
    }

    /// Everything `caltable`'s current solve depends on, recursively, with the version and
    /// time of each solve; `None` when no solve of it is recorded.
    pub fn lineage(&self, caltable: &str) -> Result<Option<LineageNode>, Error> {
        match self.current_solve(caltable)? {
            Some(root) => self.lineage_from(root),
            None => Ok(None),
        }
    }

    /// Everything solve `root` depends on, recursively.
    pub(crate) fn lineage_from(&self, root: SolveId) -> Result<Option<LineageNode>, Error> {
        lineage(root, |id| {
            let Some(info) = self.solve_info(id)? else {
                return Ok(None);
            };
            Ok(Some((info, self.solve_inputs(id)?)))
        })
    }
}
