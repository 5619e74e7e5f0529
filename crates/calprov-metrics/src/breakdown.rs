//! Quality per antenna and per spectral window, so that a verdict can say *which* antennas or
//! spws are bad ("antenna 7: 92% flagged"), and the flagged cells of every (antenna, spw)
//! pair for a report's heatmap.
//!
//! One pass over the rows fills a grid of accumulators, one per (antenna, spw) pair: each
//! row's cells are reduced once, and the per-antenna, per-spw and whole-table figures are all
//! sums of that grid. The table's complex totals (amplitude mean, phase RMS) therefore come
//! from this pass too, so the `atan2` of every cell is computed once. Rows are cut into fixed
//! chunks (reduced on rayon's pool when asked) and the chunks merged in order, so the result
//! does not depend on the parallelism, bit for bit.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::reader::{CaltableColumns, CellOffsets};
use crate::reduce::{ComplexStats, median_f32_in_place, phases_deg};

/// Rows per chunk (at least).
const ROWS_PER_CHUNK: usize = 1 << 14;

/// More distinct (antenna, spw) pairs than this and the breakdowns are left out: a table
/// CASA wrote has at most a few hundred antennas times a few dozen spws, and a damaged one
/// must not make calprov allocate (and store) a grid of its garbage ids.
pub const MAX_GRID: usize = 1 << 16;

/// The quality of the solutions of one antenna or one spectral window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupQuality {
    /// The antenna id (`ANTENNA1`) or spectral window id.
    pub id: i32,
    /// Rows.
    pub n_solutions: u64,
    /// True FLAG cells / FLAG cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flagged_fraction: Option<f64>,
    /// Exact median of the unflagged non-NaN SNR cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snr_median_unflagged: Option<f64>,
    /// Mean |CPARAM| over unflagged cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amp_mean_unflagged: Option<f64>,
    /// RMS phase in degrees over unflagged CPARAM cells.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase_rms_deg_unflagged: Option<f64>,
}

/// Flagged and total FLAG cells of every (antenna, spw) pair, row-major by antenna.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagGrid {
    /// Antenna ids, ascending.
    pub antennas: Vec<i32>,
    /// Spectral window ids, ascending.
    pub spws: Vec<i32>,
    /// True FLAG cells; `flagged[a][s]` for `antennas[a]`, `spws[s]`.
    pub flagged: Vec<Vec<u64>>,
    /// FLAG cells, same layout (0 where the pair has no solution).
    pub cells: Vec<Vec<u64>>,
}

/// Everything the row pass gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Breakdowns {
    /// One entry per antenna, by id.
    pub by_antenna: Vec<GroupQuality>,
    /// One entry per spectral window, by id.
    pub by_spw: Vec<GroupQuality>,
    /// Flagged cells per pair (`None` without an aligned FLAG column).
    pub flag_grid: Option<FlagGrid>,
    /// The complex totals over the whole table (`None` without an aligned CPARAM column).
    pub complex: Option<ComplexStats>,
    /// The exact median of the table's unflagged non-NaN SNR cells (from the same buffer as
    /// the groups' medians; `None` without aligned SNR and FLAG columns, or without values).
    pub snr_median_unflagged: Option<f64>,
}

/// Sums over the rows of one (antenna, spw) pair, or of any union of pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Acc {
    rows: u64,
    flag_cells: u64,
    flag_true: u64,
    /// Unflagged non-NaN SNR cells (their values are gathered in a second pass).
    snr_n: u64,
    complex_n: u64,
    amp_sum: f64,
    phase_sq_sum: f64,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.rows += o.rows;
        self.flag_cells += o.flag_cells;
        self.flag_true += o.flag_true;
        self.snr_n += o.snr_n;
        self.complex_n += o.complex_n;
        self.amp_sum += o.amp_sum;
        self.phase_sq_sum += o.phase_sq_sum;
    }
}

/// The distinct values of an id column, ascending, and a map from a value to its index.
struct Ids {
    sorted: Vec<i32>,
    /// `slot[v - min]` when the ids span a small range (they do in any real table).
    slot: Option<(i32, Vec<u32>)>,
}

impl Ids {
    /// Ids spanning more than this are looked up by binary search instead of a table.
    const MAX_SPAN: i64 = 1 << 16;

