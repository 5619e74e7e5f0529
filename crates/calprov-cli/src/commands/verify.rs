//! `calprov verify`: one line per caltable that is not unchanged, then a summary; `--json`
//! gives every report. Progress on stderr: a bar on a terminal, plain lines otherwise.

use std::collections::BTreeMap;

use calprov_core::{Registry, VerifyReport, verify_many};

use crate::args::VerifyArgs;
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;
use crate::progress::Progress;

pub fn verify(registry: &Registry, args: VerifyArgs) -> Result<Exit, CliError> {
    let caltables = if args.all || args.set.is_some() {
        registry
            .caltable_paths(args.set.as_deref())
            .map_err(|e| registry_or_data(e, "list caltables"))?
    } else {
        args.caltables
    };
    let progress = Progress::new("verify", caltables.len());
    let reports = verify_many(registry, &caltables, args.jobs, &|_| progress.tick())
        .map_err(|e| registry_or_data(e, "verify"))?;
    progress.finish();
    let all_unchanged = reports.iter().all(VerifyReport::is_unchanged);
    if args.json.json {
        output::print_json("verify", &reports)?;
    } else {
        output::print_text(&describe(&reports)).exit(Exit::Data)?;
    }
    Ok(if all_unchanged { Exit::Ok } else { Exit::Data })
}

/// One line per table that is not unchanged, then the count of each verdict.
fn describe(reports: &[VerifyReport]) -> String {
    let mut text = String::new();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for report in reports {
        for verdict in &report.verdicts {
            *counts.entry(verdict.name()).or_default() += 1;
        }
        if report.is_unchanged() {
            continue;
        }
        text.push_str(&format!("{}  {}", report.verdict_names(), report.caltable));
        if let Some(reason) = &report.details.reason {
            text.push_str(&format!("  ({reason})"));
        } else if let Some(details) = &report.details.comparison {
            let mut parts = vec![format!(
                "rows {} -> {}",
                details.rows_recorded, details.rows_now
            )];
            if !details.columns_changed.is_empty() {
                parts.push(format!("columns {}", details.columns_changed.join(",")));
            }
            if !details.subtables_changed.is_empty() {
                parts.push(format!("subtables {}", details.subtables_changed.join(",")));
            }
            text.push_str(&format!("  ({})", parts.join("; ")));
        }
        text.push('\n');
    }
    let summary: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    text.push_str(&format!(
        "{} caltables verified: {}",
        reports.len(),
        if summary.is_empty() {
            "none".to_owned()
        } else {
            summary.join(", ")
        }
    ));
    text
}
