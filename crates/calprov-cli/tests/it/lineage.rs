//! Lineage on real CASA caltables: a K -> B -> G chain solved from MS1, applied to MS2 with an
//! antenna selection and to MS3 with a spwmap; re-solves in place, a cycle, malformed inputs,
//! recall, re-solve plans (parsed by Python) and concurrent writers.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::*;

pub(crate) struct Chain {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) db: PathBuf,
    pub(crate) k: String,
    pub(crate) b: String,
    pub(crate) g: String,
}

/// K, B (with K applied) and G (with K and B applied) solved from MS1; all three applied to
/// MS2 (antennas 0~3) and to MS3 (spw 1, G mapped with spwmap [0, 0]).
pub(crate) fn chain() -> Chain {
    chain_on(None)
}

/// [`chain`] recorded in the registry `db` (a file or a URL), else in a new file.
pub(crate) fn chain_on(db: Option<PathBuf>) -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let db = db.unwrap_or_else(|| root.join("reg.sqlite3"));
    let table = |name: &str, from: &str| {
        let path = root.join(name);
        copy_dir(&testdata().join(from), &path);
        path.to_string_lossy().into_owned()
    };
    let (k, b, g) = (
        table("obs_kcal", "sim_kcal"),
        table("obs_bpcal", "sim_bpcal"),
        table("obs_gacal", "sim_gacal"),
    );
    for (path, kind, order) in [(&k, "K", "10"), (&b, "BP", "30"), (&g, "GA", "40")] {
        register(&db, "obs", path, kind, order);
    }
    solve(
        &db,
        &k,
        "gaincal",
        json!({"vis": "/data/ms1.ms", "caltable": k, "gaintype": "K", "refant": "OV03"}),
    );
    solve(
        &db,
        &b,
        "bandpass",
        json!({"vis": "/data/ms1.ms", "caltable": b, "bandtype": "B", "gaintable": [k]}),
    );
    solve(
        &db,
        &g,
        "gaincal",
        json!({"vis": "/data/ms1.ms", "caltable": g, "gaintype": "G", "gaintable": [k, b],
               "interp": ["nearest", "linear"]}),
    );
    apply(
        &db,
        json!({"vis": "/data/ms2.ms", "antenna": "0~3", "gaintable": [k, b, g]}),
    );
    apply(
        &db,
        json!({"vis": "/data/ms3.ms", "spw": "1", "gaintable": [k, b, g],
               "spwmap": [[], [], [0, 0]]}),
    );
    Chain {
        _dir: dir,
        root,
        db,
        k,
        b,
        g,
    }
}

fn data(out: Output) -> Value {
    stdout_json(&ok(out))["data"].clone()
}

fn impact(c: &Chain, extra: &[&str]) -> Value {
    let mut args = vec!["impact", &c.k as &str, "--json"];
    args.extend_from_slice(extra);
    data(calprov(&c.db, &args))
}

#[test]
fn impact_is_transitive_and_respects_antennas_and_spws() {
    let c = chain();
    assert_eq!(
        impact(&c, &[]),
        json!(["/data/ms1.ms", "/data/ms2.ms", "/data/ms3.ms"])
    );
    let explained = impact(&c, &["--explain"]);
    assert_eq!(explained["caltables"], json!([c.b, c.g]));
    let findings = explained["findings"].as_array().unwrap();
    let find = |target: &str, kind: &str| {
        findings
            .iter()
            .find(|f| f["target"] == target && f["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} finding for {target}: {explained}"))
            .clone()
    };
    assert_eq!(
        find("/data/ms1.ms", "solved_from")["path"],
        json!([c.k, "/data/ms1.ms"])
    );
    assert_eq!(find(&c.g, "solved_with")["path"][0], json!(c.k));
    assert_eq!(find("/data/ms2.ms", "applied_to")["path"][0], json!(c.k));

    // Antenna 9 is outside MS2's selection (0~3): only MS3 (and MS1) remain.
    assert_eq!(
        impact(&c, &["--antenna", "9"]),
        json!(["/data/ms1.ms", "/data/ms3.ms"])
    );
    // Through G's spwmap [0, 0], MS3's spw 1 takes G's spw 0, never G's spw 1.
    let g_impact = |spw: &str| data(calprov(&c.db, &["impact", &c.g, "--spw", spw, "--json"]));
    assert_eq!(g_impact("1"), json!(["/data/ms1.ms", "/data/ms2.ms"]));
    assert_eq!(
        g_impact("0"),
        json!(["/data/ms1.ms", "/data/ms2.ms", "/data/ms3.ms"])
    );
    // A selection calprov cannot read counts as a hit, and --explain says so.
    apply(
        &c.db,
        json!({"vis": "/data/ms4.ms", "antenna": "OV03&OV05", "gaintable": [c.k]}),
    );
    let named = impact(&c, &["--antenna", "9", "--explain"]);
    let ms4 = named["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"] == "/data/ms4.ms")
        .unwrap()
        .clone();
    assert!(
        ms4["note"].as_str().unwrap().contains("counted as a hit"),
        "{ms4}"
    );
    // Text output without --explain: one MS per line.
    let text = ok(calprov(&c.db, &["impact", &c.k]));
    assert_eq!(
        String::from_utf8_lossy(&text.stdout).lines().count(),
        4,
        "ms1..ms4"
    );
}

