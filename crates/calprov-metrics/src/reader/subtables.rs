//! The digest of each subtable's rows (ANTENNA, FIELD, SPECTRAL_WINDOW, ...). Subtables are
//! a few rows, so what they cost is opening them: a subtable stored by StandardStMan (what
//! CASA writes) is parsed from its files read once into memory; any other (CASA's
//! `smoothcal` rewrites subtables under IncrementalStMan) is opened through casacure. Both
//! give the same canonical bytes for the same rows, so a rewrite under another storage
//! manager does not change the digest.

use std::collections::BTreeMap;
use std::path::Path;

use casacure::Table;
use casacure::columnset::DataManagerBlob;
use casacure::record::{DataType, RecordValue, TableRecord};
use casacure::ssm::StandardStManFile;
use casacure::table::TableDat;
use casacure::tabledesc::ColumnKind;

use super::canonical::{put_stored_array, put_value, subtable_name};
use super::guard::{WalkError, guarded};
use super::in_memory::InMemory;
use super::ism_cells::ism_cells;
use super::ssm::{SsmColumn, column_manager};
use super::validate::{Contents, SUBTABLE_WHOLE_BYTES, TableFiles, damaged, validate_files};
use crate::Error;
use crate::fingerprint::digest_bytes;

/// Each subtable the table keywords name: its digest, or `unreadable: <why>`.
pub(super) fn digests(path: &Path, keywords: &TableRecord) -> BTreeMap<String, String> {
    keywords
        .values
        .iter()
        .filter_map(|value| match value {
            RecordValue::Table(reference) => Some(subtable_name(reference).to_owned()),
            _ => None,
        })
        .map(|name| {
            let digest =
                rows_digest(&path.join(&name)).unwrap_or_else(|err| format!("unreadable: {err}"));
            (name, digest)
        })
        .collect()
}

/// The digest of one subtable: its row count, then each column (by name) and its cells.
fn rows_digest(path: &Path) -> Result<String, Error> {
    let files = validate_files(path, Contents::Whole(SUBTABLE_WHOLE_BYTES))?;
    match in_memory_rows(path, &files)? {
        Some(rows) => Ok(digest_bytes(&rows)),
        None => opened_rows(path, &files).map(|rows| digest_bytes(&rows)),
    }
}

/// The canonical bytes of a subtable's rows, built column by column in name order.
struct Rows {
    out: Vec<u8>,
}

impl Rows {
    fn new(n_rows: u64) -> Self {
        let mut out = Vec::with_capacity(4096);
        out.extend_from_slice(&n_rows.to_le_bytes());
        Self { out }
    }

    /// Starts column `name`; its cells follow.
    fn column(&mut self, name: &str) {
        self.out
            .extend_from_slice(&(name.len() as u64).to_le_bytes());
        self.out.extend_from_slice(name.as_bytes());
    }

    fn cells(&mut self, cells: &[RecordValue]) {
        cells.iter().for_each(|cell| put_value(cell, &mut self.out));
    }
}

/// Column indexes in name order.
fn columns_by_name<S: AsRef<str>>(names: impl Iterator<Item = S>) -> Vec<(usize, S)> {
    let mut names: Vec<(usize, S)> = names.enumerate().collect();
    names.sort_by(|a, b| a.1.as_ref().cmp(b.1.as_ref()));
    names
}

