//! Metrics extraction on the real `sim_gacal` and on generated 100k and 1M-solution tables,
//! each against reading the table's files from page cache (the I/O floor) in the same run.

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{bench_caltables, read_table_files};
use calprov_metrics::{QaThresholds, extract_metrics};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn metrics(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let tables = bench_caltables(dir.path());
    let mut group = c.benchmark_group("metrics");
    calprov_benches::configure(&mut group, 20, 8);
    let thresholds = QaThresholds::default();
    for (name, path) in &tables {
        group.bench_with_input(BenchmarkId::new("io_floor", name), path, |b, path| {
            b.iter(|| read_table_files(path))
        });
        group.bench_with_input(BenchmarkId::new("extract", name), path, |b, path| {
            b.iter(|| extract_metrics(path, &thresholds, 0.0).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, metrics);
criterion_main!(benches);
