//! The Python pipeline's own access pattern (sqlite3 + json, standard library only) on
//! registries calprov adopted and wrote.

use std::process::Command;

use crate::support::calprov_bin;

#[test]
fn python_pipeline_reads_and_writes_registries_calprov_adopted() {
    let work = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/pipeline_client.py"
    );
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(calprov_bin())
        .arg(work.path())
        .arg("500");
    crate::support::clean_env(&mut cmd);
    let out = cmd
        .output()
        .expect("python3 must be installed to run the compatibility test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all python compatibility checks passed"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("ok adoption").count(), 4, "{stdout}");
}

/// calprov's SQLite is built without FTS3/FTS5 and R-tree (`.cargo/config.toml`). A registry
/// that another tool gave such a table (here Python's sqlite3, which has FTS5) still opens,
/// migrates and tracks, and the table is left as it was.
#[test]
fn a_registry_holding_a_full_text_table_still_opens_and_tracks() {
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("registry.sqlite3");
    crate::support::create_shape(&db, crate::support::Shape::Legacy, 3);
    let python = |code: &str| {
        let out = Command::new("python3")
            .arg("-c")
            .arg(code)
            .arg(&db)
            .output()
            .expect("python3 must be installed to run the compatibility test");
        assert!(
            out.status.success(),
            "python3 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    python(
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
         c.execute('CREATE VIRTUAL TABLE notes USING fts5(body)'); \
         c.execute(\"INSERT INTO notes VALUES ('bandpass re-solved after RFI')\"); c.commit()",
    );
    let caltable = work.path().join("obs_gacal");
    crate::support::copy_dir(&crate::support::testdata().join("sim_gacal"), &caltable);
    let caltable = caltable.to_str().unwrap();
    crate::support::register(&db, "obs", caltable, "GA", "40");
    let out = crate::support::track_gaincal(
        &db,
        caltable,
        r#"{"vis": "/data/obs.ms", "solint": "int"}"#,
        &["--strict"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = python(
        "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); \
         print(c.execute('PRAGMA integrity_check').fetchone()[0], \
         c.execute(\"SELECT count(*) FROM notes WHERE notes MATCH 'bandpass'\").fetchone()[0], \
         c.execute('SELECT count(*) FROM caltables WHERE source_ms_path IS NOT NULL').fetchone()[0])",
    );
    assert_eq!(found, "ok 1 1");
}
