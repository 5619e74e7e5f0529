//! Walks over the graph of solves: down from bad solves to everything they reached (impact),
//! and up from a solve to everything it was made from (lineage). The graph is not held in
//! memory: the walks ask a loader for one frontier at a time, so their memory is bounded by
//! the answer, not by the registry.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::Serialize;

use super::inputs::Role;
use super::selection::{Reach, Selection, map_spws, parse_antenna, parse_spw, reaches};

/// The id of one recorded solve.
pub type SolveId = i64;

/// Something that used a solve.
#[derive(Debug, Clone, PartialEq)]
pub enum User {
    /// A later solve that applied it on the fly.
    Solve {
        /// The later solve.
        id: SolveId,
        /// Its caltable.
        caltable: String,
    },
    /// An applycal that applied it to an MS.
    Application {
        /// The application.
        id: i64,
        /// The MS written.
        ms: String,
    },
}

/// One use of a solve, with what decides whether the bad part reaches the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Use {
    /// The solve used.
    pub used: SolveId,
    /// Who used it.
    pub user: User,
    /// The user's spwmap for this table.
    pub spwmap: Option<Vec<i64>>,
    /// The user's data selection.
    pub selection: Selection,
    /// When the user was recorded (unix seconds).
    pub at: f64,
}

/// The bad part of a table: `None` means all of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BadPart {
    /// Bad antenna ids.
    pub antennas: Option<BTreeSet<i64>>,
    /// Bad spectral window ids (of the table).
    pub spws: Option<BTreeSet<i64>>,
}

impl BadPart {
    /// Everything in `other` is bad here too; true when that added anything.
    fn absorb(&mut self, other: &BadPart) -> bool {
        fn merge(mine: &mut Option<BTreeSet<i64>>, theirs: &Option<BTreeSet<i64>>) -> bool {
            match (mine.as_mut(), theirs) {
                (None, _) => false,
                (Some(_), None) => {
                    *mine = None;
                    true
                }
                (Some(set), Some(more)) => {
                    let before = set.len();
                    set.extend(more);
                    set.len() != before
                }
            }
        }
        let a = merge(&mut self.antennas, &other.antennas);
        let s = merge(&mut self.spws, &other.spws);
        a || s
    }
}

/// Only users recorded in this window count (unix seconds, inclusive).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Earliest.
    pub since: Option<f64>,
    /// Latest.
    pub until: Option<f64>,
}

impl Window {
    fn contains(&self, at: f64) -> bool {
        self.since.is_none_or(|s| at >= s) && self.until.is_none_or(|u| at <= u)
    }
}

/// Where an impact walk starts: a bad caltable and its current solve.
#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    /// The caltable.
    pub caltable: String,
    /// Its current solve, when one is recorded.
    pub solve: Option<SolveId>,
    /// The MS it was solved from.
    pub source_ms: Option<String>,
}

/// How a finding was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// The MS a bad caltable was solved from.
    SolvedFrom,
    /// A caltable solved with a bad one applied.
    SolvedWith,
    /// An MS a bad caltable was applied to.
    AppliedTo,
}

/// One thing a bad caltable touched, and the chain that explains it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The caltable or MS touched.
    pub target: String,
    /// How.
    pub kind: FindingKind,
    /// From the bad caltable to the target.
    pub path: Vec<String>,
    /// Why a selection that could not be decided counted as a hit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What a bad caltable touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Impact {
    /// Downstream caltables, sorted.
    pub caltables: Vec<String>,
    /// Affected MSes, sorted: the source MSes of the bad tables and every MS a bad (or
    /// downstream) table was applied to.
    pub ms: Vec<String>,
    /// Each finding once, by target then kind.
    pub findings: Vec<Finding>,
}

