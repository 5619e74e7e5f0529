//! Every call into the table reader runs here: its errors stay attached as the source of an
//! [`Error::Unreadable`] naming the table, and its panics become one too instead of
//! unwinding into the pipeline.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use crate::Error;

/// A failure found by calprov's own walk over the mapped files (a bounds check, a bad
/// offset), or a panic message: the reader gave no error value of its own.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct WalkError(pub(super) String);

/// Runs a reader call, turning its errors and panics into [`Error::Unreadable`].
pub(super) fn guarded<T, E>(
    path: &Path,
    what: &str,
    call: impl FnOnce() -> Result<T, E>,
) -> Result<T, Error>
where
    E: std::error::Error + Send + Sync + 'static,
{
    let unreadable = |source: Box<dyn std::error::Error + Send + Sync>| Error::Unreadable {
        path: path.to_path_buf(),
        what: what.to_owned(),
        source,
    };
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(unreadable(Box::new(err))),
        Err(panic) => {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the table reader panicked".to_owned());
            Err(unreadable(Box::new(WalkError(reason))))
        }
    }
}
