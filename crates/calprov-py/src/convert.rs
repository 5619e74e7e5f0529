//! Python values to JSON and back: the one serialization boundary of the package.
//!
//! Into JSON: `None`, booleans, integers, floats, strings, mappings with string (or
//! integer) keys, lists and tuples, path-like objects (as their path), and anything with a
//! numpy-style `tolist()` (numpy scalars and arrays become the Python values they hold). A
//! non-finite float becomes calprov's stored string (`"NaN"`, `"Infinity"`, `"-Infinity"`,
//! see `calprov_core::json`). Anything else (bytes, sets, arbitrary objects) is an error that
//! names where in the value it sits, never a silent `str()`.
//!
//! Back to Python: JSON as the matching Python values, and the three stored strings of
//! non-finite numbers as the floats they stand for, so a NaN parameter comes back a NaN.

use calprov_core::json::{NAN_TEXT, NEG_INF_TEXT, POS_INF_TEXT, float_value};
use pyo3::exceptions::PyOverflowError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// How deep a value may nest: deeper is a cycle or a mistake, and must not exhaust the stack.
const MAX_DEPTH: usize = 64;

/// A value that cannot become JSON, and where it is (`['gaintable'][2]`).
#[derive(Debug)]
pub struct NotJson {
    /// The location, outermost first.
    path: Vec<String>,
    /// What is wrong there.
    what: String,
}