/// Walks down from `starts`: every solve that applied a bad solve (and what its selection
/// and spwmap let the bad part reach), recursively, and every application of any of them.
/// `uses_of` returns the uses of a frontier of solves.
pub fn impact<E>(
    starts: &[Start],
    bad: &BadPart,
    window: Window,
    mut uses_of: impl FnMut(&[SolveId]) -> Result<Vec<Use>, E>,
) -> Result<Impact, E> {
    let mut findings: BTreeMap<(String, FindingKind), Finding> = BTreeMap::new();
    let mut reached: HashMap<SolveId, (BadPart, Vec<String>)> = HashMap::new();
    let mut frontier: VecDeque<SolveId> = VecDeque::new();
    for start in starts {
        if let Some(ms) = &start.source_ms {
            findings
                .entry((ms.clone(), FindingKind::SolvedFrom))
                .or_insert_with(|| Finding {
                    target: ms.clone(),
                    kind: FindingKind::SolvedFrom,
                    path: vec![start.caltable.clone(), ms.clone()],
                    note: None,
                });
        }
        if let Some(id) = start.solve
            && !reached.contains_key(&id)
        {
            reached.insert(id, (bad.clone(), vec![start.caltable.clone()]));
            frontier.push_back(id);
        }
    }
    while !frontier.is_empty() {
        let level: Vec<SolveId> = frontier.drain(..).collect();
        for use_ in uses_of(&level)? {
            if !window.contains(use_.at) {
                continue;
            }
            let Some((part, path)) = reached.get(&use_.used).cloned() else {
                continue;
            };
            let mapped = BadPart {
                antennas: part.antennas.clone(),
                spws: part
                    .spws
                    .as_ref()
                    .map(|s| map_spws(s, use_.spwmap.as_deref())),
            };
            let note = match reach(&use_.selection, &mapped) {
                Reach::Miss => continue,
                Reach::Hit => None,
                Reach::Unknown(why) => Some(format!("{why}: counted as a hit")),
            };
            match &use_.user {
                User::Application { ms, .. } => {
                    let mut path = path.clone();
                    path.push(ms.clone());
                    findings
                        .entry((ms.clone(), FindingKind::AppliedTo))
                        .or_insert(Finding {
                            target: ms.clone(),
                            kind: FindingKind::AppliedTo,
                            path,
                            note,
                        });
                }
                User::Solve { id, caltable } => {
                    let mut path = path.clone();
                    if path.last() != Some(caltable) {
                        path.push(caltable.clone());
                    }
                    findings
                        .entry((caltable.clone(), FindingKind::SolvedWith))
                        .or_insert_with(|| Finding {
                            target: caltable.clone(),
                            kind: FindingKind::SolvedWith,
                            path: path.clone(),
                            note: note.clone(),
                        });
                    let grew = match reached.get_mut(id) {
                        Some((known, _)) => known.absorb(&mapped),
                        None => {
                            reached.insert(*id, (mapped, path));
                            true
                        }
                    };
                    if grew {
                        frontier.push_back(*id);
                    }
                }
            }
        }
    }
    let mut caltables = BTreeSet::new();
    let mut ms = BTreeSet::new();
    for (target, kind) in findings.keys() {
        match kind {
            FindingKind::SolvedWith => caltables.insert(target.clone()),
            _ => ms.insert(target.clone()),
        };
    }
    Ok(Impact {
        caltables: caltables.into_iter().collect(),
        ms: ms.into_iter().collect(),
        findings: findings.into_values().collect(),
    })
}

/// Whether a use's selection can touch the (already spw-mapped) bad part.
fn reach(selection: &Selection, bad: &BadPart) -> Reach {
    let antennas = reaches(
        &parse_antenna(selection.antenna.as_deref()),
        bad.antennas.as_ref(),
    );
    let spws = reaches(&parse_spw(selection.spw.as_deref()), bad.spws.as_ref());
    match (antennas, spws) {
        (Reach::Miss, _) | (_, Reach::Miss) => Reach::Miss,
        (Reach::Unknown(a), Reach::Unknown(b)) => Reach::Unknown(format!("{a}; {b}")),
        (Reach::Unknown(why), _) | (_, Reach::Unknown(why)) => Reach::Unknown(why),
        (Reach::Hit, Reach::Hit) => Reach::Hit,
    }
}

