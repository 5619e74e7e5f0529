//! Preparing a solve's keyword arguments for storage: `None` dropped, standard JSON only,
//! and a size cap that shortens oversized values visibly instead of losing them silently.

use serde_json::{Map, Value};

/// The default cap on the stored `solver_params` JSON: 64 KiB.
pub const DEFAULT_PARAMS_CAP: usize = 64 * 1024;

/// The key that lists what was shortened, added only when something was.
pub const SHORTENED_KEY: &str = "_calprov_shortened";

/// The stored parameters, and which keys were shortened to fit the cap.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredParams {
    /// The JSON object to store (always valid JSON, at most the cap when serialised, unless
    /// even the list of shortened keys exceeds it).
    pub value: Value,
    /// Top-level keys whose values were replaced by a marker.
    pub shortened: Vec<String>,
}

/// Drops top-level `null` values (Python's `None`: the argument was not given).
pub fn drop_nulls(params: &Map<String, Value>) -> Map<String, Value> {
    params
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Shortens the largest top-level values until the serialised object fits `cap` bytes.
///
/// A shortened value becomes the string `"<shortened: N bytes>"`, and the object gains
/// [`SHORTENED_KEY`] listing those keys, so a reader always knows what is not there.
pub fn cap_params(params: Map<String, Value>, cap: usize) -> StoredParams {
    let size = |m: &Map<String, Value>| {
        serde_json::to_string(m)
            .map(|s| s.len())
            .unwrap_or(usize::MAX)
    };
    if size(&params) <= cap {
        return StoredParams {
            value: Value::Object(params),
            shortened: Vec::new(),
        };
    }
    let mut sizes: Vec<(usize, String)> = params
        .iter()
        .map(|(k, v)| {
            (
                serde_json::to_string(v)
                    .map(|s| s.len())
                    .unwrap_or(usize::MAX),
                k.clone(),
            )
        })
        .collect();
    // Largest first; ties by key so the outcome does not depend on map order.
    sizes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut out = params;
    let mut shortened = Vec::new();
    for (bytes, key) in sizes {
        out.insert(
            key.clone(),
            Value::String(format!("<shortened: {bytes} bytes>")),
        );
        shortened.push(key);
        let mut with_marker = out.clone();
        with_marker.insert(SHORTENED_KEY.to_owned(), Value::from(shortened.clone()));
        if size(&with_marker) <= cap {
            shortened.sort();
            with_marker.insert(SHORTENED_KEY.to_owned(), Value::from(shortened.clone()));
            return StoredParams {
                value: Value::Object(with_marker),
                shortened,
            };
        }
    }
    shortened.sort();
    out.insert(SHORTENED_KEY.to_owned(), Value::from(shortened.clone()));
    StoredParams {
        value: Value::Object(out),
        shortened,
    }
}
