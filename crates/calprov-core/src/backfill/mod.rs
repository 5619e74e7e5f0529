//! Backfill: provenance for caltables registered before calprov tracked them.
//!
//! A registry adopted from the Python pipeline holds thousands of caltables with no
//! provenance. What a table itself still knows is recorded: its metrics, breakdowns and
//! fingerprint, its `CASA_Version` keyword, and its `MSName` keyword resolved to an MS path
//! ([`ms_path`]). Never a command or parameters: those cannot be known afterwards, and an
//! invented one would be worse than none. Each table filled gets one solve marked
//! `backfill`.
//!
//! Tables are read in parallel and written one transaction per batch; a table that gained
//! provenance meanwhile (a concurrent `track`) is left alone, so running backfill twice, or
//! beside a pipeline, fills each table once. Cancelling (SIGINT in the CLI) stops reading,
//! commits what the current batch has finished, and returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use calprov_metrics::{QaThresholds, extract};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::registry::backfill::BackfillRow;
use crate::registry::object_text;
use crate::{Error, Registry, unix_now};

pub mod ms_path;

use ms_path::{MsIndex, MsResolution};

/// The origin and outcome of a backfilled solve.
pub const ORIGIN_BACKFILL: &str = "backfill";

/// What to backfill and how.
#[derive(Debug, Clone)]
pub struct BackfillOptions {
    /// Only this set (`None`: every caltable).
    pub set: Option<String>,
    /// Where to look for MSes not found next to their caltable.
    pub ms_root: Option<PathBuf>,
    /// Tables read at once (0: one per core).
    pub jobs: usize,
    /// Read and report, write nothing.
    pub dry_run: bool,
    /// Tables per write transaction.
    pub batch_size: usize,
    /// The QA thresholds of the verdict recorded with the metrics.
    pub thresholds: QaThresholds,
}

impl Default for BackfillOptions {
    fn default() -> Self {
        Self {
            set: None,
            ms_root: None,
            jobs: 0,
            dry_run: false,
            batch_size: 256,
            thresholds: QaThresholds::default(),
        }
    }
}

/// What happened to one caltable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BackfillStatus {
    /// Its provenance was recorded (or would be, in a dry run).
    Filled,
    /// It gained provenance while it was read (a concurrent track): left alone.
    Skipped,
    /// The table could not be read (missing, damaged): nothing recorded, tried again next
    /// time.
    Unreadable,
}

/// One caltable's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackfillItem {
    /// The registered path.
    pub caltable: String,
    /// What happened.
    pub status: BackfillStatus,
    /// The table's `MSName` keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms_name: Option<String>,
    /// The MS it resolved to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ms: Option<String>,
    /// Why no MS was recorded, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ms_problem: Option<String>,
    /// The normalised `CASA_Version` keyword.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub casa_version: Option<String>,
    /// The QA verdict of the metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qa_passed: Option<bool>,
    /// Why the table could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BackfillSummary {
    /// Caltables in scope without provenance when the run started.
    pub candidates: usize,
    /// Caltables in scope that already had provenance (not read).
    pub already_recorded: usize,
    /// Tables filled.
    pub filled: usize,
    /// Tables that gained provenance meanwhile.
    pub skipped: usize,
    /// Tables that could not be read.
    pub unreadable: usize,
    /// Tables filled without an MS (no `MSName`, or not found, or ambiguous).
    pub ms_not_found: usize,
    /// Candidates not reached because the run was cancelled.
    pub not_reached: usize,
    /// The run was cancelled.
    pub interrupted: bool,
    /// Nothing was written.
    pub dry_run: bool,
    /// Every table read, in registry order.
    pub items: Vec<BackfillItem>,
}

/// Backfills the caltables without provenance; `on_done` is called after each table is read
/// (for progress), `cancel` is checked before each table.
pub fn backfill(
    registry: &mut Registry,
    options: &BackfillOptions,
    cancel: &AtomicBool,
    on_done: &(dyn Fn(&BackfillItem) + Sync),
) -> Result<BackfillSummary, Error> {
    let (candidates, already_recorded) = registry.backfill_candidates(options.set.as_deref())?;
    let jobs = options.jobs;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|source| Error::Threads { jobs, source })?;
    let index = OnceLock::new();
    let resolver = MsResolver {
        root: options.ms_root.as_deref(),
        index: &index,
    };
    let mut summary = BackfillSummary {
        candidates: candidates.len(),
        already_recorded,
        dry_run: options.dry_run,
        ..BackfillSummary::default()
    };
    let now = unix_now();
    let read_batch = |batch: &[Candidate]| -> Vec<(BackfillItem, Option<BackfillRow>)> {
        batch
            .par_iter()
            .filter_map(|c| {
                if cancel.load(Ordering::SeqCst) {
                    return None;
                }
                let done = read_one(c, &resolver, &options.thresholds, now);
                on_done(&done.0);
                Some(done)
            })
            .collect()
    };
    // Batch n is written on this thread while the pool reads batch n + 1: the registry's
    // writes and the tables' reads overlap.
    let mut batches = candidates.chunks(options.batch_size.max(1));
    let mut current = batches.next().map(|b| pool.install(|| read_batch(b)));
    while let Some(read) = current.take() {
        let next_batch = (!cancel.load(Ordering::SeqCst))
            .then(|| batches.next())
            .flatten();
        let mut next = None;
        let mut written = Ok(Vec::new());
        pool.in_place_scope(|scope| {
            if let Some(batch) = next_batch {
                let next = &mut next;
                let read_batch = &read_batch;
                scope.spawn(move |_| *next = Some(read_batch(batch)));
            }
            written = write_batch(registry, read, options.dry_run);
        });
        summary.items.extend(written?);
        current = next;
    }
    summary.interrupted = cancel.load(Ordering::SeqCst);
    summary.not_reached = summary.candidates - summary.items.len();
    for item in &summary.items {
        match item.status {
            BackfillStatus::Filled => {
                summary.filled += 1;
                if item.source_ms.is_none() {
                    summary.ms_not_found += 1;
                }
            }
            BackfillStatus::Skipped => summary.skipped += 1,
            BackfillStatus::Unreadable => summary.unreadable += 1,
        }
    }
    Ok(summary)
}

