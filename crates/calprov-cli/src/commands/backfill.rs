//! `calprov backfill`: provenance for the caltables registered without any, from what the
//! tables still know. Progress on stderr; a summary (or `--json`, every table) on stdout.
//! Ctrl-C stops reading, commits the finished batch and exits 130; a second Ctrl-C ends
//! the process at once (SQLite's journal keeps the registry whole).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use calprov_core::Registry;
use calprov_core::backfill::{BackfillOptions, BackfillStatus, BackfillSummary, backfill as run};
use signal_hook::consts::SIGINT;

use crate::args::BackfillArgs;
use crate::exit::{CliError, Exit, WithExit, registry_or_data};
use crate::output;
use crate::progress::Progress;

pub fn backfill(registry: &mut Registry, args: BackfillArgs) -> Result<Exit, CliError> {
    let interrupted = Arc::new(AtomicBool::new(false));
    // The second SIGINT terminates (the flag is already set); the first only sets it.
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&interrupted))
        .and_then(|_| signal_hook::flag::register(SIGINT, Arc::clone(&interrupted)))
        .map_err(anyhow::Error::from)
        .exit(Exit::Data)?;
    let options = BackfillOptions {
        set: args.set,
        ms_root: args.ms_root,
        jobs: args.jobs,
        dry_run: args.dry_run,
        batch_size: usize::try_from(args.batch).unwrap_or(usize::MAX),
        ..BackfillOptions::default()
    };
    let total = registry
        .count_without_provenance(options.set.as_deref())
        .map_err(|e| registry_or_data(e, "list caltables to backfill"))?;
    let progress = Progress::new("backfill", total);
    let summary = run(registry, &options, &interrupted, &|_| progress.tick())
        .map_err(|e| registry_or_data(e, "backfill"))?;
    progress.finish();
    if args.json.json {
        output::print_json("backfill", &summary)?;
    } else {
        output::print_text(&describe(&summary)).exit(Exit::Data)?;
    }
    Ok(if summary.interrupted {
        Exit::Interrupted
    } else {
        Exit::Ok
    })
}

/// One line per table not filled with its MS, then the counts.
fn describe(summary: &BackfillSummary) -> String {
    let mut text = String::new();
    for item in &summary.items {
        let why = match item.status {
            BackfillStatus::Unreadable => item.reason.as_deref(),
            BackfillStatus::Filled => item.ms_problem.as_deref(),
            BackfillStatus::Skipped => Some("gained provenance meanwhile"),
        };
        if let Some(why) = why {
            let status = match item.status {
                BackfillStatus::Filled => "filled without MS",
                BackfillStatus::Skipped => "skipped",
                BackfillStatus::Unreadable => "unreadable",
            };
            text.push_str(&format!("{status}  {}  ({why})\n", item.caltable));
        }
    }
    text.push_str(&format!(
        "{}{} filled, {} skipped, {} unreadable, {} MS not found ({} candidates, {} already recorded)",
        if summary.dry_run { "dry run: " } else { "" },
        summary.filled,
        summary.skipped,
        summary.unreadable,
        summary.ms_not_found,
        summary.candidates,
        summary.already_recorded,
    ));
    if summary.interrupted {
        text.push_str(&format!(
            "\ninterrupted: {} not reached; run again to continue",
            summary.not_reached
        ));
    }
    text
}
