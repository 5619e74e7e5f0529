//! Rendered commands checked by Python's own parser: python3's `ast` reads thousands of
//! generated commands and every keyword value must equal its input.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::process::{Command, Stdio};

use calprov_casa::{PyValue, render_command};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{Value, json};

const COMMANDS: usize = 3_000;

/// Detection against a real casatools installation from PyPI, when CI provides one:
/// `CALPROV_REAL_CASATOOLS_PYTHON` names a Python whose site-packages hold casatools.
#[test]
fn modular_detection_finds_a_real_casatools_install() {
    let Some(python) = std::env::var_os("CALPROV_REAL_CASATOOLS_PYTHON") else {
        eprintln!("CALPROV_REAL_CASATOOLS_PYTHON is not set: real casatools detection not run");
        return;
    };
    let out = Command::new(&python)
        .args([
            "-c",
            "import importlib.metadata as m; print(m.version('casatools'))",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let inputs = calprov_casa::DetectionInputs {
        python: Some(python.into()),
        probe_timeout: std::time::Duration::from_secs(20),
        ..Default::default()
    };
    let result = calprov_casa::detect_version(&inputs);
    let (version, step) = result
        .found
        .expect("the real casatools install was not found");
    assert_eq!(step, calprov_casa::VersionStep::ModularPython);
    assert_eq!(
        version,
        calprov_casa::normalize_version(&installed).unwrap()
    );
    eprintln!("real casatools {installed} detected as {version}");
}

const HOSTILE: [&str; 8] = [
    "'); import os; os.system('x') #",
    "\"\"\" ''' \\",
    "\\'",
    "line1\nline2\r\n\tend",
    "\u{0}\u{1}\u{1b}[31m\u{7f}",
    "naïve — ✓ 😀 \u{2028}\u{2029}\u{feff}",
    "{!r} %s {0}",
    "\\x41\\u0041\\N{LATIN SMALL LETTER A}",
];

fn value() -> impl Strategy<Value = PyValue> {
    let leaf = prop_oneof![
        Just(PyValue::None),
        any::<bool>().prop_map(PyValue::Bool),
        // Every integer JSON holds: i64 and the u64 beyond it.
        any::<i64>().prop_map(|i| PyValue::Int(i.into())),
        any::<u64>().prop_map(|u| PyValue::Int(u.into())),
        any::<f64>().prop_map(PyValue::Float),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(-0.0),
            Just(1e16),
            Just(5e-324)
        ]
        .prop_map(PyValue::Float),
        any::<String>().prop_map(PyValue::Str),
        prop::sample::select(HOSTILE.to_vec()).prop_map(|s| PyValue::Str(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(PyValue::List),
            prop::collection::vec(inner.clone(), 0..4).prop_map(PyValue::Tuple),
            prop::collection::vec((any::<String>(), inner), 0..4).prop_map(PyValue::Dict),
        ]
    })
}

/// A tagged encoding Python can decode exactly: ints as text, floats as their bits.
fn tagged(v: &PyValue) -> Value {
    match v {
        PyValue::None => json!({"none": 0}),
        PyValue::Bool(b) => json!({"bool": b}),
        PyValue::Int(i) => json!({"int": i.to_string()}),
        PyValue::Float(f) => json!({"float_bits": f.to_bits().to_string()}),
        PyValue::Str(s) => json!({"str": s}),
        PyValue::List(items) => json!({"list": items.iter().map(tagged).collect::<Vec<_>>()}),
        PyValue::Tuple(items) => json!({"tuple": items.iter().map(tagged).collect::<Vec<_>>()}),
        PyValue::Dict(entries) => {
            json!({"dict": entries.iter().map(|(k, v)| json!([k, tagged(v)])).collect::<Vec<_>>()})
        }
    }
}

#[test]
fn python_ast_reads_every_rendered_value_back() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]),
    );
    let strategy = prop::collection::btree_map("[a-z_][a-z0-9_]{0,8}", value(), 1..6);
    let mut lines = Vec::with_capacity(COMMANDS);
    while lines.len() < COMMANDS {
        let params = strategy.new_tree(&mut runner).unwrap().current();
        let Ok(command) = render_command("gaincal", params.iter().map(|(k, v)| (k.as_str(), v)))
        else {
            continue; // a generated key that is a Python keyword: refused, as it must be
        };
        let expected: serde_json::Map<String, Value> = params
            .iter()
            .filter(|(_, v)| !matches!(v, PyValue::None))
            .map(|(k, v)| (k.clone(), tagged(v)))
            .collect();
        lines.push(json!({"command": command, "expected": expected}).to_string());
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/check_commands.py"
    );
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed for the ast check");
    {
        let mut stdin = child.stdin.take().unwrap();
        for line in &lines {
            writeln!(stdin, "{line}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("checked {COMMANDS} commands")),
        "{stdout}"
    );
}
