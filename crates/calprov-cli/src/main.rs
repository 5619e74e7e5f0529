//! The `calprov` command-line tool: calibration provenance for radio-astronomy pipelines.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

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
    install_tracing(cli.verbose);
    match commands::run(cli) {
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
fn install_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("CALPROV_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
}
