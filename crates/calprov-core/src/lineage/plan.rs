//! A re-solve plan: the solves and applications to run again, in an order where every input
//! comes before its user, and the Python script that runs them with `casatasks`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// One step to run again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// `solve:<id>` or `application:<id>`: unique within a plan.
    pub key: String,
    /// The caltable a solve writes, or the MS an application writes.
    pub writes: String,
    /// The CASA task.
    pub task: Option<String>,
    /// The recorded command.
    pub command: Option<String>,
    /// The working directory it ran in.
    pub cwd: Option<String>,
    /// When it was recorded (unix seconds): the tie-break between independent steps.
    pub at: f64,
    /// The keys of the steps it needs first.
    #[serde(skip)]
    pub needs: Vec<String>,
}

/// Orders `steps` so that every step comes after the steps it needs (those in the plan;
/// needs outside it are inputs that stay as they are). Independent steps keep their
/// recorded order. A cycle, which pinned solves cannot form, is broken by recorded order.
pub fn order(steps: Vec<Step>) -> Vec<Step> {
    let keys: BTreeSet<String> = steps.iter().map(|s| s.key.clone()).collect();
    let mut waiting: BTreeMap<String, usize> = BTreeMap::new();
    let mut users: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for step in &steps {
        let needs: BTreeSet<&String> = step.needs.iter().filter(|n| keys.contains(*n)).collect();
        waiting.insert(step.key.clone(), needs.len());
        for need in needs {
            users
                .entry(need.clone())
                .or_default()
                .push(step.key.clone());
        }
    }
    let rank = |s: &Step| (ordered_float(s.at), s.key.clone());
    let mut by_key: BTreeMap<String, Step> =
        steps.into_iter().map(|s| (s.key.clone(), s)).collect();
    let mut ready: BTreeSet<(i64, String)> = by_key
        .values()
        .filter(|s| waiting[&s.key] == 0)
        .map(rank)
        .collect();
    let mut out = Vec::with_capacity(by_key.len());
    loop {
        let next = match ready.pop_first() {
            Some((_, key)) => key,
            // Only a cycle leaves steps waiting with nothing ready: take the earliest.
            None => match by_key.values().min_by(|a, b| rank(a).cmp(&rank(b))) {
                Some(step) => step.key.clone(),
                None => break,
            },
        };
        let Some(step) = by_key.remove(&next) else {
            continue;
        };
        for user in users.get(&step.key).into_iter().flatten() {
            if let Some(n) = waiting.get_mut(user) {
                *n = n.saturating_sub(1);
                if *n == 0
                    && let Some(u) = by_key.get(user)
                {
                    ready.insert(rank(u));
                }
            }
        }
        out.push(step);
    }
    out
}

/// A float's total order as an integer key (times are finite; NaN sorts last).
fn ordered_float(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    if bits < 0 { i64::MIN - bits - 1 } else { bits }
}

/// The Python script that runs `steps` with `casatasks`: imports, then for each step
/// `os.chdir` to its working directory and its recorded command.
pub fn python_script(steps: &[Step]) -> String {
    let tasks: BTreeSet<&str> = steps.iter().filter_map(|s| s.task.as_deref()).collect();
    let mut out = String::from(
        "# Re-solve plan written by calprov: every input before its user.\nimport os\n",
    );
    if !tasks.is_empty() {
        let list: Vec<&str> = tasks.into_iter().collect();
        out.push_str(&format!("from casatasks import {}\n", list.join(", ")));
    }
    for step in steps {
        out.push_str(&format!("\n# {} -> {}\n", step.key, step.writes));
        if let Some(cwd) = &step.cwd {
            out.push_str(&format!("os.chdir({})\n", python_string(cwd)));
        }
        match &step.command {
            Some(command) => {
                out.push_str(command);
                out.push('\n');
            }
            None => out.push_str("# no command was recorded for this step\n"),
        }
    }
    out
}

/// A Python string literal (ASCII only, escaped).
fn python_string(text: &str) -> String {
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xffff {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
        }
    }
    out.push('\'');
    out
}
