//! `calprov demo`: the whole flow on a fresh local registry.
//!
//! It writes a small calibration set of real-format caltables with the project's generator
//! (K, then B solved with K applied, then G with K and B applied), registers them by prefix,
//! tracks each solve as a pipeline would, and prints provenance, by-source, impact and stats.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use calprov_core::caltable::{SyntheticKind, SyntheticSpec, write_synthetic_caltable};
use calprov_core::db_path::{
    DbLocation, DbRule, REGISTRY_FILE_NAME, RegistryAddress, resolve_db_path,
};
use calprov_core::env::Environment;
use calprov_core::export::{ExportFormat, ExportRequest, ExportScope, export};
use calprov_core::{
    ApplicationRecord, NewCaltable, RegisterMode, SolveRecord, record_application,
    track_after_solve,
};
use serde_json::json;

use crate::args::DemoArgs;
use crate::commands::query::describe;
use crate::context::Context;
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

const SET: &str = "demo_obs1";

/// Runs the demo. Its registry is the one `--db` names, else a fresh one in the demo
/// directory, chosen by the same rule as every command (`db_path`, with the demo directory
/// as the state directory): the demo never writes to a pipeline's registry unasked.
pub fn run(ctx: &Context, explicit_db: bool, args: DemoArgs) -> Result<Exit, CliError> {
    let dir = &args.dir;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
        .exit(Exit::Data)?;
    let demo_ctx;
    let ctx = if explicit_db {
        ctx
    } else {
        demo_ctx = Context {
            location: demo_location(dir),
            environment: ctx.environment.clone(),
            busy_timeout: ctx.busy_timeout,
        };
        &demo_ctx
    };
    let Some(registry_path) = ctx.location.file().map(Path::to_path_buf) else {
        return Err(anyhow::anyhow!(
            "the demo writes an SQLite registry: give --db a file, or no --db"
        ))
        .exit(Exit::Usage);
    };
    let prefix = dir.join("obs1");
    let ms = dir.join("obs1.ms").to_string_lossy().into_owned();
    let tables: [(&str, SyntheticKind, usize, usize); 3] = [
        ("_kcal", SyntheticKind::Delay, 56, 1),
        ("_bpcal", SyntheticKind::Bandpass, 28, 8),
        ("_gacal", SyntheticKind::Gain, 1680, 1),
    ];
    // A rerun starts from scratch: remove what an earlier demo wrote, nothing else.
    for (suffix, ..) in &tables {
        let path = PathBuf::from(format!("{}{suffix}", prefix.display()));
        if path.join("table.dat").is_file() {
            std::fs::remove_dir_all(&path)
                .with_context(|| format!("cannot remove {}", path.display()))
                .exit(Exit::Data)?;
        }
    }
    if !explicit_db {
        for side in ["", "-wal", "-shm", ".migrate-lock"] {
            let _ = std::fs::remove_file(format!("{}{side}", registry_path.display()));
        }
    }

    let mut log = format!("registry   {}\n", registry_path.display());
    for (suffix, kind, rows, channels) in &tables {
        let out = PathBuf::from(format!("{}{suffix}", prefix.display()));
        let spec = SyntheticSpec {
            kind: *kind,
            channels: *channels,
            ms_name: "obs1.ms".to_owned(),
            ..SyntheticSpec::gain(*rows)
        };
        write_synthetic_caltable(&out, &spec).exit(Exit::Data)?;
        log.push_str(&format!(
            "solved     {} ({rows} solutions)\n",
            out.display()
        ));
    }

    let mut registry = ctx.open()?;
    let template = NewCaltable {
        cal_field: Some("CAL_FLUX".into()),
        refant: Some("OV03".into()),
        valid_start_mjd: Some(60472.0),
        valid_end_mjd: Some(60473.0),
        ..NewCaltable::default()
    };
    let (_, summary) = registry
        .register_from_prefix(SET, &prefix, &template, RegisterMode::Upsert)
        .context("cannot register the demo caltables")
        .exit(Exit::Registry)?;
    log.push_str(&format!(
        "registered {} caltables in set {SET}\n",
        summary.inserted + summary.updated
    ));

    let path_of = |suffix: &str| format!("{}{suffix}", prefix.display());
    let (k, b, g) = (path_of("_kcal"), path_of("_bpcal"), path_of("_gacal"));
    let solves = [
        (
            "gaincal",
            &k,
            json!({"vis": ms, "caltable": k, "field": "CAL_FLUX", "gaintype": "K", "solint": "inf", "refant": "OV03", "minsnr": 3.0, "gaintable": null}),
        ),
        (
            "bandpass",
            &b,
            json!({"vis": ms, "caltable": b, "field": "CAL_FLUX", "solint": "inf", "combine": "scan", "refant": "OV03", "solnorm": true, "bandtype": "B", "minsnr": 3.0, "gaintable": [k]}),
        ),
        (
            "gaincal",
            &g,
            json!({"vis": ms, "caltable": g, "gaintype": "G", "calmode": "ap", "solint": "int", "refant": "OV03", "minsnr": 3.0, "gaintable": [k, b]}),
        ),
    ];
    let config = ctx.track_config();
    for (task, caltable, params) in solves {
        let solve = SolveRecord {
            ms: ms.clone(),
            caltable: caltable.clone(),
            task: task.to_owned(),
            params,
            solver_version: None,
            solver_command: None,
        };
        let outcome = track_after_solve(&mut registry, &solve, &config);
        let detail = match outcome.summary() {
            Some(s) => format!(
                "{} in {:.2} ms, CASA {} from {}",
                outcome.name(),
                s.latency_us as f64 / 1e3,
                s.solver_version.as_deref().unwrap_or("?"),
                s.version_step.map(|v| v.name()).unwrap_or("-")
            ),
            None => outcome.name().to_owned(),
        };
        log.push_str(&format!("tracked    {caltable}: {detail}\n"));
    }

    // The three tables applied to the target, as applycal would.
    let target = dir.join("obs1_target.ms").to_string_lossy().into_owned();
    let application = ApplicationRecord {
        ms: None,
        params: json!({"vis": target, "gaintable": [k, b, g], "interp": ["", "nearest", "linear"], "calwt": false}),
    };
    let outcome = record_application(&mut registry, &application, &config);
    log.push_str(&format!("applied    {target}: {}\n", outcome.name()));

    log.push_str("\n== provenance of the gain table\n");
    if let Some(record) = registry.get_caltable_provenance(&g).exit(Exit::Registry)? {
        log.push_str(&describe(&record));
        log.push('\n');
    }
    log.push_str(&format!("\n== caltables solved from {ms}\n"));
    for record in registry
        .query_caltables_by_source(&ms)
        .exit(Exit::Registry)?
        .into_iter()
        .flatten()
    {
        log.push_str(&format!(
            "{:>4}  {:<5} {}\n",
            record.order_index, record.table_type, record.path
        ));
    }
    log.push_str(&format!("\n== impact of a bad delay table {k}\n"));
    for source in registry
        .impact_analysis(std::slice::from_ref(&k))
        .exit(Exit::Registry)?
    {
        log.push_str(&format!("{source}\n"));
    }
    let stats = registry.stats(None).exit(Exit::Registry)?;
    log.push_str(&format!(
        "\n== stats\ntracking calls {} (tracked {:.0}%), coverage {}/{}, latency p50 {:.2} ms\n",
        stats.events,
        stats.success_rate.unwrap_or(0.0) * 100.0,
        stats.coverage.with_provenance,
        stats.coverage.registered,
        stats.latency_ms.map(|l| l.p50).unwrap_or(0.0)
    ));
    log.push_str("\n== the whole graph as W3C PROV and for Graphviz\n");
    for (format, name) in [
        (ExportFormat::ProvJson, "provenance.json"),
        (ExportFormat::Dot, "provenance.dot"),
    ] {
        let path = dir.join(name);
        let file = std::fs::File::create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        let request = ExportRequest {
            scope: ExportScope::All,
            upstream: false,
            downstream: false,
            format,
        };
        let summary = export(
            &registry,
            &request,
            std::io::BufWriter::new(file),
            &path.display().to_string(),
        )
        .exit(Exit::Registry)?;
        log.push_str(&format!(
            "{} records  {}\n",
            summary.total(),
            path.display()
        ));
    }
    output::print_text(&log)?;
    Ok(Exit::Ok)
}

/// The demo's registry: `cal_registry.sqlite3` in the demo directory, decided by `db_path`'s
/// state-directory rule on an environment that names nothing else.
fn demo_location(dir: &Path) -> DbLocation {
    let environment = Environment {
        pipeline_state_dir: Some(dir.as_os_str().to_owned()),
        ..Environment::default()
    };
    // A state directory always gives a file; there is no URL to fail on.
    let location = resolve_db_path(None, &environment).unwrap_or_else(|_| DbLocation {
        address: RegistryAddress::File(dir.join(REGISTRY_FILE_NAME)),
        rule: DbRule::PipelineStateDir,
        warnings: Vec::new(),
    });
    debug_assert_eq!(location.rule, DbRule::PipelineStateDir);
    location
}
