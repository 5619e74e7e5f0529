//! `track_after_solve` against a 100k-row registry in WAL mode, for the real `sim_gacal` and
//! generated 100k and 1M-solution tables, with the I/O floor of each table in the same run;
//! and `sim_gacal` against the same registry copied to PostgreSQL over the loopback, when a
//! server is there (`CALPROV_TEST_PG_URL`, the private cluster of `.ci/postgres`).

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{bench_caltables, postgres_copy, read_table_files, write_legacy_registry};
use calprov_core::{
    NewCaltable, RegisterMode, Registry, SolveRecord, TrackConfig, TrackOutcome, track_after_solve,
};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;

fn track(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let tables = bench_caltables(dir.path());
    let db = dir.path().join("registry.sqlite3");
    write_legacy_registry(&db, 100_000).unwrap();
    let mut registry = Registry::open(&db).unwrap();
    let rows: Vec<NewCaltable> = tables
        .iter()
        .map(|(_, path)| NewCaltable {
            path: path.to_string_lossy().into_owned(),
            table_type: "GA".into(),
            order_index: 40,
            ..NewCaltable::default()
        })
        .collect();
    registry
        .register_set("bench", &rows, RegisterMode::Upsert)
        .unwrap();
    let config = TrackConfig::default();
    let mut group = c.benchmark_group("track");
    calprov_benches::configure(&mut group, 20, 8);
    for (name, path) in &tables {
        let caltable = path.to_string_lossy().into_owned();
        let solve = SolveRecord {
            ms: "/data/ms/bench.ms".into(),
            caltable: caltable.clone(),
            task: "gaincal".into(),
            params: json!({"vis": "/data/ms/bench.ms", "caltable": caltable, "gaintype": "G", "calmode": "ap",
                           "solint": "int", "refant": "OV03", "minsnr": 3.0, "gaintable": ["/cal/k", "/cal/b"]}),
            solver_version: None,
            solver_command: None,
        };
        assert!(matches!(
            track_after_solve(&mut registry, &solve, &config),
            TrackOutcome::Tracked(_)
        ));
        group.bench_with_input(BenchmarkId::new("io_floor", name), path, |b, path| {
            b.iter(|| read_table_files(path))
        });
        group.bench_with_input(
            BenchmarkId::new("track_after_solve", name),
            &solve,
            |b, solve| b.iter(|| track_after_solve(&mut registry, solve, &config)),
        );
        if *name == "sim_gacal"
            && let Some(mut on_server) = postgres_copy(&db, "calprov_bench_track", false)
        {
            assert!(matches!(
                track_after_solve(&mut on_server, &solve, &config),
                TrackOutcome::Tracked(_)
            ));
            group.bench_with_input(
                BenchmarkId::new("track_after_solve_postgres", name),
                &solve,
                |b, solve| b.iter(|| track_after_solve(&mut on_server, solve, &config)),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, track);
criterion_main!(benches);
