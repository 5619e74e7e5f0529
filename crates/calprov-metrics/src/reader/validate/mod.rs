//! Checks on a table's files before the reader may look at them: it is a directory with a
//! readable, plausibly sized `table.dat`, its data files are readable, every count the
//! reader will allocate for is plausible ([`structure`]), and the row count fits the data.
//!
//! The directory is listed once and each file opened once: a caltable is six tables of a
//! few files each, and on these reads the system calls cost more than the bytes.

mod structure;

use std::io::Read;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{Mode, OFlags, RawDir};
use rustix::io::Errno;

use structure::{Implausible, check_ssm_file, check_table_dat};

use crate::Error;

/// The largest `table.dat` accepted; real caltables' are a few kilobytes.
const MAX_TABLE_DAT_BYTES: u64 = 16 << 20;

/// How much of a subtable's data files is read into memory; a larger one is read through the
/// reader's mapped files instead (a subtable is a few kilobytes, and a hostile one must not
/// make calprov allocate its size).
pub(super) const SUBTABLE_WHOLE_BYTES: u64 = 64 << 20;

/// The buffer a table directory is listed into: a table's few entries fit in one
/// `getdents64`; a larger directory takes more calls, never more memory.
const LISTING_BUFFER_BYTES: usize = 2048;

/// The largest `table.lock` read; casacore's are a few hundred bytes.
const MAX_LOCK_BYTES: u64 = 1 << 20;

/// What [`validate_files`] keeps of the data files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Contents {
    /// Only their names and sizes: the reader maps them itself.
    Sizes,
    /// Their bytes too (up to this many in all, the rest by size only), read once for a
    /// reader that parses them from memory; and `table.lock`.
    Whole(u64),
}

/// A validated table directory: its `table.dat` and its data files (`table.f*`).
#[derive(Debug)]
pub(super) struct TableFiles {
    /// `table.dat`'s bytes.
    pub dat: Vec<u8>,
    /// Every `table.f*` file.
    pub data: Vec<DataFile>,
    /// `table.lock`'s bytes, read with [`Contents::Whole`] when the table has one (it holds
    /// the current row count); unreadable counts as absent, as for casacure.
    pub lock: Option<Vec<u8>>,
}

/// One `table.f*` file of a table.
#[derive(Debug)]
pub(super) struct DataFile {
    /// File name, e.g. `table.f0i`.
    pub name: String,
    /// Size in bytes.
    pub len: u64,
    /// The bytes, when read whole.
    pub bytes: Option<Vec<u8>>,
}

impl TableFiles {
    /// The file called `name`, if the table has it.
    pub fn file(&self, name: &str) -> Option<&DataFile> {
        self.data.iter().find(|f| f.name == name)
    }

    /// The array file of data manager `seq` (`table.f<seq>i`), if the table has it; found
    /// without formatting its name (a subtable's digest asks once for each column).
    pub fn array_file(&self, seq: u32) -> Option<&DataFile> {
        self.data.iter().find(|f| is_array_file_of(&f.name, seq))
    }

    /// The bytes of file `name`, when it exists and was read whole.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.file(name).and_then(|f| f.bytes.as_deref())
    }

    /// A row count the data files cannot hold is a garbled header: reading it would
    /// allocate for rows that do not exist.
    pub fn check_row_count(&self, path: &Path, n_rows: usize) -> Result<(), Error> {
        let data_bytes: u64 = self.data.iter().map(|f| f.len).sum();
        // Every row stores at least one 4-byte scalar somewhere in the data files.
        if (n_rows as u64).saturating_mul(4) > data_bytes {
            return Err(damaged(
                path,
                format!(
                    "table.dat claims {n_rows} rows but the data files hold only {data_bytes} bytes"
                ),
            ));
        }
        Ok(())
    }
}

/// True when `name` is `table.f<seq>i`, spelled as `format!("table.f{seq}i")` spells it (no
/// sign, no leading zero).
fn is_array_file_of(name: &str, seq: u32) -> bool {
    let Some(digits) = name
        .strip_prefix("table.f")
        .and_then(|rest| rest.strip_suffix('i'))
    else {
        return false;
    };
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
        && digits.parse::<u32>() == Ok(seq)
}

