//! A registry on a filesystem that fills up: SQLite maps its wal-index (`-shm`), and on a
//! full filesystem a store into an unbacked page of that mapping is SIGBUS. These tests make
//! the fault real on a loop-mounted ext4 image (1 KiB blocks, the case that crashed) and on a
//! size-limited tmpfs, through the CLI and through an in-process caller, and assert that
//! nothing dies of a signal, a full disk is `registry_full`, nothing stored is lost, and
//! tracking works again once space is freed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};

use calprov_core::{Registry, SolveRecord, TrackConfig, TrackOutcome, track_after_solve};
use serde_json::json;

use crate::faults::{Unmount, snapshot, track_args};
use crate::support::*;

/// A small filesystem mounted for one test, unmounted (and its image removed) on drop.
struct SmallFs {
    mount: PathBuf,
    _unmount: Unmount,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    /// A 4 MiB ext4 image on a loop device: 1 KiB blocks, smaller than a memory page.
    Ext4Image,
    /// A 4 MiB tmpfs.
    Tmpfs,
}

fn mount(kind: Kind) -> SmallFs {
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("mnt");
    std::fs::create_dir(&mount).unwrap();
    let status = match kind {
        Kind::Ext4Image => {
            let image = dir.path().join("fs.img");
            std::fs::File::create(&image)
                .unwrap()
                .set_len(4 << 20)
                .unwrap();
            let mkfs = Command::new("mkfs.ext4")
                .args(["-q", "-F"])
                .arg(&image)
                .status()
                .expect("mkfs.ext4 (e2fsprogs) is needed to make the fault real");
            assert!(mkfs.success(), "mkfs.ext4 failed");
            Command::new("mount")
                .args(["-o", "loop"])
                .arg(&image)
                .arg(&mount)
                .status()
                .unwrap()
        }
        Kind::Tmpfs => Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
            .arg(&mount)
            .status()
            .unwrap(),
    };
    assert!(
        status.success(),
        "mounting a small {kind:?} failed: the full disk cannot be injected"
    );
    SmallFs {
        _unmount: Unmount(mount.clone()),
        mount,
        _dir: dir,
    }
}

/// A WAL registry on `fs` with a few hundred rows and the caltable `gacal` registered.
fn registry_on(fs: &SmallFs) -> (PathBuf, String) {
    let db = fs.mount.join("cal_registry.sqlite3");
    let caltable = fs.mount.join("..").join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &caltable);
    let caltable = std::fs::canonicalize(&caltable)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    register(&db, "s", &caltable, "GA", "40");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..300 {
        tx.execute(
            "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status) \
             VALUES ('s', ?1, 'GA', ?2, 0.0, 'active')",
            rusqlite::params![format!("/c/t{i}"), i],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    (db, caltable)
}

/// Fills `fs` until not one more byte fits; returns the filler files.
fn fill(fs: &Path) -> Vec<PathBuf> {
    let mut fillers = Vec::new();
    for (n, chunk) in [1usize << 16, 4096, 512, 1].into_iter().enumerate() {
        let path = fs.join(format!("filler{n}"));
        let mut file = std::fs::File::create(&path).unwrap();
        while std::io::Write::write_all(&mut file, &vec![0u8; chunk]).is_ok() {}
        fillers.push(path);
    }
    assert!(
        std::fs::write(fs.join("probe"), [0u8; 1]).is_err()
            || std::fs::metadata(fs.join("probe")).is_ok_and(|m| m.len() == 0),
        "the fault is not real: the filesystem still has room"
    );
    let _ = std::fs::remove_file(fs.join("probe"));
    fillers
}

/// Shortens the first filler by `bytes`.
fn free(fillers: &[PathBuf], bytes: u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&fillers[0])
        .unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(bytes)).unwrap();
}

fn integrity_ok(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(verdict, "ok");
}

fn track(db: &Path, caltable: &str, strict: bool) -> Output {
    let mut args = track_args(caltable, r#"{"vis": "/d/obs.ms"}"#);
    if strict {
        args.push("--strict");
    }
    calprov(db, &args)
}

/// Neither a signal nor anything but `registry_full` (or success where there was room).
fn assert_full_or_tracked(out: &Output, strict: bool, context: &str) -> &'static str {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().unwrap_or_else(|| {
        panic!(
            "{context}: calprov died of a signal ({:?}): {stderr}",
            out.status
        )
    });
    if code == 0 && stdout_json(out)["data"]["result"]["outcome"] == "tracked" {
        return "tracked";
    }
    assert!(
        stderr.contains("registry_full"),
        "{context}: not a registry_full failure: {stderr}"
    );
    assert_eq!(code, if strict { 1 } else { 0 }, "{context}: {stderr}");
    "registry_full"
}