    fn of(ids: &[i32]) -> Ids {
        let (Some(&min), Some(&max)) = (ids.iter().min(), ids.iter().max()) else {
            return Ids {
                sorted: Vec::new(),
                slot: None,
            };
        };
        let span = i64::from(max) - i64::from(min);
        if span >= Self::MAX_SPAN {
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            return Ids { sorted, slot: None };
        }
        // Marks the values seen, then numbers them in order: no sort of the whole column.
        let mut slot = vec![u32::MAX; span as usize + 1];
        for v in ids {
            slot[(i64::from(*v) - i64::from(min)) as usize] = 0;
        }
        let mut sorted = Vec::new();
        for (offset, s) in slot.iter_mut().enumerate() {
            if *s == 0 {
                *s = sorted.len() as u32;
                sorted.push((i64::from(min) + offset as i64) as i32);
            }
        }
        Ids {
            sorted,
            slot: Some((min, slot)),
        }
    }

    /// The index of `v`, one of the ids this was made of.
    fn index(&self, v: i32) -> usize {
        match &self.slot {
            Some((min, slot)) => slot[(i64::from(v) - i64::from(*min)) as usize] as usize,
            None => self.sorted.binary_search(&v).unwrap_or(0),
        }
    }
}

/// Computes the breakdowns of decoded columns. `None` when the table has no rows, its id
/// columns do not have one entry per row, or it has more than [`MAX_GRID`] pairs.
pub fn breakdowns(columns: &CaltableColumns, parallel: bool) -> Option<Breakdowns> {
    let n = columns.n_rows;
    if n == 0 || columns.antenna1.len() != n || columns.spw.len() != n {
        return None;
    }
    let (antenna_ids, spw_ids) = (Ids::of(&columns.antenna1), Ids::of(&columns.spw));
    let (na, ns) = (antenna_ids.sorted.len(), spw_ids.sorted.len());
    if na.checked_mul(ns).is_none_or(|cells| cells > MAX_GRID) {
        return None;
    }
    let offsets = columns.cell_offsets();
    let total = offsets.total();
    let aligned = |len: usize| len == total;
    let flag = columns.flag.as_deref().filter(|f| aligned(f.len()));
    let snr = columns.snr.as_deref().filter(|s| aligned(s.len()));
    let cparam = columns.cparam.as_deref().filter(|c| aligned(c.len()));

    let rows = Rows {
        antenna: &antenna_ids,
        spw: &spw_ids,
        columns,
        offsets: &offsets,
        flag,
        snr: snr.filter(|_| flag.is_some()),
        cparam,
        ns,
    };
    // Each chunk has a grid of its own: with many pairs the chunks grow, so that all the
    // grids together stay within a few bytes per row.
    let chunk_rows = ROWS_PER_CHUNK.max(na * ns * 4);
    let starts: Vec<usize> = (0..n).step_by(chunk_rows).collect();
    let chunk_of = |s: &usize| rows.reduce(*s, (*s + chunk_rows).min(n), na * ns);
    let chunks: Vec<Vec<Acc>> = if parallel {
        starts.par_iter().map(chunk_of).collect()
    } else {
        starts.iter().map(chunk_of).collect()
    };
    // Merged in chunk order: the same sums whatever ran the chunks.
    let mut grid = vec![Acc::default(); na * ns];
    for chunk in &chunks {
        for (g, c) in grid.iter_mut().zip(chunk) {
            g.merge(c);
        }
    }
    let table = Table {
        antennas: antenna_ids.sorted.clone(),
        spws: spw_ids.sorted.clone(),
        flag: flag.is_some(),
        cparam: cparam.is_some(),
        grid,
    };
    let medians = rows.snr_medians(&table, &chunks, &starts, chunk_rows, parallel);
    Some(table.into_breakdowns(medians))
}

/// What the row passes read.
struct Rows<'a> {
    antenna: &'a Ids,
    spw: &'a Ids,
    columns: &'a CaltableColumns,
    offsets: &'a CellOffsets,
    flag: Option<&'a [bool]>,
    /// SNR, when a FLAG column says which cells are unflagged.
    snr: Option<&'a [f32]>,
    cparam: Option<&'a [(f32, f32)]>,
    ns: usize,
}

