//! CASA data selections as sets of ids, and whether a selection can touch the bad part of a
//! table.
//!
//! Only what can be decided from the text is decided: ids (`3`), ranges (`0~3`), lists,
//! `spw` channel suffixes (`0:10~20`, channels ignored), baselines (`1&2`), and the empty
//! selection or `*` (everything). Anything else (antenna names, negations, comparisons) is
//! [`IdSet::Unknown`], which counts as a hit and says why.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

/// The data selection of a solve or an application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Selection {
    /// `field`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// `spw`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spw: Option<String>,
    /// `antenna`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub antenna: Option<String>,
    /// `timerange`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timerange: Option<String>,
    /// `scan`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scan: Option<String>,
    /// `intent`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

impl Selection {
    /// The selection keys of CASA parameters; values that are not text are kept as JSON text
    /// (and will not parse, so they count as hits).
    pub fn from_params(params: &Map<String, Value>) -> Self {
        let text = |key: &str| match params.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        Self {
            field: text("field"),
            spw: text("spw"),
            antenna: text("antenna"),
            timerange: text("timerange"),
            scan: text("scan"),
            intent: text("intent"),
        }
    }
}

/// The ids a selection covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdSet {
    /// Everything (no selection, `''` or `*`).
    All,
    /// These ids.
    Ids(BTreeSet<i64>),
    /// A selection calprov cannot decide; the text says why.
    Unknown(String),
}

/// Parses an `spw` selection (channel ranges after `:` are ignored).
pub fn parse_spw(text: Option<&str>) -> IdSet {
    parse_ids(text, "spw", |item| item.split(':').next().unwrap_or(item))
}

/// Parses an `antenna` selection: ids, ranges and baselines (`1&2`, `3&&`, `4&*`).
pub fn parse_antenna(text: Option<&str>) -> IdSet {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty() && *t != "*") else {
        return IdSet::All;
    };
    let mut ids = BTreeSet::new();
    for item in text.split([',', ';']).map(str::trim) {
        for side in item
            .split('&')
            .map(str::trim)
            .filter(|s| !s.is_empty() && *s != "*")
        {
            match parse_id_or_range(side) {
                Some(range) => ids.extend(range),
                None => {
                    return IdSet::Unknown(format!(
                        "antenna selection {text:?}: {side:?} is not an antenna id or range"
                    ));
                }
            }
        }
    }
    IdSet::Ids(ids)
}

fn parse_ids(text: Option<&str>, what: &str, strip: impl Fn(&str) -> &str) -> IdSet {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty() && *t != "*") else {
        return IdSet::All;
    };
    let mut ids = BTreeSet::new();
    for item in text.split(',').map(str::trim) {
        let item = strip(item).trim();
        if item == "*" {
            return IdSet::All;
        }
        match parse_id_or_range(item) {
            Some(range) => ids.extend(range),
            None => {
                return IdSet::Unknown(format!(
                    "{what} selection {text:?}: {item:?} is not an id or range"
                ));
            }
        }
    }
    IdSet::Ids(ids)
}

/// `3` or `0~3`; ranges longer than 100,000 ids are not believed.
fn parse_id_or_range(item: &str) -> Option<std::ops::RangeInclusive<i64>> {
    let (low, high) = match item.split_once('~') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let id: i64 = item.parse().ok()?;
            (id, id)
        }
    };
    (low >= 0 && low <= high && high - low <= 100_000).then_some(low..=high)
}

/// Whether a selection can touch a bad part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// It can.
    Hit,
    /// It cannot.
    Miss,
    /// Undecidable: counted as a hit, with the reason.
    Unknown(String),
}

/// Whether `selected` can include any of `bad` (`None`: everything is bad).
pub fn reaches(selected: &IdSet, bad: Option<&BTreeSet<i64>>) -> Reach {
    match (selected, bad) {
        (_, None) | (IdSet::All, _) => Reach::Hit,
        (IdSet::Unknown(why), Some(_)) => Reach::Unknown(why.clone()),
        (IdSet::Ids(ids), Some(bad)) => {
            if ids.intersection(bad).next().is_some() {
                Reach::Hit
            } else {
                Reach::Miss
            }
        }
    }
}

/// The target spws that take solutions from any of `bad` table spws through `spwmap`
/// (`spwmap[s]` is the table spw used for target spw `s`; spws past the map use their own).
pub fn map_spws(bad: &BTreeSet<i64>, spwmap: Option<&[i64]>) -> BTreeSet<i64> {
    let Some(map) = spwmap.filter(|m| !m.is_empty()) else {
        return bad.clone();
    };
    let mut out: BTreeSet<i64> = map
        .iter()
        .enumerate()
        .filter(|(_, source)| bad.contains(source))
        .map(|(target, _)| target as i64)
        .collect();
    out.extend(bad.iter().filter(|s| **s >= map.len() as i64));
    out
}

/// Parses a user's `--antenna`/`--spw` list (`1,3~5`).
pub fn parse_user_ids(text: &str) -> Option<BTreeSet<i64>> {
    let mut ids = BTreeSet::new();
    for item in text.split(',').map(str::trim) {
        ids.extend(parse_id_or_range(item)?);
    }
    Some(ids)
}
