//! Row digests: an order-independent identity for every row, so that rows CASA re-sorted
//! (`gaincal(append=True)` rewrites the table in time order) are still recognised.
//!
//! Each row has one `u64`, [`ROW_DIGEST_BYTES`] bytes: the high 48 bits hash the row's
//! content (TIME, ANTENNA1, ANTENNA2, SPECTRAL_WINDOW_ID, FIELD_ID, SCAN_NUMBER and its cells
//! of the parameter column, PARAMERR and SNR, by their bits), the low 16 bits its FLAG cell. Matching the recorded multiset against the current one says which recorded rows
//! are still there unchanged, which differ only in their flags, and which are gone.

use rayon::prelude::*;

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

/// A 64-bit streaming hash over 64-bit words: each word is xored in and the state
/// multiplied by an odd constant (a bijection of the state for a given word, so one changed
/// word always changes the state), then MurmurHash3's finaliser. Row digests are a few words
/// a row and there are a million rows: a general-purpose hash over a byte buffer per row
/// cost five times as much.
struct RowHasher {
    h: u64,
}

impl RowHasher {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;

    fn new(seed: u64) -> Self {
        Self { h: seed }
    }

    #[inline]
    fn word(&mut self, w: u64) {
        self.h = (self.h ^ w).wrapping_mul(Self::K);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.h;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// A value as words for the row hash: its canonical bits.
trait RowWord: Copy + Send + Sync {
    fn bits(self) -> u64;
}

impl RowWord for f64 {
    fn bits(self) -> u64 {
        self.to_bits()
    }
}

impl RowWord for f32 {
    fn bits(self) -> u64 {
        u64::from(self.to_bits())
    }
}

impl RowWord for i32 {
    fn bits(self) -> u64 {
        u64::from(self as u32)
    }
}

impl RowWord for (f32, f32) {
    fn bits(self) -> u64 {
        u64::from(self.0.to_bits()) | u64::from(self.1.to_bits()) << 32
    }
}

/// One array column's cells, cut into rows by the parameter column's cell sizes; a column
/// whose length does not fit those sizes is left out of the row digests (its column digest
/// still covers it).
fn row_cells<T>(values: Option<&[T]>, total: usize) -> Option<&[T]> {
    values.filter(|v| v.len() == total)
}

fn put_cells<T: RowWord>(values: Option<&[T]>, start: usize, len: usize, hasher: &mut RowHasher) {
    if let Some(cell) = values.and_then(|v| v.get(start..start + len)) {
        cell.iter().for_each(|&x| hasher.word(x.bits()));
    }
}

fn put_scalar<T: RowWord>(values: &[T], i: usize, hasher: &mut RowHasher) {
    if let Some(&x) = values.get(i) {
        hasher.word(x.bits());
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
    let cparam = row_cells(columns.cparam.as_deref(), total);
    let fparam = row_cells(columns.fparam.as_deref(), total);
    let paramerr = row_cells(columns.paramerr.as_deref(), total);
    let snr = row_cells(columns.snr.as_deref(), total);
    let flag = row_cells(columns.flag.as_deref(), total);
    let digest = |i: usize| {
        let mut content = RowHasher::new(0x6361_6c70_726f_7631);
        put_scalar(&columns.time, i, &mut content);
        put_scalar(&columns.antenna1, i, &mut content);
        put_scalar(&columns.antenna2, i, &mut content);
        put_scalar(&columns.spw, i, &mut content);
        put_scalar(&columns.field, i, &mut content);
        put_scalar(&columns.scan, i, &mut content);
        let (start, len) = (offsets[i], offsets[i + 1] - offsets[i]);
        content.word(len as u64);
        put_cells(cparam, start, len, &mut content);
        put_cells(fparam, start, len, &mut content);
        put_cells(paramerr, start, len, &mut content);
        put_cells(snr, start, len, &mut content);
        let mut flags = RowHasher::new(0x666c_6167);
        if let Some(cell) = flag.and_then(|f| f.get(start..start + len)) {
            for bits in cell.chunks(64) {
                let word = bits
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (b, &set)| w | u64::from(set) << b);
                flags.word(word);
            }
        }
        content_of(content.finish()) | (flags.finish() & FLAG_BITS)
    };
    if parallel {
        let mut out = vec![0u64; n];
        out.par_chunks_mut(ROWS_PER_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let base = c * ROWS_PER_CHUNK;
                chunk.iter_mut().enumerate().for_each(|(k, d)| *d = digest(base + k));
            });
        out
    } else {
        (0..n).map(digest).collect()
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
