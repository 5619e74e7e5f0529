//! Fixtures shared by calprov's criterion benches: registries of a given shape and size.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

mod copies;
mod lineage_fixture;

pub use copies::{COPIES, REAL_TABLES, read_tree, registry_of, table_copies};

pub use lineage_fixture::{
    CHAIN, HUB_BLOCKS, LineageFixture, lineage_fixture, write_lineage_registry,
};

/// The synthetic lineage registry of `n` caltables under `target/bench-data`, built once per
/// target directory and reused (generating 1M caltables takes longer than measuring them).
pub fn lineage_registry(n: usize) -> (PathBuf, LineageFixture) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/bench-data");
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    let db = dir.join(format!("lineage-{n}-v3.sqlite3"));
    if !db.exists() {
        let partial = dir.join(format!("lineage-{n}-v3.partial"));
        let _ = std::fs::remove_file(&partial);
        if let Err(e) = write_lineage_registry(&partial, n) {
            panic!("cannot write the lineage registry: {e}");
        }
        if let Err(e) = std::fs::rename(&partial, &db) {
            panic!("cannot rename {}: {e}", partial.display());
        }
    }
    (db, lineage_fixture(n))
}

/// The DDL of a legacy registry (the first twelve columns and two indexes).
pub const LEGACY_DDL: &str = "CREATE TABLE caltables (
    id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    table_type TEXT NOT NULL, order_index INTEGER NOT NULL, cal_field TEXT, refant TEXT,
    created_at REAL NOT NULL, valid_start_mjd REAL, valid_end_mjd REAL, status TEXT NOT NULL, notes TEXT);
CREATE INDEX idx_caltables_set ON caltables(set_name);
CREATE INDEX idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);";

/// Writes a legacy registry of `rows` rows at `path`, in rollback-journal mode as the Python
/// pipeline leaves it.
pub fn write_legacy_registry(path: &Path, rows: usize) -> rusqlite::Result<()> {
    let conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;")?;
    conn.execute_batch(LEGACY_DDL)?;
    let tx = conn.unchecked_transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO caltables (set_name, path, table_type, order_index, cal_field, refant, created_at, \
             valid_start_mjd, valid_end_mjd, status, notes) VALUES (?1, ?2, ?3, ?4, 'CAL_FLUX', 'OV03', ?5, ?6, ?7, 'active', NULL)",
        )?;
        const TYPES: [(&str, &str, i64); 3] =
            [("kcal", "K", 10), ("bpcal", "BP", 30), ("gacal", "GA", 40)];
        for i in 0..rows {
            let (suffix, table_type, order) = TYPES[i % 3];
            let mjd = 60000.0 + (i / 3) as f64 * 0.01;
            insert.execute(params![
                format!("set{}", i / 3),
                format!("/data/cal/obs{:07}_{suffix}", i / 3),
                table_type,
                order,
                1.7e9 + i as f64,
                mjd,
                mjd + 1.0,
            ])?;
        }
    }
    tx.commit()
}

/// Scans every row once: the floor any migration that looks at the data would pay.
pub fn scan_registry(path: &Path) -> rusqlite::Result<i64> {
    let conn = Connection::open(path)?;
    conn.query_row("SELECT sum(length(path)) FROM caltables", [], |row| {
        row.get(0)
    })
}

/// The real CASA caltables of the repository.
pub fn testdata() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/caltables")
}

/// Whether the benches run in quick mode (`cargo xtask bench --quick`).
pub fn quick() -> bool {
    std::env::var_os("CALPROV_BENCH_QUICK").is_some()
}

/// The caltables measured: the real `sim_gacal` and generated tables of 100k and 1M
/// solutions (written once into `dir`).
pub fn bench_caltables(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    use calprov_metrics::synthetic::{SyntheticSpec, write_synthetic_caltable};
    let mut tables = vec![("sim_gacal".to_owned(), testdata().join("sim_gacal"))];
    for rows in [100_000usize, 1_000_000] {
        let out = dir.join(format!("gen_{rows}_gacal"));
        if !out.exists() {
            // 64 antennas x 4 spws: a larger array than the real tables, same layout.
            let spec = SyntheticSpec {
                antennas: 64,
                spws: 4,
                ..SyntheticSpec::gain(rows)
            };
            write_synthetic_caltable(&out, &spec).expect("write synthetic caltable");
        }
        tables.push((format!("{}k", rows / 1000), out));
    }
    tables
}

