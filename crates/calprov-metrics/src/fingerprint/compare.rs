//! What changed between a recorded fingerprint and the table on disk, as verdicts.

use serde::{Deserialize, Serialize};

use super::Fingerprint;
use super::groups::{Group, GroupMatch, match_groups};

/// One finding of `verify`; a table can have several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The table is the one recorded.
    Unchanged,
    /// Nothing is at the path.
    Missing,
    /// The table is there but cannot be read.
    Unreadable,
    /// Only flags differ.
    FlagsEdited,
    /// Every recorded row is still there, unchanged, and rows were added.
    RowsAppended,
    /// Solutions or key columns differ, or recorded rows are gone.
    SolutionsChanged,
    /// The table description or keywords differ.
    KeywordsChanged,
    /// A subtable's rows differ, or a subtable was added or removed.
    SubtablesChanged,
    /// The latest solve was recorded without a fingerprint.
    NoFingerprint,
}

impl Verdict {
    /// The verdict's name, as `verify` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unchanged => "unchanged",
            Self::Missing => "missing",
            Self::Unreadable => "unreadable",
            Self::FlagsEdited => "flags_edited",
            Self::RowsAppended => "rows_appended",
            Self::SolutionsChanged => "solutions_changed",
            Self::KeywordsChanged => "keywords_changed",
            Self::SubtablesChanged => "subtables_changed",
            Self::NoFingerprint => "no_fingerprint",
        }
    }
}

/// The evidence behind the verdicts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Details {
    /// Rows when the solve was recorded.
    pub rows_recorded: u64,
    /// Rows now.
    pub rows_now: u64,
    /// Columns whose digest differs (or that appeared or disappeared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns_changed: Vec<String>,
    /// Subtables whose rows differ (or that appeared or disappeared).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtables_changed: Vec<String>,
    /// How the recorded solution groups (TIME, FIELD_ID, SPECTRAL_WINDOW_ID) were found,
    /// when they were compared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupCounts>,
}

/// [`GroupMatch`] as reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCounts {
    /// Recorded groups still there, unchanged.
    pub unchanged: u64,
    /// Recorded groups whose flags differ.
    pub flags_edited: u64,
    /// Recorded groups changed or removed.
    pub changed_or_removed: u64,
    /// Groups now that no recorded group has the key of.
    pub new: u64,
}

impl From<GroupMatch> for GroupCounts {
    fn from(m: GroupMatch) -> Self {
        Self {
            unchanged: m.unchanged as u64,
            flags_edited: m.flags_edited as u64,
            changed_or_removed: m.changed_or_removed as u64,
            new: m.new as u64,
        }
    }
}

/// Verdicts (sorted, never empty) and their evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    /// What holds; `[Unchanged]` when nothing differs.
    pub verdicts: Vec<Verdict>,
    /// Why.
    pub details: Details,
}

/// Compares the recorded fingerprint (with its solution groups when stored) with the current
/// one; the current groups are computed only when they must be matched.
///
/// Groups are matched by key when the row count or any column differs: recorded groups all
/// still there and new ones is `rows_appended`; groups that differ only in FLAG are
/// `flags_edited`; a recorded group changed or gone is `solutions_changed`. Rows that only
/// moved are not a change (CASA re-sorts tables it appends to). Without recorded groups the
/// column digests decide.
pub fn compare(
    recorded: &Fingerprint,
    recorded_groups: Option<&[Group]>,
    current: &Fingerprint,
    current_groups: impl FnOnce() -> Vec<Group>,
) -> Comparison {
    let mut verdicts = Vec::new();
    let mut details = Details {
        rows_recorded: recorded.n_rows,
        rows_now: current.n_rows,
        columns_changed: changed_keys(&recorded.columns, &current.columns),
        subtables_changed: changed_keys(&recorded.subtables, &current.subtables),
        groups: None,
    };
    if recorded.description != current.description {
        verdicts.push(Verdict::KeywordsChanged);
    }
    if !details.subtables_changed.is_empty() {
        verdicts.push(Verdict::SubtablesChanged);
    }
    let rows_differ = recorded.n_rows != current.n_rows || !details.columns_changed.is_empty();
    if rows_differ {
        match recorded_groups {
            Some(old) => {
                let m = match_groups(old, &current_groups());
                details.groups = Some(m.into());
                if m.changed_or_removed > 0 {
                    verdicts.push(Verdict::SolutionsChanged);
                }
                if m.flags_edited > 0 || flag_only(&details.columns_changed, recorded, current) {
                    verdicts.push(Verdict::FlagsEdited);
                }
                if m.changed_or_removed == 0 && m.new > 0 {
                    verdicts.push(Verdict::RowsAppended);
                }
            }
            None => {
                let only_flags = flag_only(&details.columns_changed, recorded, current);
                if only_flags {
                    verdicts.push(Verdict::FlagsEdited);
                } else {
                    verdicts.push(Verdict::SolutionsChanged);
                }
            }
        }
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::Unchanged);
    }
    verdicts.sort_unstable();
    verdicts.dedup();
    Comparison { verdicts, details }
}

/// True when the row count is the same and FLAG is the only column that differs.
fn flag_only(changed: &[String], recorded: &Fingerprint, current: &Fingerprint) -> bool {
    recorded.n_rows == current.n_rows && changed.len() == 1 && changed[0] == "FLAG"
}

/// Keys whose value differs, or that only one side has; sorted.
fn changed_keys(
    a: &std::collections::BTreeMap<String, String>,
    b: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
        .collect();
    keys.sort();
    keys
}
