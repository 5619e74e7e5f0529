//! Commands that work on caltables and CASA, without a registry.

use std::time::Duration;

use anyhow::Context;
use calprov_core::casa::{PyValue, render_command, truncate_command};
use calprov_core::env::Environment;
use calprov_core::metrics::synthetic::{SyntheticKind, SyntheticSpec, write_synthetic_caltable};
use calprov_core::metrics::{QaThresholds, extract_metrics};
use calprov_core::version::detect_casa_version;
use serde_json::json;

use crate::args::{CasaVersionArgs, CommandArgs, GenCaltableArgs, MetricsArgs};
use crate::commands::write::json_object;
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

pub fn metrics(args: MetricsArgs) -> Result<Exit, CliError> {
    let now = calprov_core::unix_now();
    let m = extract_metrics(&args.caltable, &QaThresholds::default(), now)
        .context("cannot compute metrics")
        .exit(Exit::Data)?;
    if args.json.json {
        output::print_json("metrics", &m)?;
        return Ok(Exit::Ok);
    }
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    let mut text = format!(
        "caltable      {}\ntype          {} ({}), CASA {}, from {}\nsolutions     {} ({} antennas, {} spws, {} times)\nflagged       {}\nSNR           mean {} median {} min {} max {}\nSNR unflagged mean {} median {}\nQA            {}",
        args.caltable.display(),
        m.vis_cal.as_deref().unwrap_or("?"),
        m.par_type.as_deref().unwrap_or("?"),
        m.casa_version.as_deref().unwrap_or("?"),
        m.ms_name.as_deref().unwrap_or("?"),
        m.n_solutions,
        m.n_antennas,
        m.n_spws,
        m.n_times,
        m.flagged_fraction
            .map(|f| format!("{:.2}%", f * 100.0))
            .unwrap_or_else(|| "-".into()),
        opt(m.snr_mean),
        opt(m.snr_median),
        opt(m.snr_min),
        opt(m.snr_max),
        opt(m.snr_mean_unflagged),
        opt(m.snr_median_unflagged),
        if m.qa_passed { "passed" } else { "FAILED" },
    );
    for issue in &m.issues {
        text.push_str(&format!("\n  issue: {issue}"));
    }
    for warning in &m.warnings {
        text.push_str(&format!("\n  warning: {warning}"));
    }
    output::print_text(&text)?;
    Ok(Exit::Ok)
}

pub fn casa_version(args: CasaVersionArgs) -> Result<Exit, CliError> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .context("--timeout must be a non-negative number of seconds")
        .exit(Exit::Usage)?;
    let (result, keyword_error) = detect_casa_version(
        args.solver_version.clone(),
        args.caltable.as_deref(),
        &Environment::from_process(),
        timeout,
    );
    if let Some(err) = &keyword_error {
        tracing::warn!(
            "cannot read the caltable's CASA_Version: {}",
            calprov_core::tracking_chain(err)
        );
    }
    let (version, step) = match &result.found {
        Some((v, s)) => (Some(v.to_string()), Some(s.name())),
        None => (None, None),
    };
    if args.json.json {
        output::print_json(
            "casa-version",
            &json!({"version": version, "step": step, "rejected": result.rejected}),
        )?;
    } else if let (Some(v), Some(s)) = (&version, step) {
        output::print_text(&format!("{v} (from {s})"))?;
    }
    if version.is_none() {
        if !args.json.json {
            eprintln!(
                "no CASA version found (tried: explicit, caltable keyword, CASA_VERSION, modular CASA, monolithic CASA)"
            );
        }
        return Ok(Exit::Data);
    }
    Ok(Exit::Ok)
}

pub fn command(args: CommandArgs) -> Result<Exit, CliError> {
    let params = json_object("params", Some(&args.params))?.unwrap_or_default();
    let object = params.as_object().cloned().unwrap_or_default();
    let py: Vec<(String, PyValue)> = object
        .iter()
        .map(|(k, v)| (k.clone(), PyValue::from_json(v)))
        .collect();
    let rendered = render_command(&args.task, py.iter().map(|(k, v)| (k.as_str(), v)))
        .context("cannot render the command")
        .exit(Exit::Data)?;
    let cut = truncate_command(&rendered, args.limit);
    if args.json.json {
        output::print_json(
            "command",
            &json!({"command": cut, "truncated": cut.len() != rendered.len(), "full_bytes": rendered.len()}),
        )?;
    } else {
        output::print_text(&cut)?;
    }
    Ok(Exit::Ok)
}

pub fn gen_caltable(args: GenCaltableArgs) -> Result<Exit, CliError> {
    let kind = match args.kind.as_str() {
        "gain" | "G" => SyntheticKind::Gain,
        "delay" | "K" => SyntheticKind::Delay,
        "bandpass" | "B" => SyntheticKind::Bandpass,
        other => {
            return Err(anyhow::anyhow!(
                "--kind {other:?}: expected gain, delay or bandpass"
            ))
            .exit(Exit::Usage);
        }
    };
    let spec = SyntheticSpec {
        rows: args.rows,
        antennas: args.antennas,
        spws: args.spws,
        channels: args.channels,
        kind,
        seed: args.seed,
        ..SyntheticSpec::gain(args.rows)
    };
    write_synthetic_caltable(&args.out, &spec).exit(Exit::Data)?;
    output::print_text(&format!(
        "wrote {} ({} rows)",
        args.out.display(),
        args.rows
    ))?;
    Ok(Exit::Ok)
}