/// The rows of a subtable that [`InMemory`] can parse from the files [`validate_files`] read;
/// `None` when it cannot, or when a column has a type only casacure's generic path reads.
fn in_memory_rows(path: &Path, files: &TableFiles) -> Result<Option<Vec<u8>>, Error> {
    let Some(InMemory {
        dat,
        ssm_files,
        n_rows,
    }) = InMemory::parse(path, files)?
    else {
        return Ok(None);
    };
    // `InMemory::parse` checked that the row count fits the data.
    let rows = usize::try_from(n_rows).unwrap_or(0);
    let mut out = Rows::new(n_rows);
    let names = columns_by_name(dat.desc.columns.iter().map(|c| c.name.as_str()));
    for (col, name) in names {
        let array_file = |_: &StandardStManFile, seq: u32| {
            files.array_file(seq).and_then(|f| f.bytes.as_deref())
        };
        let Some(ssm) = SsmColumn::resolve(&dat, &ssm_files, col, array_file) else {
            return Ok(None);
        };
        out.column(name);
        if ssm.is_indirect_array() && ssm.desc.data_type != DataType::String {
            let Some(bits) = stored_element_bits(ssm.desc.data_type) else {
                return Ok(None);
            };
            let big_endian = ssm.big_endian;
            let data_type = ssm.desc.data_type;
            guarded(path, name, || {
                ssm.for_each_array(bits, 0, rows, |row, dims, nelem, data| {
                    put_stored_array(data_type, dims, nelem, data, big_endian, &mut out.out)
                        .ok_or_else(|| {
                            format!("column {name}: row {row} is shorter than its shape")
                        })
                })
                .map_err(WalkError)
            })?;
        } else {
            let Some(read) = ssm_cells(&dat, &ssm_files, col, n_rows) else {
                return Ok(None);
            };
            out.cells(&guarded(path, name, read)?);
        }
    }
    Ok(Some(out.out))
}

/// Bits a stored element of an indirect array takes, for the types read in memory.
fn stored_element_bits(data_type: DataType) -> Option<usize> {
    match data_type {
        DataType::Bool => Some(1),
        DataType::Char | DataType::UChar => Some(8),
        DataType::Short | DataType::UShort => Some(16),
        DataType::Int | DataType::UInt | DataType::Float => Some(32),
        DataType::Int64 | DataType::Double | DataType::Complex => Some(64),
        DataType::DComplex => Some(128),
        _ => None,
    }
}

/// The rows of a subtable opened through casacure: any storage manager.
fn opened_rows(path: &Path, files: &TableFiles) -> Result<Vec<u8>, Error> {
    let table = guarded(path, "open", || Table::open(path, true))?;
    let n_rows = table.nrows();
    // As for the main table: a damaged row count must not reach an allocation.
    let rows =
        usize::try_from(n_rows).map_err(|_| damaged(path, "row count does not fit in memory"))?;
    files.check_row_count(path, rows)?;
    let mut out = Rows::new(n_rows);
    for (col, name) in columns_by_name(table.colnames().into_iter()) {
        out.column(&name);
        check_array_records(path, &table, files, col, &name)?;
        let cells = match ism_cells(path, &table, col) {
            Some(cells) => {
                cells.map_err(|reason| damaged(path, format!("column {name}: {reason}")))?
            }
            None => match ssm_cells(&table.dat, &table.ssm_files, col, n_rows) {
                Some(read) => guarded(path, &name, read)?,
                None => guarded(path, &name, || table.getcol(col, 0, n_rows))?,
            },
        };
        out.cells(&cells);
    }
    Ok(out.out)
}

/// The cells of column `col` read cell by cell from StandardStMan, when it stores the column:
/// the generic `getcol` resolves the table's real path (a `readlink` per path component) on
/// every call, which cost more than reading a subtable. Indirect numeric arrays need the
/// file's array file (`table.f<seq>i`), which only an opened table has.
fn ssm_cells<'t>(
    dat: &'t TableDat,
    ssm_files: &'t [(u32, StandardStManFile)],
    col: usize,
    n_rows: u64,
) -> Option<impl FnOnce() -> Result<Vec<RecordValue>, casacure::ssm::SsmError> + 't> {
    let desc = dat.desc.columns.get(col)?;
    let (seq, within) = column_manager(dat, col)?;
    let spec = dat
        .column_set
        .data_managers
        .iter()
        .find(|dm| dm.sequence_nr == seq && dm.type_name == "StandardStMan")
        .and_then(|dm| match &dm.blob {
            DataManagerBlob::StandardStMan(spec) => Some(spec),
            DataManagerBlob::Unsupported(_) => None,
        })?;
    let file = ssm_files.iter().find(|(s, _)| *s == seq).map(|(_, f)| f)?;
    let is_array = matches!(desc.kind, ColumnKind::Array);
    Some(move || {
        (0..n_rows)
            .map(|row| {
                if is_array {
                    casacure::ssm::read_array_cell(file, spec, within, desc, row)
                } else {
                    file.read_scalar_cell(spec, within, desc, row)
                }
            })
            .collect()
    })
}

