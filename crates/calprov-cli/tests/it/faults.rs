//! Fault injection: each fault is made real (and checked to be real) before calprov meets
//! it. Every case asserts the tracking outcome, that the CLI without `--strict` exits 0 with a
//! warning, and that nothing stored before is lost or changed.
//!
//! Permission faults run calprov as the unprivileged user `nobody` (through `setpriv`):
//! CI runs as root, and file permissions do not stop root.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::support::*;

const NOBODY: &str = "65534";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
    caltable: String,
}

/// A registry with two registered caltables (one real, with provenance already recorded).
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let reg_dir = root.join("registry");
    std::fs::create_dir(&reg_dir).unwrap();
    let db = reg_dir.join("cal_registry.sqlite3");
    let caltable = root.join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &caltable);
    make_world_readable(&caltable);
    let caltable = caltable.to_string_lossy().into_owned();
    register(&db, "s", &caltable, "GA", "40");
    register(&db, "s", "/c/earlier_kcal", "K", "10");
    let out = calprov(
        &db,
        &[
            "track",
            "--caltable",
            "/c/earlier_kcal",
            "--ms",
            "/d/earlier.ms",
            "--solver-version",
            "6.7.0-31",
            "--params",
            r#"{"vis": "/d/earlier.ms"}"#,
        ],
    );
    assert!(out.status.success());
    Fixture {
        _dir: dir,
        root,
        db,
        caltable,
    }
}

