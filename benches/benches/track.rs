//! `track_after_solve` against a 100k-row registry in WAL mode, for the real `sim_gacal` and
//! generated 100k and 1M-solution tables, with the I/O floor of each table in the same run;
//! and `sim_gacal` against the same registry copied to PostgreSQL over the loopback, when a
//! server is there (`CALPROV_TEST_PG_URL`, the private cluster of `.ci/postgres`).

#![allow(missing_docs, clippy::unwrap_used)]

use calprov_benches::{bench_caltables, read_table_files, write_legacy_registry};
use calprov_core::copy::{CopyOptions, copy_registry};
use calprov_core::db_path::RegistryAddress;
use calprov_core::{
    NewCaltable, OpenOptions, RegisterMode, Registry, SolveRecord, TrackConfig, TrackOutcome,
    track_after_solve,
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
            && let Some(mut on_server) = postgres_copy(&db)
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

/// The registry at `db` copied into a fresh database on the test server, opened; `None`
/// without a server.
#[allow(clippy::print_stderr)]
fn postgres_copy(db: &std::path::Path) -> Option<Registry> {
    let Ok(admin_url) = std::env::var("CALPROV_TEST_PG_URL") else {
        eprintln!("CALPROV_TEST_PG_URL is not set: tracking on PostgreSQL is not measured");
        return None;
    };
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute("DROP DATABASE IF EXISTS calprov_bench_track WITH (FORCE)")
        .unwrap();
    admin
        .batch_execute("CREATE DATABASE calprov_bench_track")
        .unwrap();
    let url = format!(
        "{}/calprov_bench_track",
        admin_url.rsplit_once('/').unwrap().0
    );
    let target = RegistryAddress::parse(std::path::Path::new(&url)).unwrap();
    let options = CopyOptions {
        timeout: std::time::Duration::from_secs(30),
        postgres: Default::default(),
    };
    copy_registry(&RegistryAddress::File(db.to_path_buf()), &target, &options).unwrap();
    Some(Registry::open_address(&target, &OpenOptions::default(), &Default::default()).unwrap())
}

criterion_group!(benches, track);
criterion_main!(benches);
