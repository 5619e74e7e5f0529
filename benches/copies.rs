//! 10,000 caltables made of the shared real ones (2 GB of byte copies), and the I/O floor of
//! reading them all: the fixture of the `verify` and `backfill` benches. Copies, not hard
//! links: 10,000 links to five tables' files kept the floor's reads in the CPU's caches
//! (1.5 MB read over and over), 25-35% faster than reading 10,000 tables' files from the
//! page cache, which is what the issues' floor is.

use std::path::{Path, PathBuf};

use calprov_core::{NewCaltable, RegisterMode, Registry};

use crate::{read_table_files, testdata};

/// The real tables copied.
pub const REAL_TABLES: [&str; 5] = [
    "sim_gacal",
    "sim_gpcal",
    "sim_bpcal",
    "sim_kcal",
    "sim_flagged_gpcal",
];

/// Copies of each real table: 10,000 tables in all.
pub const COPIES: usize = 2_000;

/// `COPIES` copies of each real table under `dir/tables`.
pub fn table_copies(dir: &Path) -> Vec<PathBuf> {
    let mut tables = Vec::new();
    for name in REAL_TABLES {
        for i in 0..COPIES {
            let copy = dir.join("tables").join(format!("{name}_{i:04}"));
            copy_tree(&testdata().join(name), &copy);
            tables.push(copy);
        }
    }
    tables
}

/// A registry at `db` with `tables` registered in set `bench`, without provenance.
pub fn registry_of(db: &Path, tables: &[PathBuf]) -> Registry {
    let mut registry = Registry::open(db).expect("open the bench registry");
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
        .expect("register the bench tables");
    registry
}

/// Every file of a table and its subtables, read: what any reader must at least do.
pub fn read_tree(dir: &Path) -> usize {
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

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create a table copy");
    for entry in std::fs::read_dir(from).expect("list a table").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a table file");
        }
    }
}