/// One recorded solve, as lineage shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SolveInfo {
    /// The solve.
    pub id: SolveId,
    /// Its caltable.
    pub caltable: String,
    /// When (unix seconds).
    pub solved_at: f64,
    /// `tracked`, `imported` or `backfill`.
    pub origin: String,
    /// The CASA task.
    pub task: Option<String>,
    /// The CASA version.
    pub casa_version: Option<String>,
    /// 1 for the first solve of this caltable, 2 for the next...
    pub version: i64,
}

/// One input of a recorded solve.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InputInfo {
    /// `vis` or `gaintable`.
    pub role: Role,
    /// Position in `gaintable`.
    pub index: usize,
    /// The path.
    pub path: Option<String>,
    /// The input's own solve, current when this one was recorded.
    pub pinned: Option<SolveId>,
    /// Why the input could not be read.
    pub problem: Option<String>,
}

/// A solve and, recursively, what it was made from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageNode {
    /// The solve.
    #[serde(flatten)]
    pub solve: SolveInfo,
    /// Its inputs (empty when `repeated`).
    pub inputs: Vec<LineageInput>,
    /// This solve's lineage is already shown elsewhere in the tree: shared inputs (every
    /// solve of a chain applying the same bandpass) are expanded once, so the tree stays as
    /// large as the number of solves in it, not exponentially larger.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub repeated: bool,
}

/// One input in a lineage tree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageInput {
    /// The input as recorded.
    #[serde(flatten)]
    pub input: InputInfo,
    /// The pinned solve's own lineage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solved_by: Option<Box<LineageNode>>,
    /// The input is a caltable already on this branch (a table solved with an earlier
    /// version of itself applied): shown, and followed only to that earlier version.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
}

/// The deepest lineage followed; deeper branches end without their inputs.
pub const MAX_LINEAGE_DEPTH: usize = 10_000;

/// The lineage of solve `root`: `load` returns a solve and its inputs.
pub fn lineage<E>(
    root: SolveId,
    mut load: impl FnMut(SolveId) -> Result<Option<(SolveInfo, Vec<InputInfo>)>, E>,
) -> Result<Option<LineageNode>, E> {
    let mut walk = Walk {
        on_branch: Vec::new(),
        expanded: std::collections::HashSet::new(),
    };
    build(root, &mut load, &mut walk)
}

/// The state of one lineage walk.
struct Walk {
    /// The solves (and their caltables) from the root to here.
    on_branch: Vec<(SolveId, String)>,
    /// Solves whose inputs are already in the tree.
    expanded: std::collections::HashSet<SolveId>,
}

fn build<E>(
    id: SolveId,
    load: &mut impl FnMut(SolveId) -> Result<Option<(SolveInfo, Vec<InputInfo>)>, E>,
    walk: &mut Walk,
) -> Result<Option<LineageNode>, E> {
    let Some((solve, inputs)) = load(id)? else {
        return Ok(None);
    };
    if !walk.expanded.insert(id) {
        return Ok(Some(LineageNode {
            solve,
            inputs: Vec::new(),
            repeated: true,
        }));
    }
    walk.on_branch.push((id, solve.caltable.clone()));
    let mut children = Vec::with_capacity(inputs.len());
    for input in inputs {
        let on_branch = &walk.on_branch;
        let cycle = input
            .path
            .as_ref()
            .is_some_and(|p| on_branch.iter().any(|(_, c)| c == p));
        // A solve already on the branch would loop; ids only pin earlier solves, so this
        // holds only for damaged data, but the walk must end whatever the data says.
        let follow = input.pinned.filter(|p| {
            !on_branch.iter().any(|(s, _)| s == p) && on_branch.len() < MAX_LINEAGE_DEPTH
        });
        let solved_by = match follow {
            Some(pinned) => build(pinned, load, walk)?.map(Box::new),
            None => None,
        };
        children.push(LineageInput {
            input,
            solved_by,
            cycle,
        });
    }
    walk.on_branch.pop();
    Ok(Some(LineageNode {
        solve,
        inputs: children,
        repeated: false,
    }))
}
