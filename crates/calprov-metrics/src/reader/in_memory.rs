//! A table parsed from its files read whole into memory (what [`validate_files`] read), for
//! the reader's fast paths: every subtable, and a small main table. On tables of a few
//! kilobytes what costs is the system calls, so each file is opened and read once; casacure's
//! own open would read `table.dat` and the lock file again and map every data file.
//!
//! [`validate_files`]: super::validate::validate_files

use std::path::Path;

use casacure::ssm::StandardStManFile;
use casacure::table::{TableDat, TableDatError, parse_table_dat};

use super::guard::guarded;
use super::ssm::column_manager;
use super::validate::{TableFiles, damaged};
use crate::Error;

/// A table's description and StandardStMan files, parsed from memory.
pub(super) struct InMemory {
    pub(super) dat: TableDat,
    pub(super) ssm_files: Vec<(u32, StandardStManFile)>,
    /// The current row count.
    pub(super) n_rows: u64,
}

impl InMemory {
    /// Parses the table whose files `files` holds; `None` when it cannot be read from memory:
    /// a data file too large to have been read whole, a storage manager other than
    /// StandardStMan, or a fixed-shape array column stored by reference (casacure tells those
    /// from arrays stored in place by looking into the array file, which a parsed file does
    /// not hold).
    pub(super) fn parse(path: &Path, files: &TableFiles) -> Result<Option<Self>, Error> {
        if files.data.iter().any(|f| f.bytes.is_none()) {
            return Ok(None);
        }
        let dat = guarded(path, "open", || parse_table_dat(&files.dat))?;
        let Some(ssm_files) = parse_ssm_files(path, &dat, files)? else {
            return Ok(None);
        };
        let direct_by_reference = (0..dat.desc.columns.len()).any(|col| {
            let seq = column_manager(&dat, col).map_or(0, |(seq, _)| seq);
            files.array_file(seq).is_some()
                && casacure::ssm::is_direct_array(&dat.desc.columns[col])
        });
        if direct_by_reference {
            return Ok(None);
        }
        // As casacure's open does: the lock file's row count, when it has one, is the current one.
        let n_rows = match files.lock.as_deref().and_then(synced_row_count) {
            Some(n) if n != 0 => n,
            _ => dat.header.nrow,
        };
        let rows = usize::try_from(n_rows)
            .map_err(|_| damaged(path, "row count does not fit in memory"))?;
        files.check_row_count(path, rows)?;
        Ok(Some(Self {
            dat,
            ssm_files,
            n_rows,
        }))
    }
}

/// The row count of the last sync record in a `table.lock` (casacore's `TableLockData`:
/// the framed string `sync`, a big-endian version, then the count as a 32-bit (version 1) or
/// 64-bit (version 2) number), as casacure's `lock_sync_nrrow` reads it, but never reading
/// past the end of a truncated file.
pub(super) fn synced_row_count(lock: &[u8]) -> Option<u64> {
    let word = |at: usize| -> Option<[u8; 4]> { lock.get(at..at.checked_add(4)?)?.try_into().ok() };
    let mut found = None;
    for at in 4..lock.len() {
        if lock.get(at - 4..at + 4) != Some(b"\0\0\0\x04sync".as_slice()) {
            continue;
        }
        let Some(version) = word(at + 4).map(u32::from_be_bytes) else {
            break;
        };
        let count = match version {
            1 => word(at + 8).map(|w| u64::from(u32::from_be_bytes(w))),
            2 => lock
                .get(at + 8..at + 16)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes),
            _ => continue,
        };
        match count {
            Some(count) => found = Some(count),
            None => break,
        }
    }
    found
}

/// Each StandardStMan data file parsed from memory; `None` when a data manager is another.
fn parse_ssm_files(
    path: &Path,
    dat: &TableDat,
    files: &TableFiles,
) -> Result<Option<Vec<(u32, StandardStManFile)>>, Error> {
    let big_endian = dat.header.big_endian;
    let mut parsed = Vec::with_capacity(dat.column_set.data_managers.len());
    for dm in &dat.column_set.data_managers {
        if dm.type_name != "StandardStMan" {
            return Ok(None);
        }
        let name = format!("table.f{}", dm.sequence_nr);
        let Some(bytes) = files.bytes(&name) else {
            // casacure's open fails the same way on a missing data file.
            return Ok(None);
        };
        let file = guarded(path, "open", || {
            StandardStManFile::parse(bytes, big_endian)
                .map_err(|e| TableDatError::Storage(e.to_string()))
        })?;
        parsed.push((dm.sequence_nr, file));
    }
    Ok(Some(parsed))
}
