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

/// [`normalize`], with a relative `path` taken against `cwd` (a solve's working directory)
/// rather than this process's.
pub fn normalize_against(path: &Path, cwd: Option<&Path>) -> PathBuf {
    match cwd {
        Some(dir) if path.is_relative() => normalize(&dir.join(path)),
        _ => normalize(path),
    }
}

/// The normalised form as the UTF-8 text stored in the registry.
pub fn normalize_to_string(path: &Path) -> String {
    normalize(path).to_string_lossy().into_owned()
}
