//! Project automation: `cargo xtask bench [--quick]`, `cargo xtask bench-python [--quick]`, `cargo xtask fuzz [--seconds N]`,
//! `cargo xtask gen-caltable --rows N --out DIR`, `cargo xtask gen-lineage DB [N]`.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod fuzz;
mod python_bench;

use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some((task, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask <bench [--quick] | bench-python [--quick] | fuzz [--seconds N] [--build-only] | gen-caltable --rows N --out DIR | gen-lineage DB [N]>"
        );
    };
    match task.as_str() {
        "bench" => bench::run(rest),
        // The Python package's budget alone (also part of `bench`).
        "bench-python" => {
            if python_bench::within_budget(rest.iter().any(|a| a == "--quick"))? {
                Ok(())
            } else {
                bail!("{} over budget", python_bench::PYTHON_TRACK)
            }
        }
        "fuzz" => fuzz::run(rest),
        "gen-caltable" => gen_caltable(rest),
        "gen-lineage" => gen_lineage(rest),
        other => bail!("unknown task {other:?}"),
    }
}

/// The cargo that runs us, so toolchain overrides carry through.
pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
}

/// The workspace root (xtask lives one level below it).
pub fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map(std::path::Path::to_path_buf)
        .unwrap_or(manifest)
}

/// Runs a command, failing with its name when it fails.
pub fn run_checked(cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// The generator lives in the library (the demo uses it too); xtask drives it through the CLI
/// so that xtask itself depends on no calprov crate.
fn gen_caltable(args: &[String]) -> Result<()> {
    run_release(&["-p", "calprov-cli", "--", "gen-caltable"], args)
}

/// The synthetic lineage registry (1M caltables by default), written by the benches crate's
/// generator so that xtask depends on no calprov crate.
fn gen_lineage(args: &[String]) -> Result<()> {
    run_release(
        &["-p", "calprov-benches", "--bin", "gen-lineage", "--"],
        args,
    )
}

/// `cargo run --quiet --release <target...> <args...>` in the workspace.
fn run_release(target: &[&str], args: &[String]) -> Result<()> {
    let mut cmd = cargo();
    cmd.current_dir(workspace_root())
        .args(["run", "--quiet", "--release"])
        .args(target)
        .args(args);
    run_checked(&mut cmd)
}