/// Writes one batch's rows in one transaction (none in a dry run) and returns its items,
/// those that gained provenance meanwhile marked skipped.
fn write_batch(
    registry: &mut Registry,
    read: Vec<(BackfillItem, Option<BackfillRow>)>,
    dry_run: bool,
) -> Result<Vec<BackfillItem>, Error> {
    let (mut items, rows): (Vec<BackfillItem>, Vec<Option<BackfillRow>>) = read.into_iter().unzip();
    let to_write: Vec<BackfillRow> = rows.into_iter().flatten().collect();
    if dry_run || to_write.is_empty() {
        return Ok(items);
    }
    let written = registry.write_backfill(&to_write)?;
    let written: BTreeMap<&str, bool> = to_write
        .iter()
        .zip(written)
        .map(|(row, w)| (row.path.as_str(), w))
        .collect();
    for item in &mut items {
        if written.get(item.caltable.as_str()) == Some(&false) {
            item.status = BackfillStatus::Skipped;
        }
    }
    Ok(items)
}

/// A caltable without provenance, as the registry holds it.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub(crate) path: String,
    pub(crate) created_at: Option<f64>,
}

/// Resolves MS names, building the index under the root at the first name that needs it.
struct MsResolver<'a> {
    root: Option<&'a Path>,
    index: &'a OnceLock<MsIndex>,
}

impl MsResolver<'_> {
    fn resolve(&self, caltable: &Path, ms_name: &str) -> MsResolution {
        // Next to the caltable or directly under the root needs no index.
        let direct = MsIndex::default().resolve(caltable, ms_name);
        if direct != MsResolution::NotFound || self.root.is_none() {
            return direct;
        }
        self.index
            .get_or_init(|| MsIndex::build(self.root))
            .resolve(caltable, ms_name)
    }
}

/// Reads one caltable: its item, and the row to write when it could be read.
fn read_one(
    candidate: &Candidate,
    resolver: &MsResolver<'_>,
    thresholds: &QaThresholds,
    now: f64,
) -> (BackfillItem, Option<BackfillRow>) {
    let path = Path::new(&candidate.path);
    let mut item = BackfillItem {
        caltable: candidate.path.clone(),
        status: BackfillStatus::Unreadable,
        ms_name: None,
        source_ms: None,
        ms_problem: None,
        casa_version: None,
        qa_passed: None,
        reason: None,
    };
    let extracted = match extract(path, thresholds, now) {
        Ok(e) => e,
        Err(err) => {
            item.reason = Some(crate::chain(&err));
            return (item, None);
        }
    };
    let metrics = extracted.metrics;
    item.status = BackfillStatus::Filled;
    item.qa_passed = Some(metrics.qa_passed);
    item.ms_name = metrics.ms_name.clone();
    match metrics.ms_name.as_deref() {
        None => item.ms_problem = Some("the table has no MSName keyword".to_owned()),
        Some(name) => match resolver.resolve(path, name) {
            MsResolution::Found(ms) => item.source_ms = Some(ms),
            MsResolution::NotFound => {
                item.ms_problem = Some(format!(
                    "MS {name:?} not found next to the caltable{}",
                    if resolver.root.is_some() {
                        " or under --ms-root"
                    } else {
                        " (give --ms-root to look further)"
                    }
                ));
            }
            MsResolution::Ambiguous(paths) => {
                item.ms_problem = Some(format!(
                    "MS {name:?} is ambiguous under --ms-root: {}",
                    paths.join(", ")
                ));
            }
        },
    }
    item.casa_version = metrics.casa_version.as_deref().map(|v| {
        calprov_casa::normalize_version(v)
            .map(|n| n.to_string())
            .unwrap_or_else(|_| v.to_owned())
    });
    let mut value = serde_json::to_value(&metrics).unwrap_or(Value::Null);
    if let (Value::Object(map), Some(_)) = (&mut value, &item.casa_version) {
        // The same key tracking writes: where the version came from.
        map.insert(
            "solver_version_source".to_owned(),
            Value::String(calprov_casa::VersionStep::CaltableKeyword.name().to_owned()),
        );
    }
    // Rendered here, in the pool: the writer thread stores the text twice (the caltable's row
    // and its solve) and no longer frees the value's many small allocations across threads.
    let metrics = match object_text(&candidate.path, "quality_metrics", &value) {
        Ok(text) => text,
        Err(err) => {
            item.status = BackfillStatus::Unreadable;
            item.reason = Some(crate::chain(&err));
            return (item, None);
        }
    };
    drop(value);
    let row = BackfillRow {
        path: candidate.path.clone(),
        solved_at: candidate.created_at.unwrap_or(now),
        source_ms: item.source_ms.clone(),
        casa_version: item.casa_version.clone(),
        metrics,
        groups: extracted.groups,
    };
    (item, Some(row))
}
