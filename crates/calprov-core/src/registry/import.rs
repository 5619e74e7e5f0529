//! Importing a registry's existing provenance as history: each caltable's current
//! provenance becomes one solve marked `imported`, for `calprov init`.

use serde_json::Value;

use super::Registry;
use super::history::{NewSolve, insert_solve};
use crate::Error;
use crate::json::parse_python_json;
use crate::lineage::inputs::{Role, gaintable_inputs, vis_input};
use crate::lineage::selection::Selection;

impl Registry {
    /// Imports each caltable's current provenance as one solve marked `imported` (its
    /// inputs parsed from `solver_params` where they are there), for caltables with
    /// provenance and no recorded solve; returns how many were imported.
    pub fn import_history(&mut self) -> Result<usize, Error> {
        let db = self.path().to_path_buf();
        let mut tx = self.begin_write("begin import")?;
        let rows: Vec<ImportRow> = {
            let mut stmt = tx
                .sqlite()?
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
            // Parsed and rendered again: Python's `NaN` tokens are stored as standard JSON.
            let metrics = parse(metrics_text).map(|m| m.to_string());
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
                &mut tx,
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
                    metrics: metrics.as_deref(),
                    source_ms: ms.as_deref(),
                    selection: &Selection::from_params(object),
                    cwd: None,
                    host: None,
                    inputs: &inputs,
                    groups: None,
                },
            )?;
        }
        tx.commit("commit import")?;
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

/// The origin of solves imported from a registry's existing provenance.
pub const ORIGIN_IMPORTED: &str = "imported";