/// Reads every file of a table directory: the page-cache I/O floor of any reader.
pub fn read_table_files(dir: &Path) -> usize {
    calprov_metrics::reader::table_files(dir)
        .iter()
        .map(|f| std::fs::read(f).map(|b| b.len()).unwrap_or(0))
        .sum()
}

/// Applies the sampling of a group: as given, or the short sampling of quick mode (every
/// budgeted benchmark still runs, on fewer samples).
pub fn configure<M: criterion::measurement::Measurement>(
    group: &mut criterion::BenchmarkGroup<'_, M>,
    samples: usize,
    seconds: u64,
) {
    if quick() {
        group
            .sample_size(10)
            .warm_up_time(std::time::Duration::from_millis(500))
            .measurement_time(std::time::Duration::from_secs(2));
    } else {
        group
            .sample_size(samples)
            .measurement_time(std::time::Duration::from_secs(seconds));
    }
}

/// The registry at `db` copied into the database `database` on the PostgreSQL test server
/// (`CALPROV_TEST_PG_URL`) and opened there; `None` without a server. With `reuse`, a
/// database that already holds as many rows in every table as `db` is kept (the 1M-caltable
/// lineage registry takes minutes to copy and verify).
#[allow(clippy::print_stderr)]
pub fn postgres_copy(db: &Path, database: &str, reuse: bool) -> Option<calprov_core::Registry> {
    use calprov_core::copy::{CopyOptions, copy_registry};
    use calprov_core::db_path::RegistryAddress;
    let Ok(admin_url) = std::env::var("CALPROV_TEST_PG_URL") else {
        eprintln!("CALPROV_TEST_PG_URL is not set: PostgreSQL is not measured");
        return None;
    };
    let url = format!("{}/{database}", admin_url.rsplit_once('/')?.0);
    let counts = |sql_count: &mut dyn FnMut(&str) -> Option<i64>| -> Vec<Option<i64>> {
        calprov_schema::REGISTRY_TABLES
            .iter()
            .map(|t| sql_count(&format!("SELECT count(*) FROM {}", t.name)))
            .collect()
    };
    if reuse && let Ok(mut client) = postgres::Client::connect(&url, postgres::NoTls) {
        let on_server = counts(&mut |sql| client.query_one(sql, &[]).ok().map(|r| r.get(0)));
        let conn = Connection::open(db).ok()?;
        let in_file = counts(&mut |sql| conn.query_row(sql, [], |r| r.get(0)).ok());
        if on_server == in_file {
            let target = RegistryAddress::parse(Path::new(&url)).ok()?;
            return calprov_core::Registry::open_address(
                &target,
                &calprov_core::OpenOptions::default(),
                &Default::default(),
            )
            .ok();
        }
    }
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).ok()?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .ok()?;
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .ok()?;
    let target = RegistryAddress::parse(Path::new(&url)).ok()?;
    let options = CopyOptions {
        timeout: std::time::Duration::from_secs(60),
        postgres: Default::default(),
        // A fixture: the copy tests verify copies row by row; counts are still compared.
        verify: false,
    };
    let started = std::time::Instant::now();
    if let Err(e) = copy_registry(&RegistryAddress::File(db.to_path_buf()), &target, &options) {
        panic!("cannot copy {} to {database}: {e}", db.display());
    }
    eprintln!(
        "copied {} to PostgreSQL in {:.1?}",
        db.display(),
        started.elapsed()
    );
    calprov_core::Registry::open_address(
        &target,
        &calprov_core::OpenOptions::default(),
        &Default::default(),
    )
    .ok()
}
