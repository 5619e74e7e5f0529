//! The documented exit codes and the error type that carries one.

use std::process::ExitCode;

/// Exit statuses, listed in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// Bad input or data: unregistered caltable, unreadable table, invalid JSON.
    Data = 1,
    /// Bad usage: unknown flag, missing argument.
    Usage = 2,
    /// The registry cannot be opened, migrated or written.
    Registry = 3,
    /// `calprov check`: a monitoring threshold is breached.
    Alert = 4,
    /// Interrupted by SIGINT (128 + 2, the shell's convention); what was finished is kept.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error with the exit status it maps to.
pub struct CliError {
    pub exit: Exit,
    pub error: anyhow::Error,
}

/// Attaches an exit status to errors.
pub trait WithExit<T> {
    /// Maps the error to `exit`.
    fn exit(self, exit: Exit) -> Result<T, CliError>;
}

impl<T, E: Into<anyhow::Error>> WithExit<T> for Result<T, E> {
    fn exit(self, exit: Exit) -> Result<T, CliError> {
        self.map_err(|error| CliError {
            exit,
            error: error.into(),
        })
    }
}

impl From<anyhow::Error> for CliError {
    fn from(error: anyhow::Error) -> Self {
        CliError {
            exit: Exit::Data,
            error,
        }
    }
}

/// Maps a library error: failures of the registry itself exit 3, input errors exit 1.
pub fn registry_or_data(error: calprov_core::Error, what: &'static str) -> CliError {
    let exit = match error {
        calprov_core::Error::Sql { .. } | calprov_core::Error::Schema(_) => Exit::Registry,
        _ => Exit::Data,
    };
    CliError {
        exit,
        error: anyhow::Error::new(error).context(what),
    }
}
