//! The cross-process lock that serialises migrations of one registry file.
//!
//! SQLite's own locks cannot cover the whole adoption: refinery runs its own transactions and
//! the shape must not change between detecting it and recording the baseline. An advisory
//! `flock` on a side file does, and the kernel releases it when a process dies. It is a side
//! file, never the database itself: closing any descriptor of the database file would drop
//! the POSIX locks SQLite holds on it.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::Error;

/// The migration lock, held until dropped.
#[derive(Debug)]
pub(crate) struct MigrationLock {
    _file: File,
}

/// The side file next to `db` that migrations lock.
pub(crate) fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".migrate-lock");
    PathBuf::from(name)
}

impl MigrationLock {
    /// Takes the exclusive lock on the side file of `db`, waiting at most `timeout`.
    pub(crate) fn acquire(db: &Path, timeout: Duration) -> Result<Self, Error> {
        let path = lock_path(db);
        let file = open_lock_file(&path).map_err(|source| Error::Lock {
            path: path.clone(),
            source,
        })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) => {
                    if started.elapsed() >= timeout {
                        return Err(Error::LockTimeout {
                            path,
                            waited: started.elapsed(),
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(TryLockError::Error(source)) => return Err(Error::Lock { path, source }),
            }
        }
    }
}

fn open_lock_file(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o644);
    }
    match options.open(path) {
        Ok(file) => Ok(file),
        // A read-only directory that already holds the lock file still lets us lock it.
        Err(err) if err.kind() == std::io::ErrorKind::PermissionDenied => {
            File::open(path).map_err(|_| err)
        }
        Err(err) => Err(err),
    }
}
