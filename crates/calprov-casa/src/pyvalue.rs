//! The Python values a CASA task takes as keyword arguments.

/// A Python value: what a CASA keyword argument can hold.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None` (left out of commands).
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int`: wide enough for every integer JSON holds (`i64` and `u64`), which a
    /// command must carry exactly (a `u64` rendered through `f64` would change its value).
    Int(i128),
    /// A `float`, possibly non-finite.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `tuple`.
    Tuple(Vec<PyValue>),
    /// A `dict` with string keys, in insertion order.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// Equality where NaN equals NaN, for round-trip checks.
    pub fn same_as(&self, other: &PyValue) -> bool {
        use PyValue::*;
        match (self, other) {
            (Float(a), Float(b)) => {
                (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits() || a == b
            }
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same_as(y))
            }
            (Dict(a), Dict(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.same_as(vb))
            }
            _ => self == other,
        }
    }

    /// Converts a JSON value: objects become dicts, arrays lists, numbers ints when they are
    /// integers that fit in `i64`.
    pub fn from_json(value: &serde_json::Value) -> PyValue {
        use serde_json::Value;
        match value {
            Value::Null => PyValue::None,
            Value::Bool(b) => PyValue::Bool(*b),
            Value::Number(n) => match n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                Some(i) => PyValue::Int(i),
                None => PyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => PyValue::Str(s.clone()),
            Value::Array(items) => PyValue::List(items.iter().map(PyValue::from_json).collect()),
            Value::Object(map) => PyValue::Dict(
                map.iter()
                    .map(|(k, v)| (k.clone(), PyValue::from_json(v)))
                    .collect(),
            ),
        }
    }
}
