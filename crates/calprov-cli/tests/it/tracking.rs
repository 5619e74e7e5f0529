//! `calprov track` after a solve: outcomes, exit codes, warnings, and what is stored.

use serde_json::json;

use crate::support::*;

fn gacal_copy(dir: &std::path::Path) -> String {
    let path = dir.join("obs_gacal");
    copy_dir(&testdata().join("sim_gacal"), &path);
    path.to_string_lossy().into_owned()
}

fn track(db: &std::path::Path, caltable: &str, extra: &[&str]) -> std::process::Output {
    crate::support::track_gaincal(
        db,
        caltable,
        r#"{"vis": "/data/obs.ms", "gaintable": ["/c/k", "/c/b"], "refant": "OV03", "spw": null, "minsnr": 3}"#,
        extra,
    )
}

#[test]
fn tracking_a_real_caltable_records_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = gacal_copy(dir.path());
    register(&db, "s", &caltable, "GA", "40");
    register(&db, "s", "/c/other_kcal", "K", "10");
    let before_other =
        stdout_json(&calprov(&db, &["show", "/c/other_kcal", "--json"]))["data"].clone();
    let out = track(&db, &caltable, &["--strict"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = stdout_json(&calprov(&db, &["show", &caltable, "--json"]))["data"].clone();
    assert_eq!(rec["source_ms_path"], "/data/obs.ms");
    assert_eq!(rec["solver_version"], "6.7.0.31");
    assert_eq!(
        rec["solver_command"],
        format!("gaincal(gaintable=['/c/k', '/c/b'], minsnr=3, refant='OV03', vis='/data/obs.ms')")
    );
    assert_eq!(
        rec["solver_params"],
        json!({"vis": "/data/obs.ms", "gaintable": ["/c/k", "/c/b"], "refant": "OV03", "minsnr": 3})
    );
    assert_eq!(rec["quality_metrics"]["n_solutions"], 1680);
    assert_eq!(
        rec["quality_metrics"]["solver_version_source"],
        "caltable_keyword"
    );
    // Other rows are never touched.
    assert_eq!(
        stdout_json(&calprov(&db, &["show", "/c/other_kcal", "--json"]))["data"],
        before_other
    );
    // Re-tracking replaces the provenance with the new solve's.
    let out = calprov(
        &db,
        &[
            "track",
            "--caltable",
            &caltable,
            "--ms",
            "/data/second.ms",
            "--task",
            "gaincal",
            "--params",
            r#"{"vis": "/data/second.ms"}"#,
            "--solver-version",
            "6.6.1-17",
        ],
    );
    assert!(out.status.success());
    let rec = stdout_json(&calprov(&db, &["show", &caltable, "--json"]))["data"].clone();
    assert_eq!(rec["source_ms_path"], "/data/second.ms");
    assert_eq!(rec["solver_version"], "6.6.1.17");
    assert_eq!(rec["solver_params"], json!({"vis": "/data/second.ms"}));
    let stats = stdout_json(&calprov(&db, &["stats", "--json"]))["data"].clone();
    assert_eq!(stats["by_outcome"]["tracked"], 2);
}

#[test]
fn a_missing_caltable_is_partial_and_exits_0_without_strict() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = dir.path().join("gone_gacal").to_string_lossy().into_owned();
    register(&db, "s", &caltable, "GA", "40");
    let out = track(&db, &caltable, &[]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning")
            && stderr.contains("quality_metrics")
            && stderr.contains("does not exist"),
        "{stderr}"
    );
    let rec = stdout_json(&calprov(&db, &["show", &caltable, "--json"]))["data"].clone();
    assert_eq!(rec["source_ms_path"], "/data/obs.ms");
    assert!(rec["quality_metrics"].is_null());
    assert_eq!(track(&db, &caltable, &["--strict"]).status.code(), Some(1));
    let stats = stdout_json(&calprov(&db, &["stats", "--json"]))["data"].clone();
    assert_eq!(stats["by_outcome"]["partial"], 2);
}

#[test]
fn an_unregistered_caltable_creates_no_row_and_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = gacal_copy(dir.path());
    let out = track(&db, &caltable, &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not registered"));
    assert_eq!(track(&db, &caltable, &["--strict"]).status.code(), Some(1));
    assert_eq!(calprov(&db, &["show", &caltable]).status.code(), Some(1));
    let stats = stdout_json(&calprov(&db, &["stats", "--json"]))["data"].clone();
    assert_eq!(stats["by_outcome"]["not_registered"], 2);
}

