//! The core crate's error type.

use std::path::PathBuf;

/// Everything the registry API can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Opening or migrating the registry failed.
    #[error(transparent)]
    Schema(#[from] calprov_schema::Error),
    /// A statement on the registry failed.
    #[error("registry {path}: {action} failed")]
    Sql {
        /// The registry file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A JSON column of one row cannot be parsed; the other rows are unaffected.
    #[error("caltable {caltable}: column {column} holds invalid JSON")]
    InvalidJson {
        /// The caltable path of the row.
        caltable: String,
        /// `solver_params` or `quality_metrics`.
        column: &'static str,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A JSON column value is valid JSON but not an object.
    #[error("caltable {caltable}: column {column} must hold a JSON object, found {found}")]
    NotAnObject {
        /// The caltable path of the row.
        caltable: String,
        /// The column.
        column: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A field of a row to register is invalid.
    #[error("caltable {caltable}: invalid {field}: {reason}")]
    InvalidField {
        /// The caltable path of the row.
        caltable: String,
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A caltable could not be read (missing, not a table, damaged).
    #[error(transparent)]
    Caltable(#[from] calprov_metrics::Error),
    /// A CASA command could not be rendered from the parameters.
    #[error("cannot render the CASA command")]
    Command(#[from] calprov_casa::Error),
    /// A prefix matched no caltable directory.
    #[error("no caltable directory matches prefix {prefix}")]
    NoCaltables {
        /// The prefix.
        prefix: PathBuf,
    },
    /// Listing the directory of a prefix failed.
    #[error("cannot list caltables for prefix {prefix}")]
    ListPrefix {
        /// The prefix.
        prefix: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A caltable asked about is neither registered nor solved.
    #[error("caltable {caltable}: not in the registry (no registered row, no recorded solve)")]
    UnknownCaltable {
        /// The caltable as given.
        caltable: String,
    },
    /// A set asked about has no caltable registered in it.
    #[error("set {set}: no caltable is registered in it")]
    UnknownSet {
        /// The set as given.
        set: String,
    },
    /// Writing an export failed (its destination: a file or stdout).
    #[error("cannot write the export to {destination}")]
    Write {
        /// The file, or `stdout`.
        destination: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A thread of a parallel export could not be started.
    #[error("cannot start a thread to {what}")]
    Spawn {
        /// What the thread was for.
        what: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A registry cannot be copied as asked (a target that is not empty, a row whose value
    /// the target's column cannot hold, a copy that does not read back the same).
    #[error("copy from {from} to {to}: {message}")]
    Copy {
        /// The source registry (a URL without its password).
        from: String,
        /// The target registry (a URL without its password).
        to: String,
        /// What is wrong.
        message: String,
    },
    /// A value read from the registry is not of its column's type.
    #[error(
        "registry {registry}: {action}: column {column} holds {found}, not a value of its type"
    )]
    BadValue {
        /// The registry (a URL without its password).
        registry: String,
        /// What was being read.
        action: &'static str,
        /// The column's position in the query.
        column: usize,
        /// What it holds.
        found: String,
    },
    /// The operation is not yet written for PostgreSQL registries.
    #[error(
        "registry {registry}: this command is not yet written for PostgreSQL registries (docs/postgres.md lists those that are; `calprov copy` moves the registry to a file)"
    )]
    Unsupported {
        /// The registry URL without its password.
        registry: String,
    },
    /// The worker threads of a parallel operation could not be started.
    #[error("cannot start {jobs} worker threads")]
    Threads {
        /// The threads asked for.
        jobs: usize,
        /// Why.
        #[source]
        source: rayon::ThreadPoolBuildError,
    },
}

impl Error {
    pub(crate) fn sql(
        path: &std::path::Path,
        action: &'static str,
    ) -> impl FnOnce(rusqlite::Error) -> Error {
        let path = path.to_path_buf();
        move |source| Error::Sql {
            path,
            action,
            source,
        }
    }
}
