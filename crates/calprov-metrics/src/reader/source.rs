//! Where the main table's columns are read from: its files read whole and parsed in memory
//! when the table is small and StandardStMan stores all of it (each file opened and read once,
//! nothing mapped), else casacure's opened table, whose data files are mapped (a main table
//! can be gigabytes). The reader's fast paths read either the same way; a column only
//! casacure's generic path reads has the table opened for it.

use std::path::Path;
use std::sync::OnceLock;

use casacure::Table;
use casacure::ssm::StandardStManFile;
use casacure::table::TableDat;

use super::guard::{WalkError, guarded};
use super::in_memory::InMemory;
use super::ssm::SsmColumn;
use super::validate::{Contents, TableFiles, validate_files};
use crate::Error;

/// The largest main table read into memory whole (its data files together). Below it a read
/// costs more in system calls than in bytes; above it the mapped files are read in place and,
/// from [`crate::PARALLEL_THRESHOLD`] rows, in parallel.
pub(super) const MAIN_WHOLE_BYTES: u64 = 4 << 20;

/// An open main table.
pub(super) struct TableSource<'p> {
    path: &'p Path,
    /// The table's files, validated (and read whole when small).
    pub(super) files: TableFiles,
    parsed: Parsed,
    /// casacure's table for a table parsed in memory, opened if a column needs the generic
    /// path.
    opened_later: OnceLock<Result<Table, String>>,
}

/// How the table was opened.
enum Parsed {
    /// Parsed from its files in memory.
    Memory(InMemory),
    /// Opened by casacure, its data files mapped.
    Opened(Table),
}

impl<'p> TableSource<'p> {
    /// Validates the table at `path` and opens it: in memory when its data files total at
    /// most `whole_bytes` (0: never, see [`MAIN_WHOLE_BYTES`]).
    pub(super) fn open_within(path: &'p Path, whole_bytes: u64) -> Result<Self, Error> {
        let contents = match whole_bytes {
            0 => Contents::Sizes,
            budget => Contents::Whole(budget),
        };
        let files = validate_files(path, contents)?;
        let parsed = match InMemory::parse(path, &files)? {
            Some(memory) => Parsed::Memory(memory),
            None => Parsed::Opened(guarded(path, "open", || Table::open(path, true))?),
        };
        Ok(Self {
            path,
            files,
            parsed,
            opened_later: OnceLock::new(),
        })
    }

    /// True when the table was parsed in memory.
    #[cfg(test)]
    pub(super) fn in_memory(&self) -> bool {
        matches!(self.parsed, Parsed::Memory(_))
    }

    /// The table description.
    pub(super) fn dat(&self) -> &TableDat {
        match &self.parsed {
            Parsed::Memory(memory) => &memory.dat,
            Parsed::Opened(table) => &table.dat,
        }
    }

    /// The current row count.
    pub(super) fn nrows(&self) -> u64 {
        match &self.parsed {
            Parsed::Memory(memory) => memory.n_rows,
            Parsed::Opened(table) => table.nrows(),
        }
    }

    /// The column names, in the table's order.
    pub(super) fn colnames(&self) -> Vec<String> {
        self.dat()
            .desc
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }

    /// Column `col` resolved for the fast walk, when StandardStMan stores it.
    pub(super) fn ssm(&self, col: usize) -> Option<SsmColumn<'_>> {
        match &self.parsed {
            Parsed::Memory(memory) => {
                let files = &self.files;
                let array_file = |_: &StandardStManFile, seq: u32| {
                    files.array_file(seq).and_then(|f| f.bytes.as_deref())
                };
                SsmColumn::resolve(&memory.dat, &memory.ssm_files, col, array_file)
            }
            Parsed::Opened(table) => SsmColumn::find(table, col),
        }
    }

    /// casacure's table, for the generic path: opened now for a table parsed in memory.
    pub(super) fn table(&self) -> Result<&Table, Error> {
        match &self.parsed {
            Parsed::Opened(table) => Ok(table),
            Parsed::Memory(_) => self
                .opened_later
                .get_or_init(|| {
                    guarded(self.path, "open", || Table::open(self.path, true))
                        .map_err(|e| e.to_string())
                })
                .as_ref()
                .map_err(|reason| self.unreadable(reason.clone())),
        }
    }

    fn unreadable(&self, reason: String) -> Error {
        Error::Unreadable {
            path: self.path.to_path_buf(),
            what: "open".to_owned(),
            source: Box::new(WalkError(reason)),
        }
    }
}
