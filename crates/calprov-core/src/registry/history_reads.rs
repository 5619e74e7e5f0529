//! Reading the history: a caltable's solves and its lineage up. The walk itself is pure
//! (`crate::lineage::graph`); this module loads what it asks for.

use std::path::Path;

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

/// A solve from the first columns of a row read with [`SOLVE_COLUMNS`].
pub(super) fn solve_info(
    row: &[Cell],
    db: &Path,
    action: &'static str,
) -> Result<SolveInfo, Error> {
    Ok(SolveInfo {
        id: get(row, 0, db, action)?,
        caltable: get(row, 1, db, action)?,
        solved_at: get(row, 2, db, action)?,
        origin: get(row, 3, db, action)?,
        task: get(row, 4, db, action)?,
        casa_version: get(row, 5, db, action)?,
        version: get(row, 6, db, action)?,
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
                "SELECT max(id) FROM calprov_solves WHERE caltable_path = CAST(?1 AS TEXT)",
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
        let action = "read a solve";
        let rows = self.read_rows(
            &format!("SELECT {SOLVE_COLUMNS} FROM calprov_solves s WHERE s.id = ?1"),
            &[Cell::from(id)],
            action,
        )?;
        rows.first()
            .map(|row| solve_info(row, self.path(), action))
            .transpose()
    }

    pub(super) fn solve_inputs(&self, id: SolveId) -> Result<Vec<InputInfo>, Error> {
        let db = self.path();
        let action = "read inputs";
        let rows = self.read_rows(
            "SELECT role, idx, path, input_solve_id, problem FROM calprov_solve_inputs \
             WHERE solve_id = ?1 ORDER BY role DESC, idx",
            &[Cell::from(id)],
            action,
        )?;
        rows.iter()
            .map(|r| {
                Ok(InputInfo {
                    role: Role::from_name(&get::<String>(r, 0, db, action)?)
                        .unwrap_or(Role::Gaintable),
                    index: usize::try_from(get::<i64>(r, 1, db, action)?).unwrap_or(0),
                    path: get(r, 2, db, action)?,
                    pinned: get(r, 3, db, action)?,
                    problem: get(r, 4, db, action)?,
                })
            })
            .collect()
    }

    /// Every recorded solve of `caltable`, oldest first.
    pub fn history(&self, caltable: &str) -> Result<Vec<SolveEntry>, Error> {
        let db = self.path();
        let action = "read history";
        let mut entries = Vec::new();
        for candidate in lookup_candidates(caltable) {
            let rows = self.read_rows(
                &format!(
                    "SELECT {SOLVE_COLUMNS}, s.outcome, s.command, s.version_step, s.params, s.metrics, \
                     s.source_ms_path, s.cwd, s.host FROM calprov_solves s WHERE s.caltable_path = ?1 ORDER BY s.id"
                ),
                &[Cell::from(candidate)],
                action,
            )?;
            let json = |r: &[Cell], i: usize| -> Result<Option<Value>, Error> {
                Ok(get::<Option<String>>(r, i, db, action)?
                    .and_then(|t| parse_python_json(&t).ok()))
            };
            let read = rows
                .iter()
                .map(|r| {
                    Ok(SolveEntry {
                        info: solve_info(r, db, action)?,
                        outcome: get(r, 7, db, action)?,
                        command: get(r, 8, db, action)?,
                        version_step: get(r, 9, db, action)?,
                        params: json(r, 10)?,
                        metrics: json(r, 11)?,
                        source_ms_path: get(r, 12, db, action)?,
                        cwd: get(r, 13, db, action)?,
                        host: get(r, 14, db, action)?,
                        inputs: Vec::new(),
                    })
                })
                .collect::<Result<Vec<_>, Error>>()?;
            if !read.is_empty() {
                entries = read;
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
