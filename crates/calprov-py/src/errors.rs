//! The exception classes, and how calprov's errors become them.
//!
//! `CalprovError` is the base of all; queries raise `RegistryError` (the registry cannot be
//! opened or read) or `CaltableError` (a caltable cannot be read); tracking raises
//! `TrackingError` only when called with `strict=True`; parameters that cannot be turned
//! into JSON raise `InvalidParamsError` (also a `ValueError`'s sibling in spirit: bad input).

use calprov_core::{Error, TrackError, TrackOutcome};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::{PyErr, create_exception};

create_exception!(
    calprov,
    CalprovError,
    PyException,
    "The base of every calprov exception."
);
create_exception!(
    calprov,
    RegistryError,
    CalprovError,
    "The registry cannot be opened, migrated, read or written."
);
create_exception!(
    calprov,
    CaltableError,
    CalprovError,
    "A caltable cannot be read (missing, not a CASA table, damaged)."
);
create_exception!(
    calprov,
    TrackingError,
    CalprovError,
    "A strict tracking call did not track: `status`, `kind` and `caltable` say why."
);
create_exception!(
    calprov,
    InvalidParamsError,
    CalprovError,
    "Parameters that cannot be recorded: not a mapping, or holding a value JSON cannot hold."
);

/// The exception for an error of the core API, with its whole cause chain as the message.
pub fn to_py_err(err: &Error) -> PyErr {
    let message = calprov_core::chain(err);
    match err {
        Error::Caltable(_) => CaltableError::new_err(message),
        Error::Command(_) => InvalidParamsError::new_err(message),
        _ => RegistryError::new_err(message),
    }
}

/// The strict form's exception: a `TrackingError` carrying the outcome's status and kind (the
/// failure kind of a `failed` call; the status itself for `partial` and `not_registered`).
pub fn tracking_error(py: Python<'_>, status: &str, err: &TrackError) -> PyErr {
    let exception = TrackingError::new_err(err.to_string());
    let value = exception.value(py);
    // Attributes on the instance: `except TrackingError as e: e.kind`. Setting them cannot
    // fail on a fresh exception object; if it did, the exception is still raised.
    let _ = value.setattr("status", status);
    let kind = if status == TrackOutcome::FAILED {
        err.kind.name()
    } else {
        status
    };
    let _ = value.setattr("kind", kind);
    let _ = value.setattr("caltable", err.caltable.as_str());
    exception
}
