//! CASA version detection (an ordered, time-bounded, cached fallback chain) and the exact,
//! re-executable CASA command string of a solve.
//!
//! Version parsing, command rendering, parsing and truncation are pure functions; the one
//! function that starts a process is [`process::run_with_timeout`].

mod command;
mod detect;
mod error;
mod parse;
pub mod process;
mod pyvalue;
mod truncate;
mod version;

pub use command::{MAX_NESTING, render_command, render_value, validate_identifier};
pub use detect::{
    DetectionInputs, DetectionResult, Rejected, VersionStep, clear_cache, detect_version,
    monolithic_version_from_dir, parse_dist_info_metadata,
};
pub use error::Error;
pub use parse::{ParsedCommand, parse_command, parse_value};
pub use pyvalue::PyValue;
pub use truncate::{DEFAULT_COMMAND_LIMIT, truncate_command, truncation_marker};
pub use version::{CasaVersion, normalize_version};

#[cfg(test)]
mod tests;