impl Rows<'_> {
    /// The (antenna, spw) pair of a row, as its index in the grid.
    fn pair(&self, row: usize) -> (usize, usize) {
        (
            self.antenna.index(self.columns.antenna1[row]),
            self.spw.index(self.columns.spw[row]),
        )
    }

    /// Reduces rows `start..end` into a grid of `pairs` accumulators.
    fn reduce(&self, start: usize, end: usize, pairs: usize) -> Vec<Acc> {
        let mut grid = vec![Acc::default(); pairs];
        let flagged = |i: usize| self.flag.is_some_and(|f| f[i]);
        // The chunk's phases first, in lanes (flagged cells too: a branch per cell would
        // keep the lanes apart); rows hold consecutive cells, so the chunk's are one slice.
        let first_cell = if start < end {
            self.offsets.range(start).start
        } else {
            0
        };
        let mut phases = Vec::new();
        if let (Some(values), true) = (self.cparam, start < end) {
            phases_deg(
                &values[first_cell..self.offsets.range(end - 1).end],
                &mut phases,
            );
        }
        for row in start..end {
            let (a, s) = self.pair(row);
            let acc = &mut grid[a * self.ns + s];
            acc.rows += 1;
            let cells = self.offsets.range(row);
            if let Some(f) = self.flag {
                acc.flag_cells += cells.len() as u64;
                acc.flag_true += f[cells.clone()].iter().filter(|x| **x).count() as u64;
            }
            if let Some(values) = self.cparam {
                for i in cells.clone().filter(|i| !flagged(*i)) {
                    let (re, im) = (f64::from(values[i].0), f64::from(values[i].1));
                    let phase = phases[i - first_cell];
                    acc.complex_n += 1;
                    // sqrt(re² + im²) of float32 components cannot overflow in f64.
                    acc.amp_sum += (re * re + im * im).sqrt();
                    acc.phase_sq_sum += phase * phase;
                }
            }
            if let Some(values) = self.snr {
                acc.snr_n += cells
                    .filter(|i| !flagged(*i) && !values[*i].is_nan())
                    .count() as u64;
            }
        }
        grid
    }

    /// The median unflagged SNR of every antenna and every spw. The first pass counted each
    /// chunk's values per pair, so this one places them straight where they go: one buffer
    /// per grouping, each group's values together, each chunk writing its own part of each
    /// group (in parallel when asked; no growing vectors, no merging).
    fn snr_medians(
        &self,
        table: &Table,
        chunks: &[Vec<Acc>],
        starts: &[usize],
        chunk_rows: usize,
        parallel: bool,
    ) -> Medians {
        let (Some(values), Some(flag)) = (self.snr, self.flag) else {
            return Medians::default();
        };
        let (na, ns) = (table.antennas.len(), table.spws.len());
        // counts[chunk][group] of each grouping.
        let by = |group_of: &dyn Fn(usize, usize) -> usize, groups: usize| -> Vec<Vec<usize>> {
            chunks
                .iter()
                .map(|grid| {
                    let mut counts = vec![0usize; groups];
                    for (pair, acc) in grid.iter().enumerate() {
                        counts[group_of(pair / ns, pair % ns)] += acc.snr_n as usize;
                    }
                    counts
                })
                .collect()
        };
        let antenna_counts = by(&|a, _| a, na);
        let spw_counts = by(&|_, s| s, ns);
        let sizes = |counts: &[Vec<usize>], groups: usize| -> Vec<usize> {
            (0..groups)
                .map(|g| counts.iter().map(|c| c[g]).sum())
                .collect()
        };
        let (antenna_sizes, spw_sizes) = (sizes(&antenna_counts, na), sizes(&spw_counts, ns));
        let total: usize = antenna_sizes.iter().sum();
        let (mut by_antenna, mut by_spw) = (vec![0f32; total], vec![0f32; total]);
        let parts = split_for_chunks(&mut by_antenna, &antenna_counts)
            .into_iter()
            .zip(split_for_chunks(&mut by_spw, &spw_counts))
            .zip(starts)
            .collect::<Vec<_>>();
        let n = self.columns.n_rows;
        let fill = |((mut antenna, mut spw), start): (ChunkParts<'_>, &usize)| {
            let (mut at_antenna, mut at_spw) = (vec![0usize; na], vec![0usize; ns]);
            for row in *start..(*start + chunk_rows).min(n) {
                let (a, s) = self.pair(row);
                for i in self.offsets.range(row) {
                    if !flag[i] && !values[i].is_nan() {
                        antenna[a][at_antenna[a]] = values[i];
                        spw[s][at_spw[s]] = values[i];
                        at_antenna[a] += 1;
                        at_spw[s] += 1;
                    }
                }
            }
        };
        if parallel {
            parts.into_par_iter().for_each(fill);
        } else {
            parts.into_iter().for_each(fill);
        }
        // The antenna buffer holds every unflagged value, whatever order the groups'
        // selections left it in: the table's median is taken from it too.
        let mut antenna_side = || {
            let groups = group_medians(&mut by_antenna, &antenna_sizes, parallel);
            (groups, median_f32_in_place(&mut by_antenna))
        };
        let mut spw_side = || group_medians(&mut by_spw, &spw_sizes, parallel);
        let ((by_antenna, table), by_spw) = if parallel {
            rayon::join(antenna_side, spw_side)
        } else {
            (antenna_side(), spw_side())
        };
        Medians {
            by_antenna,
            by_spw,
            table,
        }
    }
}

