//! `backfill` of 10,000 caltables registered without provenance (2,000 copies of each
//! shared real table), against the I/O floor of the same run: reading every file of every
//! table from the page cache. Each iteration backfills a fresh copy of the registry.

#![allow(missing_docs, clippy::unwrap_used)]

use std::sync::atomic::AtomicBool;

use calprov_benches::{read_tree, registry_of, table_copies};
use calprov_core::Registry;
use calprov_core::backfill::{BackfillOptions, backfill};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn backfill_10k(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let tables = table_copies(dir.path());
    let pristine = dir.path().join("pristine.sqlite3");
    drop(registry_of(&pristine, &tables));
    let mut group = c.benchmark_group("backfill");
    calprov_benches::configure(&mut group, 10, 2);
    group.bench_function(BenchmarkId::new("io_floor", "10k"), |b| {
        b.iter(|| tables.iter().map(|t| read_tree(t)).sum::<usize>())
    });
    let never = AtomicBool::new(false);
    let mut run = 0;
    group.bench_function(BenchmarkId::new("backfill", "10k"), |b| {
        b.iter_batched(
            || {
                // A fresh registry without provenance: copied, not timed.
                run += 1;
                let db = dir.path().join(format!("run{run}.sqlite3"));
                std::fs::copy(&pristine, &db).unwrap();
                db
            },
            |db| {
                let mut registry = Registry::open(&db).unwrap();
                let summary =
                    backfill(&mut registry, &BackfillOptions::default(), &never, &|_| {}).unwrap();
                assert_eq!(summary.filled, tables.len());
                drop(registry);
                std::fs::remove_file(&db).unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, backfill_10k);
criterion_main!(benches);
