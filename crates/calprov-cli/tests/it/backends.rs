//! One suite, every backend: each test runs the same commands against an SQLite file and a
//! PostgreSQL database (when the test server is there; CI requires it) and asserts the same
//! outcomes (the export's checks, run on both, are in `export.rs`).

use std::path::Path;

use serde_json::{Value, json};

use crate::lineage::chain_on;
use crate::support::*;

/// A real caltable copied into `dir` under `name`.
fn caltable(dir: &Path, name: &str, from: &str) -> String {
    let path = dir.join(name);
    copy_dir(&testdata().join(from), &path);
    path.to_string_lossy().into_owned()
}

/// Copies of `sim_gacal` and `sim_kcal` in `dir`, registered in set `obs` of `db`:
/// `(gain, delay)` paths.
fn obs_set(dir: &Path, db: &Path) -> (String, String) {
    let g = caltable(dir, "obs_gacal", "sim_gacal");
    let k = caltable(dir, "obs_kcal", "sim_kcal");
    register(db, "obs", &g, "GA", "40");
    register(db, "obs", &k, "K", "10");
    (g, k)
}

fn data(out: std::process::Output) -> Value {
    stdout_json(&ok(out))["data"].clone()
}

fn gaincal_params(table: &str) -> String {
    json!({"vis": "/data/obs.ms", "caltable": table, "gaintype": "G", "refant": "ea01"}).to_string()
}

#[test]
fn tracking_records_provenance_metrics_and_events_on_every_backend() {
    for backend in backends("tracking") {
        let dir = tempfile::tempdir().unwrap();
        let db = &backend.db;
        let (g, _) = obs_set(dir.path(), db);
        let tracked = track_gaincal(db, &g, &gaincal_params(&g), &["--json"]);
        assert_eq!(
            data(tracked)["result"]["outcome"],
            "tracked",
            "{}",
            backend.name
        );
        let record = data(calprov(db, &["show", &g, "--json"]));
        assert_eq!(record["source_ms_path"], "/data/obs.ms", "{}", backend.name);
        assert_eq!(record["solver_version"], "6.7.0.31", "{}", backend.name);
        assert_eq!(
            record["solver_command"],
            format!("gaincal(caltable='{g}', gaintype='G', refant='ea01', vis='/data/obs.ms')"),
            "{}",
            backend.name
        );
        let metrics = &record["quality_metrics"];
        assert_eq!(metrics["n_solutions"], 1680, "{}", backend.name);
        assert_eq!(metrics["qa_passed"], true, "{}", backend.name);
        assert_eq!(metrics["by_antenna"].as_array().map(Vec::len), Some(14));

        // Not registered: recorded as an event, counted as a failure kind.
        let lost = calprov(db, &["track", "--caltable", "/nowhere/x_gcal", "--json"]);
        assert_eq!(
            data(lost)["result"]["outcome"],
            "not_registered",
            "{}",
            backend.name
        );
        let stats = data(calprov(db, &["stats", "--json"]));
        assert_eq!(stats["events"], 2, "{}: {stats}", backend.name);
        assert_eq!(
            stats["by_failure_kind"]["not_registered"], 1,
            "{}",
            backend.name
        );
        assert_eq!(stats["coverage"]["registered"], 2, "{}", backend.name);
        assert_eq!(stats["coverage"]["with_provenance"], 1, "{}", backend.name);
        assert_eq!(stats["qa_pass_rate"], 1.0, "{}", backend.name);
        let check = calprov(db, &["check", "--max-failure-rate", "0.1"]);
        assert_eq!(check.status.code(), Some(4), "{}", backend.name);

        let by_source = data(calprov(db, &["by-source", "/data/obs.ms", "--json"]));
        assert_eq!(by_source[0]["path"], g.as_str(), "{}", backend.name);
    }
}

#[test]
fn re_registering_never_erases_provenance_on_any_backend() {
    let dir = tempfile::tempdir().unwrap();
    let g = caltable(dir.path(), "obs_gacal", "sim_gacal");
    for backend in backends("upsert") {
        let db = &backend.db;
        register(db, "obs", &g, "GA", "40");
        ok(track_gaincal(db, &g, &gaincal_params(&g), &["--strict"]));
        // The pipeline registers the set again, with new notes and no provenance.
        ok(calprov(
            db,
            &[
                "register", "--set", "obs2", "--path", &g, "--type", "GA", "--order", "41",
                "--notes", "again",
            ],
        ));
        let record = data(calprov(db, &["show", &g, "--json"]));
        assert_eq!(record["set_name"], "obs2", "{}", backend.name);
        assert_eq!(record["order_index"], 41, "{}", backend.name);
        assert_eq!(record["notes"], "again", "{}", backend.name);
        assert_eq!(record["source_ms_path"], "/data/obs.ms", "{}", backend.name);
        assert_eq!(record["solver_version"], "6.7.0.31", "{}", backend.name);
        assert!(record["quality_metrics"].is_object(), "{}", backend.name);

        let retired = data(calprov(db, &["retire", "obs2", "--json"]));
        assert_eq!(retired["retired"], 1, "{}: {retired}", backend.name);
        let sets = data(calprov(db, &["sets", "--json"]));
        assert_eq!(sets[0]["n_active"], 0, "{}", backend.name);
        assert_eq!(sets[0]["n_with_provenance"], 1, "{}", backend.name);
    }
}

