//! What every command runs with: one snapshot of the environment, the registry location
//! decided from it, and the one function that opens the registry.

use std::time::Duration;

use anyhow::Context as _;
use calprov_core::db_path::{DbLocation, ensure_parent_dir, pg_environment, resolve_db_path};
use calprov_core::env::Environment;
use calprov_core::postgres::PgEnvironment;
use calprov_core::{OpenOptions, Registry, TrackConfig};

use crate::args::Cli;
use crate::exit::{CliError, Exit, WithExit};

/// The process's inputs, read once in `main` and passed down.
pub struct Context {
    /// The environment variables calprov reads, as they were at start.
    pub environment: Environment,
    /// The registry file and the rule that chose it.
    pub location: DbLocation,
    /// `--busy-timeout`.
    pub busy_timeout: Duration,
}

impl Context {
    /// Decides the registry location from the environment snapshot taken at start.
    pub fn new(cli: &Cli, environment: Environment) -> Result<Self, CliError> {
        let location = resolve_db_path(cli.db.as_deref(), &environment)
            .map_err(anyhow::Error::from)
            .exit(Exit::Usage)?;
        let busy_timeout = Duration::try_from_secs_f64(cli.busy_timeout)
            .map_err(|_| anyhow::anyhow!("--busy-timeout must be a non-negative number of seconds"))
            .exit(Exit::Usage)?;
        for warning in &location.warnings {
            tracing::warn!("{warning}");
        }
        Ok(Self {
            environment,
            location,
            busy_timeout,
        })
    }

    /// The connection options every command opens the registry with.
    fn open_options(&self) -> OpenOptions {
        OpenOptions {
            busy_timeout: self.busy_timeout,
            ..OpenOptions::default()
        }
    }

    /// Opens (creating its directory, then migrating) the registry: the one way the CLI
    /// opens it. Tracking commands turn an error into a `Failed` outcome; the others use
    /// [`Context::open`].
    pub fn try_open(&self) -> anyhow::Result<Registry> {
        ensure_parent_dir(&self.location)?;
        Registry::open_address(
            &self.location.address,
            &self.open_options(),
            &self.pg_environment(),
        )
        .with_context(|| format!("registry chosen by {}", self.location.rule))
    }

    /// libpq's credentials from the environment snapshot, for PostgreSQL registries.
    pub fn pg_environment(&self) -> PgEnvironment {
        pg_environment(&self.environment)
    }

    /// [`Context::try_open`] with failures mapped to exit status 3.
    pub fn open(&self) -> Result<Registry, CliError> {
        self.try_open().exit(Exit::Registry)
    }

    /// How tracking behaves for this process.
    pub fn track_config(&self) -> TrackConfig {
        TrackConfig {
            environment: self.environment.clone(),
            busy_timeout: self.busy_timeout,
            ..TrackConfig::default()
        }
    }
}