/// Checks the table directory at `path` and its files, keeping what `contents` asks for.
pub(super) fn validate_files(path: &Path, contents: Contents) -> Result<TableFiles, Error> {
    let not_a_table = |reason: &str| Error::NotATable {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    // The directory is opened once: listed through its descriptor, and its files opened
    // relative to it (no walk of the whole path for each file). It is listed into a buffer on
    // the stack (`RawDir`): `Dir` allocates a name for every entry, and `verify --all` lists
    // six directories per caltable.
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            return Err(Error::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(Errno::NOTDIR) => return Err(not_a_table("it is a file, not a table directory")),
        Err(errno) => return Err(io_error(path, ".", errno.into())),
    };
    let mut names = Vec::new();
    let mut has_dat = false;
    let mut has_lock = false;
    let mut buf = [MaybeUninit::<u8>::uninit(); LISTING_BUFFER_BYTES];
    let mut listing = RawDir::new(&fd, &mut buf);
    while let Some(entry) = listing.next() {
        let entry = entry.map_err(|errno| io_error(path, ".", errno.into()))?;
        let name = entry.file_name().to_bytes();
        if name == b"table.dat" {
            has_dat = true;
        } else if name == b"table.lock" {
            has_lock = true;
        } else if name.starts_with(b"table.f") {
            names.push(String::from_utf8_lossy(name).into_owned());
        }
    }
    let dir = TableDir {
        path,
        fd: fd.as_fd(),
    };
    if !has_dat {
        return Err(not_a_table("it has no table.dat"));
    }
    let dat = read_table_dat(&dir)?;
    let big_endian = check_table_dat(&dat)
        .map_err(|Implausible(reason)| damaged(path, format!("table.dat: {reason}")))?;
    // Sorted, so that the files are read and checked in the same order everywhere.
    names.sort_unstable();
    let mut whole_budget = match contents {
        Contents::Whole(budget) => budget,
        Contents::Sizes => 0,
    };
    let mut data = Vec::with_capacity(names.len());
    for name in names {
        let is_data_file = !name.ends_with('i') && name[7..].bytes().all(|b| b.is_ascii_digit());
        let file = read_data_file(&dir, name, &mut whole_budget, big_endian, is_data_file)?;
        data.push(file);
    }
    let lock = match (contents, has_lock) {
        (Contents::Whole(_), true) => read_lock(&dir),
        _ => None,
    };
    Ok(TableFiles { dat, data, lock })
}

/// A table directory being validated: its path (for errors) and its open descriptor.
struct TableDir<'a> {
    path: &'a Path,
    fd: BorrowedFd<'a>,
}

impl TableDir<'_> {
    /// Opens file `name` of the table for reading.
    fn open(&self, name: &str) -> std::io::Result<std::fs::File> {
        let flags = OFlags::RDONLY | OFlags::CLOEXEC;
        Ok(rustix::fs::openat(self.fd, name, flags, Mode::empty())?.into())
    }
}

/// Reads `table.lock` when it is a plausibly sized file; `None` otherwise.
fn read_lock(dir: &TableDir<'_>) -> Option<Vec<u8>> {
    let handle = dir.open("table.lock").ok()?;
    let len = handle.metadata().ok()?.len();
    if len > MAX_LOCK_BYTES {
        return None;
    }
    let mut lock = Vec::with_capacity(len as usize);
    handle.take(len).read_to_end(&mut lock).ok()?;
    Some(lock)
}

/// Reads `table.dat`, checking that it is a plausibly sized file.
fn read_table_dat(dir: &TableDir<'_>) -> Result<Vec<u8>, Error> {
    let path = dir.path;
    let io = |source| io_error(path, "table.dat", source);
    let mut handle = dir.open("table.dat").map_err(io)?;
    let meta = handle.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(Error::NotATable {
            path: path.to_path_buf(),
            reason: "table.dat is not a file".to_owned(),
        });
    }
    if meta.len() == 0 {
        return Err(damaged(path, "table.dat is empty"));
    }
    if meta.len() > MAX_TABLE_DAT_BYTES {
        return Err(damaged(
            path,
            format!(
                "table.dat is {} bytes, far more than a table description",
                meta.len()
            ),
        ));
    }
    let mut dat = vec![0u8; meta.len() as usize];
    handle.read_exact(&mut dat).map_err(io)?;
    Ok(dat)
}