/// Walks an indirect array column's records in `table.f0i` with calprov's bounded walk before
/// casacure reads them: casacure trusts a record's dimension count and allocates for it (a
/// fuzzed subtable asked for 7 GB). At least a byte an element (strings take more).
fn check_array_records(
    path: &Path,
    table: &Table,
    files: &TableFiles,
    col: usize,
    name: &str,
) -> Result<(), Error> {
    let Some(ssm) = SsmColumn::find(table, col).filter(SsmColumn::is_indirect_array) else {
        return Ok(());
    };
    let n_rows = usize::try_from(table.nrows()).unwrap_or(usize::MAX);
    // Without an array file (no rows, or only empty cells) there is no record to trust.
    let (seq, _) = table.column_manager(col);
    if n_rows == 0 || files.array_file(seq).is_none() {
        return Ok(());
    }
    guarded(path, name, || {
        ssm.for_each_array(8, 0, n_rows, |_, _, _, _| Ok(()))
            .map_err(WalkError)
    })
}

#[cfg(test)]
mod tests {
    use casacure::record::{ArrayData, ArrayValue, DataType, RecordValue};
    use proptest::prelude::*;

    use super::super::canonical::{put_stored_array, put_value};
    use super::super::in_memory::synced_row_count;
    use super::super::tests::real_caltables;
    use super::super::validate::SUBTABLE_WHOLE_BYTES;
    use super::super::validate::{Contents, validate_files};
    use super::{in_memory_rows, opened_rows};

    /// Every subtable of every real CASA caltable takes the in-memory path, and it gives the
    /// bytes casacure's opened table gives.
    #[test]
    fn in_memory_rows_are_the_opened_rows() {
        let mut compared = 0;
        for table in real_caltables() {
            for entry in std::fs::read_dir(&table).unwrap() {
                let sub = entry.unwrap().path();
                if !sub.join("table.dat").is_file() {
                    continue;
                }
                let files = validate_files(&sub, Contents::Whole(SUBTABLE_WHOLE_BYTES)).unwrap();
                let in_memory = in_memory_rows(&sub, &files)
                    .unwrap()
                    .unwrap_or_else(|| panic!("{} fell back to casacure", sub.display()));
                let opened = opened_rows(&sub, &files).unwrap();
                assert_eq!(in_memory, opened, "{}", sub.display());
                compared += 1;
            }
        }
        assert!(compared >= 25, "only {compared} subtables compared");
    }

    fn lock_with(records: &[(u32, u64)]) -> Vec<u8> {
        let mut lock = vec![0u8; 8];
        for &(version, count) in records {
            lock.extend_from_slice(&[0, 0, 0, 4]);
            lock.extend_from_slice(b"sync");
            lock.extend_from_slice(&version.to_be_bytes());
            match version {
                1 => lock.extend_from_slice(&(count as u32).to_be_bytes()),
                _ => lock.extend_from_slice(&count.to_be_bytes()),
            }
            lock.extend_from_slice(&[0; 12]);
        }
        lock
    }

    #[test]
    fn the_lock_files_last_sync_record_gives_the_row_count() {
        assert_eq!(synced_row_count(&lock_with(&[(1, 5)])), Some(5));
        assert_eq!(
            synced_row_count(&lock_with(&[(2, 70_000_000_000)])),
            Some(70_000_000_000)
        );
        assert_eq!(synced_row_count(&lock_with(&[(1, 5), (2, 9)])), Some(9));
        assert_eq!(synced_row_count(&lock_with(&[(7, 5)])), None);
        assert_eq!(synced_row_count(&[0u8; 64]), None);
        assert_eq!(synced_row_count(&[]), None);
        // Cut anywhere: never a read past the end (casacure's own reader panics there).
        let full = lock_with(&[(1, 5), (2, 9)]);
        for end in 0..full.len() {
            let count = synced_row_count(&full[..end]);
            assert!(
                matches!(count, None | Some(5) | Some(9)),
                "{end}: {count:?}"
            );
        }
    }

