//! A pipeline step calling calprov after a CASA solve, as a pipeline crate would.
//!
//! Run with `cargo run -p calprov-core --example pipeline_step -- [DIR]`: it writes a
//! real-format gain table into DIR (a temporary directory by default), registers it in a
//! registry there, tracks the "solve" and prints what was recorded.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;

use calprov_core::caltable::{SyntheticSpec, write_synthetic_caltable};
use calprov_core::env::Environment;
use calprov_core::{
    NewCaltable, RegisterMode, Registry, SolveRecord, TrackConfig, TrackOutcome, track_after_solve,
};
use serde_json::json;

fn main() -> Result<(), calprov_core::Error> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("calprov-example"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("cal_registry.sqlite3");
    let caltable = dir.join("obs1_gacal");
    let ms = dir.join("obs1.ms").to_string_lossy().into_owned();

    // What CASA's gaincal would have written (a rerun starts from scratch: only a table
    // this example wrote before is removed).
    if caltable.join("table.dat").is_file() {
        std::fs::remove_dir_all(&caltable).unwrap();
    }
    write_synthetic_caltable(&caltable, &SyntheticSpec::gain(1680))?;
    let caltable = caltable.to_string_lossy().into_owned();

    let mut registry = Registry::open(&db)?;
    registry.register_set(
        "obs1",
        &[NewCaltable {
            path: caltable.clone(),
            table_type: "GA".into(),
            order_index: 40,
            ..NewCaltable::default()
        }],
        RegisterMode::Upsert,
    )?;

    // The step's own parameters, exactly as passed to gaincal.
    let params = json!({"vis": ms, "caltable": caltable, "gaintype": "G", "calmode": "ap",
                        "solint": "int", "refant": "OV03", "minsnr": 3.0});
    let solve = SolveRecord {
        ms: ms.clone(),
        caltable: caltable.clone(),
        task: "gaincal".into(),
        params,
        solver_version: None,
        solver_command: None,
    };
    // The environment is read once, here, by the application; the library never reads it.
    let config = TrackConfig {
        environment: Environment::from_process(),
        ..TrackConfig::default()
    };
    // Never fails the solve: a failure is a logged warning and an outcome to look at.
    match track_after_solve(&mut registry, &solve, &config) {
        TrackOutcome::Tracked(summary) => println!(
            "tracked in {:.2} ms: {}",
            summary.latency_us as f64 / 1e3,
            summary.solver_command.as_deref().unwrap_or("-")
        ),
        TrackOutcome::Partial { missing, .. } => {
            for m in missing {
                println!("recorded without {}: {}", m.what, m.reason);
            }
        }
        other => println!("not recorded: {}", other.name()),
    }
    let record = registry.get_caltable_provenance(&caltable)?.unwrap();
    println!(
        "{} <- {} (CASA {})",
        record.path,
        record.source_ms_path.as_deref().unwrap_or("?"),
        record.solver_version.as_deref().unwrap_or("unknown")
    );
    Ok(())
}
