//! Turning a registry error into the failure kind monitoring counts, and an error chain into
//! one line for events and warnings.

use calprov_schema::postgres::PgFailure;

use crate::Error;
use crate::tracking::FailureKind;

/// The cause chain of an error on one line (one home: the schema crate's).
pub use calprov_schema::chain;

/// Classifies a registry error by SQLite's error code.
pub fn classify(err: &Error) -> FailureKind {
    use rusqlite::ErrorCode as C;
    // SQLITE_IOERR_SHMSIZE: the shared-memory file of WAL mode could not be grown, which
    // on a full filesystem is the first write to fail.
    const IOERR_SHMSIZE: i32 = rusqlite::ffi::SQLITE_IOERR_SHMSIZE;
    let code = |e: &rusqlite::Error| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.extended_code == IOERR_SHMSIZE => {
            Some(C::DiskFull)
        }
        _ => e.sqlite_error_code(),
    };
    let sqlite = match err {
        Error::Sql { source, .. } => code(source),
        Error::Schema(schema) => match schema {
            calprov_schema::Error::Open { source, .. }
            | calprov_schema::Error::Pragma { source, .. }
            | calprov_schema::Error::Adopt { source, .. } => code(source),
            calprov_schema::Error::NotADatabase { .. } => return FailureKind::RegistryUnavailable,
            calprov_schema::Error::LockTimeout { .. } => return FailureKind::RegistryLocked,
            calprov_schema::Error::DiskFull { .. } => return FailureKind::RegistryFull,
            calprov_schema::Error::Postgres { kind, .. } => return postgres_kind(*kind),
            calprov_schema::Error::PgLockTimeout { .. } => return FailureKind::RegistryLocked,
            calprov_schema::Error::Lock { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                return FailureKind::RegistryReadOnly;
            }
            _ => None,
        },
        Error::InvalidJson { .. } | Error::NotAnObject { .. } | Error::InvalidField { .. } => {
            return FailureKind::InvalidParams;
        }
        Error::Command(_) => return FailureKind::InvalidParams,
        _ => None,
    };
    match sqlite {
        Some(C::DatabaseBusy | C::DatabaseLocked) => FailureKind::RegistryLocked,
        Some(C::ReadOnly) => FailureKind::RegistryReadOnly,
        Some(C::DiskFull) => FailureKind::RegistryFull,
        Some(C::CannotOpen | C::NotADatabase | C::DatabaseCorrupt | C::PermissionDenied) => {
            FailureKind::RegistryUnavailable
        }
        _ => match err {
            Error::Schema(_) => FailureKind::RegistryUnavailable,
            _ => FailureKind::RegistryError,
        },
    }
}

/// A PostgreSQL failure as the kind monitoring counts: the same kinds as SQLite's where the
/// cause is the same (a lock wait, a full disk), its own where it is the server's.
fn postgres_kind(kind: PgFailure) -> FailureKind {
    match kind {
        PgFailure::Unreachable => FailureKind::RegistryUnreachable,
        PgFailure::ConnectionLost => FailureKind::RegistryConnectionLost,
        PgFailure::AuthRefused => FailureKind::RegistryAuthRefused,
        PgFailure::Timeout => FailureKind::RegistryTimeout,
        PgFailure::Serialization => FailureKind::RegistryConflict,
        PgFailure::DiskFull => FailureKind::RegistryFull,
        PgFailure::NoDatabase => FailureKind::RegistryUnavailable,
        PgFailure::Other => FailureKind::RegistryError,
    }
}

/// Whether running the same transaction again may succeed: a PostgreSQL serialization
/// failure or deadlock.
pub(crate) fn is_retryable(err: &Error) -> bool {
    matches!(
        err,
        Error::Schema(calprov_schema::Error::Postgres { kind, .. }) if kind.is_retryable()
    )
}
