//! `calprov export` on real CASA caltables, on every backend, checked by the real tools: the
//! PyPI `prov` package (schema, deserialisation with warnings as errors, `unified()`, round
//! trip, PROV-N parsed back) and Graphviz's `dot`; a referential-integrity check of our own;
//! the registry's PROV views against the export; the same documents from both backends.
//!
//! `CALPROV_PROV_PYTHON` names a Python with `prov`, `jsonschema` and `psycopg` (`.ci/run`
//! creates one); `dot` is looked up on PATH. Without them those checks report that they did not
//! run, unless `CALPROV_REQUIRE_TOOLS=1` (set by `.ci/run`), where a missing tool fails.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

/// A registry with everything the export must say: a K -> B -> G chain from MS1 (G solved
/// twice: a revision), a flagged phase table that fails QA, a caltable in a directory whose
/// name a PROV-N name cannot hold, an application of all of them (and of an unregistered
/// table) to an MS whose name has a space, and a registered table never solved.
struct Graph {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: PathBuf,
    b: String,
    g: String,
}

/// The graph in the registry `db` (a file or a server's URL).
fn graph_on(db: &Path) -> Graph {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let db = db.to_path_buf();
    let table = |name: &str, from: &str| {
        let path = root.join(name);
        copy_dir(&testdata().join(from), &path);
        path.to_string_lossy().into_owned()
    };
    let k = table("obs_kcal", "sim_kcal");
    let b = table("obs_bpcal", "sim_bpcal");
    let g = table("obs_gacal", "sim_gacal");
    let p = table("obs_gpcal", "sim_flagged_gpcal");
    let odd = table("odd (v2)_kcal", "sim_kcal");
    let never = root.join("never_gacal").to_string_lossy().into_owned();
    for (path, kind, order) in [
        (&k, "K", "10"),
        (&b, "BP", "30"),
        (&g, "GA", "40"),
        (&p, "GP", "50"),
        (&odd, "K", "11"),
        (&never, "GA", "41"),
    ] {
        register(&db, "obs", path, kind, order);
    }
    let ms1 = root.join("obs1.ms").to_string_lossy().into_owned();
    solve(
        &db,
        &k,
        "gaincal",
        json!({"vis": ms1, "caltable": k, "gaintype": "K", "refant": "OV03"}),
    );
    solve(
        &db,
        &odd,
        "gaincal",
        json!({"vis": ms1, "caltable": odd, "gaintype": "K"}),
    );
    solve(
        &db,
        &b,
        "bandpass",
        json!({"vis": ms1, "caltable": b, "gaintable": [k], "solnorm": true}),
    );
    for solint in ["int", "30s"] {
        solve(
            &db,
            &g,
            "gaincal",
            json!({"vis": ms1, "caltable": g, "gaintable": [k, b],
            "interp": ["", "nearest"], "solint": solint, "minsnr": 3.0}),
        );
    }
    solve(
        &db,
        &p,
        "gaincal",
        json!({"vis": ms1, "caltable": p, "gaintable": [k, b], "calmode": "p"}),
    );
    let ms2 = root.join("my target.ms").to_string_lossy().into_owned();
    // Not strict: the foreign table has no recorded solve to pin (a warning, recorded all the same).
    let params = json!({"vis": ms2, "gaintable": [k, b, g, "/elsewhere/foreign_kcal"],
        "spwmap": [[], [], [0, 0], []], "antenna": "0~3"});
    ok(calprov(&db, &["applied", "--params", &params.to_string()]));
    Graph {
        _dir: dir,
        root,
        db,
        b,
        g,
    }
}

fn export(db: &Path, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let out = ok(calprov(db, &all));
    String::from_utf8(out.stdout).unwrap()
}

fn export_json(db: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&export(db, args)).unwrap()
}

