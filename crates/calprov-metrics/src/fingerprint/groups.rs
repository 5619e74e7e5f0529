//! Solution groups: an order-independent identity for the rows of a caltable, so that rows
//! CASA re-sorted (`gaincal(append=True)` rewrites the table in time order) are still
//! recognised, at a fraction of a byte per row.
//!
//! A group is the rows of one solution interval: one (TIME, FIELD_ID, SPECTRAL_WINDOW_ID),
//! one row per antenna. Each row is hashed twice, its content (TIME, ANTENNA1, ANTENNA2,
//! SPECTRAL_WINDOW_ID, FIELD_ID, SCAN_NUMBER and its cells of the parameter column,
//! PARAMERR and SNR, by their bits) and its FLAG cell bound to that content; a group stores
//! the wrapping sums of both over its rows, which do not depend on the order of the rows.
//! [`GROUP_BYTES`] bytes a group: about 24 / antennas bytes a row. Matching the recorded
//! groups against the current ones by key says which are still there unchanged, which
//! differ only in their flags, which are gone or changed, and which are new.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::reader::CaltableColumns;

/// Bytes stored per group: key, content sum and flag sum, three little-endian `u64`s.
pub const GROUP_BYTES: usize = 24;

/// Rows per parallel chunk.
const ROWS_PER_CHUNK: usize = 1 << 15;

/// One solution group, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Group {
    /// The hash of (TIME, FIELD_ID, SPECTRAL_WINDOW_ID).
    pub key: u64,
    /// The wrapping sum of the rows' content hashes.
    pub content: u64,
    /// The wrapping sum of the rows' flag hashes (each bound to its row's content).
    pub flags: u64,
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

/// The groups of a table: one entry per run of consecutive rows with the same key (a
/// table CASA wrote has one run per group); [`match_groups`] merges entries of one key.
pub fn row_groups(columns: &CaltableColumns, parallel: bool) -> Vec<Group> {
    let n = columns.n_rows;
    // Without a parameter column every row has no cells.
    let offsets = columns.cell_offsets();
    let total = offsets.total();
    let cparam = row_cells(columns.cparam.as_deref(), total);
    let fparam = row_cells(columns.fparam.as_deref(), total);
    let paramerr = row_cells(columns.paramerr.as_deref(), total);
    let snr = row_cells(columns.snr.as_deref(), total);
    let flag = row_cells(columns.flag.as_deref(), total);
    let key_of = |i: usize| {
        let mut key = RowHasher::new(0x006b_6579);
        put_scalar(&columns.time, i, &mut key);
        put_scalar(&columns.field, i, &mut key);
        put_scalar(&columns.spw, i, &mut key);
        key.finish()
    };
    let row = |i: usize| {
        let mut content = RowHasher::new(0x6361_6c70_726f_7631);
        put_scalar(&columns.time, i, &mut content);
        put_scalar(&columns.antenna1, i, &mut content);
        put_scalar(&columns.antenna2, i, &mut content);
        put_scalar(&columns.spw, i, &mut content);
        put_scalar(&columns.field, i, &mut content);
        put_scalar(&columns.scan, i, &mut content);
        let cells = offsets.range(i);
        let (start, len) = (cells.start, cells.len());
        content.word(len as u64);
        put_cells(cparam, start, len, &mut content);
        put_cells(fparam, start, len, &mut content);
        put_cells(paramerr, start, len, &mut content);
        put_cells(snr, start, len, &mut content);
        let content = content.finish();
        // The flags are bound to the row they belong to: moving a flag to another row of
        // the group changes the sum.
        let mut flags = RowHasher::new(content);
        if let Some(cell) = flag.and_then(|f| f.get(start..start + len)) {
            for bits in cell.chunks(64) {
                let word = bits
                    .iter()
                    .enumerate()
                    .fold(0u64, |w, (b, &set)| w | u64::from(set) << b);
                flags.word(word);
            }
        }
        (content, flags.finish())
    };
    let runs = |rows: std::ops::Range<usize>| {
        let mut out: Vec<Group> = Vec::new();
        let mut last_key = None;
        for i in rows {
            let key = key_of(i);
            let (content, flags) = row(i);
            match out.last_mut() {
                Some(g) if last_key == Some(key) => {
                    g.content = g.content.wrapping_add(content);
                    g.flags = g.flags.wrapping_add(flags);
                }
                _ => out.push(Group {
                    key,
                    content,
                    flags,
                }),
            }
            last_key = Some(key);
        }
        out
    };
    if parallel {
        let starts: Vec<usize> = (0..n).step_by(ROWS_PER_CHUNK).collect();
        let parts: Vec<Vec<Group>> = starts
            .into_par_iter()
            .map(|s| runs(s..(s + ROWS_PER_CHUNK).min(n)))
            .collect();
        parts.concat()
    } else {
        runs(0..n)
    }
}

/// Entries of one key summed: the groups of a table, whatever its row order.
fn merged(entries: &[Group]) -> BTreeMap<u64, (u64, u64)> {
    let mut groups: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for g in entries {
        let e = groups.entry(g.key).or_default();
        e.0 = e.0.wrapping_add(g.content);
        e.1 = e.1.wrapping_add(g.flags);
    }
    groups
}

/// How the recorded groups are found among the current ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupMatch {
    /// Recorded groups found unchanged.
    pub unchanged: usize,
    /// Recorded groups with the same content and other flags.
    pub flags_edited: usize,
    /// Recorded groups changed or gone.
    pub changed_or_removed: usize,
    /// Current groups with a key no recorded group has.
    pub new: usize,
}

/// Matches two tables' groups by key, wherever their rows sit.
pub fn match_groups(recorded: &[Group], current: &[Group]) -> GroupMatch {
    let old = merged(recorded);
    let new = merged(current);
    let mut m = GroupMatch::default();
    for (key, (content, flags)) in &old {
        match new.get(key) {
            Some((c, f)) if c == content && f == flags => m.unchanged += 1,
            Some((c, _)) if c == content => m.flags_edited += 1,
            _ => m.changed_or_removed += 1,
        }
    }
    m.new = new.keys().filter(|k| !old.contains_key(k)).count();
    m
}

/// Groups as stored: [`GROUP_BYTES`] each, key, content and flags as little-endian `u64`s.
pub fn encode_groups(groups: &[Group]) -> Vec<u8> {
    groups
        .iter()
        .flat_map(|g| [g.key, g.content, g.flags])
        .flat_map(u64::to_le_bytes)
        .collect()
}

/// Stored groups back; `None` when the length is not a whole number of groups.
pub fn decode_groups(bytes: &[u8]) -> Option<Vec<Group>> {
    if !bytes.len().is_multiple_of(GROUP_BYTES) {
        return None;
    }
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    Some(
        bytes
            .chunks_exact(GROUP_BYTES)
            .map(|c| Group {
                key: word(&c[0..8]),
                content: word(&c[8..16]),
                flags: word(&c[16..24]),
            })
            .collect(),
    )
}
