//! Typing and ordering caltables by the suffix rules of DESIGN.md section 1.

use std::path::{Path, PathBuf};

use crate::Error;

/// The known suffixes, their type and apply order.
pub const SUFFIX_RULES: [(&str, &str, i64); 9] = [
    ("_2kcal", "K", 10),
    ("_kcal", "K", 10),
    ("_bacal", "BA", 20),
    ("_bpcal", "BP", 30),
    ("_gacal", "GA", 40),
    ("_gpcal", "GP", 50),
    ("_2gcal", "2G", 60),
    ("_flux.cal", "FLUX", 70),
    ("_fluxcal", "FLUX", 70),
];

/// The first order given to unknown types; each further one is 10 more.
pub const FIRST_UNKNOWN_ORDER: i64 = 80;

/// A caltable found under a prefix, typed and ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedCaltable {
    /// The caltable directory.
    pub path: PathBuf,
    /// The type from its suffix (unknown suffixes give the suffix itself, upper-cased).
    pub table_type: String,
    /// The apply order.
    pub order_index: i64,
}

/// The known type and order of a suffix (the part of the name after the prefix).
pub fn classify_suffix(suffix: &str) -> Option<(&'static str, i64)> {
    SUFFIX_RULES
        .iter()
        .find(|(rule, _, _)| suffix.ends_with(rule))
        .map(|(_, table_type, order)| (*table_type, *order))
}

/// Types and orders caltable names that follow one prefix: known suffixes first by their
/// order, then unknown ones alphabetically at 80, 90, ...; ties are broken by name.
pub fn type_and_order(names: &[(PathBuf, String)]) -> Vec<TypedCaltable> {
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for (path, suffix) in names {
        match classify_suffix(suffix) {
            Some((table_type, order)) => known.push(TypedCaltable {
                path: path.clone(),
                table_type: table_type.to_owned(),
                order_index: order,
            }),
            None => unknown.push((path.clone(), suffix.clone())),
        }
    }
    known.sort_by(|a, b| (a.order_index, &a.path).cmp(&(b.order_index, &b.path)));
    unknown.sort();
    let mut order = FIRST_UNKNOWN_ORDER;
    for (path, suffix) in unknown {
        let table_type = suffix.trim_start_matches(['_', '.']).to_ascii_uppercase();
        known.push(TypedCaltable {
            path,
            table_type: if table_type.is_empty() {
                "UNKNOWN".to_owned()
            } else {
                table_type
            },
            order_index: order,
        });
        order += 10;
    }
    known
}

/// Finds the caltable directories named `<prefix>*` and types them.
pub fn find_caltables(prefix: &Path) -> Result<Vec<TypedCaltable>, Error> {
    let list_error = |source| Error::ListPrefix {
        prefix: prefix.to_path_buf(),
        source,
    };
    let dir = match prefix.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let stem = prefix
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(list_error)? {
        let entry = entry.map_err(list_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(suffix) = name.strip_prefix(&stem) else {
            continue;
        };
        if suffix.is_empty() || !entry.path().is_dir() {
            continue;
        }
        names.push((dir.join(&name), suffix.to_owned()));
    }
    if names.is_empty() {
        return Err(Error::NoCaltables {
            prefix: prefix.to_path_buf(),
        });
    }
    Ok(type_and_order(&names))
}
