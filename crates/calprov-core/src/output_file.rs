//! Writing a command's output file (`export --out`, `report --html`, `export-prom`): a
//! regular file is replaced atomically (a temporary file beside it, renamed over it), so a
//! reader never sees half of it and a failed run leaves the old one; a symlink is followed,
//! so what it points at is replaced and the link stays. Anything else that exists there (a
//! device such as `/dev/null`, a FIFO, a terminal) is written in place: renaming over it
//! would replace the device with a plain file, and for root `/dev/null` itself.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the output for a path goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    /// Written to `partial`, then renamed to `path`.
    Replace {
        /// The file replaced (a symlink's target).
        path: PathBuf,
        /// The temporary file beside it.
        partial: PathBuf,
    },
    /// Written straight into `path`, which is not a regular file.
    InPlace(PathBuf),
}

/// Decides where output for `path` goes; an error for a directory.
pub fn output_target(path: &Path) -> std::io::Result<OutputTarget> {
    // `metadata` follows symlinks: a link to a device is a device.
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            format!("{} is a directory", path.display()),
        )),
        Ok(meta) if !meta.is_file() => Ok(OutputTarget::InPlace(path.to_path_buf())),
        Ok(_) => {
            let real = std::fs::canonicalize(path)?;
            Ok(OutputTarget::Replace {
                partial: partial_beside(&real),
                path: real,
            })
        }
        Err(_) => Ok(OutputTarget::Replace {
            path: path.to_path_buf(),
            partial: partial_beside(path),
        }),
    }
}

/// `.<name>.partial-<pid>` in the same directory, so the rename stays on one filesystem.
fn partial_beside(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "calprov-output".into());
    path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// An output file being written; [`PendingOutput::commit`] puts it in place. Dropped
/// without a commit, the partial file is removed and the old file kept.
#[derive(Debug)]
pub struct PendingOutput {
    file: File,
    target: OutputTarget,
    committed: bool,
}

impl PendingOutput {
    /// Opens the output for `path`.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        let target = output_target(path)?;
        let file = match &target {
            OutputTarget::Replace { partial, .. } => File::create(partial)?,
            OutputTarget::InPlace(path) => File::options().write(true).open(path)?,
        };
        Ok(Self {
            file,
            target,
            committed: false,
        })
    }

    /// The file to write to.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Makes the written file durable and puts it in place.
    pub fn commit(mut self) -> std::io::Result<()> {
        self.committed = true;
        match &self.target {
            OutputTarget::Replace { path, partial } => {
                let done = self
                    .file
                    .sync_all()
                    .and_then(|()| std::fs::rename(partial, path));
                if done.is_err() {
                    let _ = std::fs::remove_file(partial);
                }
                done
            }
            // A device or a FIFO has nothing to sync (and may refuse to).
            OutputTarget::InPlace(_) => Ok(()),
        }
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if let (false, OutputTarget::Replace { partial, .. }) = (self.committed, &self.target) {
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// Writes `text` to `path` as [`PendingOutput`] does.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let output = PendingOutput::create(path)?;
    output.file().write_all(text.as_bytes())?;
    output.commit()
}

#[cfg(test)]
mod tests {
    use super::{OutputTarget, output_target, write_atomically};

    #[test]
    fn devices_are_written_in_place_and_files_replaced_through_their_links() {
        assert_eq!(
            output_target(std::path::Path::new("/dev/null")).unwrap(),
            OutputTarget::InPlace("/dev/null".into())
        );
        let dir = tempfile::tempdir().unwrap();
        assert!(output_target(dir.path()).is_err(), "a directory");
        let real = dir.path().join("real.json");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomically(&link, "new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        let fresh = dir.path().join("fresh.txt");
        write_atomically(&fresh, "x").unwrap();
        assert_eq!(std::fs::read_to_string(&fresh).unwrap(), "x");
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().contains(".partial-"))
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
