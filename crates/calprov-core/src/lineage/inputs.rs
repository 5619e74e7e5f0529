//! The inputs of a solve or an application, read from its CASA parameters.
//!
//! CASA's rules: `gaintable` is a string or a list of strings; `gainfield` and `interp` are a
//! string or a list, where a string or a one-element list applies to every table and a
//! shorter list is padded with `''` (CASA's default); `spwmap` is a list of lists, one per
//! table, with the same broadcasting (a flat list of integers is one map). Relative paths are
//! taken against the solve's working directory.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::paths::normalize_against;

/// What an input was to its solve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The MS the solve read (`vis`).
    Vis,
    /// A caltable applied on the fly (`gaintable`).
    Gaintable,
}

impl Role {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Vis => "vis",
            Role::Gaintable => "gaintable",
        }
    }

    /// The role of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "vis" => Some(Role::Vis),
            "gaintable" => Some(Role::Gaintable),
            _ => None,
        }
    }
}

/// One input as the parameters give it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Input {
    /// Position in `gaintable` (0 for `vis`).
    pub index: usize,
    /// The path, absolute and normalised; `None` when the parameters do not give one.
    pub path: Option<String>,
    /// This table's `gainfield`.
    pub gainfield: Option<String>,
    /// This table's `interp`.
    pub interp: Option<String>,
    /// This table's `spwmap`: target spw `s` takes the table's solutions of `spwmap[s]`.
    pub spwmap: Option<Vec<i64>>,
    /// Why this input could not be read as CASA would (recorded with a warning).
    pub problem: Option<String>,
}

/// The `vis` input of a solve's parameters (or of `ms`, when given).
pub fn vis_input(ms: Option<&str>, params: &Map<String, Value>, cwd: Option<&Path>) -> Input {
    let given = ms
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
        .or_else(|| params.get("vis").and_then(Value::as_str).map(str::to_owned));
    match given {
        Some(path) => Input {
            path: Some(resolve(&path, cwd)),
            ..Input::default()
        },
        None => Input {
            problem: Some("no vis in the parameters".to_owned()),
            ..Input::default()
        },
    }
}

/// Every `gaintable` entry, with its own gainfield, interp and spwmap.
pub fn gaintable_inputs(params: &Map<String, Value>, cwd: Option<&Path>) -> Vec<Input> {
    let tables: Vec<Result<String, String>> = match params.get("gaintable") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![Ok(s.clone())],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) if s.is_empty() => Err("empty gaintable entry".to_owned()),
                Value::String(s) => Ok(s.clone()),
                other => Err(format!("gaintable entry {other} is not a path")),
            })
            .collect(),
        Some(other) => {
            return vec![Input {
                problem: Some(format!("gaintable is {other}, not a string or a list")),
                ..Input::default()
            }];
        }
    };
    let n = tables.len();
    let gainfield = per_table_text(params.get("gainfield"), n, "gainfield");
    let interp = per_table_text(params.get("interp"), n, "interp");
    let spwmap = per_table_spwmap(params.get("spwmap"), n);
    tables
        .into_iter()
        .enumerate()
        .map(|(index, table)| {
            let mut problems = Vec::new();
            let path = match table {
                Ok(path) => Some(resolve(&path, cwd)),
                Err(problem) => {
                    problems.push(problem);
                    None
                }
            };
            let mut pick = |column: &Result<Vec<Option<String>>, String>| match column {
                Ok(values) => values[index].clone(),
                Err(problem) => {
                    problems.push(problem.clone());
                    None
                }
            };
            let gainfield = pick(&gainfield);
            let interp = pick(&interp);
            let spwmap = match &spwmap {
                Ok(maps) => maps[index].clone(),
                Err(problem) => {
                    problems.push(problem.clone());
                    None
                }
            };
            Input {
                index,
                path,
                gainfield,
                interp,
                spwmap,
                problem: (!problems.is_empty()).then(|| problems.join("; ")),
            }
        })
        .collect()
}

fn resolve(path: &str, cwd: Option<&Path>) -> String {
    normalize_against(Path::new(path), cwd)
        .to_string_lossy()
        .into_owned()
}

/// A string or list of strings broadcast to `n` tables.
fn per_table_text(
    value: Option<&Value>,
    n: usize,
    name: &str,
) -> Result<Vec<Option<String>>, String> {
    let items: Vec<Option<String>> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => vec![Some(s.clone())],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(Some(s.clone())),
                Value::Null => Ok(None),
                other => Err(format!("{name} entry {other} is not a string")),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("{name} is {other}, not a string or a list")),
    };
    Ok(broadcast(items, n, Some(String::new())))
}

/// `spwmap` broadcast to `n` tables: a list of lists, or one flat list for every table.
fn per_table_spwmap(value: Option<&Value>, n: usize) -> Result<Vec<Option<Vec<i64>>>, String> {
    let malformed = |v: &Value| format!("spwmap {v} is not a list of lists of integers");
    let ints = |v: &Value| -> Result<Vec<i64>, String> {
        v.as_array()
            .ok_or_else(|| malformed(v))?
            .iter()
            .map(|x| x.as_i64().filter(|i| *i >= 0).ok_or_else(|| malformed(v)))
            .collect()
    };
    let maps: Vec<Option<Vec<i64>>> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.is_empty() => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_number) => {
            vec![Some(ints(value.unwrap_or(&Value::Null))?)]
        }
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| ints(item).map(|m| (!m.is_empty()).then_some(m)))
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(malformed(other)),
    };
    Ok(broadcast(maps, n, None))
}

/// One value for all when there is one, else padded with `pad` (or cut) to `n`.
fn broadcast<T: Clone>(items: Vec<Option<T>>, n: usize, pad: Option<T>) -> Vec<Option<T>> {
    if items.len() == 1 {
        return vec![items[0].clone(); n];
    }
    let mut out = items;
    out.resize(n, pad);
    out
}