/// Opens one data file (permission problems surface here as a clear I/O error rather than
/// inside the reader), reads it whole while `whole_budget` allows, and checks a
/// StandardStMan file's header and bucket index.
fn read_data_file(
    dir: &TableDir<'_>,
    name: String,
    whole_budget: &mut u64,
    big_endian: Option<bool>,
    is_data_file: bool,
) -> Result<DataFile, Error> {
    use std::os::unix::fs::FileExt;
    let table = dir.path;
    let io = |source| io_error(table, &name, source);
    let mut handle = dir.open(&name).map_err(io)?;
    let len = handle.metadata().map_err(io)?.len();
    let bytes = if len <= *whole_budget {
        *whole_budget -= len;
        // Exactly the size just read (one `read`, no second one to find the end): a file
        // that changes meanwhile is a damaged read like any other.
        let mut bytes = vec![0u8; len as usize];
        handle.read_exact(&mut bytes).map_err(io)?;
        Some(bytes)
    } else {
        *whole_budget = 0;
        None
    };
    if let (true, Some(big_endian)) = (is_data_file, big_endian) {
        let checked = match &bytes {
            Some(bytes) => {
                let head = &bytes[..bytes.len().min(casacure::ssm::DATA_START)];
                let read_at = |offset: usize, n: usize| {
                    bytes
                        .get(offset..offset.checked_add(n)?)
                        .map(<[u8]>::to_vec)
                };
                check_ssm_bytes(head, bytes.len(), read_at, big_endian)
            }
            None => {
                let mut head = Vec::with_capacity(casacure::ssm::DATA_START);
                (&mut handle)
                    .take(casacure::ssm::DATA_START as u64)
                    .read_to_end(&mut head)
                    .map_err(io)?;
                let read_at = |offset: usize, n: usize| {
                    let mut buf = vec![0u8; n];
                    handle
                        .read_exact_at(&mut buf, offset as u64)
                        .ok()
                        .map(|()| buf)
                };
                check_ssm_bytes(&head, len as usize, read_at, big_endian)
            }
        };
        checked.map_err(|Implausible(reason)| damaged(table, format!("{name}: {reason}")))?;
    }
    Ok(DataFile { name, len, bytes })
}

/// Checks a data file's header and bucket index when it is a StandardStMan file (`head`
/// starts with its magic); another storage manager's file has nothing of ours to check.
fn check_ssm_bytes(
    head: &[u8],
    len: usize,
    read_at: impl Fn(usize, usize) -> Option<Vec<u8>>,
    big_endian: bool,
) -> Result<(), Implausible> {
    if head.len() < 4 || head[..4] != [0xbe, 0xbe, 0xbe, 0xbe] {
        return Ok(());
    }
    check_ssm_file(head, len, read_at, big_endian)
}

/// The table's files are inconsistent.
pub(super) fn damaged(path: &Path, reason: impl Into<String>) -> Error {
    Error::Damaged {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn io_error(path: &Path, file: &str, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        file: file.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::is_array_file_of;

    #[test]
    fn an_array_file_is_named_as_its_data_manager_formats_it() {
        for seq in [0u32, 1, 7, 10, 123, u32::MAX] {
            assert!(is_array_file_of(&format!("table.f{seq}i"), seq), "{seq}");
            assert!(!is_array_file_of(&format!("table.f{seq}"), seq), "{seq}");
            assert!(!is_array_file_of(
                &format!("table.f{seq}i"),
                seq.wrapping_add(1)
            ));
        }
        for other in [
            "table.f00i",
            "table.f+1i",
            "table.fi",
            "table.f1ii",
            "table.f 1i",
            "table.dat",
        ] {
            assert!(
                !is_array_file_of(other, 0) && !is_array_file_of(other, 1),
                "{other}"
            );
        }
    }
}
