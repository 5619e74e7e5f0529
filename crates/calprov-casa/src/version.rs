//! Normalising the version forms CASA prints into dotted digits.

use std::fmt;

use crate::Error;

/// A CASA version in canonical dotted-digit form, e.g. `6.7.0.31`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct CasaVersion(String);

impl CasaVersion {
    /// The canonical text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CasaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Normalises every form CASA uses to dotted digits:
/// `6.7.0-31` (the caltable keyword, `casatools.version_string()`), `6.7.0.31` (pip),
/// `[6, 7, 0, 31]` and `[np.int64(6), ...]` (`casatools.version()`), `6.7.2`.
/// Anything else (`Unknown`, an empty string, letters) is an error.
pub fn normalize_version(text: &str) -> Result<CasaVersion, Error> {
    let invalid = || Error::InvalidVersion(text.chars().take(80).collect());
    let trimmed = text.trim();
    let parts: Vec<&str> =
        if let Some(inner) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            inner
                .split(',')
                .map(|item| unwrap_int_call(item.trim()))
                .collect()
        } else {
            trimmed.split(['.', '-']).collect()
        };
    if !(2..=4).contains(&parts.len()) {
        return Err(invalid());
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in parts {
        let digits_only =
            !part.is_empty() && part.len() <= 9 && part.bytes().all(|b| b.is_ascii_digit());
        if !digits_only {
            return Err(invalid());
        }
        numbers.push(part.parse::<u64>().map_err(|_| invalid())?);
    }
    // CASA's major version is a small number (4, 5, 6); a date-like value is not a version.
    if numbers[0] == 0 || numbers[0] > 99 {
        return Err(invalid());
    }
    Ok(CasaVersion(
        numbers
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    ))
}

/// `np.int64(6)`, `numpy.int32(6)`, `int(6)` -> `6`; anything else unchanged.
fn unwrap_int_call(item: &str) -> &str {
    for prefix in [
        "np.int64(",
        "np.int32(",
        "numpy.int64(",
        "numpy.int32(",
        "int(",
    ] {
        if let Some(inner) = item.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            return inner.trim();
        }
    }
    item
}
