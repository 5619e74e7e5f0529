//! `verify --all` on 10,000 tracked caltables (2,000 copies of each shared real table),
//! against the I/O floor of the same run: reading every file of every table from the page
//! cache.

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{COPIES, REAL_TABLES, read_tree, registry_of, table_copies};
use calprov_core::{SolveRecord, TrackConfig, TrackOutcome, track_after_solve, verify_many};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;

fn verify_all(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let tables = table_copies(dir.path());
    let db = dir.path().join("registry.sqlite3");
    let mut registry = registry_of(&db, &tables);
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
    assert_eq!(all.len(), REAL_TABLES.len() * COPIES);
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

criterion_group!(benches, verify_all);
criterion_main!(benches);