#[test]
fn a_resolve_adds_history_and_old_users_keep_the_old_version() {
    let c = chain();
    solve(
        &c.db,
        &c.k,
        "gaincal",
        json!({"vis": "/data/ms1b.ms", "caltable": c.k, "gaintype": "K", "refant": "OV05"}),
    );
    let history = data(calprov(&c.db, &["history", &c.k, "--json"]));
    let solves = history.as_array().unwrap();
    assert_eq!(solves.len(), 2);
    assert_eq!(solves[0]["version"], 1);
    assert_eq!(solves[1]["version"], 2);
    assert_eq!(solves[1]["source_ms_path"], "/data/ms1b.ms");
    assert!(solves[1]["cwd"].is_string() && solves[1]["host"].is_string());
    // G's lineage still goes through K's first solve.
    let lineage = data(calprov(&c.db, &["lineage", &c.g, "--json"]));
    let k_input = lineage["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == c.k.as_str())
        .unwrap()
        .clone();
    assert_eq!(k_input["pinned"], solves[0]["id"]);
    assert_eq!(k_input["solved_by"]["version"], 1);
    // B -> K nested under G, with times and versions.
    let b_input = lineage["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == c.b.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        b_input["solved_by"]["inputs"][1]["solved_by"]["caltable"],
        c.k.as_str()
    );
    // The new K has touched nothing yet; the old one is in G's past.
    let new_impact = impact(&c, &[]);
    assert_eq!(new_impact, json!(["/data/ms1b.ms"]));
}

#[test]
fn a_table_solved_with_an_earlier_version_of_itself_is_shown_not_followed_forever() {
    let c = chain();
    solve(
        &c.db,
        &c.g,
        "gaincal",
        json!({"vis": "/data/ms1.ms", "caltable": c.g, "gaintype": "G", "gaintable": [c.k, c.b, c.g]}),
    );
    let lineage = data(calprov(&c.db, &["lineage", &c.g, "--json"]));
    let itself = lineage["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"] == c.g.as_str())
        .unwrap()
        .clone();
    assert_eq!(itself["cycle"], true);
    assert_eq!(itself["solved_by"]["version"], 1);
    let text = String::from_utf8_lossy(&ok(calprov(&c.db, &["lineage", &c.g])).stdout).into_owned();
    assert!(text.contains("[cycle"), "{text}");
}

#[test]
fn malformed_inputs_are_recorded_and_the_solve_still_is() {
    let c = chain();
    let out = calprov(
        &c.db,
        &[
            "track",
            "--caltable",
            &c.g,
            "--ms",
            "/data/ms1.ms",
            "--task",
            "gaincal",
            "--params",
            r#"{"vis": "/data/ms1.ms", "gaintable": 7, "spwmap": "x"}"#,
        ],
    );
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("malformed"),
        "a warning names the problem"
    );
    let history = data(calprov(&c.db, &["history", &c.g, "--json"]));
    let last = history.as_array().unwrap().last().unwrap().clone();
    let gaintable = last["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["role"] == "gaintable")
        .unwrap()
        .clone();
    assert!(
        gaintable["problem"]
            .as_str()
            .unwrap()
            .contains("not a string or a list")
    );
}

#[test]
fn recall_finds_a_version_and_everything_downstream() {
    let c = chain();
    let recall = data(calprov(
        &c.db,
        &["recall", "--casa-version", "6.7.0-31", "--json"],
    ));
    assert_eq!(recall["casa_version"], "6.7.0.31");
    assert_eq!(recall["solves"].as_array().unwrap().len(), 3);
    assert_eq!(recall["impact"]["caltables"], json!([c.b, c.g, c.k]));
    assert_eq!(
        recall["impact"]["ms"],
        json!(["/data/ms2.ms", "/data/ms3.ms"])
    );
    let none = data(calprov(
        &c.db,
        &["recall", "--casa-version", "6.5.0", "--json"],
    ));
    assert!(none["solves"].as_array().unwrap().is_empty());
    let future = data(calprov(
        &c.db,
        &[
            "recall",
            "--casa-version",
            "6.7.0.31",
            "--since",
            "2999-01-01",
            "--json",
        ],
    ));
    assert!(future["solves"].as_array().unwrap().is_empty());
}

#[test]
fn the_plan_orders_inputs_first_and_its_script_parses() {
    let c = chain();
    let script = c.root.join("resolve.py");
    let steps = data(calprov(
        &c.db,
        &[
            "plan",
            &c.k,
            "--downstream",
            "--script",
            script.to_str().unwrap(),
            "--json",
        ],
    ));
    let writes: Vec<&str> = steps
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["writes"].as_str().unwrap())
        .collect();
    assert_eq!(
        writes,
        vec![
            c.k.as_str(),
            c.b.as_str(),
            c.g.as_str(),
            "/data/ms2.ms",
            "/data/ms3.ms"
        ]
    );
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(
        text.contains("from casatasks import applycal, bandpass, gaincal"),
        "{text}"
    );
    assert!(text.contains("os.chdir("), "{text}");
    let parsed = Command::new("python3")
        .args(["-c", "import ast, sys; ast.parse(open(sys.argv[1]).read())"])
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    // Without --downstream: only what G needs.
    let up = data(calprov(&c.db, &["plan", &c.g, "--json"]));
    assert_eq!(up.as_array().unwrap().len(), 3);
}

