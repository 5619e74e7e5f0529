//! The registry handle: opening (and migrating) a registry, and what every operation on it
//! shares. Writes, queries and the row codecs live in the sibling modules.

pub(crate) mod backfill;
pub(crate) mod export_scope;
mod fingerprints;
pub(crate) mod history;
mod history_reads;
mod import;
mod plans;
mod queries;
mod report;
mod rows;
mod walks;
mod writes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use calprov_schema::disk_space::{WalIndexUse, use_wal_index};
use calprov_schema::{MigrationReport, OpenOptions, migrate, open_registry};
use rusqlite::Connection;

use crate::Error;

pub use fingerprints::RecordedFingerprint;
pub use history_reads::SolveEntry;
pub use import::ORIGIN_IMPORTED;
pub use queries::RecordResult;
pub(crate) use rows::ANY_PROVENANCE_SQL;
pub use walks::Recall;
pub(crate) use writes::write_provenance;

/// An open, migrated calibration registry.
pub struct Registry {
    // Declared first, so it is closed before `_wal_index` lets the `-shm` handle go.
    conn: Connection,
    _wal_index: WalIndexUse,
    path: PathBuf,
    migration: MigrationReport,
    busy_timeout: Duration,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Opens (creating if needed) and migrates the registry at `path` with default options.
    pub fn open(path: &Path) -> Result<Self, Error> {
        Self::open_with(path, &OpenOptions::default())
    }

    /// Opens and migrates the registry with explicit connection options: the one way a
    /// registry is opened, by the CLI and by library callers alike.
    pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Self, Error> {
        let wal_index = use_wal_index(path);
        let mut conn = open_registry(path, options)?;
        let migration = migrate(&mut conn, options.busy_timeout)?;
        Ok(Self {
            conn,
            _wal_index: wal_index,
            path: path.to_path_buf(),
            migration,
            busy_timeout: options.busy_timeout,
        })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long a statement waits for another process's lock (from the open options).
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// What migrating the registry on open found and did.
    pub fn migration(&self) -> &MigrationReport {
        &self.migration
    }

    /// The connection, for the composed operations of this crate (tracking).
    pub(crate) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Another connection to this registry, read-only, through the one opener (no migration:
    /// this one did it): for reading in parallel, as the export's workers do.
    pub(crate) fn open_reader(&self) -> Result<Connection, Error> {
        let options = OpenOptions {
            busy_timeout: self.busy_timeout,
            read_only: true,
            create: false,
        };
        Ok(open_registry(&self.path, &options)?)
    }

    /// The connection, for read-only composed operations (monitoring).
    pub(crate) fn connection(&self) -> &Connection {
        &self.conn
    }
}
