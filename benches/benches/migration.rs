//! Migration of legacy registries: time to adopt a registry of 10k and 1M rows, against a
//! full scan of the same file measured in the same run.

#![allow(missing_docs, clippy::unwrap_used)]

use std::time::Duration;

use calprov_benches::{scan_registry, write_legacy_registry};
use calprov_schema::{OpenOptions, migrate, open_registry};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn sizes() -> Vec<usize> {
    if calprov_benches::quick() {
        vec![1_000_000]
    } else {
        vec![10_000, 1_000_000]
    }
}

fn migration(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut group = c.benchmark_group("migrate_legacy");
    calprov_benches::configure(&mut group, 10, 20);
    for rows in sizes() {
        let template = dir.path().join(format!("legacy-{rows}.sqlite3"));
        write_legacy_registry(&template, rows).unwrap();
        group.bench_with_input(
            BenchmarkId::new("scan_baseline", rows),
            &template,
            |b, template| {
                b.iter(|| scan_registry(template).unwrap());
            },
        );
        group.bench_with_input(
            BenchmarkId::new("migrate", rows),
            &template,
            |b, template| {
                b.iter_batched(
                    || {
                        let copy = dir.path().join("work.sqlite3");
                        for side in ["-wal", "-shm", ".migrate-lock"] {
                            let _ = std::fs::remove_file(format!("{}{side}", copy.display()));
                        }
                        std::fs::copy(template, &copy).unwrap();
                        copy
                    },
                    |copy| {
                        let mut conn = open_registry(&copy, &OpenOptions::default()).unwrap();
                        let report = migrate(&mut conn, Duration::from_secs(30)).unwrap();
                        assert_eq!(report.columns_added.len(), 5);
                        report
                    },
                    BatchSize::PerIteration,
                );
            },
        );
    }
    group.finish();
}

criterion_group!(benches, migration);
criterion_main!(benches);
