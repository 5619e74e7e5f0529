//! `calprov backfill` on a registry in the Python pipeline's legacy shape holding copies of
//! the real caltables, some with their MS beside them, some without, one missing:
//! interrupted by SIGINT mid-run, then resumed; every readable table filled exactly once,
//! nothing but the provenance columns changed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rusqlite::Connection;
use serde_json::Value;

use crate::support::*;

/// Tables in the interrupted run: enough that SIGINT, sent at the first progress line (a
/// tenth of the way), lands long before the end.
const TABLES: usize = 400;

/// Copies `table` to `to`, its files hard-linked (the reader only reads them).
fn link_table(table: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(table).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            link_table(&entry.path(), &target);
        } else {
            std::fs::hard_link(entry.path(), &target).unwrap();
        }
    }
}

/// A legacy-shape registry of `n` copies of the real tables in `dir/obs/<i>/`; every even
/// one has its MS (`sim_small.ms`, the tables' MSName) beside it; one registered path does
/// not exist. Returns the registry and the table paths.
fn legacy_registry(dir: &Path, n: usize) -> (PathBuf, Vec<String>) {
    let db = dir.join("registry.sqlite3");
    create_shape(&db, Shape::Legacy, 0);
    let names = [
        "sim_gacal",
        "sim_gpcal",
        "sim_kcal",
        "sim_bpcal",
        "sim_flagged_gpcal",
    ];
    let mut paths = Vec::new();
    for i in 0..n {
        let obs = dir.join(format!("obs/{i:04}"));
        let name = names[i % names.len()];
        let table = obs.join(format!("{name}_{i}"));
        link_table(&testdata().join(name), &table);
        if i % 2 == 0 {
            let ms = obs.join("sim_small.ms");
            std::fs::create_dir_all(&ms).unwrap();
            std::fs::write(ms.join("table.dat"), b"").unwrap();
        }
        paths.push(table.to_str().unwrap().to_owned());
    }
    paths.push(dir.join("obs/gone_kcal").to_str().unwrap().to_owned());
    let conn = Connection::open(&db).unwrap();
    let tx = conn.unchecked_transaction().unwrap();
    for (i, path) in paths.iter().enumerate() {
        tx.execute(
            "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status, notes) \
             VALUES (?1, ?2, 'G', ?3, ?4, 'active', 'legacy row')",
            rusqlite::params![format!("set{}", i % 4), path, i as i64, 1.7e9 + i as f64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    (db, paths)
}

/// Every column the Python pipeline owns, row by row: backfill must leave them alone.
fn pipeline_columns(db: &Path) -> Vec<String> {
    let conn = Connection::open(db).unwrap();
    let mut stmt = conn
        .prepare(
            "SELECT id, set_name, path, table_type, order_index, cal_field, refant, created_at, \
             valid_start_mjd, valid_end_mjd, status, notes FROM caltables ORDER BY id",
        )
        .unwrap();
    stmt.query_map([], |r| {
        let values: Vec<String> = (0..12)
            .map(|i| format!("{:?}", r.get::<_, rusqlite::types::Value>(i).unwrap()))
            .collect();
        Ok(values.join("|"))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

fn backfill_cmd(db: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(calprov_bin());
    clean_env(&mut cmd);
    cmd.arg("--db").arg(db).arg("backfill").args(extra);
    cmd
}

#[test]
fn interrupted_then_resumed_fills_every_table_once_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let (db, paths) = legacy_registry(dir.path(), TABLES);
    // Adopt the legacy registry first, so the snapshot is of the migrated shape.
    ok(calprov(&db, &["init"]));
    let before = pipeline_columns(&db);

    let mut child = backfill_cmd(&db, &["--jobs", "1", "--batch", "8"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("backfill: ") {
            let pid = child.id().to_string();
            assert!(
                Command::new("kill")
                    .args(["-INT", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            break;
        }
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{seen:?}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    let filled = count(
        &db,
        "SELECT count(*) FROM caltables WHERE quality_metrics IS NOT NULL",
    );
    let solves = count(
        &db,
        "SELECT count(*) FROM calprov_solves WHERE origin = 'backfill'",
    );
    assert!(
        filled > 0 && filled < TABLES as i64,
        "{filled} filled at SIGINT"
    );
    // What was read before SIGINT was committed, each row with its solve: no half write.
    assert_eq!(solves, filled);

    // Resumed: the rest is filled, nothing twice.
    let out = ok(backfill_cmd(&db, &["--json"]).output().unwrap());
    let summary = stdout_json(&out)["data"].clone();
    assert_eq!(summary["filled"], TABLES as i64 - filled, "{summary}");
    assert_eq!(summary["already_recorded"], filled);
    assert_eq!(summary["unreadable"], 1);
    assert_eq!(
        summary["ms_not_found"].as_i64().unwrap(),
        summary["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["status"] == "filled" && i.get("source_ms").is_none())
            .count() as i64
    );
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM (SELECT caltable_path FROM calprov_solves GROUP BY 1 HAVING count(*) != 1)"
        ),
        0
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM calprov_solves"),
        TABLES as i64
    );
    assert_eq!(pipeline_columns(&db), before, "a pipeline column changed");

    // What was recorded: the table's own facts, never a command or parameters.
    let conn = Connection::open(&db).unwrap();
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM caltables WHERE solver_command IS NOT NULL OR solver_params IS NOT NULL"
        ),
        0
    );
    for (i, path) in paths.iter().take(TABLES).enumerate() {
        let (ms, version, metrics): (Option<String>, Option<String>, String) = conn
            .query_row(
                "SELECT source_ms_path, solver_version, quality_metrics FROM caltables WHERE path = ?1",
                [path],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let expected_ms = (i % 2 == 0).then(|| {
            dir.path()
                .join(format!("obs/{i:04}/sim_small.ms"))
                .to_str()
                .unwrap()
                .to_owned()
        });
        assert_eq!(ms, expected_ms, "{path}");
        assert_eq!(version.as_deref(), Some("6.7.0.31"), "{path}");
        let metrics: Value = serde_json::from_str(&metrics).unwrap();
        assert!(
            metrics["by_antenna"]
                .as_array()
                .is_some_and(|a| a.len() == 14),
            "{path}"
        );
        assert!(metrics["fingerprint"].is_object(), "{path}");
    }
    // The missing table stays a candidate, reported each time.
    let gone = paths.last().unwrap();
    assert_eq!(
        count(
            &db,
            &format!(
                "SELECT count(*) FROM caltables WHERE path = '{gone}' AND quality_metrics IS NULL"
            )
        ),
        1
    );
    // A third run reads only the missing one; verify now knows every backfilled table.
    let out = ok(backfill_cmd(&db, &["--json"]).output().unwrap());
    let summary = stdout_json(&out)["data"].clone();
    assert_eq!(
        (summary["filled"].as_i64(), summary["unreadable"].as_i64()),
        (Some(0), Some(1))
    );
    let verified = calprov(&db, &["verify", paths[0].as_str(), "--json"]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn ms_root_dry_run_and_set() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = legacy_registry(dir.path(), 8);
    // The odd tables' MS is only under a root, two levels down.
    let root = dir.path().join("archive");
    std::fs::create_dir_all(root.join("2024/06/sim_small.ms")).unwrap();
    std::fs::write(root.join("2024/06/sim_small.ms/table.dat"), b"").unwrap();
    let out = ok(backfill_cmd(
        &db,
        &[
            "--dry-run",
            "--json",
            "--set",
            "set1",
            "--ms-root",
            root.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap());
    let summary = stdout_json(&out)["data"].clone();
    // set1 holds tables 1 and 5 (odd: their MS only under the root).
    assert_eq!(summary["dry_run"], true);
    assert_eq!(summary["filled"], 2, "{summary}");
    assert_eq!(summary["ms_not_found"], 0, "{summary}");
    for item in summary["items"].as_array().unwrap() {
        assert!(
            item["source_ms"]
                .as_str()
                .unwrap()
                .ends_with("archive/2024/06/sim_small.ms"),
            "{item}"
        );
    }
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM caltables WHERE quality_metrics IS NOT NULL"
        ),
        0
    );
    // Without the root, the odd tables are filled without an MS and say why.
    let out = ok(backfill_cmd(&db, &["--set", "set1"]).output().unwrap());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("filled without MS"), "{text}");
    assert!(text.contains("--ms-root"), "{text}");
    assert!(
        text.contains("2 filled, 0 skipped, 0 unreadable, 2 MS not found"),
        "{text}"
    );
    let usage = calprov(&db, &["backfill", "--set", "s", "--all"]);
    assert_eq!(usage.status.code(), Some(2));
}
