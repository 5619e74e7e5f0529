//! Re-solve plans from the history: the steps, in dependency order (`crate::lineage::plan`).

use std::collections::BTreeSet;

use serde_json::Value;

use super::Registry;
use crate::Error;
use crate::casa_command::render_solve_command;
use crate::json::parse_python_json;
use crate::lineage::graph::{SolveId, User};
use crate::lineage::plan::{Step, order};
use crate::sql::{Cell, get};

impl Registry {
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
                self.uses_of(&frontier, false, &mut |use_| match use_.user {
                    User::Solve(id) if seen.insert(id) => next.push(id),
                    User::Application(id) => {
                        applications.insert(id);
                    }
                    _ => {}
                })?;
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
        let action = "read applied tables";
        let needs = self
            .read_rows(
                "SELECT solve_id FROM calprov_application_tables WHERE application_id = ?1 AND solve_id IS NOT NULL",
                &[Cell::from(id)],
                action,
            )?
            .iter()
            .map(|r| Ok(format!("solve:{}", get::<i64>(r, 0, db, action)?)))
            .collect::<Result<Vec<_>, Error>>()?;
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
        let db = self.path();
        let action = "read a plan step";
        let rows = self.read_rows(sql, &[Cell::from(id)], action)?;
        let Some(r) = rows.first() else {
            return Ok(None);
        };
        let task: Option<String> = get(r, 1, db, action)?;
        let params: Option<String> = get(r, 2, db, action)?;
        Ok(Some(Step {
            key,
            writes: get(r, 0, db, action)?,
            command: rerunnable_command(task.as_deref(), params.as_deref(), get(r, 3, db, action)?),
            task,
            cwd: get(r, 4, db, action)?,
            at: get(r, 5, db, action)?,
            needs,
        }))
    }
}

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
