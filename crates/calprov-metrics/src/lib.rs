//! Quality metrics and a QA verdict, read from real CASA calibration tables.
//!
//! [`reader`] is the only module that touches the table reader; [`reduce`] holds the pure,
//! deterministic (optionally parallel) reductions; [`qa`] turns metrics into a verdict.

mod error;
pub mod reader;
pub mod synthetic;

pub use error::Error;

/// Tables with at least this many rows are read and reduced in parallel (rayon).
pub const PARALLEL_THRESHOLD: usize = 100_000;
