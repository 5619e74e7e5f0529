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
pub(crate) use rows::object_text;
mod streams;
mod walks;
mod writes;

use std::path::{Path, PathBuf};
use std::time::Duration;

use calprov_schema::disk_space::{WalIndexUse, use_wal_index};
use calprov_schema::postgres::PgEnvironment;
use calprov_schema::{MigrationReport, OpenOptions, begin_immediate, migrate, open_registry};
use rusqlite::Connection;

use crate::Error;
use crate::db_path::RegistryAddress;
use crate::postgres::PgConnection;
use crate::sql::{Cell, Dialect, Tx};

pub use fingerprints::RecordedFingerprint;
pub use history_reads::SolveEntry;
pub use import::ORIGIN_IMPORTED;
pub use queries::RecordResult;
pub(crate) use rows::ANY_PROVENANCE_SQL;
pub use walks::Recall;
pub(crate) use writes::write_provenance;

/// An open, migrated calibration registry.
pub struct Registry {
    backend: Backend,
    /// The file, or for a server its URL without the password (what messages name).
    path: PathBuf,
    migration: MigrationReport,
    busy_timeout: Duration,
}

/// The connection of either backend.
enum Backend {
    Sqlite {
        // Declared first, so it is closed before `_wal_index` lets the `-shm` handle go.
        conn: Connection,
        _wal_index: WalIndexUse,
    },
    // Boxed: a connection with its credentials is three times an SQLite one.
    Postgres(Box<PgConnection>),
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
            backend: Backend::Sqlite {
                conn,
                _wal_index: wal_index,
            },
            path: path.to_path_buf(),
            migration,
            busy_timeout: options.busy_timeout,
        })
    }

    /// Opens and migrates the registry at `address`, a file or a PostgreSQL server (whose
    /// credentials libpq's rules find, `postgres` giving the environment's part). For a
    /// server the busy timeout bounds the connection, each statement's lock waits and the
    /// wait for another process's migration.
    pub fn open_address(
        address: &RegistryAddress,
        options: &OpenOptions,
        postgres: &PgEnvironment,
    ) -> Result<Self, Error> {
        match address {
            RegistryAddress::File(path) => Self::open_with(path, options),
            RegistryAddress::Postgres(target) => {
                let opened =
                    crate::postgres::open_postgres(target, postgres, options.busy_timeout)?;
                Ok(Self {
                    backend: Backend::Postgres(Box::new(PgConnection::new(
                        opened.client,
                        target,
                        postgres,
                        options.busy_timeout,
                    ))),
                    path: PathBuf::from(target.shown()),
                    migration: opened.migration,
                    busy_timeout: options.busy_timeout,
                })
            }
        }
    }

    /// The registry file; for a PostgreSQL registry, its URL without the password.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How the few expressions the backends spell differently are written for this one.
    pub(crate) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite { .. } => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Starts a write transaction on either backend: SQLite's `BEGIN IMMEDIATE` (with its
    /// full-disk guard), PostgreSQL's default `READ COMMITTED`.
    pub(crate) fn begin_write(&mut self, action: &'static str) -> Result<Tx<'_>, Error> {
        let path = &self.path;
        match &mut self.backend {
            Backend::Sqlite { conn, .. } => Ok(Tx::Sqlite {
                tx: begin_immediate(conn).map_err(Error::sql(path, action))?,
                path,
            }),
            Backend::Postgres(connection) => {
                let (tx, target, statements) = connection.transaction(action)?;
                Ok(Tx::Postgres {
                    tx,
                    target,
                    statements,
                })
            }
        }
    }

    /// How long the next statements wait for another process's lock: SQLite's busy timeout,
    /// PostgreSQL's `lock_timeout`. Best effort: a registry that cannot take it keeps its
    /// own, and the statement that then waits fails on its own terms.
    pub(crate) fn set_lock_wait(&mut self, wait: Duration) {
        match &mut self.backend {
            Backend::Sqlite { conn, .. } => {
                let _ = conn.busy_timeout(wait);
            }
            Backend::Postgres(connection) => {
                let millis = wait.as_millis().max(1);
                if let Ok(session) = connection.session_mut() {
                    let _ = session
                        .client
                        .batch_execute(&format!("SET lock_timeout = {millis}"));
                }
            }
        }
    }

    /// Every row a query (written for both backends, `?N` placeholders) returns, as cells.
    pub(crate) fn read_rows(
        &self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
    ) -> Result<Vec<Vec<Cell>>, Error> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => {
                let mut stmt = conn
                    .prepare_cached(sql)
                    .map_err(Error::sql(&self.path, action))?;
                let width = stmt.column_count();
                stmt.query_map(rusqlite::params_from_iter(params), |row| {
                    (0..width)
                        .map(|i| row.get_ref(i).map(crate::sql::cell::from_sqlite_value))
                        .collect::<Result<Vec<_>, _>>()
                })
                .and_then(Iterator::collect)
                .map_err(Error::sql(&self.path, action))
            }
            Backend::Postgres(connection) => {
                connection.with_statement(sql, action, |client, statement, failed| {
                    let rows = client
                        .query(statement, &crate::sql::pg_params(params))
                        .map_err(failed)?;
                    rows.iter()
                        .map(|row| {
                            (0..row.len())
                                .map(|i| crate::sql::cell::from_postgres_column(row, i))
                                .collect::<Result<Vec<_>, _>>()
                                .map_err(failed)
                        })
                        .collect()
                })
            }
        }
    }

    /// How long a statement waits for another process's lock (from the open options).
    pub fn busy_timeout(&self) -> Duration {
        self.busy_timeout
    }

    /// What migrating the registry on open found and did.
    pub fn migration(&self) -> &MigrationReport {
        &self.migration
    }

    /// A file's SQLite connection, for `copy`, which reads a file's values as SQLite stored
    /// them (before they are checked against their columns' types).
    pub(crate) fn connection_mut(&mut self) -> Result<&mut Connection, Error> {
        match &mut self.backend {
            Backend::Sqlite { conn, .. } => Ok(conn),
            Backend::Postgres(_) => Err(Error::Unsupported {
                registry: self.path.display().to_string(),
            }),
        }
    }
}

/// A new registry file in `dir`, migrated, as a bare SQLite connection: for the tests that
/// read SQLite's own statement counters.
#[cfg(test)]
pub(crate) fn migrated_connection(dir: &Path) -> rusqlite::Connection {
    let options = calprov_schema::OpenOptions {
        create: true,
        ..calprov_schema::OpenOptions::default()
    };
    let mut conn = calprov_schema::open_registry(&dir.join("r.sqlite3"), &options)
        .expect("create a test registry");
    calprov_schema::migrate(&mut conn, Duration::from_secs(5)).expect("migrate a test registry");
    conn
}
