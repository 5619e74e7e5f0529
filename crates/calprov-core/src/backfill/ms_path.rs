//! Resolving a caltable's `MSName` keyword to the Measurement Set it was solved from.
//!
//! CASA writes the MS's name as given to the solve, usually a bare or relative name. It is
//! looked for next to the caltable first (where pipelines write both), then under an
//! operator's `--ms-root`: directly, then anywhere below it by its final name. A name found
//! in two places below the root is ambiguous and resolves to nothing, never to a guess.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::paths::normalize_to_string;

/// How deep below `--ms-root` an MS is looked for.
pub const MAX_DEPTH: usize = 8;

/// What a name resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsResolution {
    /// The MS, as an absolute normalised path.
    Found(String),
    /// No MS of that name exists where it was looked for.
    NotFound,
    /// More than one directory below the root has that name.
    Ambiguous(Vec<String>),
}

/// The CASA tables below a root (directories holding a `table.dat`), by final name; built
/// once, the first time a name is not found next to its caltable or directly under the root.
#[derive(Debug, Default)]
pub struct MsIndex {
    root: Option<PathBuf>,
    by_name: BTreeMap<OsString, Vec<PathBuf>>,
}

impl MsIndex {
    /// Walks `root`: symlinks not followed, at most [`MAX_DEPTH`] levels, never into a
    /// table (an MS's subtables are not MSes).
    pub fn build(root: Option<&Path>) -> MsIndex {
        let Some(root) = root else {
            return MsIndex::default();
        };
        let mut by_name: BTreeMap<OsString, Vec<PathBuf>> = BTreeMap::new();
        let mut stack = vec![(root.to_path_buf(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                    continue;
                }
                let path = entry.path();
                if path.join("table.dat").is_file() {
                    by_name.entry(entry.file_name()).or_default().push(path);
                } else if depth + 1 < MAX_DEPTH {
                    stack.push((path, depth + 1));
                }
            }
        }
        for paths in by_name.values_mut() {
            paths.sort();
        }
        MsIndex {
            root: Some(root.to_path_buf()),
            by_name,
        }
    }

    /// Resolves `ms_name` for the caltable at `caltable`.
    pub fn resolve(&self, caltable: &Path, ms_name: &str) -> MsResolution {
        let name = Path::new(ms_name.trim());
        if name.as_os_str().is_empty() {
            return MsResolution::NotFound;
        }
        let beside = caltable.parent().map(|dir| dir.join(name));
        let under_root = self.root.as_ref().map(|root| root.join(name));
        // An absolute MSName is taken as it is (join keeps it); else next to the table,
        // then directly under the root.
        for candidate in [beside, under_root].into_iter().flatten() {
            if candidate.is_dir() {
                return MsResolution::Found(normalize_to_string(&candidate));
            }
        }
        match name.file_name().and_then(|n| self.by_name.get(n)) {
            Some(paths) if paths.len() == 1 => MsResolution::Found(normalize_to_string(&paths[0])),
            Some(paths) if paths.len() > 1 => {
                MsResolution::Ambiguous(paths.iter().map(|p| normalize_to_string(p)).collect())
            }
            _ => MsResolution::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beside_the_caltable_then_under_the_root_then_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let cal = dir.path().join("cal");
        let root = dir.path().join("root");
        for d in [
            "cal/beside.ms",
            "root/direct.ms",
            "root/a/b/deep.ms",
            "root/x/twice.ms",
            "root/y/twice.ms",
            // A table's subtable is not an MS, even with the name looked for.
            "root/z/other.ms/deep.ms",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join("table.dat"), b"").unwrap();
        }
        std::fs::write(root.join("z/other.ms/table.dat"), b"").unwrap();
        std::fs::write(cal.join("file.ms"), b"not a directory").unwrap();
        // A directory that is not a table is not an MS.
        std::fs::create_dir_all(root.join("plain/empty.ms")).unwrap();
        let index = MsIndex::build(Some(&root));
        assert_eq!(
            index.resolve(&cal.join("t"), "empty.ms"),
            MsResolution::NotFound
        );
        let table = cal.join("t.G0");
        let found = |p: &Path| MsResolution::Found(normalize_to_string(p));
        assert_eq!(
            index.resolve(&table, "beside.ms"),
            found(&cal.join("beside.ms"))
        );
        assert_eq!(
            index.resolve(&table, "direct.ms"),
            found(&root.join("direct.ms"))
        );
        assert_eq!(
            index.resolve(&table, "obs/deep.ms"),
            found(&root.join("a/b/deep.ms"))
        );
        assert!(
            matches!(index.resolve(&table, "twice.ms"), MsResolution::Ambiguous(p) if p.len() == 2)
        );
        assert_eq!(index.resolve(&table, "file.ms"), MsResolution::NotFound);
        assert_eq!(index.resolve(&table, ""), MsResolution::NotFound);
        assert_eq!(
            MsIndex::default().resolve(&table, "direct.ms"),
            MsResolution::NotFound
        );
    }
}
