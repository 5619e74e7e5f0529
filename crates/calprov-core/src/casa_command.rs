//! A solve's CASA command from its JSON parameters: the one place JSON values become Python
//! values for rendering, for tracking and for `calprov command` alike.

use calprov_casa::{PyValue, render_command};
use serde_json::{Map, Value};

use crate::Error;

pub use calprov_casa::truncate_command;

/// Renders `task(key=value, ...)` from a JSON object of keyword arguments: keys sorted,
/// `null` values dropped, Python literals that `ast.literal_eval` reads back.
pub fn render_solve_command(task: &str, params: &Map<String, Value>) -> Result<String, Error> {
    let values: Vec<(&str, PyValue)> = params
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.as_str(), PyValue::from_json(v)))
        .collect();
    Ok(render_command(task, values.iter().map(|(k, v)| (*k, v)))?)
}