#[test]
fn applications_pin_the_current_solve_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let g = caltable(dir.path(), "obs_gacal", "sim_gacal");
    for backend in backends("applications") {
        let db = &backend.db;
        register(db, "obs", &g, "GA", "40");
        ok(track_gaincal(db, &g, &gaincal_params(&g), &["--strict"]));
        let applied = data(calprov(
            db,
            &[
                "applied",
                "--params",
                &json!({"vis": "/data/target.ms", "gaintable": [g]}).to_string(),
                "--strict",
                "--json",
            ],
        ));
        assert_eq!(
            applied["result"]["outcome"], "tracked",
            "{}: {applied}",
            backend.name
        );
        // An application of a table never solved is recorded, and partial.
        let partial = data(calprov(
            db,
            &[
                "applied",
                "--params",
                &json!({"vis": "/data/target.ms", "gaintable": ["/nowhere/x_bcal"]}).to_string(),
                "--json",
            ],
        ));
        assert_eq!(
            partial["result"]["outcome"], "partial",
            "{}: {partial}",
            backend.name
        );
        let stats = data(calprov(db, &["stats", "--json"]));
        assert_eq!(stats["events"], 3, "{}: {stats}", backend.name);
        assert_eq!(stats["by_outcome"]["partial"], 1, "{}", backend.name);
    }
}

#[test]
fn every_backend_says_where_it_is() {
    for backend in backends("where") {
        let located = data(calprov(&backend.db, &["where", "--json"]));
        assert_eq!(located["backend"], backend.name);
        // The file as given; the server's URL without its password.
        assert_eq!(located["path"], backend.shown(), "{located}");
        let init = data(calprov(&backend.db, &["init", "--json"]));
        assert_eq!(init["backend"], backend.name, "{init}");
        assert_eq!(init["path"], backend.shown(), "{init}");
        // The same schema version on both: the PROV views (V5) are on the server too.
        assert_eq!(init["schema_version"], 5, "{init}");
    }
}

#[test]
fn impact_walks_the_same_lineage_on_every_backend() {
    let mut answers = Vec::new();
    for backend in backends("impact") {
        let c = chain_on(Some(backend.db.clone()));
        let plain = data(calprov(&c.db, &["impact", &c.k, "--json"]));
        assert_eq!(
            plain,
            json!(["/data/ms1.ms", "/data/ms2.ms", "/data/ms3.ms"]),
            "{}",
            backend.name
        );
        // Restricted to antenna 5: MS2's application (antennas 0~3) is out of reach.
        let antenna = data(calprov(
            &c.db,
            &["impact", &c.k, "--antenna", "5", "--explain", "--json"],
        ));
        let explained = data(calprov(&c.db, &["impact", &c.k, "--explain", "--json"]));
        assert_eq!(
            explained["caltables"],
            json!([c.b, c.g]),
            "{}",
            backend.name
        );
        // History, lineage, recall and a re-solve plan read the same records back.
        let plan = data(calprov(&c.db, &["plan", &c.g, "--downstream", "--json"]));
        let history = data(calprov(&c.db, &["history", &c.k, "--json"]));
        assert_eq!(
            history.as_array().map(Vec::len),
            Some(1),
            "{}",
            backend.name
        );
        let lineage = data(calprov(&c.db, &["lineage", &c.g, "--json"]));
        let recall = data(calprov(
            &c.db,
            &["recall", "--casa-version", "6.7.0.31", "--json"],
        ));
        assert_eq!(
            recall["solves"].as_array().map(Vec::len),
            Some(3),
            "{}: {recall}",
            backend.name
        );
        // The answers name the same tables on both backends, under their own root; times
        // differ.
        let root = c.root.to_string_lossy().into_owned();
        let mut text = format!("{antenna}{explained}{history}{lineage}{recall}{plan}")
            .replace(&root, "<root>");
        for time_key in ["solved_at", "applied_at", "assessed_at", "at"] {
            text = strip_numbers_after(&text, &format!("\"{time_key}\":"));
        }
        answers.push(text);
    }
    if let [sqlite, postgres] = answers.as_slice() {
        assert_eq!(sqlite, postgres);
    }
}