impl NotJson {
    fn new(what: impl Into<String>) -> Self {
        Self {
            path: Vec::new(),
            what: what.into(),
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    /// `what` of `root` at its location, e.g. `params['spw'][0]: a set is not JSON`.
    pub fn describe(&self, root: &str) -> String {
        let location: String = self.path.iter().rev().map(String::as_str).collect();
        format!("{root}{location}: {}", self.what)
    }
}

/// Converts a Python value to JSON (see the module documentation for the rules).
pub fn to_json(value: &Bound<'_, PyAny>) -> Result<Value, NotJson> {
    convert(value, 0)
}

/// Converts a Python mapping to a JSON object; anything else is an error.
pub fn to_json_object(value: &Bound<'_, PyAny>) -> Result<Map<String, Value>, NotJson> {
    match to_json(value)? {
        Value::Object(map) => Ok(map),
        other => Err(NotJson::new(format!(
            "must be a mapping (a dict of keyword arguments), found {}",
            json_type(&other)
        ))),
    }
}

fn convert(value: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    if depth > MAX_DEPTH {
        return Err(NotJson::new(format!(
            "nested more than {MAX_DEPTH} levels deep (a value that contains itself?)"
        )));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    // bool before int: Python's bool is an int.
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        return integer(value);
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Ok(float_value(f.value()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return string(s);
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let key = key_text(&key)?;
            let converted =
                convert(&item, depth + 1).map_err(|e| e.at(format!("[{}]", python_repr(&key))))?;
            map.insert(key, converted);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        return sequence(value, depth);
    }
    numpy_or_path(value, depth)
}

/// Objects that are not builtin values: numpy scalars and arrays (through `tolist()`),
/// path-like objects (through `os.fspath`), other mappings; anything else is refused.
fn numpy_or_path(value: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    let type_name = type_name(value);
    if value.hasattr("tolist").unwrap_or(false) && value.hasattr("dtype").unwrap_or(false) {
        let plain = value
            .call_method0("tolist")
            .map_err(|e| NotJson::new(format!("{type_name}.tolist() failed: {e}")))?;
        return convert(&plain, depth + 1);
    }
    if value.hasattr("__fspath__").unwrap_or(false) {
        let path = value
            .call_method0("__fspath__")
            .map_err(|e| NotJson::new(format!("{type_name}.__fspath__() failed: {e}")))?;
        return match path.cast::<PyString>() {
            Ok(s) => string(s),
            Err(_) => Err(NotJson::new(format!(
                "a {type_name} whose path is not text"
            ))),
        };
    }
    if value.hasattr("keys").unwrap_or(false) && value.hasattr("__getitem__").unwrap_or(false) {
        let dict = PyDict::new(value.py());
        value
            .call_method0("items")
            .and_then(|items| {
                for item in items.try_iter()? {
                    let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item?.extract()?;
                    dict.set_item(k, v)?;
                }
                Ok(())
            })
            .map_err(|e| NotJson::new(format!("reading the {type_name} mapping failed: {e}")))?;
        return convert(dict.as_any(), depth);
    }
    Err(NotJson::new(format!(
        "a {type_name} cannot be recorded as JSON (use a str, number, bool, None, list, tuple or dict)"
    )))
}

fn integer(value: &Bound<'_, PyAny>) -> Result<Value, NotJson> {
    if let Ok(i) = value.extract::<i64>() {
        return Ok(Value::Number(i.into()));
    }
    if let Ok(u) = value.extract::<u64>() {
        return Ok(Value::Number(u.into()));
    }
    Err(NotJson::new(
        "an integer beyond 64 bits cannot be recorded exactly",
    ))
}

fn string(s: &Bound<'_, PyString>) -> Result<Value, NotJson> {
    s.to_cow()
        .map(|text| Value::String(text.into_owned()))
        .map_err(|_| NotJson::new("a str that is not valid Unicode (lone surrogates)"))
}

fn sequence(value: &Bound<'_, PyAny>, depth: usize) -> Result<Value, NotJson> {
    let mut items = Vec::new();
    let iter = value
        .try_iter()
        .map_err(|e| NotJson::new(format!("cannot iterate: {e}")))?;
    for (i, item) in iter.enumerate() {
        let item = item.map_err(|e| NotJson::new(format!("cannot iterate: {e}")))?;
        items.push(convert(&item, depth + 1).map_err(|e| e.at(format!("[{i}]")))?);
    }
    Ok(Value::Array(items))
}

/// A mapping key as JSON text: strings as they are, integers as `json.dumps` writes them.
fn key_text(key: &Bound<'_, PyAny>) -> Result<String, NotJson> {
    if let Ok(s) = key.cast::<PyString>() {
        return s
            .to_cow()
            .map(|k| k.into_owned())
            .map_err(|_| NotJson::new("a key that is not valid Unicode"));
    }
    if !key.is_instance_of::<PyBool>()
        && key.is_instance_of::<PyInt>()
        && let Ok(i) = key.extract::<i64>()
    {
        return Ok(i.to_string());
    }
    Err(NotJson::new(format!(
        "a {} key (keys must be str)",
        type_name(key)
    )))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "value".to_owned())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "None",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a str",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dict",
    }
}

/// Converts JSON to Python values; the stored strings of non-finite numbers become floats.
pub fn to_python<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => number(py, n)?,
        Value::String(s) => match s.as_str() {
            NAN_TEXT => PyFloat::new(py, f64::NAN).into_any(),
            POS_INF_TEXT => PyFloat::new(py, f64::INFINITY).into_any(),
            NEG_INF_TEXT => PyFloat::new(py, f64::NEG_INFINITY).into_any(),
            text => PyString::new(py, text).into_any(),
        },
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_python(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, to_python(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

fn number<'py>(py: Python<'py>, n: &Number) -> PyResult<Bound<'py, PyAny>> {
    if let Some(i) = n.as_i64() {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    if let Some(u) = n.as_u64() {
        return Ok(u.into_pyobject(py)?.into_any());
    }
    match n.as_f64() {
        Some(f) => Ok(PyFloat::new(py, f).into_any()),
        None => Err(PyOverflowError::new_err(format!(
            "the stored number {n} is not representable"
        ))),
    }
}

/// Any serialisable result of the core API as Python values.
pub fn serialized<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| {
        crate::errors::CalprovError::new_err(format!("cannot convert the result: {e}"))
    })?;
    to_python(py, &json)
}

/// A key as Python writes it in a subscript (`'gaintable'`), for error locations.
fn python_repr(key: &str) -> String {
    format!("'{}'", key.replace('\\', "\\\\").replace('\'', "\\'"))
}
