//! Command rendering and truncation with any parameters and any limit: a rendered command
//! parses back to the same values, keys that are not identifiers are errors, the cut never
//! exceeds the limit, ends on a character boundary and is idempotent.
#![no_main]

use arbitrary::Arbitrary;
use calprov_casa::{PyValue, parse_command, render_command, truncate_command};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(String, Value)>),
}

fn convert(v: &Value, depth: usize) -> PyValue {
    if depth > 80 {
        return PyValue::None;
    }
    match v {
        Value::None => PyValue::None,
        Value::Bool(b) => PyValue::Bool(*b),
        Value::Int(i) => PyValue::Int((*i).into()),
        Value::Float(f) => PyValue::Float(*f),
        Value::Str(s) => PyValue::Str(s.clone()),
        Value::List(items) => PyValue::List(items.iter().map(|i| convert(i, depth + 1)).collect()),
        Value::Tuple(items) => PyValue::Tuple(items.iter().map(|i| convert(i, depth + 1)).collect()),
        Value::Dict(entries) => PyValue::Dict(entries.iter().map(|(k, v)| (k.clone(), convert(v, depth + 1))).collect()),
    }
}

#[derive(Debug, Arbitrary)]
struct Input {
    task: String,
    params: Vec<(String, Value)>,
    limit: u16,
}

fuzz_target!(|input: Input| {
    let params: Vec<(String, PyValue)> = input.params.iter().map(|(k, v)| (k.clone(), convert(v, 0))).collect();
    let Ok(command) = render_command(&input.task, params.iter().map(|(k, v)| (k.as_str(), v))) else { return };
    assert!(command.is_ascii());
    let parsed = parse_command(&command).expect("a rendered command parses");
    assert_eq!(parsed.task, input.task);
    // Keys are sorted, None dropped; duplicate keys keep their relative order.
    let mut expected: Vec<&(String, PyValue)> = params.iter().filter(|(_, v)| !matches!(v, PyValue::None)).collect();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(parsed.params.len(), expected.len());
    for ((pk, pv), (ek, ev)) in parsed.params.iter().zip(expected) {
        assert_eq!(pk, ek);
        assert!(pv.same_as(ev), "{pv:?} != {ev:?}");
    }
    let limit = usize::from(input.limit);
    let cut = truncate_command(&command, limit);
    assert!(cut.len() <= limit || cut.len() == command.len() && command.len() <= limit);
    assert!(cut.len() <= command.len().max(limit));
    assert_eq!(truncate_command(&cut, limit), cut);
    if command.len() <= limit {
        assert_eq!(cut, command.as_str());
    }
});