    /// The stored form of `values` (CASA dims `dims`) in the given byte order.
    fn stored<const N: usize>(values: &[[u8; N]], big_endian: bool) -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| {
                let mut v = *v;
                if big_endian {
                    v.reverse();
                }
                v
            })
            .collect()
    }

    fn canonical(value: &RecordValue) -> Vec<u8> {
        let mut out = Vec::new();
        put_value(value, &mut out);
        out
    }

    fn from_stored(data_type: DataType, dims: &[u32], data: &[u8], big_endian: bool) -> Vec<u8> {
        let nelem = dims.iter().map(|&d| d as usize).product();
        let mut out = Vec::new();
        put_stored_array(data_type, dims, nelem, data, big_endian, &mut out).unwrap();
        out
    }

    fn array(dims: &[u32], data: ArrayData) -> RecordValue {
        RecordValue::Array(ArrayValue {
            shape: dims.iter().rev().copied().collect(),
            data,
        })
    }

    proptest! {
        /// The canonical bytes of a stored array are those of the value casacure decodes.
        #[test]
        fn stored_arrays_canonicalise_as_decoded_values(
            dims in prop::collection::vec(1u32..4, 1..3),
            seed in any::<u64>(),
            big_endian in any::<bool>(),
        ) {
            let n: usize = dims.iter().map(|&d| d as usize).product();
            let doubles: Vec<f64> = (0..n).map(|i| f64::from_bits(seed.rotate_left(i as u32 * 7))).collect();
            let data = stored(&doubles.iter().map(|d| d.to_le_bytes()).collect::<Vec<_>>(), big_endian);
            prop_assert_eq!(
                from_stored(DataType::Double, &dims, &data, big_endian),
                canonical(&array(&dims, ArrayData::Double(doubles)))
            );
            let ints: Vec<i32> = (0..n).map(|i| (seed >> (i % 32)) as i32).collect();
            let data = stored(&ints.iter().map(|d| d.to_le_bytes()).collect::<Vec<_>>(), big_endian);
            prop_assert_eq!(
                from_stored(DataType::Int, &dims, &data, big_endian),
                canonical(&array(&dims, ArrayData::Int(ints)))
            );
            let complex: Vec<(f32, f32)> = (0..n)
                .map(|i| (f32::from_bits((seed >> i) as u32), f32::from_bits((seed >> (i + 3)) as u32)))
                .collect();
            let parts: Vec<[u8; 4]> = complex
                .iter()
                .flat_map(|(re, im)| [re.to_le_bytes(), im.to_le_bytes()])
                .collect();
            prop_assert_eq!(
                from_stored(DataType::Complex, &dims, &stored(&parts, big_endian), big_endian),
                canonical(&array(&dims, ArrayData::Complex(complex)))
            );
            let bools: Vec<bool> = (0..n).map(|i| (seed >> (i % 64)) & 1 == 1).collect();
            let mut packed = vec![0u8; n.div_ceil(8)];
            for (i, &b) in bools.iter().enumerate() {
                packed[i / 8] |= u8::from(b) << (i % 8);
            }
            prop_assert_eq!(
                from_stored(DataType::Bool, &dims, &packed, big_endian),
                canonical(&array(&dims, ArrayData::Bool(bools)))
            );
        }
    }

    #[test]
    fn undefined_and_short_stored_arrays() {
        let mut out = Vec::new();
        put_stored_array(DataType::Double, &[], 0, &[], false, &mut out).unwrap();
        assert_eq!(out, canonical(&array(&[], ArrayData::Double(Vec::new()))));
        assert!(
            put_stored_array(DataType::Double, &[2], 2, &[0; 15], false, &mut Vec::new()).is_none()
        );
        assert!(
            put_stored_array(DataType::String, &[1], 1, &[0; 8], false, &mut Vec::new()).is_none()
        );
    }
}