#[test]
fn invalid_parameter_names_fail_and_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = gacal_copy(dir.path());
    register(&db, "s", &caltable, "GA", "40");
    let out = calprov(
        &db,
        &[
            "track",
            "--caltable",
            &caltable,
            "--ms",
            "/d.ms",
            "--task",
            "gaincal",
            "--params",
            r#"{"vis); import os": 1}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_params"));
    let rec = stdout_json(&calprov(&db, &["show", &caltable, "--json"]))["data"].clone();
    assert!(rec["solver_command"].is_null() && rec["source_ms_path"].is_null());
    let stats = stdout_json(&calprov(&db, &["stats", "--json"]))["data"].clone();
    assert_eq!(stats["by_failure_kind"]["invalid_params"], 1);
}

#[test]
fn demo_runs_the_whole_flow() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::new(calprov_bin());
    clean_env(&mut cmd);
    let out = cmd
        .args(["demo", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("gaintable=['"), "{text}");
    assert_eq!(text.matches(": tracked in").count(), 3, "{text}");
    assert!(text.contains("coverage 3/3"), "{text}");
    // Running it again starts over and works the same.
    let mut cmd = std::process::Command::new(calprov_bin());
    clean_env(&mut cmd);
    assert!(
        cmd.args(["demo", "--dir"])
            .arg(dir.path())
            .output()
            .unwrap()
            .status
            .success()
    );
}

fn event_count(db: &std::path::Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM calprov_tracking_events", [], |r| {
            r.get(0)
        })
        .unwrap()
}

/// Every command that writes provenance goes through the core's one tracking path and adds
/// exactly one event per call (per line for `track-many`), whatever the outcome.
#[test]
fn every_provenance_write_adds_exactly_one_event() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = gacal_copy(dir.path());
    register(&db, "s", &caltable, "GA", "40");
    let calls: Vec<(&str, Vec<String>)> = vec![
        (
            "track --task",
            vec![
                "track".into(),
                "--caltable".into(),
                caltable.clone(),
                "--ms".into(),
                "/d/x.ms".into(),
                "--task".into(),
                "gaincal".into(),
                "--params".into(),
                r#"{"vis": "/d/x.ms"}"#.into(),
            ],
        ),
        (
            "track without --task",
            vec![
                "track".into(),
                "--caltable".into(),
                caltable.clone(),
                "--source-ms".into(),
                "/d/x.ms".into(),
                "--solver-version".into(),
                "6.7.0.31".into(),
                "--params".into(),
                r#"{"vis": "/d/x.ms"}"#.into(),
            ],
        ),
        (
            "track, not registered",
            vec![
                "track".into(),
                "--caltable".into(),
                "/c/none".into(),
                "--source-ms".into(),
                "/d/x.ms".into(),
            ],
        ),
        (
            "track, bad --params",
            vec![
                "track".into(),
                "--caltable".into(),
                caltable.clone(),
                "--ms".into(),
                "/d/x.ms".into(),
                "--task".into(),
                "gaincal".into(),
                "--params".into(),
                "{not json".into(),
            ],
        ),
    ];
    for (what, args) in calls {
        let before = event_count(&db);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = calprov(&db, &args);
        assert!(
            out.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(event_count(&db) - before, 1, "{what}");
    }
    let lines = dir.path().join("solves.jsonl");
    std::fs::write(
        &lines,
        format!(
            "{{\"ms\": \"/d/x.ms\", \"caltable\": \"{caltable}\", \"task\": \"gaincal\", \"params\": {{}}}}\n\
             {{\"ms\": \"/d/x.ms\", \"caltable\": \"/c/none\", \"task\": \"gaincal\"}}\n\
             not a json line\n"
        ),
    )
    .unwrap();
    let before = event_count(&db);
    let out = calprov(&db, &["track-many", lines.to_str().unwrap()]);
    assert!(out.status.success());
    assert_eq!(
        event_count(&db) - before,
        3,
        "track-many: one event per line"
    );
}

/// `show` prints parameters one per line and the quality as `metrics` does.
#[test]
fn show_prints_parameters_and_quality_for_people() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let caltable = gacal_copy(dir.path());
    register(&db, "s", &caltable, "GA", "40");
    let out = track(&db, &caltable, &[]);
    assert!(out.status.success());
    let shown = calprov(&db, &["show", &caltable]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("\nparameters\n"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("vis ")),
        "one parameter per line: {text}"
    );
    assert!(text.contains("\nquality\n"), "{text}");
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("QA ")),
        "{text}"
    );
    assert!(text.contains("flagged"), "{text}");
    assert!(!text.contains("{\""), "no raw JSON object: {text}");
    // --json is unchanged: the record with its JSON columns.
    let doc = stdout_json(&calprov(&db, &["show", &caltable, "--json"]));
    assert!(doc["data"]["quality_metrics"]["qa_passed"].is_boolean());
}
