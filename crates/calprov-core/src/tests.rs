use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::db_path::{DbRule, resolve_db_path};
use crate::env::Environment;
use crate::suffix_rules::type_and_order;
use crate::*;

fn registry() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(&dir.path().join("reg.sqlite3")).unwrap();
    (dir, reg)
}

fn row(path: &str, table_type: &str, order: i64) -> NewCaltable {
    NewCaltable {
        path: path.into(),
        table_type: table_type.into(),
        order_index: order,
        ..NewCaltable::default()
    }
}

fn provenance(ms: &str) -> Provenance {
    Provenance {
        source_ms_path: Some(ms.into()),
        solver_command: Some("gaincal(vis='x')".into()),
        solver_version: Some("6.7.0.31".into()),
        solver_params: Some(json!({"vis": "x", "minsnr": 3})),
        quality_metrics: Some(json!({"n_solutions": 10, "qa_passed": true})),
    }
}

#[test]
fn upsert_keeps_id_and_provenance_when_incoming_row_has_none() {
    let (_dir, mut reg) = registry();
    reg.register_set("s1", &[row("/cal/a_kcal", "K", 10)], RegisterMode::Upsert)
        .unwrap();
    let id = reg
        .get_caltable_provenance("/cal/a_kcal")
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        reg.track_calibration_provenance("/cal/a_kcal", &provenance("/data/x.ms"))
            .unwrap(),
        ProvenanceUpdate::Updated
    );
    let mut again = row("/cal/a_kcal", "K", 11);
    again.notes = Some("re-registered".into());
    let summary = reg
        .register_set("s2", &[again], RegisterMode::Upsert)
        .unwrap();
    assert_eq!(summary.updated, 1);
    let rec = reg.get_caltable_provenance("/cal/a_kcal").unwrap().unwrap();
    assert_eq!(rec.id, id);
    assert_eq!(rec.set_name, "s2");
    assert_eq!(rec.order_index, 11);
    assert_eq!(rec.notes.as_deref(), Some("re-registered"));
    assert_eq!(rec.source_ms_path.as_deref(), Some("/data/x.ms"));
    assert_eq!(rec.solver_params, Some(json!({"vis": "x", "minsnr": 3})));
}

#[test]
fn ignore_leaves_existing_row_untouched() {
    let (_dir, mut reg) = registry();
    reg.register_set("s1", &[row("/cal/a_kcal", "K", 10)], RegisterMode::Upsert)
        .unwrap();
    let before = reg.get_caltable_provenance("/cal/a_kcal").unwrap().unwrap();
    let summary = reg
        .register_set(
            "s2",
            &[row("/cal/a_kcal", "GA", 40), row("/cal/b_gacal", "GA", 40)],
            RegisterMode::Ignore,
        )
        .unwrap();
    assert_eq!(
        summary,
        RegisterSummary {
            inserted: 1,
            updated: 0,
            ignored: 1
        }
    );
    assert_eq!(
        reg.get_caltable_provenance("/cal/a_kcal").unwrap().unwrap(),
        before
    );
}

#[test]
fn tracking_an_unregistered_caltable_creates_nothing() {
    let (_dir, mut reg) = registry();
    assert_eq!(
        reg.track_calibration_provenance("/cal/nope", &provenance("/x.ms"))
            .unwrap(),
        ProvenanceUpdate::NotRegistered
    );
    assert!(reg.get_caltable_provenance("/cal/nope").unwrap().is_none());
    assert!(reg.list_sets().unwrap().is_empty());
}

#[test]
fn invalid_rows_are_refused_with_the_field_named() {
    let (_dir, mut reg) = registry();
    let mut bad = row("/cal/a", "K", 10);
    bad.status = Some("broken".into());
    let err = reg
        .register_set("s", &[row("/cal/ok", "K", 10), bad], RegisterMode::Upsert)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidField {
                field: "status",
                ..
            }
        ),
        "{err}"
    );
    // All or nothing: the valid row of the same batch was not stored either.
    assert!(reg.get_caltable_provenance("/cal/ok").unwrap().is_none());
}

#[test]
fn by_source_orders_by_order_index_then_newest() {
    let (_dir, mut reg) = registry();
    reg.register_set(
        "s",
        &[row("/c/g", "GA", 40), row("/c/k", "K", 10)],
        RegisterMode::Upsert,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    reg.register_set("s", &[row("/c/k2", "K", 10)], RegisterMode::Upsert)
        .unwrap();
    for p in ["/c/g", "/c/k", "/c/k2"] {
        reg.track_calibration_provenance(p, &provenance("/data/x.ms"))
            .unwrap();
    }
    let paths: Vec<String> = reg
        .query_caltables_by_source("/data/x.ms")
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().path)
        .collect();
    assert_eq!(paths, ["/c/k2", "/c/k", "/c/g"]);
}

