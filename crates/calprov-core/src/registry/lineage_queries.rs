//! Reading the history: a caltable's solves, its lineage up, the impact of bad tables down,
//! recalls of a CASA version, and re-solve plans. The walks themselves are pure
//! (`crate::lineage`); this module only loads what they ask for, one frontier at a time.

use std::collections::{BTreeSet, HashSet};

use calprov_schema::begin_immediate;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::Registry;
use super::history::{NewSolve, insert_solve};
use super::rows::lookup_candidates;
use crate::Error;
use crate::casa_command::render_solve_command;
use crate::json::parse_python_json;
use crate::lineage::graph::needs_selections;
use crate::lineage::graph::{
    BadPart, Impact, InputInfo, LineageNode, SolveId, SolveInfo, Start, Use, User, Window, impact,
    lineage,
};
use crate::lineage::inputs::{Role, gaintable_inputs, vis_input};
use crate::lineage::plan::{Step, order};
use crate::lineage::selection::Selection;

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

const SOLVE_COLUMNS: &str = "s.id, s.caltable_path, s.solved_at, s.origin, s.task, s.casa_version, \
     (SELECT count(*) FROM calprov_solves v WHERE v.caltable_path = s.caltable_path AND v.id <= s.id)";

fn solve_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<SolveInfo> {
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

fn spwmap_of(text: Option<String>) -> Option<Vec<i64>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn selection_of(text: Option<String>) -> Option<Box<Selection>> {
    match text.as_deref() {
        None | Some("{}") => None,
        Some(t) => serde_json::from_str(t).ok().map(Box::new),
    }
}

/// Frontier ids as the JSON array `json_each` reads.
fn id_list(ids: &[SolveId]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

impl Registry {
    /// The current (latest) solve of a caltable.
    pub fn current_solve(&self, caltable: &str) -> Result<Option<SolveId>, Error> {
        for candidate in lookup_candidates(caltable) {
            if let Some(id) =
                super::history::current_solve(self.connection(), self.path(), &candidate)?
            {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    fn solve_info(&self, id: SolveId) -> Result<Option<SolveInfo>, Error> {
        self.connection()
            .prepare_cached(&format!(
                "SELECT {SOLVE_COLUMNS} FROM calprov_solves s WHERE s.id = ?1"
            ))
            .and_then(|mut stmt| stmt.query_row([id], solve_info).optional())
            .map_err(Error::sql(self.path(), "read a solve"))
    }

    fn solve_inputs(&self, id: SolveId) -> Result<Vec<InputInfo>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()
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
                .connection()
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
        let Some(root) = self.current_solve(caltable)? else {
            return Ok(None);
        };
        lineage(root, |id| {
            let Some(info) = self.solve_info(id)? else {
                return Ok(None);
            };
            Ok(Some((info, self.solve_inputs(id)?)))
        })
    }

    /// Every use of the solves in `frontier`: later solves that applied them and
    /// applications, by id.
    ///
    /// Without `detail` (an unfiltered walk does not look at selections, spwmaps or times)
    /// both queries are answered from covering indexes alone, names included; and a user's
    /// name is read only the first time it appears (`named` holds those already given), since
    /// the unfiltered walk takes every row it is given and needs each name once.
    fn uses_of(
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

    /// The solves (and, with `downstream`, the later solves and applications that used
    /// them) needed to re-create `caltables`, every input before its user.
    pub fn plan(&self, caltables: &[String], downstream: bool) -> Result<Vec<Step>, Error> {
        let mut solves: BTreeSet<SolveId> = BTreeSet::new();
        let mut pending: Vec<SolveId> = Vec::new();
        for caltable in caltables {
            if let Some(id) = self.current_solve(caltable)? {
                pending.push(id);
            }
        }
        let mut applications: BTreeSet<i64> = BTreeSet::new();
        if downstream {
            let mut frontier = pending.clone();
            let mut seen: BTreeSet<SolveId> = frontier.iter().copied().collect();
            while !frontier.is_empty() {
                let mut next = Vec::new();
                for use_ in self.uses_of(&frontier, false, &mut HashSet::new())? {
                    match use_.user {
                        User::Solve(id) if seen.insert(id) => next.push(id),
                        User::Application(id) => {
                            applications.insert(id);
                        }
                        _ => {}
                    }
                }
                pending.extend(&next);
                frontier = next;
            }
        }
        // Upstream closure: every pinned input of every solve in the plan.
        while let Some(id) = pending.pop() {
            if !solves.insert(id) {
                continue;
            }
            for input in self.solve_inputs(id)? {
                if let Some(pinned) = input.pinned {
                    pending.push(pinned);
                }
            }
        }
        let mut steps = Vec::with_capacity(solves.len() + applications.len());
        for id in &solves {
            steps.push(self.solve_step(*id)?);
        }
        for id in &applications {
            steps.push(self.application_step(*id)?);
        }
        Ok(order(steps.into_iter().flatten().collect()))
    }

    fn solve_step(&self, id: SolveId) -> Result<Option<Step>, Error> {
        let needs = self
            .solve_inputs(id)?
            .into_iter()
            .filter_map(|i| i.pinned)
            .map(|p| format!("solve:{p}"))
            .collect();
        self.step(
            format!("solve:{id}"),
            "SELECT caltable_path, task, params, command, cwd, solved_at FROM calprov_solves WHERE id = ?1",
            id,
            needs,
        )
    }

    fn application_step(&self, id: i64) -> Result<Option<Step>, Error> {
        let db = self.path();
        let mut stmt = self
            .connection()
            .prepare_cached(
                "SELECT solve_id FROM calprov_application_tables WHERE application_id = ?1 AND solve_id IS NOT NULL",
            )
            .map_err(Error::sql(db, "read applied tables"))?;
        let needs = stmt
            .query_map([id], |r| Ok(format!("solve:{}", r.get::<_, i64>(0)?)))
            .map_err(Error::sql(db, "read applied tables"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::sql(db, "read applied tables"))?;
        self.step(
            format!("application:{id}"),
            "SELECT ms_path, 'applycal', params, command, cwd, applied_at FROM calprov_applications WHERE id = ?1",
            id,
            needs,
        )
    }

    /// One step of a plan from its row: what it writes, task, params, command, cwd, time.
    fn step(
        &self,
        key: String,
        sql: &str,
        id: i64,
        needs: Vec<String>,
    ) -> Result<Option<Step>, Error> {
        let row = self
            .connection()
            .prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_row([id], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, f64>(5)?,
                    ))
                })
                .optional()
            })
            .map_err(Error::sql(self.path(), "read a plan step"))?;
        Ok(row.map(|(writes, task, params, command, cwd, at)| Step {
            key,
            writes,
            command: rerunnable_command(task.as_deref(), params.as_deref(), command),
            task,
            cwd,
            at,
            needs,
        }))
    }

    /// Imports each caltable's current provenance as one solve marked `imported` (its
    /// inputs parsed from `solver_params` where they are there), for caltables with
    /// provenance and no recorded solve; returns how many were imported.
    pub fn import_history(&mut self) -> Result<usize, Error> {
        let db = self.path().to_path_buf();
        let tx = begin_immediate(self.connection_mut()).map_err(Error::sql(&db, "begin import"))?;
        let rows: Vec<ImportRow> = {
            let mut stmt = tx
                .prepare(
                    "SELECT c.path, c.created_at, c.source_ms_path, c.solver_command, c.solver_version, \
                     c.solver_params, c.quality_metrics FROM caltables c \
                     WHERE (c.source_ms_path IS NOT NULL OR c.solver_command IS NOT NULL OR c.solver_version IS NOT NULL \
                            OR c.solver_params IS NOT NULL OR c.quality_metrics IS NOT NULL) \
                     AND NOT EXISTS (SELECT 1 FROM calprov_solves s WHERE s.caltable_path = c.path) ORDER BY c.id",
                )
                .map_err(Error::sql(&db, "read provenance to import"))?;
            stmt.query_map([], |r| {
                Ok(ImportRow {
                    path: r.get(0)?,
                    created_at: r.get(1)?,
                    ms: r.get(2)?,
                    command: r.get(3)?,
                    version: r.get(4)?,
                    params: r.get(5)?,
                    metrics: r.get(6)?,
                })
            })
            .map_err(Error::sql(&db, "read provenance to import"))?
            .collect::<Result<_, _>>()
            .map_err(Error::sql(&db, "read provenance to import"))?
        };
        let parse = |text: &Option<String>| text.as_deref().and_then(|t| parse_python_json(t).ok());
        // Import in dependency order as far as the registry tells it: creation time.
        let mut sorted = rows;
        sorted.sort_by(|a, b| a.created_at.total_cmp(&b.created_at));
        for row in &sorted {
            let ImportRow {
                path,
                created_at,
                ms,
                command,
                version,
                params: params_text,
                metrics: metrics_text,
            } = row;
            let params = parse(params_text).filter(Value::is_object);
            let metrics = parse(metrics_text);
            let empty = serde_json::Map::new();
            let object = params.as_ref().and_then(Value::as_object).unwrap_or(&empty);
            let mut inputs = vec![(Role::Vis, vis_input(ms.as_deref(), object, None))];
            inputs.extend(
                gaintable_inputs(object, None)
                    .into_iter()
                    .map(|i| (Role::Gaintable, i)),
            );
            let task = command
                .as_deref()
                .and_then(|c| c.split_once('('))
                .map(|(t, _)| t.trim().to_owned())
                .filter(|t| !t.is_empty());
            let version = version.as_deref().map(|v| {
                calprov_casa::normalize_version(v)
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| v.to_owned())
            });
            insert_solve(
                &tx,
                &db,
                &NewSolve {
                    caltable: path,
                    solved_at: *created_at,
                    origin: ORIGIN_IMPORTED,
                    outcome: ORIGIN_IMPORTED,
                    task: task.as_deref(),
                    params: params.as_ref(),
                    command: command.as_deref(),
                    casa_version: version.as_deref(),
                    version_step: None,
                    metrics: metrics.as_ref(),
                    source_ms: ms.as_deref(),
                    selection: &Selection::from_params(object),
                    cwd: None,
                    host: None,
                    inputs: &inputs,
                },
            )?;
        }
        tx.commit().map_err(Error::sql(&db, "commit import"))?;
        Ok(sorted.len())
    }
}

/// A caltable's provenance columns, to import as its first solve.
struct ImportRow {
    path: String,
    created_at: f64,
    ms: Option<String>,
    command: Option<String>,
    version: Option<String>,
    params: Option<String>,
    metrics: Option<String>,
}

/// A walk query and how its second column names the user.
type WalkQuery = (&'static str, fn(i64) -> User);

/// The origin of solves imported from a registry's existing provenance.
pub const ORIGIN_IMPORTED: &str = "imported";

/// The command to run again: rendered from the stored parameters when they are there (a
/// recorded command may have been cut to the length limit), else the recorded one.
fn rerunnable_command(
    task: Option<&str>,
    params: Option<&str>,
    recorded: Option<String>,
) -> Option<String> {
    let rendered = match (task, params.and_then(|p| parse_python_json(p).ok())) {
        (Some(task), Some(Value::Object(map)))
            if !map.contains_key(crate::params::SHORTENED_KEY) =>
        {
            render_solve_command(task, &map).ok()
        }
        _ => None,
    };
    rendered.or(recorded)
}
