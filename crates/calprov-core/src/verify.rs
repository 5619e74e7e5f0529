//! `verify`: is each caltable on disk still the one its latest solve recorded, and if not,
//! what changed. The comparison is pure (`calprov_metrics::fingerprint::compare`); this
//! module loads the recorded side, reads the tables (in parallel) and names the verdicts.

use std::path::Path;

use calprov_metrics::fingerprint::{Details, Verdict, compare, read_fingerprint, row_groups};
use rayon::prelude::*;
use serde::Serialize;

use crate::registry::RecordedFingerprint;
use crate::{Error, Registry};

/// Caltables whose recorded fingerprints are loaded at once before their tables are read in
/// parallel: memory stays bounded whatever the registry holds.
const BATCH: usize = 256;

/// The verdicts on one caltable.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    /// The caltable, as given.
    pub caltable: String,
    /// What holds, sorted; `[unchanged]` when nothing differs.
    pub verdicts: Vec<Verdict>,
    /// The evidence.
    pub details: VerifyDetails,
}

/// The evidence behind a report's verdicts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyDetails {
    /// The solve whose fingerprint was compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solve_id: Option<i64>,
    /// Why the table could not be compared (missing, unreadable, no fingerprint).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the comparison found.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Details>,
}

impl VerifyReport {
    /// True when the table is the one recorded.
    pub fn is_unchanged(&self) -> bool {
        self.verdicts == [Verdict::Unchanged]
    }

    /// The verdict names, comma-separated.
    pub fn verdict_names(&self) -> String {
        let names: Vec<&str> = self.verdicts.iter().map(|v| v.name()).collect();
        names.join(",")
    }
}

/// Verifies one caltable against its latest solve's fingerprint.
pub fn verify(registry: &Registry, caltable: &str) -> Result<VerifyReport, Error> {
    let recorded = registry.recorded_fingerprint(caltable)?;
    Ok(check(caltable, &recorded))
}

/// Verifies many caltables, reading up to `jobs` tables at once (0: one per core), in
/// batches; `on_done` is called after each table (for progress). Reports come back in the
/// order given.
pub fn verify_many<'a>(
    registry: &Registry,
    caltables: &'a [String],
    jobs: usize,
    on_done: &(dyn Fn(&VerifyReport) + Sync),
) -> Result<Vec<VerifyReport>, Error> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|source| Error::Threads { jobs, source })?;
    let load = |batch: &'a [String]| -> Result<(&'a [String], Vec<RecordedFingerprint>), Error> {
        let recorded = batch
            .iter()
            .map(|c| registry.recorded_fingerprint(c))
            .collect::<Result<_, _>>()?;
        Ok((batch, recorded))
    };
    let mut reports = Vec::with_capacity(caltables.len());
    // Batch n is checked by the pool while batch n + 1's fingerprints load on this thread (a
    // connection is not shared between threads), as backfill overlaps its reads and writes:
    // loading them one batch after the other left a core idle for a tenth of `verify --all`.
    let mut batches = caltables.chunks(BATCH);
    let mut loaded = batches.next().map(load).transpose()?;
    while let Some((batch, recorded)) = loaded.take() {
        let mut checked = Vec::new();
        let mut next = Ok(None);
        pool.in_place_scope(|scope| {
            let checked = &mut checked;
            scope.spawn(move |_| {
                *checked = batch
                    .par_iter()
                    .zip(&recorded)
                    .map(|(caltable, recorded)| {
                        let report = check(caltable, recorded);
                        on_done(&report);
                        report
                    })
                    .collect();
            });
            next = batches.next().map(load).transpose();
        });
        reports.extend(checked);
        loaded = next?;
    }
    Ok(reports)
}

/// Compares what was recorded with the table on disk.
fn check(caltable: &str, recorded: &RecordedFingerprint) -> VerifyReport {
    let report = |verdict: Verdict, reason: String| VerifyReport {
        caltable: caltable.to_owned(),
        verdicts: vec![verdict],
        details: VerifyDetails {
            solve_id: recorded.solve,
            reason: Some(reason),
            comparison: None,
        },
    };
    let path = Path::new(caltable);
    let Some(fingerprint) = &recorded.fingerprint else {
        if !path.exists() {
            return report(Verdict::Missing, format!("{caltable} does not exist"));
        }
        let reason = match recorded.solve {
            None => "no solve of it is on record: run calprov backfill",
            Some(_) => "its latest solve was recorded without a fingerprint: run calprov backfill",
        };
        return report(Verdict::NoFingerprint, reason.to_owned());
    };
    match read_fingerprint(path) {
        Err(calprov_metrics::Error::Missing { .. }) => {
            report(Verdict::Missing, format!("{caltable} does not exist"))
        }
        Err(err) => report(Verdict::Unreadable, crate::chain(&err)),
        Ok((current, columns)) => {
            let parallel = columns.n_rows >= calprov_metrics::PARALLEL_THRESHOLD;
            let comparison = compare(fingerprint, recorded.groups.as_deref(), &current, || {
                row_groups(&columns, parallel)
            });
            VerifyReport {
                caltable: caltable.to_owned(),
                verdicts: comparison.verdicts,
                details: VerifyDetails {
                    solve_id: recorded.solve,
                    reason: None,
                    comparison: Some(comparison.details),
                },
            }
        }
    }
}
