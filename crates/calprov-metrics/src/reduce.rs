//! Pure, deterministic reductions over column slices.
//!
//! Every reduction splits its input into fixed chunks of [`CHUNK`] elements, reduces each
//! chunk, and combines the partials in index order. Whether the chunks run on one thread or
//! on rayon's pool changes nothing in the result, bit for bit: the chunk boundaries and the
//! combination order are the same.

use rayon::prelude::*;

mod phase;
pub use phase::{phase_deg, phases_deg};

/// Elements per chunk.
pub const CHUNK: usize = 1 << 16;

/// Runs `reduce` on each fixed chunk of `0..len` (in parallel when asked) and returns the
/// partials in index order.
pub fn chunked<P: Send>(
    len: usize,
    parallel: bool,
    reduce: impl Fn(usize, usize) -> P + Sync + Send,
) -> Vec<P> {
    let starts = (0..len).step_by(CHUNK);
    if parallel {
        starts
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|s| reduce(s, (s + CHUNK).min(len)))
            .collect()
    } else {
        starts.map(|s| reduce(s, (s + CHUNK).min(len))).collect()
    }
}

/// Count, sum, minimum and maximum of the values that pass a filter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Values counted.
    pub count: usize,
    /// Their sum (f64).
    pub sum: f64,
    /// Smallest value (`+inf` when `count == 0`).
    pub min: f64,
    /// Largest value (`-inf` when `count == 0`).
    pub max: f64,
}

impl Summary {
    const EMPTY: Summary = Summary {
        count: 0,
        sum: 0.0,
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
    };

    fn add(&mut self, v: f64) {
        self.count += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn merge(mut self, other: Summary) -> Summary {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self
    }

    /// The mean, or `None` without values.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }
}

/// Statistics of an SNR column: over all non-NaN cells, and over those whose flag is false.
#[derive(Debug, Clone, PartialEq)]
pub struct SnrStats {
    /// All non-NaN cells, flagged or not.
    pub all: Summary,
    /// Non-NaN cells whose FLAG is false (`None` when FLAG does not align with SNR).
    pub unflagged: Option<Summary>,
    /// Exact median of all non-NaN cells.
    pub median: Option<f64>,
    /// NaN cells.
    pub n_nan: usize,
    /// Infinite cells.
    pub n_inf: usize,
    /// Cells equal to zero.
    pub n_zero: usize,
}

/// Reduces SNR cells; `flag` is used only when it has one entry per SNR cell.
pub fn snr_stats(snr: &[f32], flag: Option<&[bool]>, parallel: bool) -> SnrStats {
    let flag = flag.filter(|f| f.len() == snr.len());
    #[derive(Clone, Copy)]
    struct Partial {
        all: Summary,
        unflagged: Summary,
        nan: usize,
        inf: usize,
        zero: usize,
    }
    let parts = chunked(snr.len(), parallel, |start, end| {
        let mut p = Partial {
            all: Summary::EMPTY,
            unflagged: Summary::EMPTY,
            nan: 0,
            inf: 0,
            zero: 0,
        };
        for i in start..end {
            let v = f64::from(snr[i]);
            if v.is_nan() {
                p.nan += 1;
                continue;
            }
            if v.is_infinite() {
                p.inf += 1;
            }
            if v == 0.0 {
                p.zero += 1;
            }
            p.all.add(v);
            if flag.is_some_and(|f| !f[i]) {
                p.unflagged.add(v);
            }
        }
        p
    });
    let total = parts.iter().fold(
        Partial {
            all: Summary::EMPTY,
            unflagged: Summary::EMPTY,
            nan: 0,
            inf: 0,
            zero: 0,
        },
        |acc, p| Partial {
            all: acc.all.merge(p.all),
            unflagged: acc.unflagged.merge(p.unflagged),
            nan: acc.nan + p.nan,
            inf: acc.inf + p.inf,
            zero: acc.zero + p.zero,
        },
    );
    let median = exact_median(
        snr.iter()
            .map(|v| f64::from(*v))
            .filter(|v| !v.is_nan())
            .collect(),
    );
    SnrStats {
        all: total.all,
        unflagged: flag.map(|_| total.unflagged),
        median,
        n_nan: total.nan,
        n_inf: total.inf,
        n_zero: total.zero,
    }
}

/// The exact median of the non-NaN SNR cells whose FLAG is false (`None` when FLAG does not
/// align with SNR). [`crate::breakdown`] gives it from its own pass; this is for the tables
/// it cannot break down.
pub fn median_unflagged(snr: &[f32], flag: Option<&[bool]>) -> Option<f64> {
    let flag = flag.filter(|f| f.len() == snr.len())?;
    median_f32_in_place(
        &mut snr
            .iter()
            .zip(flag)
            .filter(|(v, flagged)| !**flagged && !v.is_nan())
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
    )
}

/// The exact median (numpy's: the mean of the two middle values for an even count).
pub fn exact_median(mut values: Vec<f64>) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f64::total_cmp);
    let upper = *upper;
    if n % 2 == 1 {
        return Some(upper);
    }
    let below = lower
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(upper);
    Some((below + upper) / 2.0)
}

