//! The `calprov` command-line tool: calibration provenance for radio-astronomy pipelines.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod context;
mod exit;
mod json_arg;
mod output;
mod progress;
mod time_arg;

use std::process::ExitCode;

use calprov_core::env::Environment;
use clap::Parser;

use crate::args::Cli;
use crate::exit::{CliError, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => Exit::Usage.into(),
            };
        }
    };
    // The one read of the environment; everything below takes this snapshot.
    let environment = Environment::from_process();
    install_tracing(cli.verbose, environment.calprov_log.as_deref());
    match commands::run(cli, environment) {
        Ok(exit) => exit.into(),
        Err(CliError { exit, error }) => {
            if output::is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            exit.into()
        }
    }
}

/// Logs go to stderr; default level `warn`, `-v` info, `-vv` debug; `CALPROV_LOG` overrides.
///
/// A plain level needs no `EnvFilter`: building one compiles its directive regexes, a cost
/// every `calprov track` of a pipeline would pay. Only a `CALPROV_LOG` directive builds one.
fn install_tracing(verbose: u8, directive: Option<&str>) {
    let level = match verbose {
        0 => tracing::Level::WARN,
        1 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    };
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time();
    match directive.map(tracing_subscriber::EnvFilter::try_new) {
        Some(Ok(filter)) => builder.with_env_filter(filter).init(),
        _ => builder.with_max_level(level).init(),
    }
}
