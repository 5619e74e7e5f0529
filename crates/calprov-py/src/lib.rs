//! `calprov._calprov`: the Rust half of the `calprov` Python package.
//!
//! A Python pipeline calls calprov in-process through this module: a `Registry` (`registry.rs`) that
//! tracks solves and applications and answers provenance, by-source, impact and lineage
//! questions, and the functions around it (metrics, CASA version, command rendering). The
//! pipeline's own helper signatures (`track_calibration_provenance`, ...) are Python, in
//! `python/calprov/legacy.py`, on top of this module.
//!
//! Every call that touches the disk or the registry runs with the GIL released, so other
//! Python threads keep running. Tracking calls never raise unless asked to (`strict=True`);
//! queries raise the exception classes of `errors.rs`.
//!
//! Layout: `convert` is the one boundary between Python values and JSON; `registry` the
//! class and its calls; `outcome` what a tracking call returns; `rows` the rows to register;
//! `functions` what needs no registry; `errors` the exception classes; `same_process` the
//! warning when another SQLite library in the process has the registry open.

mod convert;
mod errors;
mod functions;
mod outcome;
mod registry;
mod rows;
mod same_process;

use pyo3::pymodule;

/// calprov's Rust extension: import `calprov` instead.
#[pymodule]
mod _calprov {
    #[pymodule_export]
    use super::errors::{
        CalprovError, CaltableError, InvalidParamsError, RegistryError, TrackingError,
    };
    #[pymodule_export]
    use super::functions::{casa_version, metrics, render_command};
    #[pymodule_export]
    use super::outcome::Outcome;
    #[pymodule_export]
    use super::registry::Registry;

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(module: &Bound<'_, PyModule>) -> PyResult<()> {
        module.add("__version__", env!("CARGO_PKG_VERSION"))?;
        module.add("SCHEMA_VERSION", calprov_core::schema_version())?;
        Ok(())
    }
}
