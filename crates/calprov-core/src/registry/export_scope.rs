//! Which part of the graph an export covers: the solves of the caltables asked for (every
//! version), with their lineage (up) and their impact (down) when asked; the walks are the
//! pure ones of `lineage::reach`, fed by the registry's loaders.

use std::collections::BTreeSet;

use super::Registry;
use super::rows::lookup_candidates;
use crate::Error;
use crate::lineage::graph::SolveId;
use crate::lineage::reach::{downstream, solves_in};
use crate::sql::{Cell, get};

/// The solves and applications to export, and the caltables asked for that have no solve
/// (exported as entities known by path).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExportSelection {
    pub(crate) solves: BTreeSet<SolveId>,
    pub(crate) applications: BTreeSet<i64>,
    pub(crate) unsolved: Vec<String>,
}

impl Registry {
    /// The selection for `caltables`; a caltable neither registered nor solved is an error
    /// that names it.
    pub(crate) fn export_selection(
        &self,
        caltables: &[String],
        upstream: bool,
        downstream_too: bool,
    ) -> Result<ExportSelection, Error> {
        let mut selection = ExportSelection::default();
        for caltable in caltables {
            let solves = self.solve_ids(caltable)?;
            if solves.is_empty() {
                let record = self.get_caltable_provenance(caltable)?;
                let Some(record) = record else {
                    return Err(Error::UnknownCaltable {
                        caltable: caltable.clone(),
                    });
                };
                selection.unsolved.push(record.path);
            }
            selection.solves.extend(solves);
        }
        if upstream {
            let mut up = BTreeSet::new();
            for &solve in &selection.solves {
                if let Some(tree) = self.lineage_from(solve)? {
                    solves_in(&tree, &mut up);
                }
            }
            selection.solves.extend(up);
        }
        if downstream_too {
            let down = downstream(selection.solves.iter().copied(), |frontier, visit| {
                self.uses_of(frontier, false, visit)
            })?;
            selection.solves.extend(down.solves);
            selection.applications.extend(down.applications);
        }
        Ok(selection)
    }

    /// Whether any caltable (retired or not) is registered in `set`.
    pub(crate) fn set_exists(&self, set: &str) -> Result<bool, Error> {
        let rows = self.read_rows(
            "SELECT 1 FROM caltables WHERE set_name = ?1 LIMIT 1",
            &[Cell::from(set)],
            "read sets",
        )?;
        Ok(!rows.is_empty())
    }

    /// Every recorded solve of `caltable`, oldest first.
    fn solve_ids(&self, caltable: &str) -> Result<Vec<SolveId>, Error> {
        let action = "read solves";
        for candidate in lookup_candidates(caltable) {
            let ids = self
                .read_rows(
                    "SELECT id FROM calprov_solves WHERE caltable_path = ?1 ORDER BY id",
                    &[Cell::from(candidate.as_ref())],
                    action,
                )?
                .iter()
                .map(|row| get(row, 0, self.path(), action))
                .collect::<Result<Vec<SolveId>, Error>>()?;
            if !ids.is_empty() {
                return Ok(ids);
            }
        }
        Ok(Vec::new())
    }
}
