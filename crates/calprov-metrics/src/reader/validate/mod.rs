//! Checks on a table's files before the reader may look at them: it is a directory with a
//! readable, plausibly sized `table.dat`, its data files are readable, every count the
//! reader will allocate for is plausible ([`structure`]), and the row count fits the data.

mod structure;

use std::path::Path;

use structure::{Implausible, check_ssm_file, check_table_dat};

use crate::Error;

/// The largest `table.dat` accepted; real caltables' are a few kilobytes.
const MAX_TABLE_DAT_BYTES: u64 = 16 << 20;

/// Checks the table directory at `path` and its files.
pub(super) fn validate_files(path: &Path) -> Result<(), Error> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(source) => return Err(io_error(path, ".", source)),
    };
    let not_a_table = |reason: &str| Error::NotATable {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    if !meta.is_dir() {
        return Err(not_a_table("it is a file, not a table directory"));
    }
    let dat = path.join("table.dat");
    let dat_meta = match std::fs::metadata(&dat) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(not_a_table("it has no table.dat"));
        }
        Err(source) => return Err(io_error(path, "table.dat", source)),
    };
    if !dat_meta.is_file() {
        return Err(not_a_table("table.dat is not a file"));
    }
    if dat_meta.len() == 0 {
        return Err(damaged(path, "table.dat is empty"));
    }
    if dat_meta.len() > MAX_TABLE_DAT_BYTES {
        return Err(damaged(
            path,
            format!(
                "table.dat is {} bytes, far more than a table description",
                dat_meta.len()
            ),
        ));
    }
    let dat_bytes = std::fs::read(&dat).map_err(|source| io_error(path, "table.dat", source))?;
    let big_endian = check_table_dat(&dat_bytes)
        .map_err(|Implausible(reason)| damaged(path, format!("table.dat: {reason}")))?;
    for entry in std::fs::read_dir(path).map_err(|source| io_error(path, ".", source))? {
        let entry = entry.map_err(|source| io_error(path, ".", source))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with("table.f") {
            continue;
        }
        // Permission problems surface here as a clear I/O error rather than inside the reader.
        std::fs::File::open(entry.path()).map_err(|source| io_error(path, &name, source))?;
        let is_data_file = !name.ends_with('i') && name[7..].bytes().all(|b| b.is_ascii_digit());
        if let (true, Some(big_endian)) = (is_data_file, big_endian) {
            check_data_file(path, &entry.path(), &name, big_endian)?;
        }
    }
    Ok(())
}

/// Validates a StandardStMan data file's header and bucket index, reading only those.
fn check_data_file(table: &Path, file: &Path, name: &str, big_endian: bool) -> Result<(), Error> {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let io = |source| io_error(table, name, source);
    let mut handle = std::fs::File::open(file).map_err(io)?;
    let len = handle.metadata().map_err(io)?.len() as usize;
    let mut head = Vec::with_capacity(casacure::ssm::DATA_START);
    (&mut handle)
        .take(casacure::ssm::DATA_START as u64)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.len() < 4 || head[..4] != [0xbe, 0xbe, 0xbe, 0xbe] {
        // Not a StandardStMan file (another storage manager): nothing of ours to check.
        return Ok(());
    }
    let read_at = |offset: usize, n: usize| {
        let mut buf = vec![0u8; n];
        handle
            .read_exact_at(&mut buf, offset as u64)
            .ok()
            .map(|()| buf)
    };
    check_ssm_file(&head, len, read_at, big_endian)
        .map_err(|Implausible(reason)| damaged(table, format!("{name}: {reason}")))
}

/// A row count the data files cannot hold is a garbled header: reading it would allocate
/// for rows that do not exist.
pub(super) fn validate_row_count(path: &Path, n_rows: usize) -> Result<(), Error> {
    let data_bytes: u64 = std::fs::read_dir(path)
        .map_err(|source| io_error(path, ".", source))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("table.f"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
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
