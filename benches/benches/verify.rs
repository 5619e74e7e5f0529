//! `verify --all` on 10,000 tracked caltables (2,000 copies of each shared real table, their
//! files hard-linked so the copies cost no disk), against the I/O floor of the same run:
//! reading every file of every table from the page cache.

#![allow(missing_docs, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use calprov_benches::{read_table_files, testdata};

/// Every file of a table and its subtables, read: what any reader must at least do.
fn read_tree(dir: &Path) -> usize {
    let here = read_table_files(dir);
    let subtables: usize = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| read_tree(&e.path()))
                .sum()
        })
        .unwrap_or(0);
    here + subtables
}
use calprov_core::{
    NewCaltable, RegisterMode, Registry, SolveRecord, TrackConfig, TrackOutcome, track_after_solve,
    verify_many,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;

const TABLES: [&str; 5] = [
    "sim_gacal",
    "sim_gpcal",
    "sim_bpcal",
    "sim_kcal",
    "sim_flagged_gpcal",
];
const COPIES: usize = 2_000;

/// A copy of a table directory whose files are hard links to the original's.
fn link_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            link_copy(&entry.path(), &target);
        } else {
            std::fs::hard_link(entry.path(), &target).unwrap();
        }
    }
}

fn verify_all(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // Hard links need the sources on the same filesystem: one real copy of each first.
    let mut tables: Vec<PathBuf> = Vec::new();
    for name in TABLES {
        let source = dir.path().join("source").join(name);
        link_copy_or_copy(&testdata().join(name), &source);
        for i in 0..COPIES {
            let copy = dir.path().join("tables").join(format!("{name}_{i:04}"));
            link_copy(&source, &copy);
            tables.push(copy);
        }
    }
    let db = dir.path().join("registry.sqlite3");
    let mut registry = Registry::open(&db).unwrap();
    let rows: Vec<NewCaltable> = tables
        .iter()
        .map(|path| NewCaltable {
            path: path.to_string_lossy().into_owned(),
            table_type: "G".into(),
            order_index: 40,
            ..NewCaltable::default()
        })
        .collect();
    registry
        .register_set("bench", &rows, RegisterMode::Upsert)
        .unwrap();
    let config = TrackConfig::default();
    for path in &tables {
        let caltable = path.to_string_lossy().into_owned();
        let solve = SolveRecord {
            ms: "/data/ms/bench.ms".into(),
            caltable,
            task: "gaincal".into(),
            params: json!({"vis": "/data/ms/bench.ms", "solint": "int"}),
            solver_version: Some("6.7.0.31".into()),
            solver_command: None,
        };
        assert!(matches!(
            track_after_solve(&mut registry, &solve, &config),
            TrackOutcome::Tracked(_)
        ));
    }
    let all = registry.caltable_paths(None).unwrap();
    assert_eq!(all.len(), TABLES.len() * COPIES);
    let mut group = c.benchmark_group("verify");
    calprov_benches::configure(&mut group, 10, 2);
    // `BenchmarkId`s, so that criterion files them as `io_floor/10k` (xtask reads them).
    group.bench_function(BenchmarkId::new("io_floor", "10k"), |b| {
        b.iter(|| tables.iter().map(|t| read_tree(t)).sum::<usize>())
    });
    group.bench_function(BenchmarkId::new("verify_all", "10k"), |b| {
        b.iter(|| {
            let reports = verify_many(&registry, &all, 0, &|_| {}).unwrap();
            assert!(reports.iter().all(|r| r.is_unchanged()));
        })
    });
    group.finish();
}

/// The first copy is a real one (the repository may be on another filesystem).
fn link_copy_or_copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            link_copy_or_copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

criterion_group!(benches, verify_all);
criterion_main!(benches);
