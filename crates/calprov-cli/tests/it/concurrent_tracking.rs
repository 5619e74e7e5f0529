//! OS processes tracking 500 distinct caltables each (and recording an application after
//! every tenth) into one registry at once: 8 on an SQLite file (one host), 32 on PostgreSQL
//! (the many nodes it is for).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::support::*;

const PER_PROCESS: usize = 500;
/// One application after every this many solves.
const APPLY_EVERY: usize = 10;

#[test]
fn processes_track_and_apply_concurrently_without_lock_failures() {
    for backend in backends("concurrent") {
        concurrent(&backend, if backend.name == "postgres" { 32 } else { 8 });
    }
}

#[allow(clippy::print_stderr)]
fn concurrent(backend: &Backend, processes: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.db.clone();
    let table = dir.path().join("real_gpcal");
    copy_dir(&testdata().join("sim_gpcal"), &table);
    // 4,000 distinct caltable paths, each a symlink to one real table.
    let links = dir.path().join("cal");
    std::fs::create_dir(&links).unwrap();
    let mut batches: Vec<String> = vec![String::new(); processes];
    for (p, batch) in batches.iter_mut().enumerate() {
        for i in 0..PER_PROCESS {
            let path = links.join(format!("p{p}_t{i}_gpcal"));
            std::os::unix::fs::symlink(&table, &path).unwrap();
            batch.push_str(&format!(
                "{}\n",
                serde_json::json!({"ms": format!("/data/p{p}_{i}.ms"), "caltable": path, "task": "gaincal", "params": {"vis": format!("/data/p{p}_{i}.ms"), "calmode": "p"}})
            ));
            if i % APPLY_EVERY == APPLY_EVERY - 1 {
                batch.push_str(&format!(
                    "{}\n",
                    serde_json::json!({"task": "applycal", "ms": format!("/data/target_p{p}_{i}.ms"), "params": {"vis": format!("/data/target_p{p}_{i}.ms"), "gaintable": [path]}})
                ));
            }
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
            PER_PROCESS + PER_PROCESS / APPLY_EVERY,
            "{}",
            backend.name
        );
    }
    let elapsed = started.elapsed();
    let total = (processes * PER_PROCESS) as i64;
    let applications = total / APPLY_EVERY as i64;
    assert_eq!(
        backend.count(
            "SELECT count(*) FROM caltables WHERE source_ms_path IS NOT NULL AND quality_metrics IS NOT NULL"
        ),
        total
    );
    assert_eq!(
        backend.count(
            "SELECT count(*) FROM caltables WHERE solver_params LIKE '%' || substr(source_ms_path, 7) || '%'"
        ),
        total
    );
    assert_eq!(
        backend.count("SELECT count(*) FROM calprov_tracking_events WHERE outcome = 'tracked'"),
        total + applications
    );
    assert_eq!(backend.count("SELECT count(*) FROM calprov_solves"), total);
    // Every application pinned the solve of the table it applied.
    assert_eq!(
        backend.count(
            "SELECT count(*) FROM calprov_application_tables t JOIN calprov_solves s ON s.id = t.solve_id \
             WHERE s.caltable_path = t.caltable_path"
        ),
        applications
    );
    eprintln!(
        "{} {total} concurrent trackings and {applications} applications by {processes} processes in {elapsed:?}",
        backend.name
    );
}
