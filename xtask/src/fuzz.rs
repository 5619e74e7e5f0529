//! Running every cargo-fuzz target for a bounded time.

use anyhow::{Context, Result, bail};

use crate::{run_checked, workspace_root};

/// Seconds one input may take before libFuzzer reports it as a hang.
const PER_INPUT_TIMEOUT_S: u32 = 20;

pub fn run(args: &[String]) -> Result<()> {
    let mut seconds = 60u64;
    let mut build_only = false;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = iter
                    .next()
                    .context("--seconds needs a value")?
                    .parse()
                    .context("--seconds must be a whole number")?
            }
            "--build-only" => build_only = true,
            other => bail!("unknown fuzz flag {other:?}"),
        }
    }
    let fuzz_dir = workspace_root().join("fuzz");
    let targets = std::fs::read_dir(fuzz_dir.join("fuzz_targets"))
        .context("listing fuzz/fuzz_targets")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.path()
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .collect::<std::collections::BTreeSet<_>>();
    if targets.is_empty() {
        bail!("no fuzz targets found");
    }
    let mut build = std::process::Command::new("cargo");
    build
        .current_dir(&fuzz_dir)
        .args(["+nightly", "fuzz", "build"]);
    run_checked(&mut build)?;
    if build_only {
        return Ok(());
    }
    for target in &targets {
        println!("fuzzing {target} for {seconds} s");
        // New inputs go to a scratch corpus; the committed seeds are only read.
        let seeds = fuzz_dir.join("corpus").join(target);
        let scratch = fuzz_dir.join("target").join("corpus").join(target);
        std::fs::create_dir_all(&scratch)?;
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(&fuzz_dir)
            .args(["+nightly", "fuzz", "run", target])
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // libFuzzer's default (1,200 s per input) would let one slow input eat CI's budget;
            // no target needs more than a fraction of a second per input.
            .arg(format!("-timeout={PER_INPUT_TIMEOUT_S}"))
            .arg("-print_final_stats=1");
        run_checked(&mut cmd)?;
    }
    Ok(())
}
