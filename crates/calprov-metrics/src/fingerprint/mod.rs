//! Fingerprints that understand CASA caltables: algorithm-tagged digests of the parts that
//! mean something (description and keywords, row count, each solution, flag and key column,
//! each subtable's rows) and an order-independent digest of each solution interval
//! ([`groups`](groups::row_groups)), computed from the columns the metrics read (the table is
//! read once). Content-defined: the bytes hashed are the
//! decoded values in a canonical form, so the storage manager, the byte order on disk, lock
//! files and an open/close by casacore do not change a fingerprint.
//!
//! Pure: [`fingerprint`] works on decoded columns, [`compare`] on two fingerprints.

mod compare;
mod digest;
mod groups;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use compare::{Comparison, Details, GroupCounts, Verdict, compare};
pub use digest::{ALGORITHM, CHUNK_BYTES, column_digest, digest_bytes, format_digest};
pub use groups::{
    GROUP_BYTES, Group, GroupMatch, decode_groups, encode_groups, match_groups, row_groups,
};

use crate::reader::CaltableColumns;

/// The key of the fingerprint in `quality_metrics` (and in a solve's metrics).
pub const METRICS_KEY: &str = "fingerprint";

/// The fingerprint of one caltable, as stored under [`METRICS_KEY`]; its solution groups are
/// stored beside it, in binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// The hash every digest uses ([`ALGORITHM`]).
    pub algorithm: String,
    /// Rows of the main table.
    pub n_rows: u64,
    /// The table description (columns, their types and keywords) and the table keywords.
    pub description: String,
    /// Each fingerprinted column present: its digest.
    pub columns: BTreeMap<String, String>,
    /// Each subtable: the digest of its rows, or why it could not be read.
    pub subtables: BTreeMap<String, String>,
}

/// Fingerprints decoded columns; the solution groups come back beside it.
pub fn fingerprint(columns: &CaltableColumns, parallel: bool) -> (Fingerprint, Vec<Group>) {
    (
        table_fingerprint(columns, parallel),
        row_groups(columns, parallel),
    )
}

/// Reads the table at `path` and fingerprints it (no metrics), for `verify`; its groups are
/// computed only when `compare` asks for them, through the columns returned.
pub fn read_fingerprint(
    path: &std::path::Path,
) -> Result<(Fingerprint, CaltableColumns), crate::Error> {
    let columns = crate::reader::read_caltable(path)?;
    let parallel = columns.n_rows >= crate::PARALLEL_THRESHOLD;
    Ok((table_fingerprint(&columns, parallel), columns))
}

/// The digests of a table, without its groups.
pub fn table_fingerprint(columns: &CaltableColumns, parallel: bool) -> Fingerprint {
    let mut digests = BTreeMap::new();
    let mut put = |name: &str, digest: Option<String>| {
        if let Some(d) = digest {
            digests.insert(name.to_owned(), d);
        }
    };
    let n_rows = columns.n_rows;
    let present = |v: &[i32]| (!v.is_empty() || n_rows == 0).then(|| column_digest(v, parallel));
    put("TIME", Some(column_digest(&columns.time, parallel)));
    put("ANTENNA1", present(&columns.antenna1));
    put("ANTENNA2", present(&columns.antenna2));
    put("SPECTRAL_WINDOW_ID", present(&columns.spw));
    put("FIELD_ID", present(&columns.field));
    put("SCAN_NUMBER", present(&columns.scan));
    put(
        "CPARAM",
        columns
            .cparam
            .as_deref()
            .map(|v| column_digest(v, parallel)),
    );
    put(
        "FPARAM",
        columns
            .fparam
            .as_deref()
            .map(|v| column_digest(v, parallel)),
    );
    put(
        "PARAMERR",
        columns
            .paramerr
            .as_deref()
            .map(|v| column_digest(v, parallel)),
    );
    put(
        "SNR",
        columns.snr.as_deref().map(|v| column_digest(v, parallel)),
    );
    put(
        "FLAG",
        columns.flag.as_deref().map(|v| column_digest(v, parallel)),
    );
    Fingerprint {
        algorithm: ALGORITHM.to_owned(),
        n_rows: columns.n_rows as u64,
        description: columns.description.clone(),
        columns: digests,
        subtables: columns.subtables.clone(),
    }
}

#[cfg(test)]
mod tests;
