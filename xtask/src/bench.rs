//! `cargo xtask bench`: runs the criterion benches and fails when a budget is exceeded.
//!
//! Each budget names a criterion benchmark; its median (criterion's `estimates.json`) is
//! compared with the budget, and the same-run baseline of the group is printed beside it as
//! a ratio, because the machines are shared and absolute times drift.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::{cargo, run_checked, workspace_root};

/// A budget: bench binary, criterion id (`group/function/parameter`), limit in ms and the
/// baseline id in the same group.
struct Budget {
    bench: &'static str,
    id: &'static str,
    limit_ms: f64,
    baseline: &'static str,
}

const BUDGETS: &[Budget] = &[
    Budget {
        bench: "migration",
        id: "migrate_legacy/migrate/1000000",
        limit_ms: 5_000.0,
        baseline: "migrate_legacy/scan_baseline/1000000",
    },
    Budget {
        bench: "metrics",
        id: "metrics/extract/100k",
        limit_ms: 25.0,
        baseline: "metrics/io_floor/100k",
    },
    Budget {
        bench: "metrics",
        id: "metrics/extract/1000k",
        limit_ms: 250.0,
        baseline: "metrics/io_floor/1000k",
    },
    Budget {
        bench: "track",
        id: "track/track_after_solve/sim_gacal",
        limit_ms: 1.5,
        baseline: "track/io_floor/sim_gacal",
    },
    Budget {
        bench: "track",
        id: "track/track_after_solve/100k",
        limit_ms: 15.0,
        baseline: "track/io_floor/100k",
    },
    Budget {
        bench: "track",
        id: "track/track_after_solve/1000k",
        limit_ms: 100.0,
        baseline: "track/io_floor/1000k",
    },
];

pub fn run(args: &[String]) -> Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let root = workspace_root();
    let mut benches: Vec<&str> = BUDGETS.iter().map(|b| b.bench).collect();
    benches.dedup();
    for bench in &benches {
        let mut cmd = cargo();
        cmd.current_dir(&root)
            .args(["bench", "-p", "calprov-benches", "--bench", bench]);
        if quick {
            // Fewer sizes and shorter sampling; every budget is still measured.
            cmd.env("CALPROV_BENCH_QUICK", "1").args([
                "--",
                "--warm-up-time",
                "1",
                "--measurement-time",
                "3",
            ]);
        }
        run_checked(&mut cmd)?;
    }
    let criterion = root.join("target").join("criterion");
    let mut failed = Vec::new();
    println!(
        "{:<48} {:>12} {:>12} {:>10} {:>8}",
        "benchmark", "median", "budget", "baseline", "ratio"
    );
    for budget in BUDGETS {
        let median = median_ms(&criterion, budget.id)?;
        let baseline = median_ms(&criterion, budget.baseline).ok();
        let ratio = baseline
            .map(|b| format!("{:.2}x", median / b))
            .unwrap_or_else(|| "-".into());
        let verdict = if median <= budget.limit_ms {
            "ok"
        } else {
            "OVER"
        };
        println!(
            "{:<48} {:>9.3} ms {:>9.3} ms {:>10} {:>8} {verdict}",
            budget.id,
            median,
            budget.limit_ms,
            baseline
                .map(|b| format!("{b:.3} ms"))
                .unwrap_or_else(|| "-".into()),
            ratio
        );
        if median > budget.limit_ms {
            failed.push(budget.id);
        }
    }
    if !failed.is_empty() {
        bail!("over budget: {}", failed.join(", "));
    }
    Ok(())
}

/// The median of a criterion benchmark, in milliseconds.
fn median_ms(criterion: &Path, id: &str) -> Result<f64> {
    let path = criterion.join(id).join("new").join("estimates.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let ns = extract_point_estimate(&text, "median")
        .with_context(|| format!("no median in {}", path.display()))?;
    Ok(ns / 1e6)
}

/// Finds `"<key>":{..."point_estimate":<number>` without a JSON dependency.
fn extract_point_estimate(text: &str, key: &str) -> Option<f64> {
    let start = text.find(&format!("\"{key}\""))?;
    let rest = &text[start..];
    let at = rest.find("\"point_estimate\":")? + "\"point_estimate\":".len();
    let number: String = rest[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
        .collect();
    number.parse().ok()
}
