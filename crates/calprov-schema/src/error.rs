//! The schema crate's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while opening or migrating a registry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// SQLite could not open the file at all (missing directory, a directory, permissions).
    #[error("cannot open registry {path}")]
    Open {
        /// The registry path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The file exists but is not an SQLite database (or its header is damaged).
    #[error("registry {path} is not an SQLite database (or it is damaged)")]
    NotADatabase {
        /// The registry path.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The registry's filesystem has too little room for SQLite's mapped wal-index: opening
    /// it could kill the process with SIGBUS, so it is not opened.
    #[error(
        "registry {path}: its filesystem is full ({available} bytes available, calprov needs {needed} to open it safely)"
    )]
    DiskFull {
        /// The registry path.
        path: PathBuf,
        /// Bytes available to unprivileged users.
        available: u64,
        /// The headroom calprov requires.
        needed: u64,
    },
    /// A connection pragma could not be applied.
    #[error("cannot set PRAGMA {pragma} on registry {path}")]
    Pragma {
        /// The registry path.
        path: PathBuf,
        /// The pragma that failed.
        pragma: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The cross-process migration lock file could not be created or locked.
    #[error("cannot take the migration lock {path}")]
    Lock {
        /// The lock file path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process held the migration lock for longer than allowed.
    #[error("timed out after {waited:?} waiting for the migration lock {path}")]
    LockTimeout {
        /// The lock file path.
        path: PathBuf,
        /// How long we waited.
        waited: Duration,
    },
    /// A `caltables` table exists but lacks columns every registry shape has.
    #[error(
        "registry {path}: table caltables is not a calibration registry (missing columns: {missing:?})"
    )]
    IncompatibleTable {
        /// The registry path.
        path: PathBuf,
        /// The required columns that are absent.
        missing: Vec<String>,
    },
    /// Adding a missing provenance column or index failed.
    #[error("registry {path}: adopting the existing schema failed at step {step}")]
    Adopt {
        /// The registry path.
        path: PathBuf,
        /// The step that failed.
        step: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// refinery could not apply the embedded migrations.
    #[error("registry {path}: applying migrations failed")]
    Migrate {
        /// The registry path.
        path: PathBuf,
        /// What refinery said.
        #[source]
        source: refinery::Error,
    },
    /// A PostgreSQL URL that cannot be used (the message never holds the password).
    #[error("invalid PostgreSQL registry URL: {message}")]
    PgUrl {
        /// What is wrong.
        message: String,
    },
    /// A call to a PostgreSQL registry failed.
    #[error("PostgreSQL registry {target}: {action} failed ({})", kind.name())]
    Postgres {
        /// The registry URL without its password.
        target: String,
        /// What calprov was doing.
        action: &'static str,
        /// What kind of failure it was.
        kind: crate::postgres::PgFailure,
        /// What the client or server said.
        #[source]
        source: postgres::Error,
    },
    /// Another process held a PostgreSQL registry's migration lock for longer than allowed.
    #[error(
        "PostgreSQL registry {target}: timed out after {waited:?} waiting for another process's migration"
    )]
    PgLockTimeout {
        /// The registry URL without its password.
        target: String,
        /// How long we waited.
        waited: Duration,
    },
    /// A PostgreSQL registry's schema is not one calprov can use or migrate.
    #[error("PostgreSQL registry {target}: {message}")]
    PgSchema {
        /// The registry URL without its password.
        target: String,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    /// A failed PostgreSQL call on `target`, classified.
    pub fn postgres(
        target: &crate::postgres::PgTarget,
        action: &'static str,
        source: postgres::Error,
    ) -> Self {
        let kind = crate::postgres::classify(&source, action == "connect");
        Error::Postgres {
            target: target.shown().to_owned(),
            action,
            kind,
            source,
        }
    }
}

/// An error and every error under it on one line (`a: b: c`), for events, warnings and
/// messages whose outer error says too little alone (refinery's "db error").
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
