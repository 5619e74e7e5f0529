//! The digest of each subtable's rows (ANTENNA, FIELD, SPECTRAL_WINDOW, ...), read through
//! the generic path: subtables are a few rows, and CASA rewrites them under other storage
//! managers (`smoothcal`), which must not change their digest.

use std::collections::BTreeMap;
use std::path::Path;

use casacure::Table;
use casacure::columnset::DataManagerBlob;
use casacure::record::{RecordValue, TableRecord};
use casacure::tabledesc::ColumnKind;

use super::canonical::{put_value, subtable_name};
use super::guard::{WalkError, guarded};
use super::ism_cells::ism_cells;
use super::ssm::SsmColumn;
use super::validate::{damaged, validate_files, validate_row_count};
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
    validate_files(path)?;
    let table = guarded(path, "open", || Table::open(path, true))?;
    let n_rows = table.nrows();
    // As for the main table: a damaged row count must not reach an allocation.
    let rows =
        usize::try_from(n_rows).map_err(|_| damaged(path, "row count does not fit in memory"))?;
    validate_row_count(path, rows)?;
    let mut names: Vec<(usize, String)> = table.colnames().into_iter().enumerate().collect();
    names.sort_by(|a, b| a.1.cmp(&b.1));
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(&n_rows.to_le_bytes());
    for (col, name) in names {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        check_array_records(path, &table, col, &name)?;
        let cells = match ism_cells(path, &table, col) {
            Some(cells) => {
                cells.map_err(|reason| damaged(path, format!("column {name}: {reason}")))?
            }
            None => match ssm_cells(&table, col, n_rows) {
                Some(read) => guarded(path, &name, read)?,
                None => guarded(path, &name, || table.getcol(col, 0, n_rows))?,
            },
        };
        cells.iter().for_each(|cell| put_value(cell, &mut out));
    }
    Ok(digest_bytes(&out))
}

/// The cells of column `col` read cell by cell from StandardStMan, when it stores the column:
/// the generic `getcol` resolves the table's real path (a `readlink` per path component) on
/// every call, which cost more than reading a subtable.
fn ssm_cells(
    table: &Table,
    col: usize,
    n_rows: u64,
) -> Option<impl FnOnce() -> Result<Vec<RecordValue>, casacure::ssm::SsmError> + '_> {
    let desc = table.dat.desc.columns.get(col)?;
    let (seq, within) = table.column_manager(col);
    let spec = table
        .dat
        .column_set
        .data_managers
        .iter()
        .find(|dm| dm.sequence_nr == seq && dm.type_name == "StandardStMan")
        .and_then(|dm| match &dm.blob {
            DataManagerBlob::StandardStMan(spec) => Some(spec),
            DataManagerBlob::Unsupported(_) => None,
        })?;
    let file = table
        .ssm_files
        .iter()
        .find(|(s, _)| *s == seq)
        .map(|(_, f)| f)?;
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
fn check_array_records(path: &Path, table: &Table, col: usize, name: &str) -> Result<(), Error> {
    let Some(ssm) = SsmColumn::find(table, col).filter(SsmColumn::is_indirect_array) else {
        return Ok(());
    };
    let n_rows = usize::try_from(table.nrows()).unwrap_or(usize::MAX);
    // Without an array file (no rows, or only empty cells) there is no record to trust.
    let (seq, _) = table.column_manager(col);
    if n_rows == 0 || !path.join(format!("table.f{seq}i")).is_file() {
        return Ok(());
    }
    guarded(path, name, || {
        ssm.for_each_array(8, 0, n_rows, |_, _, _, _| Ok(()))
            .map_err(WalkError)
    })
}
