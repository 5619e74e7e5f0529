//! Row digests: an order-independent identity for every row, so that rows CASA re-sorted
//! (`gaincal(append=True)` rewrites the table in time order) are still recognised.
//!
//! Each row has one `u64`, [`ROW_DIGEST_BYTES`] bytes: the high 48 bits hash the row's
//! content (TIME, ANTENNA1, ANTENNA2, SPECTRAL_WINDOW_ID, FIELD_ID, SCAN_NUMBER and its cells
//! of the parameter column, PARAMERR and SNR, in canonical bytes), the low 16 bits its FLAG
//! cell. Matching the recorded multiset against the current one says which recorded rows
//! are still there unchanged, which differ only in their flags, and which are gone.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::digest::{Canonical, CanonicalSlice};
use crate::reader::CaltableColumns;

/// Bytes stored per row.
pub const ROW_DIGEST_BYTES: usize = 8;

/// The bits of a row digest that hash its FLAG cell.
const FLAG_BITS: u64 = 0xffff;

/// Rows per parallel chunk.
const ROWS_PER_CHUNK: usize = 1 << 15;

/// The content part of a row digest (its FLAG bits cleared).
pub fn content_of(digest: u64) -> u64 {
    digest & !FLAG_BITS
}

/// One array column's cells, cut into rows by the parameter column's cell sizes; a column
/// whose length does not fit those sizes is left out of the row digests (its column digest
/// still covers it).
struct RowCells<'a, T> {
    values: Option<&'a [T]>,
}

impl<'a, T: Canonical> RowCells<'a, T>
where
    [T]: CanonicalSlice,
{
    fn new(values: Option<&'a [T]>, total: usize) -> Self {
        Self {
            values: values.filter(|v| v.len() == total),
        }
    }

    fn put(&self, start: usize, len: usize, out: &mut Vec<u8>) {
        if let Some(cell) = self.values.and_then(|v| v.get(start..start + len)) {
            cell.put_all(out);
        }
    }
}

/// The digest of every row, in table order; in parallel when asked (the same digests).
pub fn row_digests(columns: &CaltableColumns, parallel: bool) -> Vec<u64> {
    let n = columns.n_rows;
    // Row `i`'s cells start at offsets[i]; without a parameter column every row has none.
    let mut offsets = Vec::with_capacity(n + 1);
    let mut total = 0usize;
    offsets.push(0);
    for i in 0..n {
        total += columns.row_cells.get(i).copied().unwrap_or(0) as usize;
        offsets.push(total);
    }
    let cparam = RowCells::new(columns.cparam.as_deref(), total);
    let fparam = RowCells::new(columns.fparam.as_deref(), total);
    let paramerr = RowCells::new(columns.paramerr.as_deref(), total);
    let snr = RowCells::new(columns.snr.as_deref(), total);
    let flag = RowCells::new(columns.flag.as_deref(), total);
    let scalar = |v: &[i32], i: usize, out: &mut Vec<u8>| {
        if let Some(x) = v.get(i) {
            x.put(out);
        }
    };
    let digest_range = |rows: std::ops::Range<usize>| {
        let mut content = Vec::with_capacity(256);
        let mut flags = Vec::with_capacity(64);
        rows.map(|i| {
            content.clear();
            flags.clear();
            if let Some(t) = columns.time.get(i) {
                t.put(&mut content);
            }
            scalar(&columns.antenna1, i, &mut content);
            scalar(&columns.antenna2, i, &mut content);
            scalar(&columns.spw, i, &mut content);
            scalar(&columns.field, i, &mut content);
            scalar(&columns.scan, i, &mut content);
            let (start, len) = (offsets[i], offsets[i + 1] - offsets[i]);
            cparam.put(start, len, &mut content);
            fparam.put(start, len, &mut content);
            paramerr.put(start, len, &mut content);
            snr.put(start, len, &mut content);
            flag.put(start, len, &mut flags);
            content_of(xxh3_64(&content)) | (xxh3_64(&flags) & FLAG_BITS)
        })
        .collect::<Vec<u64>>()
    };
    if parallel {
        let starts: Vec<usize> = (0..n).step_by(ROWS_PER_CHUNK).collect();
        let parts: Vec<Vec<u64>> = starts
            .into_par_iter()
            .map(|s| digest_range(s..(s + ROWS_PER_CHUNK).min(n)))
            .collect();
        parts.concat()
    } else {
        digest_range(0..n)
    }
}

/// How the recorded rows are found among the current ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowMatch {
    /// Recorded rows found unchanged.
    pub unchanged: usize,
    /// Recorded rows found with the same content and other flags.
    pub flags_edited: usize,
    /// Recorded rows found nowhere: changed or removed.
    pub changed_or_removed: usize,
    /// Current rows that match no recorded row: added (or the changed rows' new versions).
    pub unmatched_current: usize,
}

/// Matches two multisets of row digests, wherever the rows sit.
pub fn match_rows(recorded: &[u64], current: &[u64]) -> RowMatch {
    let mut old = recorded.to_vec();
    let mut new = current.to_vec();
    old.sort_unstable();
    new.sort_unstable();
    let (exact, old_left, new_left) = take_common(&old, &new);
    // What is left may differ only in the flag bits.
    let mut old_content: Vec<u64> = old_left.iter().map(|&d| content_of(d)).collect();
    let mut new_content: Vec<u64> = new_left.iter().map(|&d| content_of(d)).collect();
    old_content.sort_unstable();
    new_content.sort_unstable();
    let (flags_edited, gone, _) = take_common(&old_content, &new_content);
    RowMatch {
        unchanged: exact,
        flags_edited,
        changed_or_removed: gone.len(),
        unmatched_current: new_left.len() - flags_edited,
    }
}

/// Walks two sorted lists: the number of common elements (as multisets), and what is left of
/// each.
fn take_common(a: &[u64], b: &[u64]) -> (usize, Vec<u64>, Vec<u64>) {
    let (mut i, mut j, mut common) = (0, 0, 0);
    let (mut left_a, mut left_b) = (Vec::new(), Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => {
                left_a.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                left_b.push(b[j]);
                j += 1;
            }
        }
    }
    left_a.extend_from_slice(&a[i..]);
    left_b.extend_from_slice(&b[j..]);
    (common, left_a, left_b)
}

/// Row digests as stored: little-endian `u64`s, back to back.
pub fn encode_rows(digests: &[u64]) -> Vec<u8> {
    digests.iter().flat_map(|d| d.to_le_bytes()).collect()
}

/// Stored row digests back; `None` when the length is not a whole number of digests.
pub fn decode_rows(bytes: &[u8]) -> Option<Vec<u64>> {
    if bytes.len() % ROW_DIGEST_BYTES != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(ROW_DIGEST_BYTES)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect(),
    )
}
