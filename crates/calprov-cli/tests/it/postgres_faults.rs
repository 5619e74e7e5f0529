//! A PostgreSQL server that dies in the middle of a batch: a cluster of this test's own
//! (`.ci/postgres` with `CALPROV_PG_INSTANCE=fault`), stopped as a crash would stop it
//! (`pg_ctl stop -m immediate`) while `calprov track-many` is writing, then started again.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::support::*;

const INSTANCE: &str = "fault";
const PORT: &str = "54339";

/// The fault cluster, stopped when the test ends however it ends.
struct FaultServer;

impl FaultServer {
    fn script(command: &str) -> String {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres");
        let out = Command::new(script)
            .arg(command)
            .env("CALPROV_PG_INSTANCE", INSTANCE)
            .env("CALPROV_PG_PORT", PORT)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        Self::script("stop");
    }
}

fn events(url: &str) -> i64 {
    Client::connect(url, NoTls)
        .and_then(|mut c| c.query_one("SELECT count(*) FROM calprov_tracking_events", &[]))
        .map(|row| row.get(0))
        .unwrap_or(-1)
}

#[test]
#[allow(clippy::print_stderr)]
fn a_server_stopped_mid_batch_fails_calls_during_the_outage_and_applies_no_half_batch() {
    // Only where the PostgreSQL tests run (CI requires them).
    if PgDatabase::fresh("fault_probe").is_none() {
        return;
    }
    let _server = FaultServer;
    let admin_url = FaultServer::script("start");
    let mut admin = Client::connect(&admin_url, NoTls).unwrap();
    admin
        .batch_execute("DROP DATABASE IF EXISTS fault WITH (FORCE)")
        .unwrap();
    admin.batch_execute("CREATE DATABASE fault").unwrap();
    drop(admin);
    let url = format!("{}/fault", admin_url.rsplit_once('/').unwrap().0);
    let db = PathBuf::from(&url);

    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("real_gpcal");
    copy_dir(&testdata().join("sim_gpcal"), &table);
    let links = dir.path().join("cal");
    std::fs::create_dir(&links).unwrap();
    let lines: Vec<String> = (0..300)
        .map(|i| {
            let path = links.join(format!("f_t{i:03}_gpcal"));
            std::os::unix::fs::symlink(&table, &path).unwrap();
            format!(
                "{}\n",
                serde_json::json!({"ms": "/data/f.ms", "caltable": path, "task": "gaincal",
                                   "params": {"vis": "/data/f.ms", "calmode": "p"}})
            )
        })
        .collect();
    ok(calprov(
        &db,
        &[
            "register-prefix",
            links.join("f").to_str().unwrap(),
            "--set",
            "fault",
        ],
    ));

    let mut cmd = Command::new(calprov_bin());
    clean_env(&mut cmd);
    let mut child = cmd
        .arg("--db")
        .arg(&db)
        .args(["--busy-timeout", "2", "track-many", "-", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Before: 100 solves, all recorded.
    for line in &lines[..100] {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    let waited = Instant::now();
    while events(&url) < 100 {
        assert!(
            waited.elapsed() < Duration::from_secs(60),
            "the batch stalled"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The outage: the server dies while the batch keeps coming.
    FaultServer::script("kill");
    for line in &lines[100..200] {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // After: the server is back; the same process reconnects.
    FaultServer::script("start");
    for line in &lines[200..] {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    drop(stdin);
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "the batch hung after the outage"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let summary = stdout_json(&out)["data"].clone();
    let tracked = summary["by_outcome"]["tracked"].as_i64().unwrap_or(0);
    let failed = summary["by_outcome"]["failed"].as_i64().unwrap_or(0);
    eprintln!("fault: {summary}");
    assert_eq!(tracked + failed, 300, "{summary}");
    assert!(
        tracked >= 200,
        "the calls before and after the outage: {summary}"
    );
    assert!(failed >= 1, "the outage failed no call: {summary}");
    assert!(
        stderr.contains("server_unreachable") || stderr.contains("connection_lost"),
        "{stderr}"
    );

    // Nothing half-applied: every solve has its provenance and its event, and no call
    // left one without the other.
    let mut client = Client::connect(&url, NoTls).unwrap();
    let mut one = |sql: &str| -> i64 { client.query_one(sql, &[]).unwrap().get(0) };
    let solves = one("SELECT count(*) FROM calprov_solves");
    let with_provenance = one("SELECT count(*) FROM caltables WHERE quality_metrics IS NOT NULL");
    let tracked_events =
        one("SELECT count(*) FROM calprov_tracking_events WHERE outcome = 'tracked'");
    let groups = one("SELECT count(*) FROM calprov_solve_groups");
    let orphans = one(
        "SELECT count(*) FROM caltables c WHERE c.quality_metrics IS NOT NULL \
         AND NOT EXISTS (SELECT 1 FROM calprov_solves s WHERE s.caltable_path = c.path)",
    );
    assert_eq!(solves, tracked_events);
    assert_eq!(solves, groups);
    assert_eq!(with_provenance, solves);
    assert_eq!(orphans, 0);
    // A commit whose answer the outage swallowed is recorded, not reported: the registry
    // holds at least what the batch reported.
    assert!(solves >= tracked, "{solves} solves, {tracked} reported");
    // And tracking works after: the failed ones, tracked now by a new process.
    let retried = ok(calprov(
        &db,
        &[
            "track",
            "--caltable",
            links.join("f_t150_gpcal").to_str().unwrap(),
            "--ms",
            "/data/f.ms",
            "--task",
            "gaincal",
            "--params",
            r#"{"vis": "/data/f.ms", "calmode": "p"}"#,
            "--strict",
        ],
    ));
    assert!(retried.status.success());
}
