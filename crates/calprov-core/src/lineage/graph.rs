//! Walks over the graph of solves: down from bad solves to everything they reached (impact),
//! and up from a solve to everything it was made from (lineage). The graph is not held in
//! memory: the walks ask a loader for one frontier at a time, so their memory is bounded by
//! the answer, not by the registry.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use super::inputs::Role;
use super::selection::{Reach, Selection, map_spws, parse_antenna, parse_spw, reaches};

/// The id of one recorded solve.
pub type SolveId = i64;

/// Something that used a solve, by id: names are looked up once, for the findings only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum User {
    /// A later solve that applied it on the fly.
    Solve(SolveId),
    /// An applycal that applied it to an MS.
    Application(i64),
}

/// One use of a solve, with what decides whether the bad part reaches the user.
#[derive(Debug, Clone, PartialEq)]
pub struct Use<'a> {
    /// The solve used.
    pub used: SolveId,
    /// Who used it.
    pub user: User,
    /// The user's caltable (a solve) or MS (an application): borrowed from the loader's row,
    /// since the walk copies a name only the first time it meets the user.
    pub name: Cow<'a, str>,
    /// The user's spwmap for this table.
    pub spwmap: Option<Vec<i64>>,
    /// The user's data selection (`None`: all the data; boxed because most walks never
    /// look at it and a walk moves tens of thousands of uses).
    pub selection: Option<Box<Selection>>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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
    /// From the bad caltable to the target (spelled out only when explaining).
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

/// Whether a walk with this bad part and window needs the users' selections, spwmaps and
/// times at all (a loader may skip reading them when not).
pub fn needs_selections(bad: &BadPart, window: Window) -> bool {
    bad.antennas.is_some() || bad.spws.is_some() || window.since.is_some() || window.until.is_some()
}

