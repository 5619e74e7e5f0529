//! Walking down the history: the impact of bad tables and the recall of a CASA version. The
//! walk is pure (`crate::lineage::graph`); this module loads one frontier at a time, from
//! covering indexes when no selection matters.

use std::collections::{BTreeSet, HashSet};

use rusqlite::params;
use serde::Serialize;

use super::Registry;
use super::history_reads::{SOLVE_COLUMNS, id_list, selection_of, solve_info, spwmap_of};
use crate::Error;
use crate::lineage::graph::{
    BadPart, Impact, SolveId, SolveInfo, Start, Use, User, Window, impact, needs_selections,
};

/// What a recall found: the solves made with a version, and everything downstream.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recall {
    /// The version asked for, normalised.
    pub casa_version: String,
    /// The solves made with it in the window.
    pub solves: Vec<SolveInfo>,
    /// Everything downstream of them.
    pub impact: Impact,
}

impl Registry {
    /// Every use of the solves in `frontier`: later solves that applied them and
    /// applications, by id.
    ///
    /// Without `detail` (an unfiltered walk does not look at selections, spwmaps or times)
    /// both queries are answered from covering indexes alone, names included; and a user's
    /// name is read only the first time it appears (`named` holds those already given), since
    /// the unfiltered walk takes every row it is given and needs each name once.
    pub(super) fn uses_of(
        &self,
        frontier: &[SolveId],
        detail: bool,
        named: &mut HashSet<User>,
    ) -> Result<Vec<Use>, Error> {
        let db = self.path();
        let ids = id_list(frontier);
        let mut uses = Vec::with_capacity(frontier.len() * 4);
        let queries: [WalkQuery; 2] = if detail {
            [
                (
                    "SELECT i.input_solve_id, i.solve_id, i.spwmap, s.selection, s.solved_at, i.caltable_path \
                     FROM calprov_solve_inputs i JOIN calprov_solves s ON s.id = i.solve_id \
                     WHERE i.input_solve_id IN (SELECT value FROM json_each(?1))",
                    User::Solve,
                ),
                (
                    "SELECT t.solve_id, t.application_id, t.spwmap, a.selection, a.applied_at, t.ms_path \
                     FROM calprov_application_tables t JOIN calprov_applications a ON a.id = t.application_id \
                     WHERE t.solve_id IN (SELECT value FROM json_each(?1))",
                    User::Application,
                ),
            ]
        } else {
            [
                (
                    "SELECT input_solve_id, solve_id, NULL, NULL, 0.0, caltable_path FROM calprov_solve_inputs \
                     WHERE input_solve_id IN (SELECT value FROM json_each(?1))",
                    User::Solve,
                ),
                (
                    "SELECT solve_id, application_id, NULL, NULL, 0.0, ms_path FROM calprov_application_tables \
                     WHERE solve_id IN (SELECT value FROM json_each(?1))",
                    User::Application,
                ),
            ]
        };
        for (sql, user) in queries {
            let mut stmt = self
                .connection()
                .prepare_cached(sql)
                .map_err(Error::sql(db, "walk the lineage"))?;
            let rows = stmt
                .query_map([&ids], |r| {
                    let user = user(r.get(1)?);
                    let name = if detail || named.insert(user) {
                        r.get(5)?
                    } else {
                        String::new()
                    };
                    Ok(Use {
                        used: r.get(0)?,
                        user,
                        name,
                        spwmap: spwmap_of(r.get(2)?),
                        selection: selection_of(r.get(3)?),
                        at: r.get(4)?,
                    })
                })
                .map_err(Error::sql(db, "walk the lineage"))?;
            for row in rows {
                uses.push(row.map_err(Error::sql(db, "walk the lineage"))?);
            }
        }
        Ok(uses)
    }

    /// Everything the given caltables touched, transitively: their source MSes, every
    /// caltable solved with them (or with those) applied, every MS any of them was applied
    /// to; restricted to what the bad part can reach and to users recorded in the window.
    /// With `explain`, each finding carries the chain from a bad caltable to it.
    pub fn impact(
        &self,
        caltables: &[String],
        bad: &BadPart,
        window: Window,
        explain: bool,
    ) -> Result<Impact, Error> {
        let mut starts = Vec::with_capacity(caltables.len());
        for caltable in caltables {
            let record = self.get_caltable_provenance(caltable).ok().flatten();
            let stored = record
                .as_ref()
                .map(|r| r.path.clone())
                .unwrap_or_else(|| caltable.clone());
            starts.push(Start {
                solve: self.current_solve(&stored)?,
                source_ms: record.and_then(|r| r.source_ms_path),
                caltable: stored,
            });
        }
        let detail = needs_selections(bad, window);
        let mut named = HashSet::new();
        impact(&starts, bad, window, explain, |frontier| {
            self.uses_of(frontier, detail, &mut named)
        })
    }

    /// Every solve made with CASA `version` (compared after normalisation) in the window,
    /// and everything downstream of them.
    pub fn recall(&self, version: &str, window: Window) -> Result<Recall, Error> {
        let normalized = calprov_casa::normalize_version(version)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| version.to_owned());
        let db = self.path();
        let mut stmt = self
            .connection()
            .prepare_cached(&format!(
                "SELECT {SOLVE_COLUMNS} FROM calprov_solves s WHERE s.casa_version = ?1 \
                 AND s.solved_at >= ?2 AND s.solved_at <= ?3 ORDER BY s.id"
            ))
            .map_err(Error::sql(db, "recall"))?;
        let solves: Vec<SolveInfo> = stmt
            .query_map(
                params![
                    normalized,
                    window.since.unwrap_or(f64::MIN),
                    window.until.unwrap_or(f64::MAX)
                ],
                solve_info,
            )
            .map_err(Error::sql(db, "recall"))?
            .collect::<Result<_, _>>()
            .map_err(Error::sql(db, "recall"))?;
        let mut named = HashSet::new();
        let starts: Vec<Start> = solves
            .iter()
            .map(|s| Start {
                caltable: s.caltable.clone(),
                solve: Some(s.id),
                source_ms: None,
            })
            .collect();
        let mut impact = impact(
            &starts,
            &BadPart::default(),
            Window::default(),
            false,
            |frontier| self.uses_of(frontier, false, &mut named),
        )?;
        // The recalled tables themselves are affected too.
        let mut caltables: BTreeSet<String> = impact.caltables.into_iter().collect();
        caltables.extend(solves.iter().map(|s| s.caltable.clone()));
        impact.caltables = caltables.into_iter().collect();
        Ok(Recall {
            casa_version: normalized,
            solves,
            impact,
        })
    }
}

/// A walk query and how its second column names the user.
type WalkQuery = (&'static str, fn(i64) -> User);