fn make_world_readable(path: &Path) {
    for entry in std::fs::read_dir(path).unwrap() {
        let entry = entry.unwrap();
        let mode = if entry.file_type().unwrap().is_dir() {
            0o755
        } else {
            0o644
        };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        if entry.file_type().unwrap().is_dir() {
            make_world_readable(&entry.path());
        }
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every row of `caltables`, committed WAL frames included, read without locking or
/// creating any file next to the registry: the database and its WAL are copied aside and the
/// copy is read (SQLite replays the copied WAL).
pub(crate) fn snapshot(db: &Path) -> Vec<String> {
    let aside = tempfile::tempdir().unwrap();
    let copy = aside.path().join("copy.sqlite3");
    std::fs::copy(db, &copy).unwrap();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if wal.exists() {
        std::fs::copy(&wal, format!("{}-wal", copy.display())).unwrap();
    }
    let conn = rusqlite::Connection::open(&copy).unwrap();
    let mut stmt = conn.prepare("SELECT * FROM caltables ORDER BY id").unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |row| {
        let values: Vec<String> = (0..n)
            .map(|i| format!("{:?}", row.get_ref(i).unwrap()))
            .collect();
        Ok(values.join("|"))
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

pub(crate) fn track_args<'a>(caltable: &'a str, params: &'a str) -> Vec<&'a str> {
    vec![
        "track",
        "--caltable",
        caltable,
        "--ms",
        "/d/obs.ms",
        "--task",
        "gaincal",
        "--params",
        params,
        "--json",
        "--busy-timeout",
        "0.5",
    ]
}

/// Runs calprov, as `nobody` when asked.
fn run(db: &Path, args: &[&str], as_nobody: bool) -> Output {
    let mut cmd = if as_nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid", NOBODY, "--regid", NOBODY, "--clear-groups"])
            .arg(calprov_bin());
        c
    } else {
        Command::new(calprov_bin())
    };
    clean_env(&mut cmd);
    cmd.env("HOME", "/nonexistent");
    cmd.arg("--db").arg(db).args(args).output().unwrap()
}

/// Asserts the non-strict CLI contract and returns the tracking result document.
fn expect_outcome(out: &Output, outcome: &str, kind: Option<&str>) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "without --strict the CLI exits 0: {stderr}"
    );
    let doc = stdout_json(out);
    let result = doc["data"]["result"].clone();
    assert_eq!(result["outcome"], outcome, "{result}\n{stderr}");
    if let Some(kind) = kind {
        assert_eq!(result["kind"], kind, "{result}\n{stderr}");
    }
    if outcome != "tracked" {
        assert!(stderr.contains("warning"), "no warning on stderr: {stderr}");
    }
    result
}

fn shell_as_nobody(test: &str, path: &Path) -> bool {
    Command::new("setpriv")
        .args([
            "--reuid",
            NOBODY,
            "--regid",
            NOBODY,
            "--clear-groups",
            "test",
            test,
        ])
        .arg(path)
        .status()
        .unwrap()
        .success()
}

#[test]
fn read_only_registry_file() {
    let f = fixture();
    std::fs::set_permissions(
        f.db.parent().unwrap(),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    std::fs::set_permissions(&f.db, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert!(
        !shell_as_nobody("-w", &f.db),
        "the fault is not real: nobody can write the registry"
    );
    let before = snapshot(&f.db);
    let out = run(&f.db, &track_args(&f.caltable, "{}"), true);
    expect_outcome(&out, "failed", Some("registry_read_only"));
    assert_eq!(snapshot(&f.db), before);
}

#[test]
fn read_only_registry_directory() {
    let f = fixture();
    std::fs::set_permissions(&f.db, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(
        f.db.parent().unwrap(),
        std::fs::Permissions::from_mode(0o555),
    )
    .unwrap();
    assert!(
        shell_as_nobody("-w", &f.db) && !shell_as_nobody("-w", f.db.parent().unwrap()),
        "the fault is not real"
    );
    let before = snapshot(&f.db);
    let out = run(&f.db, &track_args(&f.caltable, "{}"), true);
    expect_outcome(&out, "failed", Some("registry_read_only"));
    assert_eq!(snapshot(&f.db), before);
    std::fs::set_permissions(
        f.db.parent().unwrap(),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

#[test]
fn another_process_holds_the_write_lock() {
    let f = fixture();
    let before = snapshot(&f.db);
    let mut holder = Command::new("python3")
        .args(["-c", "import sqlite3, sys, time\nc = sqlite3.connect(sys.argv[1], isolation_level=None)\nc.execute('BEGIN IMMEDIATE')\nprint('holding', flush=True)\ntime.sleep(4)\nc.execute('ROLLBACK')"])
        .arg(&f.db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "holding", "the lock holder did not start");
    let started = std::time::Instant::now();
    let out = run(&f.db, &track_args(&f.caltable, "{}"), false);
    // One busy timeout (0.5 s) bounds the whole call, the failure event's attempt included:
    // at most the timeout plus 0.5 s.
    let elapsed = started.elapsed();
    assert!(
        elapsed <= std::time::Duration::from_millis(1000),
        "waited {elapsed:?}: more than one busy timeout"
    );
    let result = expect_outcome(&out, "failed", Some("registry_locked"));
    assert!(
        result["message"].as_str().unwrap().contains("locked"),
        "{result}"
    );
    holder.wait().unwrap();
    assert_eq!(snapshot(&f.db), before);
}

#[test]
fn disk_full() {
    let f = fixture();
    let mount = f.root.join("small_fs");
    std::fs::create_dir(&mount).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mount)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "mounting a small tmpfs failed: disk-full cannot be injected"
    );
    let guard = Unmount(mount.clone());
    let db = mount.join("cal_registry.sqlite3");
    std::fs::copy(&f.db, &db).unwrap();
    // Fill the filesystem until nothing more fits.
    let filler = mount.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 1 << 20]);
    let mut extra = 0;
    while std::fs::OpenOptions::new()
        .append(true)
        .open(&filler)
        .and_then(|mut file| std::io::Write::write_all(&mut file, &[0u8; 512]))
        .is_ok()
    {
        extra += 1;
        assert!(extra < 10_000);
    }
    assert!(
        std::fs::write(mount.join("probe"), [0u8; 4096]).is_err(),
        "the fault is not real: the filesystem still has room"
    );
    let _ = std::fs::remove_file(mount.join("probe"));
    let before = snapshot(&db);
    let big = format!(
        r#"{{"vis": "/d/obs.ms", "notes": "{}"}}"#,
        "x".repeat(60_000)
    );
    let out = run(&db, &track_args(&f.caltable, &big), false);
    expect_outcome(&out, "failed", Some("registry_full"));
    assert_eq!(snapshot(&db), before);
    drop(guard);
}

pub(crate) struct Unmount(pub(crate) PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn registry_path_is_a_directory_not_sqlite_or_truncated() {
    let f = fixture();
    let dir_path = f.root.join("a_directory");
    std::fs::create_dir(&dir_path).unwrap();
    expect_outcome(
        &run(&dir_path, &track_args(&f.caltable, "{}"), false),
        "failed",
        Some("registry_unavailable"),
    );

    let text = f.root.join("notes.txt");
    let content = b"operator notes, not a database; they must survive untouched\n".repeat(50);
    std::fs::write(&text, &content).unwrap();
    expect_outcome(
        &run(&text, &track_args(&f.caltable, "{}"), false),
        "failed",
        Some("registry_unavailable"),
    );
    assert_eq!(std::fs::read(&text).unwrap(), content);

    let truncated = f.root.join("truncated.sqlite3");
    let bytes = std::fs::read(&f.db).unwrap();
    assert!(bytes.len() > 8192);
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let out = run(&truncated, &track_args(&f.caltable, "{}"), false);
    expect_outcome(&out, "failed", Some("registry_unavailable"));
}

#[test]
fn caltable_missing_unreadable_or_damaged_is_partial() {
    let f = fixture();
    let before_other = snapshot(&f.db)
        .into_iter()
        .filter(|r| r.contains("earlier_kcal"))
        .collect::<Vec<_>>();
    // Missing.
    let missing = f.root.join("missing_gacal").to_string_lossy().into_owned();
    register(&f.db, "s", &missing, "GA", "40");
    let r = expect_outcome(
        &run(&f.db, &track_args(&missing, "{}"), false),
        "partial",
        None,
    );
    assert!(
        r["missing"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("does not exist"),
        "{r}"
    );
    // Unreadable, for a user who cannot read it.
    let locked = f.root.join("locked_gacal");
    copy_dir(&testdata().join("sim_gacal"), &locked);
    make_world_readable(&locked);
    std::fs::set_permissions(
        locked.join("table.dat"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    assert!(
        !shell_as_nobody("-r", &locked.join("table.dat")),
        "the fault is not real"
    );
    let locked = locked.to_string_lossy().into_owned();
    register(&f.db, "s", &locked, "GA", "40");
    std::fs::set_permissions(
        f.db.parent().unwrap(),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    std::fs::set_permissions(&f.db, std::fs::Permissions::from_mode(0o666)).unwrap();
    let r = expect_outcome(
        &run(&f.db, &track_args(&locked, "{}"), true),
        "partial",
        None,
    );
    assert!(
        r["missing"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{r}"
    );
    // Damaged.
    let damaged = f.root.join("damaged_gacal");
    copy_dir(&testdata().join("sim_gacal"), &damaged);
    std::fs::write(damaged.join("table.f0i"), b"garbage").unwrap();
    let damaged = damaged.to_string_lossy().into_owned();
    register(&f.db, "s", &damaged, "GA", "40");
    let r = expect_outcome(
        &run(&f.db, &track_args(&damaged, "{}"), false),
        "partial",
        None,
    );
    assert!(r["missing"][0]["what"] == "quality_metrics", "{r}");
    // Everything else was still recorded, and the other rows are untouched.
    let shown = stdout_json(&calprov(&f.db, &["show", &damaged, "--json"]))["data"].clone();
    assert_eq!(shown["source_ms_path"], "/d/obs.ms");
    assert!(
        shown["solver_command"]
            .as_str()
            .unwrap()
            .starts_with("gaincal(")
    );
    let after_other = snapshot(&f.db)
        .into_iter()
        .filter(|r| r.contains("earlier_kcal"))
        .collect::<Vec<_>>();
    assert_eq!(after_other, before_other);
}

#[test]
fn hostile_params() {
    let f = fixture();
    let before = snapshot(&f.db);
    // Keys that are not identifiers, and nesting past the renderer's limit: refused.
    let bad_key = r#"{"vis); import os; os.system('x') #": 1}"#;
    expect_outcome(
        &run(&f.db, &track_args(&f.caltable, bad_key), false),
        "failed",
        Some("invalid_params"),
    );
    let deep = format!(r#"{{"x": {}1{}}}"#, "[".repeat(100), "]".repeat(100));
    expect_outcome(
        &run(&f.db, &track_args(&f.caltable, &deep), false),
        "failed",
        Some("invalid_params"),
    );
    assert_eq!(
        snapshot(&f.db),
        before,
        "a refused call changed the registry"
    );
    // Non-finite floats (Python's json.dumps tokens): stored as documented strings.
    let nonfinite = r#"{"vis": "/d/obs.ms", "uvrange": NaN, "minsnr": Infinity, "x": -Infinity}"#;
    expect_outcome(
        &run(&f.db, &track_args(&f.caltable, nonfinite), false),
        "tracked",
        None,
    );
    let shown = stdout_json(&calprov(&f.db, &["show", &f.caltable, "--json"]))["data"].clone();
    assert_eq!(shown["solver_params"]["uvrange"], "NaN");
    assert_eq!(shown["solver_params"]["x"], "-Infinity");
    // Enormous (past the 64 KiB cap; an argument cannot exceed 128 KiB): shortened, valid,
    // and says what was shortened.
    let huge = format!(
        r#"{{"vis": "/d/obs.ms", "antenna": "{}", "spw": "0"}}"#,
        "a".repeat(100_000)
    );
    let r = expect_outcome(
        &run(&f.db, &track_args(&f.caltable, &huge), false),
        "tracked",
        None,
    );
    assert_eq!(r["shortened_params"], serde_json::json!(["antenna"]));
    let shown = stdout_json(&calprov(&f.db, &["show", &f.caltable, "--json"]))["data"].clone();
    assert_eq!(
        shown["solver_params"]["_calprov_shortened"],
        serde_json::json!(["antenna"])
    );
    assert_eq!(shown["solver_params"]["spw"], "0");
    assert!(shown["solver_command"].as_str().unwrap().len() <= 10 * 1024);
    assert!(
        shown["solver_command"]
            .as_str()
            .unwrap()
            .contains("truncated")
    );
    // The earlier row is untouched throughout.
    let other = |s: Vec<String>| {
        s.into_iter()
            .filter(|r| r.contains("earlier_kcal"))
            .collect::<Vec<_>>()
    };
    assert_eq!(other(snapshot(&f.db)), other(before));
}
