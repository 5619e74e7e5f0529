//! The metrics crate's error type.

use std::path::PathBuf;

/// Why a caltable could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Nothing exists at the path.
    #[error("caltable {path} does not exist")]
    Missing {
        /// The caltable path.
        path: PathBuf,
    },
    /// The path exists but is not a table directory (a plain file, or a directory without
    /// `table.dat`).
    #[error("{path} is not a CASA table: {reason}")]
    NotATable {
        /// The caltable path.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A file of the table cannot be read (permissions, I/O).
    #[error("caltable {path}: cannot read {file}")]
    Io {
        /// The caltable path.
        path: PathBuf,
        /// The file inside the table.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The table's files are inconsistent or damaged.
    #[error("caltable {path} is damaged: {reason}")]
    Damaged {
        /// The caltable path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The table reader (casacure) failed or panicked on a damaged part of the table; the
    /// reader's own error is the source.
    #[error("caltable {path} is damaged: cannot read {what}")]
    Unreadable {
        /// The caltable path.
        path: PathBuf,
        /// What was being read (`open`, a column name).
        what: String,
        /// The reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A column calprov needs is absent or has an unexpected type.
    #[error("caltable {path}: column {column}: {reason}")]
    Column {
        /// The caltable path.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong.
        reason: String,
    },
    /// Writing a synthetic caltable failed.
    #[error("cannot write synthetic caltable {path}: {reason}")]
    Write {
        /// The output path.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
}
