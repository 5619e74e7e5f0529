//! The CLI's wiring: JSON documents, exit codes, quiet stderr on success.

use serde_json::json;

use crate::support::*;

const COLUMNS: [&str; 17] = [
    "id",
    "set_name",
    "path",
    "table_type",
    "order_index",
    "cal_field",
    "refant",
    "created_at",
    "valid_start_mjd",
    "valid_end_mjd",
    "status",
    "notes",
    "source_ms_path",
    "solver_command",
    "solver_version",
    "solver_params",
    "quality_metrics",
];

fn ok(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = calprov(db, args);
    assert!(
        out.status.success(),
        "calprov {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "calprov {args:?} wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn register_track_show_by_source_impact_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    ok(&db, &["init"]);
    ok(
        &db,
        &[
            "register",
            "--set",
            "s",
            "--path",
            "/c/x_kcal",
            "--type",
            "K",
            "--order",
            "10",
            "--valid-start",
            "60000",
            "--valid-end",
            "60001",
        ],
    );
    ok(
        &db,
        &[
            "register",
            "--set",
            "s",
            "--path",
            "/c/x_gacal",
            "--type",
            "GA",
            "--order",
            "40",
        ],
    );
    ok(
        &db,
        &[
            "track",
            "--caltable",
            "/c/x_kcal",
            "--source-ms",
            "/d/x.ms",
            "--solver-version",
            "6.7.0.31",
            "--params",
            r#"{"vis": "/d/x.ms", "refant": "OV03"}"#,
            "--metrics",
            r#"{"n_solutions": 56}"#,
        ],
    );
    ok(
        &db,
        &[
            "track",
            "--caltable",
            "/c/x_gacal",
            "--source-ms",
            "/d/x.ms",
        ],
    );

    let show = stdout_json(&ok(&db, &["show", "/c/x_kcal", "--json"]));
    assert_eq!(show["type"], "show");
    assert!(show["schema_version"].as_i64().unwrap() >= 1);
    let data = show["data"].as_object().unwrap();
    let keys: Vec<&str> = data.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = COLUMNS.to_vec();
    expected.sort_unstable();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort_unstable();
    assert_eq!(keys_sorted, expected);
    assert_eq!(
        data["solver_params"],
        json!({"vis": "/d/x.ms", "refant": "OV03"})
    );
    assert_eq!(data["quality_metrics"], json!({"n_solutions": 56}));
    assert_eq!(data["valid_start_mjd"], json!(60000.0));

    let by_source = stdout_json(&ok(&db, &["by-source", "/d/x.ms", "--json"]));
    let paths: Vec<&str> = by_source["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/c/x_kcal", "/c/x_gacal"]);
    let impact = stdout_json(&ok(
        &db,
        &["impact", "/c/x_kcal", "/c/x_gacal", "/c/unknown", "--json"],
    ));
    assert_eq!(impact["data"], json!(["/d/x.ms"]));
    let sets = stdout_json(&ok(&db, &["sets", "--json"]));
    assert_eq!(sets["data"][0]["n_caltables"], 2);
    let retire = stdout_json(&ok(&db, &["retire", "s", "--reason", "bad", "--json"]));
    assert_eq!(retire["data"]["retired"], 2);
}

#[test]
fn show_of_unregistered_caltable_prints_null_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let out = calprov(&db, &["show", "/c/none", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["data"], serde_json::Value::Null);
}

#[test]
fn usage_errors_exit_2_and_bad_json_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    assert_eq!(
        calprov(&db, &["register", "--set", "s"]).status.code(),
        Some(2)
    );
    assert_eq!(calprov(&db, &["no-such-command"]).status.code(), Some(2));
    let out = calprov(
        &db,
        &[
            "register",
            "--set",
            "s",
            "--path",
            "/c/a",
            "--type",
            "K",
            "--order",
            "1",
            "--params",
            "{not json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--params is not valid JSON"));
    let out = calprov(
        &db,
        &[
            "register", "--set", "s", "--path", "/c/a", "--type", "K", "--order", "1", "--status",
            "weird",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("status"));
}

#[test]
fn a_registry_that_is_not_sqlite_exits_3_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let content =
        b"not a database at all, but an operator's notes file that must survive".repeat(20);
    std::fs::write(&db, &content).unwrap();
    let out = calprov(&db, &["sets"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("reg.sqlite3") && stderr.contains("not an SQLite database"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), content);
}

#[test]
fn hostile_paths_are_stored_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let path = "/c/it's\"; DROP TABLE caltables; --_kcal";
    ok(
        &db,
        &[
            "register",
            "--set",
            "x'; DELETE FROM caltables; --",
            "--path",
            path,
            "--type",
            "K",
            "--order",
            "10",
        ],
    );
    ok(
        &db,
        &["track", "--caltable", path, "--source-ms", "/d/a'b\".ms"],
    );
    let show = stdout_json(&ok(&db, &["show", path, "--json"]));
    assert_eq!(show["data"]["path"], path);
    assert_eq!(show["data"]["set_name"], "x'; DELETE FROM caltables; --");
    let by_source = stdout_json(&ok(&db, &["by-source", "/d/a'b\".ms", "--json"]));
    assert_eq!(by_source["data"].as_array().unwrap().len(), 1);
}

#[test]
fn where_reports_the_deciding_rule() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(calprov_bin());
    clean_env(&mut cmd);
    let out = cmd
        .args(["where", "--json"])
        .env("CAL_REGISTRY_DB", dir.path().join("a.db"))
        .env("PIPELINE_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let doc = stdout_json(&out);
    assert_eq!(doc["data"]["rule"], "cal_registry_db");
    assert_eq!(doc["data"]["warnings"].as_array().unwrap().len(), 1);
    assert!(String::from_utf8_lossy(&out.stderr).contains("PIPELINE_STATE_DIR"));
}

#[test]
fn metrics_by_antenna_and_spw_name_the_flagged_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("unused.sqlite3");
    let table = testdata().join("sim_flagged_gpcal");
    let table = table.to_str().unwrap();
    let golden: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(testdata().join("sim_flagged_gpcal.breakdown.json")).unwrap(),
    )
    .unwrap();
    for (by, key, label) in [
        ("antenna", "by_antenna", "antenna 8"),
        ("spw", "by_spw", "spw 1"),
    ] {
        let doc = stdout_json(&ok(&db, &["metrics", "--by", by, "--json", table]));
        let groups = doc["data"]["groups"].as_array().unwrap();
        let expected = golden[key].as_array().unwrap();
        assert_eq!(groups.len(), expected.len(), "{by}");
        for (ours, theirs) in groups.iter().zip(expected) {
            assert_eq!(ours["id"], theirs["id"]);
            assert_eq!(ours["n_solutions"], theirs["n_solutions"]);
            assert_eq!(ours["flagged_fraction"], theirs["flagged_fraction"]);
        }
        let issues = doc["data"]["issues"].as_array().unwrap();
        assert!(
            issues
                .iter()
                .any(|i| i.as_str().unwrap().starts_with(&format!("{label}: "))),
            "{issues:?}"
        );
        let text = String::from_utf8(ok(&db, &["metrics", "--by", by, table]).stdout).unwrap();
        assert!(text.starts_with(by), "{text}");
        assert_eq!(text.lines().count(), expected.len() + 1, "{text}");
        assert!(text.contains("95.0%!") || by == "spw", "{text}");
    }
    let out = calprov(&db, &["metrics", "--by", "baseline", table]);
    assert_eq!(out.status.code(), Some(2));
}
