//! Keeping SQLite's memory-mapped wal-index off a full filesystem.
//!
//! In WAL mode every connection maps the `<db>-shm` file (the wal-index) into memory. SQLite
//! grows that file by writing one byte at the end of each 4 KiB page; on a filesystem whose
//! blocks are smaller than a page (small ext4 images use 1 KiB blocks) that leaves holes,
//! and the first store into a hole needs a block. When the filesystem has none left, the
//! kernel answers the store with SIGBUS: no error code, the process just dies, and so does
//! every later open that rebuilds the wal-index. A pipeline linking calprov would die with it.
//!
//! Two guards make that impossible for calprov's own connections:
//! 1. [`ensure_headroom`]: before a registry is opened, and before every write transaction,
//!    the filesystem must have [`MIN_FREE_BYTES`] available; otherwise the operation fails
//!    with a disk-full error before SQLite maps anything. This covers the rebuild at open,
//!    which truncates and re-extends the `-shm` file.
//! 2. [`back_wal_index`]: after opening and before every write transaction, every block of
//!    the existing `-shm` file, and of the region SQLite would map next, is allocated with
//!    `fallocate(KEEP_SIZE)`. Later stores into the mapping then never need a new block;
//!    if the allocation itself finds the disk full, that is a clean `ENOSPC`.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustix::fs::{FallocateFlags, fallocate, statvfs};
use rustix::io::Errno;

/// One wal-index region: SQLite maps the `-shm` file 32 KiB at a time.
const WAL_INDEX_REGION: u64 = 32 * 1024;

/// The free space required before a registry is opened or written: four wal-index regions,
/// enough for SQLite to rebuild and extend the wal-index and write a few WAL frames.
pub const MIN_FREE_BYTES: u64 = 4 * WAL_INDEX_REGION;

/// The filesystem of `db` is too full; `available` bytes are left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooFull {
    /// Bytes available to unprivileged users.
    pub available: u64,
}

/// Fails when the filesystem holding `db` has less than [`MIN_FREE_BYTES`] available.
///
/// Space available to unprivileged users is what counts, even for root: a registry on a disk
/// that only root's reserve keeps alive is full for the pipeline's purposes. A filesystem
/// that cannot be asked (a missing directory, say) is left to SQLite to report.
pub fn ensure_headroom(db: &Path) -> Result<(), TooFull> {
    let dir = match db.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match statvfs(&dir) {
        Ok(fs) => {
            let available = fs.f_bavail.saturating_mul(fs.f_frsize);
            if available < MIN_FREE_BYTES {
                Err(TooFull { available })
            } else {
                Ok(())
            }
        }
        Err(_) => Ok(()),
    }
}

/// The `-shm` files this process holds open, each with how many registries use it.
///
/// POSIX record locks belong to the process and the file, not to a descriptor: closing
/// *any* descriptor of the `-shm` file releases every lock SQLite holds on it in this
/// process, including the shared lock that tells other processes the wal-index is in use.
/// Another process would then rebuild (truncate) the file under this one's mapping, which
/// is SIGBUS again. So a handle is closed only when the last registry using it has closed
/// its connection ([`WalIndexUse`]), or when its file is no longer at that path (SQLite
/// deletes the `-shm` file only when no connection anywhere uses it).
static SHM_FILES: Mutex<Vec<ShmEntry>> = Mutex::new(Vec::new());

struct ShmEntry {
    shm: PathBuf,
    users: usize,
    file: Option<Arc<File>>,
}

fn shm_path(db: &Path) -> PathBuf {
    let mut shm = db.as_os_str().to_owned();
    shm.push("-shm");
    PathBuf::from(shm)
}

/// A registry's use of its `-shm` handle: while one exists, [`back_wal_index`] keeps a
/// handle open on that file; dropping the last one closes it. Hold it for as long as the
/// connection, and drop it after the connection.
#[derive(Debug)]
pub struct WalIndexUse {
    shm: PathBuf,
}

/// Registers a use of `db`'s wal-index by a connection that is about to open.
pub fn use_wal_index(db: &Path) -> WalIndexUse {
    let shm = shm_path(db);
    let mut files = SHM_FILES.lock().unwrap_or_else(|e| e.into_inner());
    match files.iter_mut().find(|e| e.shm == shm) {
        Some(entry) => entry.users += 1,
        None => files.push(ShmEntry {
            shm: shm.clone(),
            users: 1,
            file: None,
        }),
    }
    WalIndexUse { shm }
}

impl Drop for WalIndexUse {
    fn drop(&mut self) {
        let mut files = SHM_FILES.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = files.iter_mut().find(|e| e.shm == self.shm) {
            entry.users = entry.users.saturating_sub(1);
        }
        files.retain(|e| e.users > 0);
    }
}

/// Allocates every block of `db`'s `-shm` file and of the next wal-index region, without
/// changing its size or contents. Fails only when the filesystem is full. Nothing is done
/// for a registry no [`WalIndexUse`] holds (a handle could not be closed safely), for a
/// missing `-shm` (not in WAL mode yet) or on a filesystem without `fallocate`.
pub fn back_wal_index(db: &Path) -> Result<(), TooFull> {
    let Some(file) = shm_file(&shm_path(db)) else {
        return Ok(());
    };
    let Ok(meta) = file.metadata() else {
        return Ok(());
    };
    let regions = meta.len().div_ceil(WAL_INDEX_REGION) + 1;
    match fallocate(
        &*file,
        FallocateFlags::KEEP_SIZE,
        0,
        regions * WAL_INDEX_REGION,
    ) {
        Err(Errno::NOSPC | Errno::DQUOT) => Err(TooFull { available: 0 }),
        _ => Ok(()),
    }
}

/// The handle on the `-shm` file at `shm`, opened on first use and reopened when the file
/// at that path was replaced; `None` without a registered use or without the file.
fn shm_file(shm: &Path) -> Option<Arc<File>> {
    let mut files = SHM_FILES.lock().unwrap_or_else(|e| e.into_inner());
    let entry = files.iter_mut().find(|e| e.shm == shm)?;
    let current = std::fs::metadata(shm).ok()?;
    let same_file = |file: &File| {
        file.metadata()
            .is_ok_and(|m| m.dev() == current.dev() && m.ino() == current.ino())
    };
    if let Some(file) = &entry.file
        && same_file(file)
    {
        return Some(Arc::clone(file));
    }
    let file = Arc::new(
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(shm)
            .ok()?,
    );
    // Replacing the handle closes one on a file no longer at this path: no SQLite
    // connection of this process uses that file any more.
    entry.file = Some(Arc::clone(&file));
    Some(file)
}

/// Both guards, for a connection about to write: the error SQLite itself would give for a
/// full disk (`SQLITE_FULL`), so callers classify it as they classify SQLite's.
pub fn guard_write(db: &Path) -> rusqlite::Result<()> {
    ensure_headroom(db)
        .and_then(|()| back_wal_index(db))
        .map_err(|full| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                Some(format!(
                    "the registry's filesystem is full ({} bytes available, {MIN_FREE_BYTES} needed)",
                    full.available
                )),
            )
        })
}
