//! Writing the append-only history: solves with their inputs, and applications with their
//! tables, each input that is a registered caltable pinned to its solve current at that
//! moment. Called inside the tracking transaction, so history and provenance agree.

use calprov_metrics::fingerprint::{Group, encode_groups};
use serde_json::Value;

use crate::Error;
use crate::lineage::graph::SolveId;
use crate::lineage::inputs::{Input, Role};
use crate::lineage::selection::Selection;
use crate::sql::{Cell, Tx};

/// One solve to append.
pub(crate) struct NewSolve<'a> {
    pub(crate) caltable: &'a str,
    pub(crate) solved_at: f64,
    /// `tracked`, `imported` or `backfill`.
    pub(crate) origin: &'a str,
    /// The tracking outcome (`tracked`, `partial`) or the origin for other rows.
    pub(crate) outcome: &'a str,
    pub(crate) task: Option<&'a str>,
    pub(crate) params: Option<&'a Value>,
    pub(crate) command: Option<&'a str>,
    pub(crate) casa_version: Option<&'a str>,
    pub(crate) version_step: Option<&'a str>,
    /// The quality metrics as JSON text (rendered once: backfill and tracking store the same
    /// text in the caltable's row).
    pub(crate) metrics: Option<&'a str>,
    pub(crate) source_ms: Option<&'a str>,
    pub(crate) selection: &'a Selection,
    pub(crate) cwd: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) inputs: &'a [(Role, Input)],
    /// The caltable's solution groups, when its fingerprint was taken.
    pub(crate) groups: Option<&'a [Group]>,
}

/// One application to append.
pub(crate) struct NewApplication<'a> {
    pub(crate) ms: &'a str,
    pub(crate) applied_at: f64,
    pub(crate) params: &'a Value,
    pub(crate) selection: &'a Selection,
    pub(crate) command: Option<&'a str>,
    pub(crate) cwd: Option<&'a str>,
    pub(crate) host: Option<&'a str>,
    pub(crate) tables: &'a [Input],
}

fn json_text(value: Option<&Value>) -> Option<String> {
    value.map(Value::to_string)
}

fn spwmap_text(input: &Input) -> Option<String> {
    input
        .spwmap
        .as_ref()
        .map(|m| serde_json::to_string(m).unwrap_or_default())
}

/// The solve of `caltable` current now (its latest), if any. (`CAST`: see [`inputs_insert`].)
pub(crate) fn current_solve(tx: &mut Tx<'_>, caltable: &str) -> Result<Option<SolveId>, Error> {
    tx.query_i64(
        "SELECT max(id) FROM calprov_solves WHERE caltable_path = CAST(?1 AS TEXT)",
        &[Cell::from(caltable)],
        "find the current solve",
    )
}

/// Appends a solve and its inputs; returns its id.
pub(crate) fn insert_solve(tx: &mut Tx<'_>, solve: &NewSolve<'_>) -> Result<SolveId, Error> {
    let selection = serde_json::to_string(solve.selection).unwrap_or_default();
    let id = tx.insert_returning_id(
        "INSERT INTO calprov_solves (caltable_path, solved_at, origin, outcome, task, params, command, \
         casa_version, version_step, metrics, source_ms_path, selection, cwd, host) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        &[
            Cell::from(solve.caltable),
            Cell::from(solve.solved_at),
            Cell::from(solve.origin),
            Cell::from(solve.outcome),
            Cell::from(solve.task),
            Cell::from(json_text(solve.params)),
            Cell::from(solve.command),
            Cell::from(solve.casa_version),
            Cell::from(solve.version_step),
            Cell::from(solve.metrics),
            Cell::from(solve.source_ms),
            Cell::from(selection),
            Cell::from(solve.cwd),
            Cell::from(solve.host),
        ],
        "record the solve",
    )?;
    if !solve.inputs.is_empty() {
        let (sql, values) = inputs_insert(id, solve);
        tx.execute(&sql, &values, "record the solve's inputs")?;
    }
    if let Some(groups) = solve.groups {
        tx.execute(
            "INSERT INTO calprov_solve_groups (solve_id, n_groups, groups) VALUES (?1, ?2, ?3)",
            &[
                Cell::from(id),
                Cell::from(groups.len() as i64),
                Cell::from(encode_groups(groups)),
            ],
            "record the solve's solution groups",
        )?;
    }
    Ok(id)
}