/// Walks down from `starts`: every solve that applied a bad solve (and what its selection
/// and spwmap let the bad part reach), recursively, and every application of any of them.
/// `uses_of(frontier, visit)` calls `visit` with each use of the frontier's solves: the uses
/// stream through the walk rather than being collected, as a level can hold tens of
/// thousands.
pub fn impact<E>(
    starts: &[Start],
    bad: &BadPart,
    window: Window,
    explain: bool,
    mut uses_of: impl FnMut(&[SolveId], &mut dyn FnMut(Use<'_>)) -> Result<(), E>,
) -> Result<Impact, E> {
    let mut walk = ImpactWalk {
        filtered: bad.antennas.is_some() || bad.spws.is_some(),
        window,
        ..ImpactWalk::default()
    };
    for start in starts {
        let head = walk.links.push(start.caltable.clone(), None);
        if let Some(ms) = &start.source_ms {
            let at = walk.links.push(ms.clone(), Some(head));
            walk.found.push((at, FindingKind::SolvedFrom, None));
        }
        if let Some(id) = start.solve
            && !walk.reached.contains_key(&id)
        {
            walk.reached.insert(id, head);
            if walk.filtered {
                walk.parts.insert(id, bad.clone());
            }
            walk.frontier.push(id);
        }
    }
    while !walk.frontier.is_empty() {
        // A solve may be pushed twice in a level (a filtered walk widening its bad part);
        // visiting its uses twice is harmless, and the loader orders its own reads.
        let level = std::mem::take(&mut walk.frontier);
        uses_of(&level, &mut |use_| walk.visit(use_))?;
    }
    Ok(walk.finish(explain))
}

/// The state of one impact walk.
///
/// Chains are kept as parent links into one arena of names and spelled out only when
/// explaining: a walk over thousands of solves copies no growing paths. Each user gets one
/// link, the first time it is reached.
#[derive(Default)]
struct ImpactWalk {
    filtered: bool,
    window: Window,
    links: Links,
    /// Findings in arrival order: the link of the target, how, and a note.
    found: Vec<(usize, FindingKind, Option<String>)>,
    /// Each user met so far, and its link.
    users: HashMap<User, usize, IdHash>,
    /// Each solve reached, and its link.
    reached: HashMap<SolveId, usize, IdHash>,
    /// The bad part that reached each solve, in a filtered walk only (unfiltered, it is all
    /// of every table): the walk's hot map stays small.
    parts: HashMap<SolveId, BadPart, IdHash>,
    /// The solves to expand next.
    frontier: Vec<SolveId>,
}

impl ImpactWalk {
    fn visit(&mut self, use_: Use<'_>) {
        if !self.window.contains(use_.at) {
            return;
        }
        let Some(&link) = self.reached.get(&use_.used) else {
            return;
        };
        let (mapped, note) = if self.filtered {
            let Some(part) = self.parts.get(&use_.used) else {
                return;
            };
            let mapped = BadPart {
                antennas: part.antennas.clone(),
                spws: part
                    .spws
                    .as_ref()
                    .map(|s| map_spws(s, use_.spwmap.as_deref())),
            };
            let everything = Selection::default();
            let selection = use_.selection.as_deref().unwrap_or(&everything);
            match reach(selection, &mapped) {
                Reach::Miss => return,
                Reach::Hit => (Some(mapped), None),
                Reach::Unknown(why) => (Some(mapped), Some(format!("{why}: counted as a hit"))),
            }
        } else {
            (None, None)
        };
        let at = match self.users.get(&use_.user) {
            Some(at) => *at,
            None => {
                let at = self.links.push(use_.name.into_owned(), Some(link));
                self.users.insert(use_.user, at);
                let kind = match use_.user {
                    User::Solve(_) => FindingKind::SolvedWith,
                    User::Application(_) => FindingKind::AppliedTo,
                };
                self.found.push((at, kind, note));
                at
            }
        };
        if let User::Solve(id) = use_.user {
            let new = match self.reached.entry(id) {
                Entry::Occupied(_) => false,
                Entry::Vacant(slot) => {
                    slot.insert(at);
                    true
                }
            };
            // Unfiltered, a solve reached once is reached with all of its table; filtered, it
            // is walked again whenever more of it turns bad.
            let grew = match mapped {
                None => new,
                Some(mapped) => match self.parts.entry(id) {
                    Entry::Occupied(mut known) => known.get_mut().absorb(&mapped),
                    Entry::Vacant(slot) => {
                        slot.insert(mapped);
                        true
                    }
                },
            };
            if grew {
                self.frontier.push(id);
            }
        }
    }

    /// One finding per target and kind: several solves of one caltable, or several
    /// applications to one MS, make one finding (the first reached). `found` is in arrival
    /// order, so a stable sort keeps the first of each first.
    fn finish(mut self, explain: bool) -> Impact {
        let mut findings: Vec<Finding> = Vec::with_capacity(self.found.len());
        for (at, kind, note) in std::mem::take(&mut self.found) {
            findings.push(Finding {
                // Without chains to spell, each name is needed once more: moved, not copied.
                target: if explain {
                    self.links.name(at).to_owned()
                } else {
                    self.links.take_name(at)
                },
                kind,
                path: if explain {
                    self.links.spell(at)
                } else {
                    Vec::new()
                },
                note,
            });
        }
        findings.sort_by(|a, b| (&a.target, a.kind).cmp(&(&b.target, b.kind)));
        findings.dedup_by(|later, first| later.target == first.target && later.kind == first.kind);
        let mut impact = Impact::default();
        for finding in &findings {
            match finding.kind {
                FindingKind::SolvedWith => impact.caltables.push(finding.target.clone()),
                _ => impact.ms.push(finding.target.clone()),
            }
        }
        impact.ms.dedup();
        impact.findings = findings;
        impact
    }
}

/// The walk's keys are solve ids and paths from the registry, not hostile input: SipHash
/// (the default, built against hash flooding) costs more than the rest of the bookkeeping.
type IdHash = std::hash::BuildHasherDefault<IdHasher>;

/// A multiplicative (Fx-style) hash, eight bytes at a time.
#[derive(Default)]
struct IdHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        for b in chunks.remainder() {
            self.add(u64::from(*b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }
}

/// Chains as parent links: each entry is a name and the entry before it.
#[derive(Default)]
struct Links {
    entries: Vec<(String, Option<usize>)>,
}

impl Links {
    fn push(&mut self, name: String, parent: Option<usize>) -> usize {
        self.entries.push((name, parent));
        self.entries.len() - 1
    }

    fn name(&self, at: usize) -> &str {
        &self.entries[at].0
    }

    /// The name at `at`, leaving an empty one: for a last use of the arena.
    fn take_name(&mut self, at: usize) -> String {
        std::mem::take(&mut self.entries[at].0)
    }

    /// The chain ending at `at`, first name first.
    fn spell(&self, at: usize) -> Vec<String> {
        let mut chain = Vec::new();
        let mut next = Some(at);
        while let Some(i) = next {
            chain.push(self.entries[i].0.clone());
            next = self.entries[i].1;
        }
        chain.reverse();
        chain
    }
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