#[test]
fn init_imports_existing_provenance_as_one_solve_each() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legacy.sqlite3");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(LEGACY_DDL).unwrap();
    conn.execute_batch(
        "ALTER TABLE caltables ADD COLUMN source_ms_path TEXT; ALTER TABLE caltables ADD COLUMN solver_command TEXT;
         ALTER TABLE caltables ADD COLUMN solver_version TEXT; ALTER TABLE caltables ADD COLUMN solver_params TEXT;
         ALTER TABLE caltables ADD COLUMN quality_metrics TEXT;
         INSERT INTO caltables VALUES (1, 's', '/c/k', 'K', 10, NULL, NULL, 1.0, NULL, NULL, 'active', NULL,
             '/d/x.ms', 'gaincal(vis=''/d/x.ms'')', '6.6.1-17', '{\"vis\": \"/d/x.ms\"}', NULL);
         INSERT INTO caltables VALUES (2, 's', '/c/g', 'GA', 40, NULL, NULL, 2.0, NULL, NULL, 'active', NULL,
             '/d/x.ms', NULL, NULL, '{\"vis\": \"/d/x.ms\", \"gaintable\": [\"/c/k\"]}', NULL);
         INSERT INTO caltables VALUES (3, 's', '/c/none', 'GA', 40, NULL, NULL, 3.0, NULL, NULL, 'active', NULL,
             NULL, NULL, NULL, NULL, NULL);",
    )
    .unwrap();
    drop(conn);
    let init = data(calprov(&db, &["init", "--json"]));
    assert_eq!(init["solves_imported"], 2);
    let again = data(calprov(&db, &["init", "--json"]));
    assert_eq!(again["solves_imported"], 0, "importing twice adds nothing");
    let history = data(calprov(&db, &["history", "/c/g", "--json"]));
    assert_eq!(history[0]["origin"], "imported");
    assert_eq!(history[0]["inputs"][1]["path"], "/c/k");
    assert!(
        history[0]["inputs"][1]["pinned"].is_i64(),
        "pinned to K's imported solve"
    );
    let k = data(calprov(&db, &["history", "/c/k", "--json"]));
    assert_eq!(k[0]["casa_version"], "6.6.1.17");
    assert_eq!(k[0]["task"], "gaincal");
}

#[test]
fn sixteen_processes_track_and_apply_at_once_and_nothing_is_lost() {
    const PROCESSES: usize = 16;
    const PER_PROCESS: usize = 25;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    assert!(calprov(&db, &["init"]).status.success());
    let mut files = Vec::new();
    for p in 0..PROCESSES {
        let mut lines = String::new();
        for i in 0..PER_PROCESS {
            let caltable = format!("/c/p{p}_t{i}_gacal");
            register(&db, "s", &caltable, "GA", "40");
            lines.push_str(
                &json!({"ms": "/d/x.ms", "caltable": caltable, "task": "gaincal",
                        "params": {"vis": "/d/x.ms", "gaintable": [format!("/c/p{p}_t0_gacal")]},
                        "solver_version": "6.7.0.31"})
                .to_string(),
            );
            lines.push('\n');
            lines.push_str(
                &json!({"task": "applycal", "ms": format!("/d/target{p}.ms"),
                        "params": {"vis": format!("/d/target{p}.ms"), "gaintable": [caltable]}})
                .to_string(),
            );
            lines.push('\n');
        }
        let file = dir.path().join(format!("lines{p}.jsonl"));
        std::fs::write(&file, lines).unwrap();
        files.push(file);
    }
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            let mut cmd = Command::new(calprov_bin());
            cmd.arg("--db")
                .arg(&db)
                .arg("track-many")
                .arg(file)
                .arg("--json");
            clean_env(&mut cmd);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc = stdout_json(&out);
        // The solves' tables do not exist (metrics missing: partial); the applications are
        // recorded in full, each table pinned.
        assert_eq!(doc["data"]["by_outcome"]["partial"], PER_PROCESS, "{doc}");
        assert_eq!(doc["data"]["by_outcome"]["tracked"], PER_PROCESS, "{doc}");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let n = (PROCESSES * PER_PROCESS) as i64;
    assert_eq!(count("SELECT count(*) FROM calprov_solves"), n);
    assert_eq!(count("SELECT count(*) FROM calprov_applications"), n);
    assert_eq!(
        count("SELECT count(*) FROM calprov_application_tables WHERE solve_id IS NULL"),
        0
    );
    assert_eq!(count("SELECT count(*) FROM calprov_tracking_events"), 2 * n);
}
