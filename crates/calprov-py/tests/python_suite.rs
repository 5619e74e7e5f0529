//! The Python package's own tests, run by `cargo test`: a wheel built with maturin (from
//! PyPI) into the venv `target/py-venv`, installed as a user installs it, then the pytest
//! suite beside this file (`tests/test_*.py`) against it.
//!
//! The venv is created on first use and reused; the wheel is rebuilt every run (cargo only
//! recompiles what changed). Nothing is skipped: a machine without Python or without PyPI
//! fails here, saying which step.

#![allow(clippy::print_stderr, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Runs `command`, panicking with `step` and its output when it fails.
fn run(step: &str, command: &mut Command) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{step}: cannot start {command:?}: {e}"));
    if !output.status.success() {
        panic!(
            "{step} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The venv with maturin, pytest, hypothesis (the property tests of the value boundary) and
/// numpy (the tests convert numpy values).
fn venv(root: &Path) -> PathBuf {
    let venv = root.join("target/py-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import maturin, pytest, hypothesis, numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        run(
            "creating the venv",
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        );
        run(
            "installing maturin, pytest, hypothesis and numpy from PyPI",
            Command::new(&python).args([
                "-m",
                "pip",
                "install",
                "-q",
                "maturin>=1.9.4,<2",
                "pytest",
                "hypothesis",
                "numpy",
            ]),
        );
    }
    python
}

#[test]
fn pytest_suite_against_the_built_wheel() {
    let root = workspace_root();
    let python = venv(&root);
    let wheels = root.join("target/py-wheels/test");
    let _ = std::fs::remove_dir_all(&wheels);
    run(
        "building the wheel with maturin",
        Command::new(python.with_file_name("maturin"))
            .current_dir(&root)
            .args([
                "build",
                "--quiet",
                "-m",
                "crates/calprov-py/Cargo.toml",
                "-o",
            ])
            .arg(&wheels)
            .arg("--interpreter")
            .arg(&python),
    );
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("maturin wrote no wheel");
    run(
        "installing the wheel",
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--force-reinstall",
                "--no-deps",
            ])
            .arg(&wheel),
    );
    let status = Command::new(&python)
        .current_dir(root.join("crates/calprov-py"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
        .env_remove("PIPELINE_DB")
        .env_remove("CAL_REGISTRY_DB")
        .env_remove("PIPELINE_STATE_DIR")
        .status()
        .expect("cannot start pytest");
    assert!(status.success(), "the pytest suite failed ({status})");
}
