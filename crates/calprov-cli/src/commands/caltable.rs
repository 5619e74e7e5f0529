//! `calprov metrics` and `gen-caltable`: caltables on disk, without a registry.

use anyhow::Context as _;
use calprov_core::caltable::{
    GroupQuality, QaThresholds, QualityMetrics, SyntheticKind, SyntheticSpec, read_quality_metrics,
    write_synthetic_caltable,
};

use crate::args::{GenCaltableArgs, Grouping, MetricsArgs};
use crate::exit::{CliError, Exit, WithExit};
use crate::output;

pub fn metrics(args: MetricsArgs) -> Result<Exit, CliError> {
    let m = read_quality_metrics(&args.caltable, &QaThresholds::default())
        .context("cannot compute metrics")
        .exit(Exit::Data)?;
    if let Some(by) = args.by {
        let groups = match by {
            Grouping::Antenna => &m.by_antenna,
            Grouping::Spw => &m.by_spw,
        };
        if args.json.json {
            let doc = serde_json::json!({
                "caltable": args.caltable,
                "by": by,
                "groups": groups,
                "qa_passed": m.qa_passed,
                "issues": m.issues,
                "warnings": m.warnings,
            });
            output::print_json("metrics_by", &doc)?;
        } else {
            output::print_text(&describe_groups(by, groups))?;
        }
        return Ok(Exit::Ok);
    }
    if args.json.json {
        output::print_json("metrics", &m)?;
        return Ok(Exit::Ok);
    }
    let mut text = format!("caltable      {}\n", args.caltable.display());
    text.push_str(&describe_metrics(&m));
    output::print_text(&text)?;
    Ok(Exit::Ok)
}

/// The metrics and QA verdict, aligned and rounded for people (shared with `show`).
pub(crate) fn describe_metrics(m: &QualityMetrics) -> String {
    let opt = |v: Option<f64>| v.map(|x| format!("{x:.4}")).unwrap_or_else(|| "-".into());
    let mut text = format!(
        "type          {} ({}), CASA {}, from {}\nsolutions     {} ({} antennas, {} spws, {} times)\nflagged       {}\nSNR           mean {} median {} min {} max {}\nSNR unflagged mean {} median {}\nQA            {}",
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
    text
}

/// One aligned line per antenna or spw; a flagged fraction over the QA threshold is marked
/// with `!`.
fn describe_groups(by: Grouping, groups: &[GroupQuality]) -> String {
    let opt = |v: Option<f64>, digits: usize| {
        v.map(|x| format!("{x:.digits$}"))
            .unwrap_or_else(|| "-".into())
    };
    let limit = QaThresholds::default().flagged_issue;
    let mut text = format!(
        "{:<8} {:>9} {:>9} {:>13} {:>9} {:>13}\n",
        match by {
            Grouping::Antenna => "antenna",
            Grouping::Spw => "spw",
        },
        "solutions",
        "flagged",
        "SNR median",
        "amp mean",
        "phase RMS deg"
    );
    for g in groups {
        let flagged = g
            .flagged_fraction
            .map(|f| format!("{:.1}%{}", f * 100.0, if f > limit { "!" } else { " " }))
            .unwrap_or_else(|| "- ".into());
        text.push_str(&format!(
            "{:<8} {:>9} {:>9} {:>13} {:>9} {:>13}\n",
            g.id,
            g.n_solutions,
            flagged,
            opt(g.snr_median_unflagged, 2),
            opt(g.amp_mean_unflagged, 4),
            opt(g.phase_rms_deg_unflagged, 2),
        ));
    }
    if groups.is_empty() {
        text.push_str("(no breakdown: the table has no rows, or ids a breakdown cannot hold)\n");
    }
    text
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