#[test]
fn impact_is_distinct_sorted_and_skips_nulls() {
    let (_dir, mut reg) = registry();
    reg.register_set(
        "s",
        &[
            row("/c/a", "K", 10),
            row("/c/b", "K", 10),
            row("/c/c", "K", 10),
            row("/c/d", "K", 10),
        ],
        RegisterMode::Upsert,
    )
    .unwrap();
    reg.track_calibration_provenance("/c/a", &provenance("/z.ms"))
        .unwrap();
    reg.track_calibration_provenance("/c/b", &provenance("/a.ms"))
        .unwrap();
    reg.track_calibration_provenance("/c/c", &provenance("/z.ms"))
        .unwrap();
    let impact = reg
        .impact_analysis(&[
            "/c/a".into(),
            "/c/b".into(),
            "/c/c".into(),
            "/c/d".into(),
            "/c/missing".into(),
        ])
        .unwrap();
    assert_eq!(impact, ["/a.ms", "/z.ms"]);
}

#[test]
fn unreadable_json_is_an_error_for_that_row_only() {
    let (dir, mut reg) = registry();
    reg.register_set(
        "s",
        &[row("/c/a", "K", 10), row("/c/b", "K", 20)],
        RegisterMode::Upsert,
    )
    .unwrap();
    reg.track_calibration_provenance("/c/a", &provenance("/x.ms"))
        .unwrap();
    reg.track_calibration_provenance("/c/b", &provenance("/x.ms"))
        .unwrap();
    let raw = rusqlite::Connection::open(dir.path().join("reg.sqlite3")).unwrap();
    raw.execute("UPDATE caltables SET quality_metrics = '{\"snr\": NaN, \"x\": Infinity}' WHERE path = '/c/a'", [])
        .unwrap();
    raw.execute(
        "UPDATE caltables SET solver_params = '{broken' WHERE path = '/c/b'",
        [],
    )
    .unwrap();
    let rows = reg.query_caltables_by_source("/x.ms").unwrap();
    assert_eq!(rows.len(), 2);
    let a = rows[0].as_ref().unwrap();
    assert_eq!(
        a.quality_metrics,
        Some(json!({"snr": "NaN", "x": "Infinity"}))
    );
    match &rows[1] {
        Err(Error::InvalidJson {
            caltable, column, ..
        }) => {
            assert_eq!(caltable, "/c/b");
            assert_eq!(*column, "solver_params");
        }
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn retire_marks_the_set_and_keeps_notes() {
    let (_dir, mut reg) = registry();
    let mut a = row("/c/a", "K", 10);
    a.notes = Some("first".into());
    reg.register_set("s", &[a, row("/c/b", "K", 20)], RegisterMode::Upsert)
        .unwrap();
    reg.register_set("other", &[row("/c/o", "K", 20)], RegisterMode::Upsert)
        .unwrap();
    assert_eq!(reg.retire_set("s", "bad flux").unwrap(), 2);
    let a = reg.get_caltable_provenance("/c/a").unwrap().unwrap();
    assert_eq!(a.status, "retired");
    assert_eq!(a.notes.as_deref(), Some("first; retired: bad flux"));
    assert_eq!(
        reg.get_caltable_provenance("/c/o").unwrap().unwrap().status,
        "active"
    );
    let sets = reg.list_sets().unwrap();
    assert_eq!(
        sets.iter()
            .map(|s| (s.set_name.as_str(), s.n_active))
            .collect::<Vec<_>>(),
        [("other", 1), ("s", 0)]
    );
}

#[test]
fn relative_paths_are_stored_absolute_and_found_either_way() {
    let (_dir, mut reg) = registry();
    reg.register_set(
        "s",
        &[row("rel/dir/../x_kcal", "K", 10)],
        RegisterMode::Upsert,
    )
    .unwrap();
    let abs = std::env::current_dir().unwrap().join("rel/x_kcal");
    let rec = reg.get_caltable_provenance("rel/x_kcal").unwrap().unwrap();
    assert_eq!(Path::new(&rec.path), abs);
    assert!(
        reg.get_caltable_provenance(abs.to_str().unwrap())
            .unwrap()
            .is_some()
    );
}

#[test]
fn suffix_rules_type_and_order() {
    let names: Vec<(PathBuf, String)> = [
        "_gpcal",
        "_zz",
        "_kcal",
        "_flux.cal",
        "_bpcal",
        "_aa",
        "_2gcal",
        "_bacal",
        "_gacal",
        "_2kcal",
    ]
    .iter()
    .map(|s| (PathBuf::from(format!("/c/p{s}")), (*s).to_owned()))
    .collect();
    let typed: Vec<(String, i64)> = type_and_order(&names)
        .into_iter()
        .map(|t| (t.table_type, t.order_index))
        .collect();
    assert_eq!(
        typed,
        [
            ("K", 10),
            ("K", 10),
            ("BA", 20),
            ("BP", 30),
            ("GA", 40),
            ("GP", 50),
            ("2G", 60),
            ("FLUX", 70),
            ("AA", 80),
            ("ZZ", 90)
        ]
        .map(|(t, o)| (t.to_owned(), o))
    );
}

#[test]
fn register_from_prefix_finds_directories_only() {
    let (dir, mut reg) = registry();
    let base = dir.path().join("obs1");
    for suffix in ["_kcal", "_bpcal", "_gacal", "_weird"] {
        std::fs::create_dir(format!("{}{suffix}", base.display())).unwrap();
    }
    std::fs::write(format!("{}_gpcal", base.display()), b"a file, not a table").unwrap();
    let (rows, summary) = reg
        .register_from_prefix(
            "s",
            &base,
            &NewCaltable {
                refant: Some("3".into()),
                ..Default::default()
            },
            RegisterMode::Upsert,
        )
        .unwrap();
    assert_eq!(summary.inserted, 4);
    let types: Vec<_> = rows
        .iter()
        .map(|r| (r.table_type.as_str(), r.order_index))
        .collect();
    assert_eq!(types, [("K", 10), ("BP", 30), ("GA", 40), ("WEIRD", 80)]);
    assert!(rows.iter().all(|r| r.refant.as_deref() == Some("3")));
    let err = reg
        .register_from_prefix(
            "s",
            &dir.path().join("none"),
            &NewCaltable::default(),
            RegisterMode::Upsert,
        )
        .unwrap_err();
    assert!(matches!(err, Error::NoCaltables { .. }));
}

fn env_with(pairs: &[(&str, &str)]) -> Environment {
    let mut e = Environment {
        home: Some(OsString::from("/home/op")),
        ..Default::default()
    };
    for (k, v) in pairs {
        let v = Some(OsString::from(v));
        match *k {
            "PIPELINE_DB" => e.pipeline_db = v,
            "CAL_REGISTRY_DB" => e.cal_registry_db = v,
            "PIPELINE_STATE_DIR" => e.pipeline_state_dir = v,
            _ => unreachable!(),
        }
    }
    e
}

#[test]
fn db_path_precedence_and_disagreement_warnings() {
    let all = env_with(&[
        ("PIPELINE_DB", "/a.db"),
        ("CAL_REGISTRY_DB", "/b.db"),
        ("PIPELINE_STATE_DIR", "/state"),
    ]);
    let explicit = resolve_db_path(Some(Path::new("/x.db")), &all).expect("a file location");
    assert_eq!(
        (explicit.file().expect("a file"), explicit.rule),
        (Path::new("/x.db"), DbRule::Explicit)
    );
    let loc = resolve_db_path(None, &all).expect("a file location");
    assert_eq!(
        (loc.file().expect("a file"), loc.rule),
        (Path::new("/a.db"), DbRule::PipelineDb)
    );
    assert_eq!(loc.warnings.len(), 2, "{:?}", loc.warnings);
    let loc = resolve_db_path(
        None,
        &env_with(&[
            ("CAL_REGISTRY_DB", "/b.db"),
            ("PIPELINE_STATE_DIR", "/state"),
        ]),
    )
    .expect("a file location");
    assert_eq!(loc.rule, DbRule::CalRegistryDb);
    let loc = resolve_db_path(None, &env_with(&[("PIPELINE_STATE_DIR", "/state")]))
        .expect("a file location");
    assert_eq!(
        (loc.file().expect("a file"), loc.rule),
        (
            Path::new("/state/cal_registry.sqlite3"),
            DbRule::PipelineStateDir
        )
    );
    assert!(loc.warnings.is_empty());
    let agree = resolve_db_path(
        None,
        &env_with(&[
            ("PIPELINE_DB", "/state/cal_registry.sqlite3"),
            ("PIPELINE_STATE_DIR", "/state/"),
        ]),
    )
    .expect("a file location");
    assert!(agree.warnings.is_empty(), "{:?}", agree.warnings);
    let loc = resolve_db_path(None, &env_with(&[])).expect("a file location");
    assert_eq!(
        (loc.file().expect("a file"), loc.rule),
        (
            Path::new("/home/op/.local/state/calprov/cal_registry.sqlite3"),
            DbRule::Default
        )
    );
}