/// One chunk's parts of the antenna and the spw buffers, by group.
type ChunkParts<'a> = (Vec<&'a mut [f32]>, Vec<&'a mut [f32]>);

/// Cuts `buffer` (groups one after another, each group's chunks one after another) into
/// each chunk's part of each group: `parts[chunk][group]`, `counts[chunk][group]` long.
fn split_for_chunks<'a>(buffer: &'a mut [f32], counts: &[Vec<usize>]) -> Vec<Vec<&'a mut [f32]>> {
    let groups = counts.first().map_or(0, Vec::len);
    let mut parts: Vec<Vec<&mut [f32]>> =
        counts.iter().map(|_| Vec::with_capacity(groups)).collect();
    let mut rest = buffer;
    for g in 0..groups {
        for (c, chunk) in counts.iter().enumerate() {
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(chunk[g]);
            parts[c].push(part);
            rest = tail;
        }
    }
    parts
}

/// The medians of the unflagged SNR cells.
#[derive(Default)]
struct Medians {
    by_antenna: Vec<Option<f64>>,
    by_spw: Vec<Option<f64>>,
    table: Option<f64>,
}

/// The exact median of each consecutive group of `sizes[g]` values.
fn group_medians(values: &mut [f32], sizes: &[usize], parallel: bool) -> Vec<Option<f64>> {
    let mut groups = Vec::with_capacity(sizes.len());
    let mut rest = values;
    for size in sizes {
        let (group, tail) = rest.split_at_mut(*size);
        groups.push(group);
        rest = tail;
    }
    if parallel {
        groups.into_par_iter().map(median_f32_in_place).collect()
    } else {
        groups.into_iter().map(median_f32_in_place).collect()
    }
}

/// The merged grid of a table and the ids of its rows and columns.
struct Table {
    antennas: Vec<i32>,
    spws: Vec<i32>,
    flag: bool,
    cparam: bool,
    grid: Vec<Acc>,
}

impl Table {
    /// Sums the grid into antennas, spws and the whole table.
    fn into_breakdowns(self, medians: Medians) -> Breakdowns {
        let (na, ns) = (self.antennas.len(), self.spws.len());
        let mut by_antenna = vec![Acc::default(); na];
        let mut by_spw = vec![Acc::default(); ns];
        let mut whole = Acc::default();
        for (a, antenna) in by_antenna.iter_mut().enumerate() {
            for (s, spw) in by_spw.iter_mut().enumerate() {
                let pair = &self.grid[a * ns + s];
                antenna.merge(pair);
                spw.merge(pair);
            }
            whole.merge(antenna);
        }
        let quality = |ids: &[i32], accs: Vec<Acc>, medians: Vec<Option<f64>>| {
            ids.iter()
                .zip(accs)
                .enumerate()
                .map(|(g, (id, acc))| GroupQuality {
                    id: *id,
                    n_solutions: acc.rows,
                    flagged_fraction: (self.flag && acc.flag_cells > 0)
                        .then(|| acc.flag_true as f64 / acc.flag_cells as f64),
                    snr_median_unflagged: medians.get(g).copied().flatten(),
                    amp_mean_unflagged: (self.cparam && acc.complex_n > 0)
                        .then(|| acc.amp_sum / acc.complex_n as f64),
                    phase_rms_deg_unflagged: (self.cparam && acc.complex_n > 0)
                        .then(|| (acc.phase_sq_sum / acc.complex_n as f64).sqrt()),
                })
                .collect::<Vec<_>>()
        };
        let by_pair = |value: fn(&Acc) -> u64| -> Vec<Vec<u64>> {
            self.grid
                .chunks(ns.max(1))
                .map(|row| row.iter().map(value).collect())
                .collect()
        };
        let flag_grid = self.flag.then(|| FlagGrid {
            antennas: self.antennas.clone(),
            spws: self.spws.clone(),
            flagged: by_pair(|c| c.flag_true),
            cells: by_pair(|c| c.flag_cells),
        });
        Breakdowns {
            by_antenna: quality(&self.antennas, by_antenna, medians.by_antenna),
            by_spw: quality(&self.spws, by_spw, medians.by_spw),
            snr_median_unflagged: medians.table,
            flag_grid,
            complex: self.cparam.then_some(ComplexStats {
                n_unflagged: whole.complex_n as usize,
                amp_sum: whole.amp_sum,
                phase_sq_sum: whole.phase_sq_sum,
            }),
        }
    }
}

#[cfg(test)]
mod tests;
