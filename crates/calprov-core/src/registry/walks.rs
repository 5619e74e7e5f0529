//! Walking down the history: the impact of bad tables and the recall of a CASA version. The
//! walk is pure (`crate::lineage::graph`); this module loads one frontier at a time, from
//! covering indexes when no selection matters.

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Serialize;

use super::Registry;
use super::history_reads::{SOLVE_COLUMNS, selection_of, solve_info, spwmap_of};
use crate::Error;
use crate::lineage::graph::{
    BadPart, Impact, SolveId, SolveInfo, Start, Use, User, Window, impact, needs_selections,
};
use crate::sql::{Cell, Dialect};

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
    /// Calls `visit` with every use of the solves in `frontier`: later solves that applied
    /// them and applications, by id.
    ///
    /// The frontier drives the join as runs of consecutive ids (`id_runs`): each run is one
    /// seek into the covering index and a forward read, and no temporary index of the ids is
    /// built. Solves recorded one after another (a pipeline's chain) are consecutive ids, so
    /// a walk's levels are mostly runs; scattered ids cost one seek each, as before.
    ///
    /// Without `detail` (an unfiltered walk does not look at selections, spwmaps or times)
    /// both queries are answered from covering indexes alone, names included; names are lent
    /// from the row, not copied.
    pub(super) fn uses_of(
        &self,
        frontier: &[SolveId],
        detail: bool,
        visit: &mut dyn FnMut(Use<'_>),
    ) -> Result<(), Error> {
        let runs = Cell::from(id_runs(frontier));
        for (sql, user) in &walk_queries(self.dialect(), detail) {
            self.for_each_row_at_once(
                sql,
                std::slice::from_ref(&runs),
                "walk the lineage",
                |row| {
                    let mut use_ = Use {
                        used: row.id(0)?,
                        user: user(row.id(1)?),
                        name: row.text(5)?.unwrap_or_default(),
                        spwmap: None,
                        selection: None,
                        at: 0.0,
                    };
                    if detail {
                        use_.spwmap = spwmap_of(row.text(2)?.map(Cow::into_owned));
                        use_.selection = selection_of(row.text(3)?.map(Cow::into_owned));
                        use_.at = row.real(4)?.unwrap_or(0.0);
                    }
                    visit(use_);
                    Ok(())
                },
            )?;
        }
        Ok(())
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
        impact(&starts, bad, window, explain, |frontier, visit| {
            self.uses_of(frontier, detail, visit)
        })
    }

    /// Every solve made with CASA `version` (compared after normalisation) in the window,
    /// and everything downstream of them.
    pub fn recall(&self, version: &str, window: Window) -> Result<Recall, Error> {
        let normalized = calprov_casa::normalize_version(version)
            .map(|v| v.to_string())
            .unwrap_or_else(|_| version.to_owned());
        let db = self.path();
        let action = "recall";
        let solves: Vec<SolveInfo> = self
            .read_rows(
                &format!(
                    "SELECT {SOLVE_COLUMNS} FROM calprov_solves s WHERE s.casa_version = ?1 \
                     AND s.solved_at >= ?2 AND s.solved_at <= ?3 ORDER BY s.id"
                ),
                &[
                    Cell::from(normalized.as_str()),
                    Cell::from(window.since.unwrap_or(f64::MIN)),
                    Cell::from(window.until.unwrap_or(f64::MAX)),
                ],
                action,
            )?
            .iter()
            .map(|row| solve_info(row, db, action))
            .collect::<Result<_, _>>()?;
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
            |frontier, visit| self.uses_of(frontier, false, visit),
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

/// The distinct `ids` as runs of consecutive ids, the JSON `[[first, last], ...]` that the
/// walk queries read with `json_each`.
pub(super) fn id_runs(ids: &[SolveId]) -> String {
    use std::fmt::Write as _;
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut json = String::with_capacity(16 + sorted.len() * 8);
    json.push('[');
    let mut rest = sorted.into_iter().peekable();
    while let Some(first) = rest.next() {
        let mut last = first;
        while let Some(next) = rest.next_if(|n| last.checked_add(1) == Some(*n)) {
            last = next;
        }
        if json.len() > 1 {
            json.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(json, "[{first},{last}]");
    }
    json.push(']');
    json
}

/// A walk query and how its second column names the user.
type WalkQuery = (String, fn(i64) -> User);

/// The two queries of a walk step: the solves that applied the frontier, and the
/// applications. `?1` is the frontier's runs (`id_runs`), read as rows `f` with bounds.
fn walk_queries(dialect: Dialect, detail: bool) -> [WalkQuery; 2] {
    let (runs, lo, hi) = match dialect {
        // The text whose plan the lineage budgets hold: one index seek per run.
        Dialect::Sqlite => ("json_each(?1) f", "f.value ->> 0", "f.value ->> 1"),
        Dialect::Postgres => (
            "jsonb_array_elements(CAST(CAST(?1 AS TEXT) AS jsonb)) f(value)",
            "CAST(f.value ->> 0 AS BIGINT)",
            "CAST(f.value ->> 1 AS BIGINT)",
        ),
    };
    let (solve_detail, solve_join, application_detail, application_join) = if detail {
        (
            "i.spwmap, s.selection, s.solved_at",
            " JOIN calprov_solves s ON s.id = i.solve_id",
            "t.spwmap, a.selection, a.applied_at",
            " JOIN calprov_applications a ON a.id = t.application_id",
        )
    } else {
        ("NULL, NULL, NULL", "", "NULL, NULL, NULL", "")
    };
    [
        (
            format!(
                "SELECT i.input_solve_id, i.solve_id, {solve_detail}, i.caltable_path \
                 FROM {runs} JOIN calprov_solve_inputs i \
                 ON i.input_solve_id BETWEEN {lo} AND {hi}{solve_join}"
            ),
            User::Solve,
        ),
        (
            format!(
                "SELECT t.solve_id, t.application_id, {application_detail}, t.ms_path \
                 FROM {runs} JOIN calprov_application_tables t \
                 ON t.solve_id BETWEEN {lo} AND {hi}{application_join}"
            ),
            User::Application,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::id_runs;

    #[test]
    fn consecutive_ids_make_one_run() {
        assert_eq!(id_runs(&[]), "[]");
        assert_eq!(id_runs(&[7, 3, 4, 5, 5, 9, 8]), "[[3,5],[7,9]]");
        assert_eq!(
            id_runs(&[i64::MAX, i64::MIN]),
            format!("[[{},{}],[{},{}]]", i64::MIN, i64::MIN, i64::MAX, i64::MAX)
        );
    }

    proptest! {
        /// The runs, read back as SQLite's JSON reader would, cover exactly the ids.
        #[test]
        fn runs_cover_exactly_the_ids(ids in proptest::collection::vec(-50i64..50, 0..60)) {
            let runs: Vec<(i64, i64)> = serde_json::from_str(&id_runs(&ids)).unwrap();
            let covered: Vec<i64> = runs.iter().flat_map(|(a, b)| *a..=*b).collect();
            let mut expected = ids.clone();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(covered, expected);
            prop_assert!(runs.windows(2).all(|w| w[0].1 + 1 < w[1].0), "runs are maximal");
        }
    }
}