/// One INSERT of all of a solve's inputs (one statement, one round trip to a server).
///
/// Each registered gaintable pins the solve of its path current before this one was added
/// (the latest with a smaller id): a table solved with an earlier version of itself applied
/// pins that earlier version. The MS (`vis`) pins nothing.
///
/// The path is compared as `CAST(? AS TEXT)`, not as the bare parameter: SQLite (built with
/// STAT4) re-plans a statement whose indexed column is compared with a bound parameter every
/// time the parameter changes, which recompiled this cached statement on every call.
fn inputs_insert(id: SolveId, solve: &NewSolve<'_>) -> (String, Vec<Cell>) {
    const WIDTH: usize = 9;
    let mut values = Vec::with_capacity(solve.inputs.len() * WIDTH);
    let rows: Vec<String> = solve
        .inputs
        .iter()
        .enumerate()
        .map(|(k, (role, input))| {
            values.extend([
                Cell::from(id),
                Cell::from(solve.caltable),
                Cell::from(role.name()),
                Cell::from(input.index as i64),
                Cell::from(input.path.as_deref()),
                Cell::from(input.gainfield.as_deref()),
                Cell::from(input.interp.as_deref()),
                Cell::from(spwmap_text(input)),
                Cell::from(input.problem.as_deref()),
            ]);
            let p = |n: usize| format!("?{}", k * WIDTH + n);
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, CASE WHEN {} = '{}' THEN \
                 (SELECT max(s.id) FROM calprov_solves s WHERE s.caltable_path = CAST({} AS TEXT) AND s.id < {}) END, {})",
                p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(8),
                p(3), Role::Gaintable.name(), p(5), p(1), p(9)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO calprov_solve_inputs (solve_id, caltable_path, role, idx, path, gainfield, interp, \
         spwmap, input_solve_id, problem) VALUES {}",
        rows.join(", ")
    );
    (sql, values)
}

/// Appends an application and its tables; returns its id and how many tables could not be
/// pinned to a solve (unregistered, never tracked, or malformed).
pub(crate) fn insert_application(
    tx: &mut Tx<'_>,
    app: &NewApplication<'_>,
) -> Result<(i64, Vec<String>), Error> {
    let selection = serde_json::to_string(app.selection).unwrap_or_default();
    let id = tx.insert_returning_id(
        "INSERT INTO calprov_applications (applied_at, ms_path, params, selection, command, cwd, host) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        &[
            Cell::from(app.applied_at),
            Cell::from(app.ms),
            Cell::from(app.params.to_string()),
            Cell::from(selection),
            Cell::from(app.command),
            Cell::from(app.cwd),
            Cell::from(app.host),
        ],
        "record the application",
    )?;
    let mut unpinned = Vec::new();
    for table in app.tables {
        let pinned = match &table.path {
            Some(path) => current_solve(tx, path)?,
            None => None,
        };
        if pinned.is_none() {
            unpinned.push(match (&table.path, &table.problem) {
                (_, Some(problem)) => format!("gaintable {}: {problem}", table.index),
                (Some(path), None) => format!("{path} has no recorded solve"),
                (None, None) => format!("gaintable {} has no path", table.index),
            });
        }
        tx.execute(
            "INSERT INTO calprov_application_tables (application_id, ms_path, idx, caltable_path, solve_id, \
             gainfield, interp, spwmap, problem) VALUES (?1, ?9, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            &[
                Cell::from(id),
                Cell::from(table.index as i64),
                Cell::from(table.path.as_deref()),
                Cell::from(pinned),
                Cell::from(table.gainfield.as_deref()),
                Cell::from(table.interp.as_deref()),
                Cell::from(spwmap_text(table)),
                Cell::from(table.problem.as_deref()),
                Cell::from(app.ms),
            ],
            "record the applied tables",
        )?;
    }
    Ok((id, unpinned))
}

#[cfg(test)]
mod tests {
    use rusqlite::StatementStatus;

    use super::{NewSolve, inputs_insert};
    use crate::lineage::inputs::{Input, Role};
    use crate::lineage::selection::Selection;

    /// The inputs' INSERT, cached and run for solves of different caltables (what tracking
    /// does call after call), is compiled once: SQLite does not re-plan it for each new path.
    #[test]
    fn the_inputs_insert_is_not_recompiled_for_each_new_path() {
        let dir = tempfile::tempdir().unwrap();
        let conn = super::super::migrated_connection(dir.path());
        let selection = Selection::default();
        for id in 1..=4i64 {
            let caltable = format!("/cal/obs{id}_gacal");
            let inputs = [
                (
                    Role::Vis,
                    Input {
                        path: Some("/data/obs.ms".to_owned()),
                        ..Input::default()
                    },
                ),
                (
                    Role::Gaintable,
                    Input {
                        path: Some(format!("/cal/obs{id}_bpcal")),
                        ..Input::default()
                    },
                ),
            ];
            let solve = NewSolve {
                caltable: &caltable,
                solved_at: 1.7e9,
                origin: "tracked",
                outcome: "tracked",
                task: None,
                params: None,
                command: None,
                casa_version: None,
                version_step: None,
                metrics: None,
                source_ms: None,
                selection: &selection,
                cwd: None,
                host: None,
                inputs: &inputs,
                groups: None,
            };
            conn.execute(
                "INSERT INTO calprov_solves (id, caltable_path, solved_at, origin, outcome) \
                 VALUES (?1, ?2, 1.7e9, 'tracked', 'tracked')",
                rusqlite::params![id, caltable],
            )
            .unwrap();
            let (sql, values) = inputs_insert(id, &solve);
            let mut statement = conn.prepare_cached(&sql).unwrap();
            statement
                .execute(rusqlite::params_from_iter(values.iter()))
                .unwrap();
            assert_eq!(
                statement.get_status(StatementStatus::RePrepare),
                0,
                "solve {id}"
            );
        }
    }
}
