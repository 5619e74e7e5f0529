//! Opening a registry connection with the pragmas calprov relies on.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::{Error, disk_space};

/// How a registry connection is opened.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// How long a statement waits for another process's lock before failing with
    /// `SQLITE_BUSY`. Registries are shared by every pipeline worker on a host.
    pub busy_timeout: Duration,
    /// Open without write access (queries only); the file must already exist.
    pub read_only: bool,
    /// Create the file when it does not exist.
    pub create: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(30),
            read_only: false,
            create: true,
        }
    }
}

/// Opens the registry at `path` with calprov's pragmas and checks that it is an SQLite file.
///
/// The pragmas, and why:
/// - `busy_timeout` (default 30 s): writers from several workers queue instead of failing;
/// - `journal_mode = WAL`: readers never block the writer and the writer never blocks
///   readers, and a killed process leaves a consistent database; the Python pipeline's
///   `sqlite3` module reads and writes WAL databases unchanged;
/// - `synchronous = NORMAL`: in WAL mode this is safe against corruption and against a
///   process crash; only a power loss can drop the last commits;
/// - `foreign_keys = ON`: enforced for calprov's own tables;
/// - `cache_size`: see where it is set.
///
/// The last connection to close checkpoints the WAL into the database and removes it (the
/// SQLite default, kept on purpose): a WAL left behind keeps the permissions of whoever
/// created it, and a registry shared by several users would then be read-only to the others.
///
/// A read-only connection does not change the journal mode (it cannot).
pub fn open_registry(path: &Path, options: &OpenOptions) -> Result<Connection, Error> {
    let mut flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if options.read_only {
        flags |= OpenFlags::SQLITE_OPEN_READ_ONLY;
    } else {
        flags |= OpenFlags::SQLITE_OPEN_READ_WRITE;
        if options.create {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
    }
    if path.is_dir() {
        return Err(Error::Open {
            path: path.to_path_buf(),
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some("the path is a directory".to_owned()),
            ),
        });
    }
    // Before SQLite maps the wal-index: a full filesystem must be an error, not SIGBUS.
    disk_space::ensure_headroom(path).map_err(|full| disk_full(path, full))?;
    let conn = Connection::open_with_flags(path, flags).map_err(|source| Error::Open {
        path: path.to_path_buf(),
        source,
    })?;
    conn.busy_timeout(options.busy_timeout)
        .map_err(|source| pragma_error(path, "busy_timeout", source))?;
    // Reading the schema is the first access to the file's contents: a file that is not a
    // database (or whose header is damaged) fails here rather than in some later query.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    })
    .map_err(|source| classify_open_error(path, source))?;
    if !options.read_only {
        let mode = enable_wal(&conn, options.busy_timeout)
            .map_err(|source| classify_pragma_error(path, "journal_mode", source))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %path.display(), mode, "registry is not in WAL mode");
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|source| pragma_error(path, "synchronous", source))?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(|source| pragma_error(path, "foreign_keys", source))?;
    // A page cache of up to 32 MiB (SQLite's default is 2 MiB): lineage walks revisit the
    // same solve rows level after level, and a cache smaller than a walk's working set
    // re-reads every page from the OS. Pages are only allocated as they are used, so a
    // tracking call still touches a few.
    conn.pragma_update(None, "cache_size", -32_768)
        .map_err(|source| pragma_error(path, "cache_size", source))?;
    disk_space::back_wal_index(path).map_err(|full| disk_full(path, full))?;
    Ok(conn)
}

fn disk_full(path: &Path, full: disk_space::TooFull) -> Error {
    Error::DiskFull {
        path: path.to_path_buf(),
        available: full.available,
        needed: disk_space::MIN_FREE_BYTES,
    }
}

/// Switches the file to WAL, retrying while other connections hold locks.
///
/// Changing the journal mode needs an exclusive lock and SQLite does not call the busy
/// handler for it: when several processes open a fresh registry together, all but one get
/// `SQLITE_BUSY` at once. Once the file is in WAL mode the pragma is a no-op, so retrying
/// within the busy timeout converges.
fn enable_wal(conn: &Connection, timeout: Duration) -> rusqlite::Result<String> {
    let started = std::time::Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |row| {
            row.get::<_, String>(0)
        }) {
            Ok(mode) => return Ok(mode),
            Err(err)
                if matches!(
                    err.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                ) && started.elapsed() < timeout =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Starts a write transaction that takes the write lock at once.
///
/// A DEFERRED transaction that reads and then writes fails immediately with `SQLITE_BUSY`
/// when another connection wrote in between, whatever the busy timeout, because SQLite
/// cannot upgrade its stale read snapshot. `BEGIN IMMEDIATE` waits (within the busy timeout)
/// for the lock before reading anything, so every calprov write uses it.
///
/// It is also where every write checks that the disk can take it (see [`disk_space`]): a
/// full filesystem gives `SQLITE_FULL` here instead of SIGBUS inside SQLite.
pub fn begin_immediate(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    if let Some(path) = conn.path().filter(|p| !p.is_empty()) {
        disk_space::guard_write(Path::new(path))?;
    }
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn pragma_error(path: &Path, pragma: &'static str, source: rusqlite::Error) -> Error {
    Error::Pragma {
        path: path.to_path_buf(),
        pragma,
        source,
    }
}

fn is_not_a_database(source: &rusqlite::Error) -> bool {
    matches!(
        source.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn classify_open_error(path: &Path, source: rusqlite::Error) -> Error {
    if is_not_a_database(&source) {
        Error::NotADatabase {
            path: path.to_path_buf(),
            source,
        }
    } else {
        Error::Open {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn classify_pragma_error(path: &Path, pragma: &'static str, source: rusqlite::Error) -> Error {
    if is_not_a_database(&source) {
        Error::NotADatabase {
            path: path.to_path_buf(),
            source,
        }
    } else {
        pragma_error(path, pragma, source)
    }
}
