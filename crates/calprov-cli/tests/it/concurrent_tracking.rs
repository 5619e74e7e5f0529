//! Eight OS processes tracking 500 distinct caltables each into one registry at once.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

const PROCESSES: usize = 8;
const PER_PROCESS: usize = 500;

#[test]
fn eight_processes_track_concurrently_without_lock_failures() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let table = dir.path().join("real_gpcal");
    copy_dir(&testdata().join("sim_gpcal"), &table);
    // 4,000 distinct caltable paths, each a symlink to one real table.
    let links = dir.path().join("cal");
    std::fs::create_dir(&links).unwrap();
    let mut batches: Vec<String> = vec![String::new(); PROCESSES];
    for (p, batch) in batches.iter_mut().enumerate() {
        for i in 0..PER_PROCESS {
            let path = links.join(format!("p{p}_t{i}_gpcal"));
            std::os::unix::fs::symlink(&table, &path).unwrap();
            batch.push_str(&format!(
                "{}\n",
                serde_json::json!({"ms": format!("/data/p{p}_{i}.ms"), "caltable": path, "task": "gaincal", "params": {"vis": format!("/data/p{p}_{i}.ms"), "calmode": "p"}})
            ));
        }
    }
    let out = calprov(
        &db,
        &[
            "register-prefix",
            links.join("p").to_str().unwrap(),
            "--set",
            "conc",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = std::time::Instant::now();
    let children: Vec<_> = batches
        .iter()
        .map(|batch| {
            let mut cmd = Command::new(calprov_bin());
            clean_env(&mut cmd);
            let mut child = cmd
                .arg("--db")
                .arg(&db)
                .args(["track-many", "-", "--strict", "--json"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(batch.as_bytes())
                .unwrap();
            child
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
        assert_eq!(
            stdout_json(&out)["data"]["by_outcome"]["tracked"],
            PER_PROCESS
        );
    }
    let elapsed = started.elapsed();
    let total = (PROCESSES * PER_PROCESS) as i64;
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM caltables WHERE source_ms_path IS NOT NULL AND quality_metrics IS NOT NULL"
        ),
        total
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM caltables WHERE solver_params LIKE '%' || substr(source_ms_path, 7) || '%'"
        ),
        total
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM calprov_tracking_events WHERE outcome = 'tracked'"
        ),
        total
    );
    eprintln!("{total} concurrent trackings by {PROCESSES} processes in {elapsed:?}");
}