/// Every relation names records the document holds; no blank nodes.
fn assert_referentially_whole(doc: &Value) {
    let mut ids = HashSet::new();
    for section in ["entity", "activity", "agent"] {
        for id in doc[section]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(id, _)| id)
        {
            assert!(!id.starts_with("_:"), "{id}");
            ids.insert(id.clone());
        }
    }
    let mut checked = 0;
    for section in [
        "used",
        "wasGeneratedBy",
        "wasAssociatedWith",
        "wasDerivedFrom",
    ] {
        for (id, relation) in doc[section].as_object().into_iter().flatten() {
            assert!(!id.starts_with("_:"), "{id}");
            for key in [
                "prov:activity",
                "prov:entity",
                "prov:agent",
                "prov:generatedEntity",
                "prov:usedEntity",
            ] {
                if let Some(target) = relation.get(key).and_then(Value::as_str) {
                    assert!(
                        ids.contains(target),
                        "{section} {id}: {key} {target} is not in the document"
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0, "no relation checked");
}

fn tool_required() -> bool {
    std::env::var_os("CALPROV_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

#[allow(clippy::print_stderr)]
/// Runs `check_prov.py` on a JSON and a PROV-N export (and the registry's views when given).
fn check_with_prov(json_text: &str, provn_text: &str, views_of: Option<&Path>) -> Option<Value> {
    let Some(python) = std::env::var_os("CALPROV_PROV_PYTHON") else {
        assert!(!tool_required(), "CALPROV_PROV_PYTHON is not set");
        eprintln!("CALPROV_PROV_PYTHON is not set: the prov package checks did not run");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let (json_path, provn_path) = (dir.path().join("doc.json"), dir.path().join("doc.provn"));
    std::fs::write(&json_path, json_text).unwrap();
    std::fs::write(&provn_path, provn_text).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_prov.py");
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(&json_path).arg(&provn_path);
    if let Some(db) = views_of {
        cmd.arg(db);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "prov rejected the export:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

#[allow(clippy::print_stderr)]
/// Renders DOT with Graphviz: success and not a word on stderr.
fn render_dot(dot: &str) -> Option<String> {
    let mut child = match Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert!(!tool_required(), "Graphviz dot: {e}");
            eprintln!("Graphviz dot not found ({e}): DOT rendering not checked");
            return None;
        }
    };
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(dot.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "dot warned: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    Some(svg)
}

#[test]
fn the_whole_registry_exports_as_valid_prov_equal_to_the_views() {
    let mut documents = Vec::new();
    for backend in backends("export_all") {
        let graph = graph_on(&backend.db);
        documents.push(whole_registry_exports_as_valid_prov(&graph, backend.name));
    }
    // The same records, ids and attributes from either backend, once each one's root and
    // times are set aside.
    if let [sqlite, postgres] = documents.as_slice() {
        assert_eq!(sqlite, postgres);
    }
}

/// The checks of the whole registry's export; returns its PROV-N with the graph's root
/// and the times replaced, its lines sorted.
fn whole_registry_exports_as_valid_prov(graph: &Graph, backend: &str) -> String {
    let text = export(&graph.db, &["--all"]);
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_referentially_whole(&doc);
    assert_eq!(
        doc["prefix"]["voprov"],
        "http://www.ivoa.net/documents/ProvenanceDM/index.html#"
    );
    // Six solves and one application; the re-solved G is two entity versions, the second a
    // revision of the first.
    assert_eq!(doc["activity"].as_object().unwrap().len(), 7);
    let g_versions: Vec<&String> = doc["entity"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, e)| e["prov:location"] == graph.g.as_str() && e["calprov:kind"] == "caltable")
        .map(|(id, _)| id)
        .collect();
    assert_eq!(g_versions.len(), 2, "{g_versions:?}");
    let revision = doc["wasDerivedFrom"]
        .as_object()
        .unwrap()
        .values()
        .find(|d| {
            d["prov:type"]["$"] == "prov:Revision" && d["prov:usedEntity"] == g_versions[0].as_str()
        })
        .expect("the second G is a revision of the first");
    assert_eq!(revision["prov:generatedEntity"], g_versions[1].as_str());
    // The solve's parameters, typed; its CASA as a software agent.
    let second_g = doc["activity"]
        .as_object()
        .unwrap()
        .values()
        .find(|a| a["casaparam:solint"] == "30s")
        .unwrap();
    assert_eq!(second_g["casaparam:minsnr"], json!(3.0));
    assert_eq!(second_g["prov:label"], "gaincal");
    assert!(
        second_g["calprov:command"]
            .as_str()
            .unwrap()
            .starts_with("gaincal(")
    );
    let agents = doc["agent"].as_object().unwrap();
    assert!(
        agents
            .values()
            .all(|a| a["prov:type"]["$"] == "prov:SoftwareAgent"),
        "{agents:?}"
    );
    // Entities: metrics and fingerprints on versions; ids for odd paths spelled in hex.
    let entities = doc["entity"].as_object().unwrap();
    let flagged = entities
        .values()
        .find(|e| e["prov:label"] == "obs_gpcal")
        .unwrap();
    assert_eq!(flagged["calprov:qa_passed"], false);
    assert!(flagged["calprov:flagged_fraction"].as_f64().unwrap() > 0.8);
    assert!(
        flagged["calprov:fingerprint"]
            .as_str()
            .unwrap()
            .contains("xxh3-128:")
    );
    let odd = entities
        .iter()
        .find(|(_, e)| e["prov:label"] == "odd (v2)_kcal")
        .unwrap();
    assert!(odd.0.starts_with("calprov:caltable-"), "{}", odd.0);
    let target = entities
        .iter()
        .find(|(_, e)| e["prov:label"] == "my target.ms" && e["calprov:kind"] == "ms")
        .unwrap();
    assert!(target.0.starts_with("calprov:ms-x"), "{}", target.0);
    assert!(
        entities.values().any(|e| e["prov:label"] == "never_gacal"),
        "registered, never solved"
    );
    assert!(
        entities
            .values()
            .any(|e| e["prov:location"] == "/elsewhere/foreign_kcal"),
        "applied, unregistered"
    );
    let applied_g = doc["used"]
        .as_object()
        .unwrap()
        .values()
        .find(|u| {
            u["prov:activity"]
                .as_str()
                .unwrap()
                .starts_with("calprov:apply-")
                && u["calprov:index"] == 2
        })
        .unwrap();
    assert_eq!(
        applied_g["prov:entity"],
        g_versions[1].as_str(),
        "the application pinned G's second version"
    );
    assert_eq!(applied_g["calprov:spwmap"], "[0,0]");

    let provn = export(&graph.db, &["--all", "--format", "prov-n"]);
    // The registry's views (a file's through Python's sqlite3, a server's through psycopg).
    if let Some(counts) = check_with_prov(&text, &provn, Some(&graph.db)) {
        assert_eq!(counts["activity"], 7, "{backend}");
    }
    let root = graph.root.to_string_lossy().into_owned();
    let root_hex: String = root.bytes().map(|b| format!("{b:02X}")).collect();
    let provn = without_times(&provn.replace(&root, "<root>").replace(&root_hex, "<root>"));
    // Rows come in each backend's order where no order is asked for.
    let mut lines: Vec<&str> = provn.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// `text` with every ISO 8601 time (`2026-12-05T11:30:17.123Z`) replaced by `<time>`.
fn without_times(text: &str) -> String {
    let is_time = |s: &[u8]| {
        s.len() >= 24
            && s[..24].iter().enumerate().all(|(i, c)| match i {
                4 | 7 => *c == b'-',
                10 => *c == b'T',
                13 | 16 => *c == b':',
                19 => *c == b'.',
                23 => *c == b'Z',
                _ => c.is_ascii_digit(),
            })
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if is_time(&bytes[i..]) {
            out.extend_from_slice(b"<time>");
            i += 24;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn parts_of_the_graph_follow_lineage_up_and_impact_down() {
    for backend in backends("export_parts") {
        parts_follow_lineage_up_and_impact_down(&graph_on(&backend.db));
    }
}

fn parts_follow_lineage_up_and_impact_down(graph: &Graph) {
    let activities = |doc: &Value| -> Vec<String> {
        let mut labels: Vec<String> = doc["activity"]
            .as_object()
            .unwrap()
            .values()
            .map(|a| a["prov:label"].as_str().unwrap().to_owned())
            .collect();
        labels.sort();
        labels
    };
    // G alone: its two solves, and the entities they name (K, B, the MS), no more activities.
    let g_only = export_json(&graph.db, &[&graph.g]);
    assert_referentially_whole(&g_only);
    assert_eq!(activities(&g_only), ["gaincal", "gaincal"]);
    // Upstream: K and B were solved too.
    let up = export_json(&graph.db, &[&graph.g, "--upstream"]);
    assert_referentially_whole(&up);
    assert_eq!(
        activities(&up),
        ["bandpass", "gaincal", "gaincal", "gaincal"]
    );
    // Downstream of B: G (both versions), the phase table and the application.
    let down = export_json(&graph.db, &[&graph.b, "--downstream"]);
    assert_referentially_whole(&down);
    assert_eq!(
        activities(&down),
        ["applycal", "bandpass", "gaincal", "gaincal", "gaincal"]
    );
    // A set is its caltables.
    let set = export_json(&graph.db, &["--set", "obs"]);
    assert_referentially_whole(&set);
    assert_eq!(
        set["activity"].as_object().unwrap().len(),
        6,
        "every solve, no application"
    );
    for args in [
        vec![graph.g.as_str(), "--upstream"],
        vec![graph.b.as_str(), "--downstream"],
    ] {
        let json_text = export(&graph.db, &args);
        let mut provn_args = args.clone();
        provn_args.extend(["--format", "prov-n"]);
        check_with_prov(&json_text, &export(&graph.db, &provn_args), None);
    }
}

#[test]
fn dot_renders_with_graphviz_and_marks_qa_failures_and_changed_tables() {
    for backend in backends("export_dot") {
        dot_renders_and_marks(&graph_on(&backend.db));
    }
}

fn dot_renders_and_marks(graph: &Graph) {
    // B disappears from disk after it was used.
    std::fs::remove_dir_all(&graph.b).unwrap();
    let dot = export(&graph.db, &["--all", "--format", "dot"]);
    assert!(dot.contains("QA failed"), "{dot}");
    assert!(dot.contains("on disk: missing"), "{dot}");
    assert!(dot.contains("label=\"used\\ngaintable[1]\""), "{dot}");
    assert!(dot.contains("label=\"wasRevisionOf\""), "{dot}");
    assert_eq!(dot.matches("on disk:").count(), 1, "only B changed: {dot}");
    render_dot(&dot);
    let part = export(&graph.db, &[&graph.g, "--upstream", "--format", "dot"]);
    render_dot(&part);
}

#[test]
fn bad_input_is_named_and_a_failed_export_leaves_no_file() {
    for backend in backends("export_bad_input") {
        bad_input_is_named(&graph_on(&backend.db));
    }
}

fn bad_input_is_named(graph: &Graph) {
    let out = calprov(&graph.db, &["export", "/nowhere/unknown_gcal"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("/nowhere/unknown_gcal") && stderr.contains("not in the registry"),
        "{stderr}"
    );

    let out = calprov(&graph.db, &["export", "--set", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("set nosuch: no caltable is registered in it"),
        "{stderr}"
    );

    let target = graph.root.join("graph.json");
    std::fs::write(&target, "previous").unwrap();
    let out = calprov(
        &graph.db,
        &[
            "export",
            "/nowhere/unknown_gcal",
            "--out",
            target.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "previous",
        "the old file is kept"
    );
    let leftovers: Vec<_> = std::fs::read_dir(&graph.root)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    let out = ok(calprov(
        &graph.db,
        &["export", "--all", "--out", target.to_str().unwrap()],
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exported ") && stderr.contains(" activity"),
        "{stderr}"
    );
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(written["activity"].as_object().unwrap().len(), 7);
}

#[test]
fn a_legacy_registry_exports_after_adoption() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("legacy.sqlite3");
    create_shape(&db, Shape::Legacy, 3);
    let doc = export_json(&db, &["--all"]);
    assert_referentially_whole_or_empty(&doc);
    // Registered, never solved: entities known by path only.
    assert_eq!(doc["entity"].as_object().map(|e| e.len()), Some(3), "{doc}");
    let provn = export(&db, &["--all", "--format", "prov-n"]);
    check_with_prov(&doc.to_string(), &provn, Some(&db));
}

fn assert_referentially_whole_or_empty(doc: &Value) {
    for section in [
        "used",
        "wasGeneratedBy",
        "wasAssociatedWith",
        "wasDerivedFrom",
    ] {
        assert!(
            doc.get(section).is_none(),
            "{section} in a registry without history"
        );
    }
}

#[test]
fn output_into_a_fifo_or_through_a_symlink_leaves_them_what_they_are() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let graph = graph_on(&dir.path().join("reg.sqlite3"));
    // A FIFO (as /dev/null or a pipe to another tool): written in place, never replaced by
    // a plain file.
    let fifo = dir.path().join("graph.fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let (send, read) = std::sync::mpsc::channel();
    {
        let fifo = fifo.clone();
        // Blocks until a writer opens the FIFO: were it replaced, it would wait forever.
        std::thread::spawn(move || send.send(std::fs::read_to_string(fifo).unwrap()));
    }
    ok(calprov(
        &graph.db,
        &["export", "--all", "--out", fifo.to_str().unwrap()],
    ));
    let text = read
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("nothing was written into the FIFO");
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["activity"].as_object().unwrap().len(), 7);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
    // A symlink to a file: the file is replaced, the link stays a link.
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("latest.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    ok(calprov(
        &graph.db,
        &["export", "--all", "--out", link.to_str().unwrap()],
    ));
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&real).unwrap()).unwrap();
    assert_eq!(doc["activity"].as_object().unwrap().len(), 7);
}
