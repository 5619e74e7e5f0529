//! The casa crate's error type.

/// What rendering or parsing a command, or normalising a version, can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A task or keyword name that Python could not take as a keyword argument.
    #[error("{what} {name:?} is not a valid Python identifier")]
    InvalidIdentifier {
        /// `task name` or `parameter name`.
        what: &'static str,
        /// The offending name.
        name: String,
    },
    /// Values nested deeper than the renderer allows.
    #[error("parameter {key}: nested deeper than {limit} levels")]
    TooDeep {
        /// The top-level parameter.
        key: String,
        /// The limit.
        limit: usize,
    },
    /// A version string in none of the forms CASA uses.
    #[error("{0:?} is not a CASA version")]
    InvalidVersion(String),
    /// Text that is not a command this crate renders.
    #[error("cannot parse command at byte {offset}: {reason}")]
    Parse {
        /// Where parsing stopped.
        offset: usize,
        /// What was expected.
        reason: String,
    },
}
