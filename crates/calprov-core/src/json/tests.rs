use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

#[test]
fn python_tokens_become_strings() {
    let v = parse_python_json(r#"{"a": NaN, "b": [Infinity, -Infinity, 1.5], "c": "NaN inside"}"#)
        .unwrap();
    assert_eq!(
        v,
        json!({"a": "NaN", "b": ["Infinity", "-Infinity", 1.5], "c": "NaN inside"})
    );
}

#[test]
fn tokens_inside_strings_are_left_alone() {
    let v = parse_python_json(r#"{"k": "x\" NaN", "n": NaN}"#).unwrap();
    assert_eq!(v, json!({"k": "x\" NaN", "n": "NaN"}));
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for bad in [
        "{",
        "NaNx",
        "{\"a\": NaNa}",
        "[1,",
        "\"unterminated",
        "{\"a\": -Inf}",
        "",
        "\u{0}",
    ] {
        assert!(parse_python_json(bad).is_err(), "{bad:?} parsed");
    }
}

/// A Python-side float: finite, or one of the three non-finite values.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

/// Renders like Python's `json.dumps` (floats non-finite as bare tokens).
fn python_dumps(value: &PyJson) -> String {
    match value {
        PyJson::Float(f) => match non_finite_text(*f) {
            Some(t) => t.to_owned(),
            None => serde_json::to_string(f).unwrap(),
        },
        PyJson::Str(s) => serde_json::to_string(s).unwrap(),
        PyJson::List(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_dumps)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        PyJson::Obj(items) => format!(
            "{{{}}}",
            items
                .iter()
                .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), python_dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[derive(Debug, Clone)]
enum PyJson {
    Float(f64),
    Str(String),
    List(Vec<PyJson>),
    Obj(Vec<(String, PyJson)>),
}

fn expected(value: &PyJson) -> Value {
    match value {
        PyJson::Float(f) => float_value(*f),
        PyJson::Str(s) => Value::String(s.clone()),
        PyJson::List(items) => Value::Array(items.iter().map(expected).collect()),
        PyJson::Obj(items) => {
            let mut map = serde_json::Map::new();
            for (k, v) in items {
                map.insert(k.clone(), expected(v));
            }
            Value::Object(map)
        }
    }
}

fn py_json() -> impl Strategy<Value = PyJson> {
    let leaf = prop_oneof![
        float().prop_map(PyJson::Float),
        ".*".prop_map(PyJson::Str),
        prop_oneof![
            Just("NaN".to_owned()),
            Just("-Infinity".to_owned()),
            Just("\\\"NaN".to_owned())
        ]
        .prop_map(PyJson::Str),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(PyJson::List),
            prop::collection::vec(("[a-zA-Z_\"\\\\ ]{0,8}", inner), 0..6).prop_map(PyJson::Obj),
        ]
    })
}

proptest! {
    /// Whatever Python's json.dumps writes, we read back as the documented values.
    #[test]
    fn reads_what_python_writes(value in py_json()) {
        let text = python_dumps(&value);
        let parsed = parse_python_json(&text).unwrap();
        prop_assert_eq!(parsed, expected(&value));
    }

    /// What we read, we write as standard JSON that reads back identically.
    #[test]
    fn writes_standard_json(value in py_json()) {
        let parsed = parse_python_json(&python_dumps(&value)).unwrap();
        let written = serde_json::to_string(&parsed).unwrap();
        let reparsed: Value = serde_json::from_str(&written).unwrap();
        prop_assert_eq!(reparsed, parsed);
    }

    /// Arbitrary text never panics.
    #[test]
    fn never_panics(text in ".*") {
        let _ = parse_python_json(&text);
    }
}
