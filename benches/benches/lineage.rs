//! `impact` and `lineage` on the synthetic 1M-caltable registry (`lineage_fixture.rs`): the
//! impact of a table with 10,000 descendants, and the lineage of a depth-20 chain. Baselines in
//! the same run: reading 10,000 solve rows by key range, and one solve by id.

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{CHAIN, HUB_BLOCKS, lineage_fixture, write_lineage_registry};
use calprov_core::Registry;
use calprov_core::lineage::graph::{BadPart, Window};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// The registry is built once per target directory and reused: generating 1M caltables
/// takes longer than measuring them.
fn registry() -> (std::path::PathBuf, calprov_benches::LineageFixture) {
    let n = 1_000_000;
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join(format!("lineage-{n}-v3.sqlite3"));
    if !db.exists() {
        let partial = dir.join(format!("lineage-{n}-v3.partial"));
        let _ = std::fs::remove_file(&partial);
        write_lineage_registry(&partial, n).unwrap();
        std::fs::rename(&partial, &db).unwrap();
    }
    (db, lineage_fixture(n))
}

fn lineage(c: &mut Criterion) {
    let (db, fixture) = registry();
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
    group.finish();
}

criterion_group!(benches, lineage);
criterion_main!(benches);