/// [`exact_median`] of float32 values, computed in f64.
pub fn exact_median_f32(mut values: Vec<f32>) -> Option<f64> {
    median_f32_in_place(&mut values)
}

/// [`exact_median_f32`] of a slice it may reorder.
pub fn median_f32_in_place(values: &mut [f32]) -> Option<f64> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mid = n / 2;
    let (lower, upper, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    let upper = f64::from(*upper);
    if n % 2 == 1 {
        return Some(upper);
    }
    let below = lower
        .iter()
        .copied()
        .max_by(f32::total_cmp)
        .map(f64::from)
        .unwrap_or(upper);
    Some((below + upper) / 2.0)
}

/// The number of true values.
pub fn count_true(flags: &[bool], parallel: bool) -> usize {
    chunked(flags.len(), parallel, |s, e| {
        flags[s..e].iter().filter(|f| **f).count()
    })
    .into_iter()
    .sum()
}

/// The number of distinct values of a small-integer column (antenna, spw ids).
pub fn distinct_ints(values: &[i32]) -> usize {
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return 0;
    };
    let span = i64::from(*max) - i64::from(*min);
    if span < (1 << 24) {
        let mut seen = vec![false; span as usize + 1];
        let mut n = 0;
        for v in values {
            let slot = &mut seen[(i64::from(*v) - i64::from(*min)) as usize];
            if !*slot {
                *slot = true;
                n += 1;
            }
        }
        n
    } else {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        sorted.len()
    }
}

/// The number of distinct values by exact equality (`-0.0 == 0.0`, each NaN distinct from
/// numbers but all NaNs alike).
pub fn distinct_floats(values: &[f64], parallel: bool) -> usize {
    let canonical = |v: f64| {
        if v == 0.0 {
            0
        } else if v.is_nan() {
            f64::NAN.to_bits()
        } else {
            v.to_bits()
        }
    };
    // CASA writes a caltable time by time, so equal values come in runs: dropping repeats of
    // the previous value first leaves a few thousand values to sort instead of every row.
    let mut bits: Vec<u64> = Vec::new();
    for v in values {
        let b = canonical(*v);
        if bits.last() != Some(&b) {
            bits.push(b);
        }
    }
    if parallel {
        bits.par_sort_unstable();
    } else {
        bits.sort_unstable();
    }
    bits.dedup();
    bits.len()
}

/// Mean amplitude and RMS phase (degrees, in (-180, 180]) of the unflagged complex cells.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComplexStats {
    /// Unflagged cells.
    pub n_unflagged: usize,
    /// Sum of |c|.
    pub amp_sum: f64,
    /// Sum of phase² in degrees².
    pub phase_sq_sum: f64,
}

/// Reduces complex parameters over the cells whose flag is false (all cells without an
/// aligned FLAG).
pub fn complex_stats(values: &[(f32, f32)], flag: Option<&[bool]>, parallel: bool) -> ComplexStats {
    let flag = flag.filter(|f| f.len() == values.len());
    chunked(values.len(), parallel, |s, e| {
        let mut p = ComplexStats {
            n_unflagged: 0,
            amp_sum: 0.0,
            phase_sq_sum: 0.0,
        };
        for i in s..e {
            if flag.is_some_and(|f| f[i]) {
                continue;
            }
            let (re, im) = (f64::from(values[i].0), f64::from(values[i].1));
            let phase = phase_deg(re, im);
            p.n_unflagged += 1;
            // sqrt(re² + im²) of float32 components cannot overflow in f64, and is much
            // cheaper than hypot.
            p.amp_sum += (re * re + im * im).sqrt();
            p.phase_sq_sum += phase * phase;
        }
        p
    })
    .into_iter()
    .fold(
        ComplexStats {
            n_unflagged: 0,
            amp_sum: 0.0,
            phase_sq_sum: 0.0,
        },
        |a, p| ComplexStats {
            n_unflagged: a.n_unflagged + p.n_unflagged,
            amp_sum: a.amp_sum + p.amp_sum,
            phase_sq_sum: a.phase_sq_sum + p.phase_sq_sum,
        },
    )
}

/// Count, mean and largest absolute value of the unflagged real parameters.
pub fn real_stats(values: &[f32], flag: Option<&[bool]>, parallel: bool) -> (usize, f64, f64) {
    let flag = flag.filter(|f| f.len() == values.len());
    chunked(values.len(), parallel, |s, e| {
        let (mut n, mut sum, mut absmax) = (0usize, 0.0f64, 0.0f64);
        for i in s..e {
            if flag.is_some_and(|f| f[i]) {
                continue;
            }
            let v = f64::from(values[i]);
            n += 1;
            sum += v;
            absmax = absmax.max(v.abs());
        }
        (n, sum, absmax)
    })
    .into_iter()
    .fold((0, 0.0, 0.0), |(n, s, m), (pn, ps, pm)| {
        (n + pn, s + ps, f64::max(m, pm))
    })
}

#[cfg(test)]
mod tests;
