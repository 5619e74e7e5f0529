//! The reader's own paths against each other, on real CASA tables and synthetic ones.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::columns::{CellLayout, ColumnReader};
use super::source::TableSource;
use super::{read_caltable_with, read_columns};
use crate::synthetic::{SyntheticKind, SyntheticSpec, write_synthetic_caltable};

/// The real CASA caltables of `testdata/caltables`, in name order.
pub(super) fn real_caltables() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/caltables");
    let mut tables: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    tables.sort();
    tables
}

/// The real caltables and synthetic ones written into `dir`.
fn tables(dir: &Path) -> Vec<PathBuf> {
    let mut tables = real_caltables();
    // Above the read chunk, so that the parallel read combines several parts.
    for (kind, channels) in [(SyntheticKind::Gain, 1), (SyntheticKind::Bandpass, 3)] {
        let out = dir.join(format!("{kind:?}"));
        let spec = SyntheticSpec {
            kind,
            channels,
            ..SyntheticSpec::gain(70_001)
        };
        write_synthetic_caltable(&out, &spec).unwrap();
        tables.push(out);
    }
    tables
}

/// A synthetic table written again with cells of other shapes part-way: row 68,000's CPARAM
/// with three cells (the third read chunk) and row 40,000's FLAG undefined (the second). The
/// parallel read decodes a table whose cells all have row 0's shape in place; this one it
/// must give up on and read as the general path does.
fn table_of_varying_shapes(dir: &Path) -> PathBuf {
    use casacure::record::{ArrayData, ArrayValue, RecordValue};
    let uniform = dir.join("uniform");
    write_synthetic_caltable(&uniform, &SyntheticSpec::gain(70_001)).unwrap();
    let source = TableSource::open_within(&uniform, 0).unwrap();
    let table = source.table().unwrap();
    let names = table.colnames();
    let mut columns: Vec<Vec<RecordValue>> = (0..names.len())
        .map(|c| table.getcol(c, 0, table.nrows()).unwrap())
        .collect();
    let at = |name: &str| names.iter().position(|n| n == name).unwrap();
    columns[at("CPARAM")][68_000] = RecordValue::Array(ArrayValue {
        shape: vec![3, 1],
        data: ArrayData::Complex(vec![(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]),
    });
    columns[at("FLAG")][40_000] = RecordValue::Array(ArrayValue {
        shape: vec![],
        data: ArrayData::Bool(Vec::new()),
    });
    let varying = dir.join("varying");
    casacure::create_table(&varying, &table.dat.desc, &columns).unwrap();
    varying
}

/// The solution's array columns read in one walk are what each column's own walk reads,
/// layout included, in parallel or not.
#[test]
fn one_walk_over_the_array_columns_reads_what_a_walk_per_column_reads() {
    let dir = tempfile::tempdir().unwrap();
    let mut tables = tables(dir.path());
    tables.push(table_of_varying_shapes(dir.path()));
    for (path, whole_bytes) in tables.iter().flat_map(|p| [(p, 0), (p, u64::MAX)]) {
        let table = TableSource::open_within(path, whole_bytes).unwrap();
        let n_rows = usize::try_from(table.nrows()).unwrap();
        for parallel in [false, true] {
            let reader = ColumnReader::new(path, &table, n_rows, parallel);
            let (mut shapes, mut row_cells) = (BTreeSet::new(), Vec::new());
            let fused = reader
                .solution_arrays(CellLayout {
                    shapes: &mut shapes,
                    row_cells: &mut row_cells,
                })
                .unwrap();
            let (mut own_shapes, mut own_row_cells) = (BTreeSet::new(), Vec::new());
            let own_layout = CellLayout {
                shapes: &mut own_shapes,
                row_cells: &mut own_row_cells,
            };
            let name = path.display();
            if reader.column("CPARAM").is_some() {
                let own = reader.arrays("CPARAM", Some(own_layout)).unwrap();
                assert_eq!(fused.cparam, own, "{name}");
                assert!(fused.fparam.is_none(), "{name}");
            } else {
                let own = reader.arrays("FPARAM", Some(own_layout)).unwrap();
                assert_eq!(fused.fparam, own, "{name}");
                assert!(fused.cparam.is_none(), "{name}");
            }
            assert!(!shapes.is_empty() && !row_cells.is_empty(), "{name}");
            assert_eq!((shapes, row_cells), (own_shapes, own_row_cells), "{name}");
            assert_eq!(fused.flag, reader.arrays("FLAG", None).unwrap(), "{name}");
            assert_eq!(fused.snr, reader.arrays("SNR", None).unwrap(), "{name}");
            assert_eq!(
                fused.paramerr,
                reader.arrays("PARAMERR", None).unwrap(),
                "{name}"
            );
            assert!(fused.flag.is_some() && fused.snr.is_some(), "{name}");
        }
    }
}

/// A small table parsed from its files in memory reads what casacure's opened table reads;
/// every real caltable is small enough to be read that way.
#[test]
fn a_table_read_in_memory_reads_what_the_opened_table_reads() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    write_synthetic_caltable(&small, &SyntheticSpec::gain(2_000)).unwrap();
    let mut tables = real_caltables();
    tables.push(small);
    for path in tables {
        let name = path.display();
        let small_enough = TableSource::open_within(&path, super::source::MAIN_WHOLE_BYTES);
        assert!(small_enough.unwrap().in_memory(), "{name}");
        assert!(
            !TableSource::open_within(&path, 0).unwrap().in_memory(),
            "{name}"
        );
        let in_memory = read_caltable_with(&path, Some(false)).unwrap();
        assert_eq!(
            in_memory,
            read_columns(&path, Some(false), 0).unwrap(),
            "{name}"
        );
        assert!(in_memory.n_rows > 0 && in_memory.cparam.is_some() != in_memory.fparam.is_some());
    }
}
