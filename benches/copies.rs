//! 10,000 caltables made of the shared real ones (their files hard-linked, so the copies
//! cost no disk), and the I/O floor of reading them all: the fixture of the `verify` and
//! `backfill` benches.

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
        // Hard links need the sources on the same filesystem: one real copy of each first.
        let source = dir.join("source").join(name);
        copy_tree(&testdata().join(name), &source, Copy::Bytes);
        for i in 0..COPIES {
            let copy = dir.join("tables").join(format!("{name}_{i:04}"));
            copy_tree(&source, &copy, Copy::HardLink);
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

#[derive(Clone, Copy)]
enum Copy {
    Bytes,
    HardLink,
}

fn copy_tree(from: &Path, to: &Path, how: Copy) {
    std::fs::create_dir_all(to).expect("create a table copy");
    for entry in std::fs::read_dir(from).expect("list a table").flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            copy_tree(&entry.path(), &target, how);
        } else {
            match how {
                Copy::Bytes => std::fs::copy(entry.path(), &target).map(|_| ()),
                Copy::HardLink => std::fs::hard_link(entry.path(), &target),
            }
            .expect("copy a table file");
        }
    }
}