/// `text` with the number after each `key` replaced by `#`.
fn strip_numbers_after(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(key) {
        let (head, tail) = rest.split_at(at + key.len());
        out.push_str(head);
        out.push('#');
        rest = tail
            .trim_start_matches(|c: char| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | '+'));
    }
    out.push_str(rest);
    out
}

#[test]
fn verify_says_what_changed_on_every_backend() {
    for backend in backends("verify") {
        let dir = tempfile::tempdir().unwrap();
        let db = &backend.db;
        let (g, k) = obs_set(dir.path(), db);
        ok(track_gaincal(db, &g, &gaincal_params(&g), &["--strict"]));
        ok(track_gaincal(db, &k, &gaincal_params(&k), &["--strict"]));
        ok(calprov(db, &["verify", "--all"]));
        std::fs::remove_dir_all(&k).unwrap();
        let out = calprov(db, &["verify", "--set", "obs", "--json"]);
        assert_eq!(out.status.code(), Some(1), "{}", backend.name);
        let verdicts = stdout_json(&out)["data"].clone();
        let of = |path: &str| {
            verdicts
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["caltable"] == path)
                .map(|v| v["verdicts"].clone())
        };
        assert_eq!(
            of(&g),
            Some(json!(["unchanged"])),
            "{}: {verdicts}",
            backend.name
        );
        assert_eq!(
            of(&k),
            Some(json!(["missing"])),
            "{}: {verdicts}",
            backend.name
        );
    }
}

#[test]
fn backfill_fills_what_the_tables_know_on_every_backend() {
    for backend in backends("backfill") {
        let dir = tempfile::tempdir().unwrap();
        let db = &backend.db;
        let (g, _) = obs_set(dir.path(), db);
        let dry = data(calprov(db, &["backfill", "--all", "--dry-run", "--json"]));
        assert_eq!(dry["candidates"], 2, "{}: {dry}", backend.name);
        let done = data(calprov(db, &["backfill", "--all", "--json"]));
        assert_eq!(done["filled"], 2, "{}: {done}", backend.name);
        let record = data(calprov(db, &["show", &g, "--json"]));
        assert_eq!(record["solver_version"], "6.7.0.31", "{}", backend.name);
        assert!(record["solver_command"].is_null(), "{}", backend.name);
        assert_eq!(
            record["quality_metrics"]["n_solutions"], 1680,
            "{}",
            backend.name
        );
        let again = data(calprov(db, &["backfill", "--all", "--json"]));
        assert_eq!(again["filled"], 0, "{}: {again}", backend.name);
        ok(calprov(db, &["verify", "--all"]));
    }
}

#[test]
fn the_report_has_the_same_figures_on_every_backend() {
    let mut figures = Vec::new();
    for backend in backends("report") {
        let dir = tempfile::tempdir().unwrap();
        let g = caltable(dir.path(), "obs_gacal", "sim_gacal");
        let f = caltable(dir.path(), "obs_gpcal", "sim_flagged_gpcal");
        let k = caltable(dir.path(), "obs_kcal", "sim_kcal");
        let db = &backend.db;
        register(db, "obs", &g, "GA", "40");
        register(db, "obs", &f, "G", "30");
        register(db, "other", &k, "K", "10");
        ok(track_gaincal(db, &g, &gaincal_params(&g), &["--strict"]));
        ok(track_gaincal(db, &f, &gaincal_params(&f), &[]));
        calprov(db, &["track", "--caltable", "/nowhere/x_gcal"]);
        let page = dir.path().join("report.html");
        let report = data(calprov(
            db,
            &["report", "--html", page.to_str().unwrap(), "--json"],
        ));
        assert!(page.is_file(), "{}", backend.name);
        assert_eq!(
            report["totals"]["caltables"], 3,
            "{}: {report}",
            backend.name
        );
        assert_eq!(report["totals"]["with_provenance"], 2, "{}", backend.name);
        assert_eq!(report["totals"]["tracking_failures"], 1, "{}", backend.name);
        assert_eq!(
            report["heatmap"]["caltables"], 2,
            "{}: {report}",
            backend.name
        );
        let root = dir.path().to_string_lossy().into_owned();
        let same: Vec<String> = [
            "totals",
            "coverage",
            "qa",
            "flagged_fraction",
            "heatmap",
            "casa_versions",
        ]
        .iter()
        .map(|key| report[*key].to_string().replace(&root, "<root>"))
        .collect();
        figures.push((same, report["latest_failures"].as_array().map(Vec::len)));
    }
    if let [sqlite, postgres] = figures.as_slice() {
        assert_eq!(sqlite, postgres);
    }
}
