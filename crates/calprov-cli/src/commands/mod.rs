//! Running each subcommand against the library.

mod demo;
mod monitor;
mod query;
mod tools;
mod write;

use anyhow::Context;
use calprov_core::Registry;
use calprov_core::db_path::{DbLocation, resolve_db_path};
use calprov_core::env::Environment;

use crate::args::{Cli, Command};
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

/// Runs the parsed command and returns the exit status.
pub fn run(cli: Cli) -> Result<Exit, CliError> {
    let environment = Environment::from_process();
    let location = resolve_db_path(cli.db.as_deref(), &environment);
    let busy = std::time::Duration::try_from_secs_f64(cli.busy_timeout)
        .map_err(|_| anyhow::anyhow!("--busy-timeout must be a non-negative number of seconds"))
        .exit(Exit::Usage)?;
    for warning in &location.warnings {
        tracing::warn!("{warning}");
    }
    match cli.command {
        Command::Where(flag) => where_(&location, flag.json),
        Command::Init(flag) => write::init(&location, busy, flag.json),
        Command::Register(args) => write::register(&mut open(&location, busy)?, args),
        Command::RegisterPrefix(args) => write::register_prefix(&mut open(&location, busy)?, args),
        Command::Track(args) => write::track(&location, busy, args),
        Command::TrackMany(args) => write::track_many(&location, busy, args),
        Command::Retire(args) => write::retire(&mut open(&location, busy)?, args),
        Command::Show(args) => query::show(&mut open(&location, busy)?, args),
        Command::BySource(args) => query::by_source(&mut open(&location, busy)?, args),
        Command::Impact(args) => query::impact(&mut open(&location, busy)?, args),
        Command::Sets(flag) => query::sets(&mut open(&location, busy)?, flag.json),
        Command::Metrics(args) => tools::metrics(args),
        Command::CasaVersion(args) => tools::casa_version(args),
        Command::Command(args) => tools::command(args),
        Command::GenCaltable(args) => tools::gen_caltable(args),
        Command::Stats(args) => monitor::stats(&open(&location, busy)?, args),
        Command::Check(args) => monitor::check(&open(&location, busy)?, args),
        Command::ExportProm(args) => monitor::export_prom(&open(&location, busy)?, args),
        Command::Demo(args) => demo::run(cli.db.as_deref(), args),
    }
}

/// Opens (and migrates) the registry; failures map to exit status 3.
pub(crate) fn open(
    location: &DbLocation,
    busy_timeout: std::time::Duration,
) -> Result<Registry, CliError> {
    ensure_parent_dir(location).exit(Exit::Registry)?;
    Registry::open_with(&location.path, &open_options(busy_timeout))
        .with_context(|| format!("registry chosen by {}", location.rule))
        .exit(Exit::Registry)
}

/// Connection options with the `--busy-timeout` the user gave.
pub(crate) fn open_options(busy_timeout: std::time::Duration) -> calprov_core::OpenOptions {
    calprov_core::OpenOptions {
        busy_timeout,
        ..calprov_core::OpenOptions::default()
    }
}

/// Creates the registry's directory, readable by others but writable by its owner only.
fn ensure_parent_dir(location: &DbLocation) -> anyhow::Result<()> {
    let Some(parent) = location.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
        return Ok(());
    };
    if parent.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder
        .create(parent)
        .with_context(|| format!("cannot create the registry directory {}", parent.display()))
}

fn where_(location: &DbLocation, json: bool) -> Result<Exit, CliError> {
    if json {
        output::print_json("where", location)?;
    } else {
        output::print_text(&format!(
            "{}\n(decided by: {})",
            location.path.display(),
            location.rule
        ))?;
    }
    Ok(Exit::Ok)
}
