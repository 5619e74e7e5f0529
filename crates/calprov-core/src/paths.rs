//! Normalising caltable and MS paths so one file is always stored under one name.

use std::path::{Component, Path, PathBuf};

/// Returns `path` made absolute against the current directory and lexically cleaned
/// (`.` removed, `..` folded, trailing slashes dropped) without touching the file system:
/// symlinks are kept, and the path need not exist.
pub fn normalize(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The normalised form as the UTF-8 text stored in the registry.
pub fn normalize_to_string(path: &Path) -> String {
    normalize(path).to_string_lossy().into_owned()
}
