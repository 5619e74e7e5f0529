//! `calprov verify` on copies of a real CASA caltable edited with python-casacore the way
//! CASA and pipelines edit them, through the real binary.
//!
//! The edits need a Python with python-casacore: `CALPROV_CASACORE_PYTHON` (`.ci/run`
//! creates one). Without it those tests report that they did not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

const PARAMS: &str = r#"{"vis": "/data/obs.ms", "solint": "int", "gaintype": "G"}"#;

/// A registered, tracked copy of `sim_gacal` in its own directory.
struct Tracked {
    _dir: tempfile::TempDir,
    db: PathBuf,
    table: String,
}

fn tracked_copy() -> Tracked {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.sqlite3");
    let table = dir.path().join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &table);
    let table = table.to_string_lossy().into_owned();
    register(&db, "obs", &table, "GA", "40");
    let out = track_gaincal(&db, &table, PARAMS, &["--strict"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Tracked {
        _dir: dir,
        db,
        table,
    }
}

/// Runs one edit of `edit_caltable.py`, or `None` without python-casacore.
fn edit(edit: &str, table: &str) -> Option<()> {
    let python = std::env::var_os("CALPROV_CASACORE_PYTHON")?;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/edit_caltable.py");
    let out = Command::new(python)
        .arg(script)
        .args([edit, table])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "edit {edit}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// `verify --json` of one table: its verdicts and details, and the exit code.
fn verify_one(db: &Path, table: &str) -> (Vec<String>, serde_json::Value, i32) {
    let out = calprov(db, &["verify", "--json", table]);
    let doc = stdout_json(&out);
    let report = &doc["data"][0];
    assert_eq!(report["caltable"], table);
    let verdicts = report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    (
        verdicts,
        report["details"].clone(),
        out.status.code().unwrap(),
    )
}

/// Each edit, on a fresh tracked copy, gives exactly these verdicts.
#[allow(clippy::print_stderr)] // says which test did not run, as the #[test]s do
fn assert_edit_gives(edit_name: &str, expected: &[&str]) {
    let t = tracked_copy();
    if edit(edit_name, &t.table).is_none() {
        eprintln!("CALPROV_CASACORE_PYTHON is not set: verify after {edit_name} not run");
        return;
    }
    let (verdicts, details, code) = verify_one(&t.db, &t.table);
    assert_eq!(verdicts, expected, "{edit_name}: {details}");
    assert_eq!(
        code,
        if expected == ["unchanged"] { 0 } else { 1 },
        "{edit_name}"
    );
}

#[test]
fn a_freshly_tracked_table_is_unchanged() {
    let t = tracked_copy();
    let (verdicts, details, code) = verify_one(&t.db, &t.table);
    assert_eq!(verdicts, ["unchanged"], "{details}");
    assert_eq!(code, 0);
    assert_eq!(details["rows_recorded"], 1680);
    // 1,680 rows: 14 antennas in each of 120 solution intervals (time, field, spw).
    let groups = count(&t.db, "SELECT n_groups FROM calprov_solve_groups");
    assert_eq!(groups, 120);
    let metrics: serde_json::Value =
        serde_json::from_str(&query_text(&t.db, "SELECT quality_metrics FROM caltables")).unwrap();
    let fingerprint = &metrics["fingerprint"];
    assert_eq!(fingerprint["algorithm"], "xxh3-128");
    for column in [
        "TIME",
        "ANTENNA1",
        "ANTENNA2",
        "SPECTRAL_WINDOW_ID",
        "FIELD_ID",
        "SCAN_NUMBER",
        "CPARAM",
        "PARAMERR",
        "SNR",
        "FLAG",
    ] {
        assert!(
            fingerprint["columns"][column]
                .as_str()
                .unwrap()
                .starts_with("xxh3-128:"),
            "{column}: {fingerprint}"
        );
    }
    for subtable in [
        "ANTENNA",
        "FIELD",
        "HISTORY",
        "OBSERVATION",
        "SPECTRAL_WINDOW",
    ] {
        assert!(
            fingerprint["subtables"][subtable]
                .as_str()
                .unwrap()
                .starts_with("xxh3-128:")
        );
    }
}

#[test]
fn flags_edited_in_place() {
    assert_edit_gives("flags", &["flags_edited"]);
}

#[test]
fn a_solution_changed_in_place() {
    assert_edit_gives("cparam", &["solutions_changed"]);
}

#[test]
fn rows_added_at_the_end() {
    assert_edit_gives("append_end", &["rows_appended"]);
}

#[test]
fn rows_appended_and_the_table_resorted_by_time_as_casa_does() {
    assert_edit_gives("append_resorted", &["rows_appended"]);
}

#[test]
fn a_keyword_changed() {
    assert_edit_gives("keyword", &["keywords_changed"]);
}

#[test]
fn a_subtable_row_changed() {
    assert_edit_gives("subtable_row", &["subtables_changed"]);
}

#[test]
fn a_subtable_rewritten_under_another_storage_manager_is_unchanged() {
    assert_edit_gives("subtable_other_manager", &["unchanged"]);
}

#[test]
fn opening_and_closing_with_casacore_changes_nothing() {
    assert_edit_gives("open_close", &["unchanged"]);
}

#[test]
fn a_removed_table_is_missing() {
    let t = tracked_copy();
    std::fs::remove_dir_all(&t.table).unwrap();
    let (verdicts, details, code) = verify_one(&t.db, &t.table);
    assert_eq!(verdicts, ["missing"], "{details}");
    assert_eq!(code, 1);
}

#[test]
fn a_garbled_table_dat_is_unreadable_and_named() {
    let t = tracked_copy();
    std::fs::write(
        Path::new(&t.table).join("table.dat"),
        b"\xbe\xbe not a table",
    )
    .unwrap();
    let (verdicts, details, code) = verify_one(&t.db, &t.table);
    assert_eq!(verdicts, ["unreadable"], "{details}");
    assert!(
        details["reason"].as_str().unwrap().contains("obs_gacal"),
        "{details}"
    );
    assert_eq!(code, 1);
}

#[test]
fn a_table_tracked_without_a_fingerprint_says_so_and_suggests_backfill() {
    let t = tracked_copy();
    let other = Path::new(&t.table).with_file_name("old_gacal");
    copy_dir(&testdata().join("sim_gacal"), &other);
    let other = other.to_string_lossy().into_owned();
    register(&t.db, "obs", &other, "GA", "41");
    let (verdicts, details, _) = verify_one(&t.db, &other);
    assert_eq!(verdicts, ["no_fingerprint"]);
    assert!(
        details["reason"].as_str().unwrap().contains("backfill"),
        "{details}"
    );
}

#[test]
fn verify_all_prints_one_line_per_changed_table_and_a_summary() {
    let t = tracked_copy();
    let second = Path::new(&t.table).with_file_name("obs2_gacal");
    copy_dir(&testdata().join("sim_gacal"), &second);
    let second = second.to_string_lossy().into_owned();
    register(&t.db, "obs", &second, "GA", "41");
    assert!(
        track_gaincal(&t.db, &second, PARAMS, &["--strict"])
            .status
            .success()
    );
    std::fs::remove_dir_all(&second).unwrap();
    for selection in [&["--all"][..], &["--set", "obs"][..]] {
        let mut args = vec!["verify", "--jobs", "2"];
        args.extend_from_slice(selection);
        let out = calprov(&t.db, &args);
        assert_eq!(out.status.code(), Some(1));
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("missing  ") && lines[0].contains("obs2_gacal"),
            "{text}"
        );
        assert_eq!(lines[1], "2 caltables verified: 1 missing, 1 unchanged");
    }
}

#[test]
fn an_unreadable_registry_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.sqlite3");
    std::fs::write(&db, vec![0x42; 8192]).unwrap();
    let out = calprov(&db, &["verify", "--all"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn query_text(db: &Path, sql: &str) -> String {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}
