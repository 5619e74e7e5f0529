//! Which solves and applications a part of the graph holds: every solve in a lineage tree
//! (up), everything downstream of some solves (down). The export uses them to cut the
//! graph it writes.

use std::collections::BTreeSet;

use super::graph::{LineageNode, SolveId, Use, User};

/// Solves and applications, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Solves.
    pub solves: BTreeSet<SolveId>,
    /// Applications.
    pub applications: BTreeSet<i64>,
}

/// Adds every solve in `tree` (repeated and cut branches included) to `into`.
pub fn solves_in(tree: &LineageNode, into: &mut BTreeSet<SolveId>) {
    // Iterative: a lineage can be thousands of solves deep.
    let mut stack = vec![tree];
    while let Some(node) = stack.pop() {
        into.insert(node.solve.id);
        for input in &node.inputs {
            if let Some(child) = &input.solved_by {
                stack.push(child);
            }
        }
    }
}

/// `starts` and every solve and application downstream of them, one frontier at a time:
/// `load` calls its visitor with each use of a solve in the frontier (sorted).
pub fn downstream<E>(
    starts: impl IntoIterator<Item = SolveId>,
    mut load: impl FnMut(&[SolveId], &mut dyn FnMut(Use<'_>)) -> Result<(), E>,
) -> Result<Reach, E> {
    let mut reach = Reach::default();
    let mut frontier: Vec<SolveId> = starts
        .into_iter()
        .filter(|id| reach.solves.insert(*id))
        .collect();
    while !frontier.is_empty() {
        frontier.sort_unstable();
        let mut next = Vec::new();
        load(&frontier, &mut |use_| match use_.user {
            User::Solve(id) => {
                if reach.solves.insert(id) {
                    next.push(id);
                }
            }
            User::Application(id) => {
                reach.applications.insert(id);
            }
        })?;
        frontier = next;
    }
    Ok(reach)
}
