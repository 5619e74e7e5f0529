//! One SQLite per process. The extension carries its own SQLite; Python's `sqlite3` module
//! loads another. Two SQLite libraries in one process do not see each other's POSIX locks,
//! and one closing its file drops the other's (<https://sqlite.org/howtocorrupt.html>, 2.2.1).
//! calprov cannot prevent a pipeline from opening the registry with `sqlite3` too, but it can
//! see it: when a registry is opened, any handle on the registry's files that this process
//! holds and calprov did not open is another library's, and calprov says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The registry files calprov's own open registries hold, with how many registries hold each.
static OPEN: Mutex<BTreeMap<PathBuf, usize>> = Mutex::new(BTreeMap::new());

/// Marks a registry file as held by calprov for as long as it lives.
#[derive(Debug)]
pub struct Held {
    file: PathBuf,
}

impl Held {
    /// Marks `file` (as opened) held; the warning to give when another library in this
    /// process already has it open, found before calprov's own handles exist.
    pub fn before_open(file: &Path) -> (Self, Option<String>) {
        let canonical = std::fs::canonicalize(file).ok();
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        let warning = match &canonical {
            // While calprov holds the file itself, its own handles cannot be told apart.
            Some(canonical) if !open.contains_key(canonical) => {
                foreign_handles(canonical).filter(|n| *n > 0).map(|n| {
                    format!(
                        "another SQLite library in this process has {} open ({n} handle(s); \
                         Python's sqlite3?): the two do not see each other's locks, so a write \
                         through one can corrupt what the other is doing. In a process that \
                         uses calprov, reach the registry through calprov only (docs/python.md)",
                        file.display()
                    )
                })
            }
            _ => None,
        };
        let key = canonical.unwrap_or_else(|| file.to_path_buf());
        *open.entry(key.clone()).or_insert(0) += 1;
        (Self { file: key }, warning)
    }

    /// The file as marked, once it exists (a new registry is created by the open).
    pub fn after_open(mut self) -> Self {
        if let Ok(canonical) = std::fs::canonicalize(&self.file)
            && canonical != self.file
        {
            let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
            release(&mut open, &self.file);
            *open.entry(canonical.clone()).or_insert(0) += 1;
            self.file = canonical;
        }
        self
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        release(&mut open, &self.file);
    }
}

fn release(open: &mut BTreeMap<PathBuf, usize>, file: &Path) {
    if let Some(count) = open.get_mut(file) {
        *count -= 1;
        if *count == 0 {
            open.remove(file);
        }
    }
}

/// How many of this process's file descriptors point at the registry, its WAL or its
/// wal-index; `None` where `/proc/self/fd` cannot be read (not Linux).
fn foreign_handles(canonical: &Path) -> Option<usize> {
    let names: Vec<PathBuf> = ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = canonical.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect();
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some(
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| std::fs::read_link(entry.path()).ok())
            .filter(|target| names.contains(target))
            .count(),
    )
}
