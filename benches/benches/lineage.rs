//! `impact` and `lineage` on the synthetic 1M-caltable registry (`lineage_fixture.rs`): the
//! impact of a table with 10,000 descendants, and the lineage of a depth-20 chain. Baselines in
//! the same run: reading 10,000 solve rows by key range, and one solve by id.

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{CHAIN, HUB_BLOCKS, lineage_registry, postgres_copy};
use calprov_core::Registry;
use calprov_core::lineage::graph::{BadPart, Window};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn lineage(c: &mut Criterion) {
    let (db, fixture) = lineage_registry(1_000_000);
    let registry = Registry::open(&db).unwrap();
    let hub = vec![fixture.hub.clone()];
    let found = registry
        .impact(&hub, &BadPart::default(), Window::default(), false)
        .unwrap();
    assert_eq!(found.caltables.len(), HUB_BLOCKS * CHAIN);
    let tree = registry.lineage(&fixture.deep).unwrap().unwrap();
    let mut depth = 0;
    let mut node = &tree;
    while let Some(next) = node.inputs.iter().find_map(|i| i.solved_by.as_deref()) {
        depth += 1;
        node = next;
    }
    assert_eq!(depth, CHAIN, "a chain of depth {CHAIN} (down to the hub)");

    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut group = c.benchmark_group("lineage");
    calprov_benches::configure(&mut group, 20, 5);
    group.bench_function(BenchmarkId::new("scan_baseline", "10k_solves"), |b| {
        b.iter(|| {
            conn.query_row(
                "SELECT sum(length(caltable_path)) FROM calprov_solves WHERE id BETWEEN 2 AND 10001",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("impact", "10k_descendants"), |b| {
        b.iter(|| {
            registry
                .impact(&hub, &BadPart::default(), Window::default(), false)
                .unwrap()
        })
    });
    // Not budgeted: the same walk with every finding's chain spelled out (`--explain`).
    group.bench_function(
        BenchmarkId::new("impact_explained", "10k_descendants"),
        |b| {
            b.iter(|| {
                registry
                    .impact(&hub, &BadPart::default(), Window::default(), true)
                    .unwrap()
            })
        },
    );
    group.bench_function(BenchmarkId::new("point_baseline", "one_solve"), |b| {
        b.iter(|| {
            conn.query_row(
                "SELECT caltable_path FROM calprov_solves WHERE id = 21",
                [],
                |r| r.get::<_, String>(0),
            )
            .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("lineage", "depth_20"), |b| {
        b.iter(|| registry.lineage(&fixture.deep).unwrap())
    });
    // Issue 15: the same impact on the same registry copied to PostgreSQL (over the
    // loopback), within 2x of SQLite's in this run.
    if let Some(on_server) = postgres_copy(&db, "calprov_bench_lineage", true) {
        let found = on_server
            .impact(&hub, &BadPart::default(), Window::default(), false)
            .unwrap();
        assert_eq!(found.caltables.len(), HUB_BLOCKS * CHAIN);
        group.bench_function(
            BenchmarkId::new("impact_postgres", "10k_descendants"),
            |b| {
                b.iter(|| {
                    on_server
                        .impact(&hub, &BadPart::default(), Window::default(), false)
                        .unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, lineage);
criterion_main!(benches);