/// The sequence that crashed: fill completely, track (plain, strict), free 34 KiB, track
/// both again, then free everything and track.
fn cli_sequence(kind: Kind) {
    let fs = mount(kind);
    let (db, caltable) = registry_on(&fs);
    let before = snapshot(&db);
    let fillers = fill(&fs.mount);
    for strict in [false, true] {
        let outcome = assert_full_or_tracked(&track(&db, &caltable, strict), strict, "full");
        assert_eq!(
            outcome, "registry_full",
            "{kind:?}: a full disk took a write"
        );
    }
    assert_eq!(snapshot(&db), before, "{kind:?}: stored rows changed");
    free(&fillers, 34 * 1024);
    for strict in [false, true] {
        assert_full_or_tracked(&track(&db, &caltable, strict), strict, "34 KiB freed");
    }
    for filler in &fillers {
        std::fs::remove_file(filler).unwrap();
    }
    let outcome = assert_full_or_tracked(&track(&db, &caltable, true), true, "freed");
    assert_eq!(outcome, "tracked", "{kind:?}: tracking does not work again");
    integrity_ok(&db);
    // Row 1 is the tracked caltable; the 300 others are exactly as they were.
    let after = snapshot(&db);
    assert_eq!(after.len(), before.len());
    assert_eq!(after[1..], before[1..]);
}

#[test]
fn cli_on_a_full_ext4_image() {
    cli_sequence(Kind::Ext4Image);
}

#[test]
fn cli_on_a_full_tmpfs() {
    cli_sequence(Kind::Tmpfs);
}

/// A pipeline that links calprov-core keeps tracking while another writer fills the disk:
/// every call returns (tracked or registry_full), then works again once space is freed.
fn in_process_while_filling(kind: Kind) {
    let fs = mount(kind);
    let (db, caltable) = registry_on(&fs);
    let solve = SolveRecord {
        ms: "/d/obs.ms".into(),
        caltable: caltable.clone(),
        task: "gaincal".into(),
        params: json!({"vis": "/d/obs.ms", "solint": "int"}),
        solver_version: Some("6.7.0.31".into()),
        solver_command: None,
    };
    let config = TrackConfig::default();
    let mut registry = Registry::open(&db).unwrap();
    let filled = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(2));
    let filler = {
        let (mount, filled, start) = (fs.mount.clone(), filled.clone(), start.clone());
        std::thread::spawn(move || {
            start.wait();
            let fillers = fill(&mount);
            filled.store(true, Ordering::SeqCst);
            fillers
        })
    };
    start.wait();
    let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
    let mut record = |outcome: &TrackOutcome| {
        let key = match outcome {
            TrackOutcome::Failed { kind, .. } => kind.name().to_owned(),
            other => other.name().to_owned(),
        };
        *outcomes.entry(key).or_default() += 1;
    };
    let mut after_full = 0;
    while after_full < 20 {
        if filled.load(Ordering::SeqCst) {
            after_full += 1;
        }
        record(&track_after_solve(&mut registry, &solve, &config));
        record(&calprov_core::track_after_solve_at(&db, &solve, &config));
    }
    let fillers = filler.join().unwrap();
    for filler in &fillers {
        std::fs::remove_file(filler).unwrap();
    }
    for name in outcomes.keys() {
        assert!(
            name == "tracked" || name == "registry_full",
            "{kind:?}: unexpected outcome while filling: {outcomes:?}"
        );
    }
    assert!(
        outcomes.get("registry_full").copied().unwrap_or(0) >= 20,
        "{kind:?}: the full disk was never met: {outcomes:?}"
    );
    for _ in 0..5 {
        let again = track_after_solve(&mut registry, &solve, &config);
        assert!(
            matches!(again, TrackOutcome::Tracked(_)),
            "{kind:?}: after freeing: {again:?}"
        );
    }
    drop(registry);
    integrity_ok(&db);
}

#[test]
fn in_process_tracking_while_an_ext4_image_fills() {
    in_process_while_filling(Kind::Ext4Image);
}

#[test]
fn in_process_tracking_while_a_tmpfs_fills() {
    in_process_while_filling(Kind::Tmpfs);
}
