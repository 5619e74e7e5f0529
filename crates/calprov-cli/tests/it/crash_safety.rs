//! SIGKILL in the middle of registrations and tracking, many times at random points: the
//! registry stays intact, every committed batch is complete and none is half-applied.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::*;

const TRIALS: usize = 30;
const BATCH: usize = 150;

#[test]
fn killed_writers_leave_no_half_applied_batch() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    assert!(calprov(&db, &["init"]).status.success());
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut killed = 0;
    for trial in 0..TRIALS {
        // A batch: BATCH caltable directories registered by one register-prefix call (one
        // transaction), while another process tracks the previous batch's tables one by one.
        let batch_dir = dir.path().join(format!("b{trial}"));
        std::fs::create_dir(&batch_dir).unwrap();
        for i in 0..BATCH {
            std::fs::create_dir(batch_dir.join(format!("obs_{i:03}_gacal"))).unwrap();
        }
        let mut register = Command::new(calprov_bin());
        clean_env(&mut register);
        let mut register = register
            .arg("--db")
            .arg(&db)
            .args([
                "register-prefix",
                batch_dir.join("obs_").to_str().unwrap(),
                "--set",
                &format!("batch{trial}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut tracker = Command::new(calprov_bin());
        clean_env(&mut tracker);
        let mut tracker = tracker
            .arg("--db")
            .arg(&db)
            .args(["track-many", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        if trial > 0 {
            let mut lines = String::new();
            for i in 0..BATCH {
                let caltable = dir.path().join(format!("b{}/obs_{i:03}_gacal", trial - 1));
                lines.push_str(&format!(
                    "{}\n",
                    serde_json::json!({"ms": format!("/d/t{trial}.ms"), "caltable": caltable, "task": "gaincal", "params": {"vis": format!("/d/t{trial}.ms")}})
                ));
            }
            let _ = tracker.stdin.take().unwrap().write_all(lines.as_bytes());
        } else {
            drop(tracker.stdin.take());
        }
        std::thread::sleep(Duration::from_millis(random(40)));
        for child in [&mut register, &mut tracker] {
            if child.try_wait().unwrap().is_none() {
                killed += 1;
            }
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
        }
    }
    assert!(
        killed >= TRIALS / 2,
        "only {killed} processes were killed mid-way: the test did not test"
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"
        ),
        0
    );
    let conn = rusqlite::Connection::open(&db).unwrap();
    for trial in 0..TRIALS {
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM caltables WHERE set_name = ?1",
                [format!("batch{trial}")],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            n == 0 || n == BATCH as i64,
            "batch {trial} is half-applied: {n} of {BATCH} rows"
        );
    }
    // Tracking: a caltable has provenance exactly when its tracking event was recorded
    // (both are written in one transaction).
    let orphans: i64 = conn
        .query_row(
            "SELECT count(*) FROM caltables c WHERE (c.source_ms_path IS NOT NULL) != \
             EXISTS(SELECT 1 FROM calprov_tracking_events e WHERE e.caltable_path = c.path AND e.outcome IN ('tracked', 'partial'))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "provenance and events disagree");
    eprintln!("{TRIALS} trials, {killed} processes killed mid-write; registry intact");
}
