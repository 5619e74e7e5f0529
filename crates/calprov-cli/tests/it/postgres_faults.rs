//! A PostgreSQL server's faults, made real: a server that dies in the middle of a batch (a
//! cluster of this test's own, `.ci/postgres` with `CALPROV_PG_INSTANCE=fault`, stopped as a
//! crash would stop it, `pg_ctl stop -m immediate`, while `calprov track-many` is writing,
//! then started again); a server whose disk is full (the history's tablespace on a 1 MiB
//! tmpfs, filled to the brim).

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use postgres::{Client, NoTls};

use crate::support::*;

const INSTANCE: &str = "fault";
const PORT: &str = "54339";

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
    let (server, admin_url) = PgCluster::start(INSTANCE, PORT);
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
    server.script("kill");
    for line in &lines[100..200] {
        stdin.write_all(line.as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // After: the server is back; the same process reconnects.
    server.script("start");
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

/// A tablespace on a small tmpfs, as a server's full disk: unmounted on drop (after the
/// tablespace and the database in it are gone: declared after them, dropped before).
struct FullDisk {
    mount: PathBuf,
    _dir: tempfile::TempDir,
}

impl FullDisk {
    /// A 1 MiB tmpfs owned by the server's user (the owner of its data directory).
    fn mount(admin: &mut Client) -> Self {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let data: String = admin
            .query_one("SELECT current_setting('data_directory')", &[])
            .unwrap()
            .get(0);
        let owner = std::fs::metadata(&data).unwrap().uid();
        let dir = tempfile::tempdir().unwrap();
        // The server's user must reach the mount point.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mount = dir.path().join("tablespace");
        std::fs::create_dir(&mount).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o"])
            .arg(format!("size=1m,mode=0700,uid={owner}"))
            .arg("tmpfs")
            .arg(&mount)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a small tmpfs failed: the server's full disk cannot be injected"
        );
        Self { mount, _dir: dir }
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.mount).status();
    }
}

/// The database and the tablespace of the test, dropped however it ends.
struct Tablespace {
    admin_url: String,
    database: String,
}

impl Drop for Tablespace {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.database
            ));
            let _ = admin.batch_execute("DROP TABLESPACE IF EXISTS calprov_full");
        }
    }
}

/// Tracks a gaincal of `caltable` with solution interval `solint` (each call's provenance
/// its own); the result.
fn track_json(db: &std::path::Path, caltable: &str, solint: usize) -> serde_json::Value {
    let params = serde_json::json!({"vis": "/data/obs.ms", "caltable": caltable, "gaintype": "G",
                                    "solint": format!("{solint}s")});
    let out = track_gaincal(db, caltable, &params.to_string(), &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    stdout_json(&out)["data"]["result"].clone()
}

#[test]
fn a_full_disk_on_the_server_fails_the_call_as_registry_full_and_loses_nothing() {
    let Some(pg) = PgDatabase::fresh("server_disk_full") else {
        return;
    };
    let mut admin = Client::connect(&pg.admin_url(), NoTls).unwrap();
    // Declared in this order, dropped in the reverse: database and tablespace, then the fs.
    let disk = FullDisk::mount(&mut admin);
    let _tablespace = Tablespace {
        admin_url: pg.admin_url(),
        database: pg.name.clone(),
    };
    admin
        .batch_execute("DROP TABLESPACE IF EXISTS calprov_full")
        .unwrap();
    admin
        .batch_execute(&format!(
            "CREATE TABLESPACE calprov_full LOCATION '{}'",
            disk.mount.display()
        ))
        .unwrap();
    let db = PathBuf::from(&pg.url);
    let dir = tempfile::tempdir().unwrap();
    let caltable = dir.path().join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &caltable);
    let caltable = caltable.to_string_lossy().into_owned();
    register(&db, "obs", &caltable, "GA", "40");
    assert_eq!(track_json(&db, &caltable, 1)["outcome"], "tracked");

    // The history of solves moves to the small disk, which a filler then fills to the brim.
    let mut client = pg.client();
    client
        .batch_execute(
            "ALTER TABLE calprov_solves SET TABLESPACE calprov_full; \
             ALTER TABLE calprov_solves SET (fillfactor = 10); \
             CREATE TABLE filler (x TEXT) TABLESPACE calprov_full; \
             ALTER TABLE filler ALTER COLUMN x SET STORAGE PLAIN",
        )
        .unwrap();
    let filled = (0..1000).find(|_| {
        client
            .execute("INSERT INTO filler SELECT repeat('x', 4000)", &[])
            .is_err()
    });
    assert!(filled.is_some(), "the small disk never filled");
    // Tracking goes on until a solve finds no room (its page's free space runs out first).
    let provenance = |client: &mut Client| -> Option<String> {
        client
            .query_one(
                "SELECT solver_command FROM caltables WHERE path = $1",
                &[&caltable],
            )
            .unwrap()
            .get(0)
    };
    let mut attempts = 0;
    let (full, solves_before, provenance_before) = loop {
        let solves = pg_count(&mut client, "calprov_solves");
        let before = provenance(&mut client);
        let result = track_json(&db, &caltable, attempts + 2);
        if result["outcome"] != "tracked" {
            break (result, solves, before);
        }
        attempts += 1;
        assert!(attempts < 50, "the full disk never failed a call");
    };
    // Full: the call fails as registry_full, and nothing of it is half-written.
    assert_eq!(full["outcome"], "failed", "{full}");
    assert_eq!(full["kind"], "registry_full", "{full}");
    assert_eq!(pg_count(&mut client, "calprov_solves"), solves_before);
    let provenance_after = provenance(&mut client);
    assert_eq!(
        provenance_after, provenance_before,
        "provenance half-written"
    );
    // Recorded and counted (the events are on the server's other disk).
    let stats = stdout_json(&ok(calprov(&db, &["stats", "--json"])));
    assert_eq!(
        stats["data"]["by_failure_kind"]["registry_full"], 1,
        "{stats}"
    );

    // Room again: tracking works again, on the same registry.
    client.batch_execute("DROP TABLE filler").unwrap();
    assert_eq!(track_json(&db, &caltable, 99)["outcome"], "tracked");
    assert_eq!(pg_count(&mut client, "calprov_solves"), solves_before + 1);
    assert!(provenance(&mut client).is_some_and(|c| c.contains("solint='99s'")));
    assert!(attempts < 3, "{attempts} solves fitted on a full disk");
}
