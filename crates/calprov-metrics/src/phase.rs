//! The phase of a complex gain, the one cost that dominates the metrics of a large table.
//!
//! The phase RMS needs `atan2` of every unflagged cell: millions of calls on a large table.
//! glibc's `atan2` is correctly rounded and takes about 20 ns a call here, more than the
//! rest of the metrics together. [`atan2`] is a table-and-series evaluation within a few
//! ulp of it (checked against it in the tests) at a fraction of the cost; what calprov
//! reports is a mean of squares compared at 1e-9, so a few ulp per cell change nothing.

use std::f64::consts::{FRAC_PI_2, PI};

/// `atan(k / 8)` for `k` in `0..=8`, as f64 (correctly rounded).
const ATAN_EIGHTHS: [f64; 9] = [
    0.0,
    0.124_354_994_546_761_44,
    0.244_978_663_126_864_14,
    0.358_770_670_270_572_25,
    0.463_647_609_000_806_1,
    0.558_599_315_343_562_4,
    0.643_501_108_793_284_4,
    0.718_829_999_621_624_5,
    std::f64::consts::FRAC_PI_4,
];

/// `atan(n / d)` for `0 <= n <= d`: `atan(c) + atan(t)` with `c` the eighth nearest `n / d`
/// and `t = (n - c d) / (d + c n)`, so the series runs on `|t| <= 1/16`, where its terms past
/// `t^13 / 13` are below 1e-18 of `t`. One division, not two: a division costs more than
/// the whole series.
fn atan_ratio(n: f64, d: f64) -> f64 {
    // The nearest eighth by comparisons: k = #{j < 8 : 16 n >= (2j + 1) d}.
    let k = (0..8u8)
        .map(|j| usize::from(16.0 * n >= f64::from(2 * j + 1) * d))
        .sum::<usize>();
    let c = k as f64 / 8.0;
    let t = (n - c * d) / (d + c * n);
    let z = t * t;
    let series = 1.0 / 13.0;
    let series = 1.0 / 11.0 - z * series;
    let series = 1.0 / 9.0 - z * series;
    let series = 1.0 / 7.0 - z * series;
    let series = 1.0 / 5.0 - z * series;
    let series = 1.0 / 3.0 - z * series;
    let atan_t = t - t * z * series;
    ATAN_EIGHTHS[k] + atan_t
}

/// Magnitudes outside this range go to `f64::atan2`, so that `16 n` cannot overflow and no
/// intermediate is subnormal.
const FAST_RANGE: std::ops::RangeInclusive<f64> = 1e-290..=1e290;

/// `y.atan2(x)` within a few ulp; the IEEE special cases (zeros, infinities, NaN) and
/// extreme magnitudes are `f64::atan2`'s.
pub fn atan2(y: f64, x: f64) -> f64 {
    let (ax, ay) = (x.abs(), y.abs());
    let (n, d) = (ax.min(ay), ax.max(ay));
    if !(FAST_RANGE.contains(&ax) && FAST_RANGE.contains(&ay)) {
        return y.atan2(x);
    }
    // The octant is chosen by arithmetic, not branches: phases are random, and a
    // mispredicted branch per cell costs as much as the series.
    let u = atan_ratio(n, d);
    let steep = f64::from(u8::from(ay > ax));
    let r = steep * FRAC_PI_2 + (1.0 - 2.0 * steep) * u;
    let left = f64::from(u8::from(x < 0.0));
    let r = left * PI + (1.0 - 2.0 * left) * r;
    r.copysign(y)
}

/// The phase of `re + i im` in degrees, in (-180, 180] (CASA's and numpy's convention).
pub fn phase_deg(re: f64, im: f64) -> f64 {
    let p = atan2(im, re).to_degrees();
    if p == -180.0 { 180.0 } else { p }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Distance in ulp between two finite doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn special_cases_are_the_standard_ones() {
        let special = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        for y in special {
            for x in special {
                let (ours, std) = (atan2(y, x), y.atan2(x));
                assert!(
                    ours.to_bits() == std.to_bits() || ulps(ours, std) <= 1,
                    "atan2({y}, {x}): {ours} vs {std}"
                );
            }
        }
        assert_eq!(phase_deg(-1.0, -0.0), 180.0);
        assert_eq!(phase_deg(-1.0, 0.0), 180.0);
    }

    #[test]
    fn every_octant_boundary_and_eighth() {
        for k in 0..=64 {
            let a = f64::from(k) / 64.0;
            for (y, x) in [(a, 1.0), (1.0, a), (-a, 1.0), (a, -1.0), (-1.0, -a)] {
                assert!(ulps(atan2(y, x), y.atan2(x)) <= 4, "atan2({y}, {x})");
            }
        }
    }

    proptest! {
        #[test]
        fn within_four_ulp_of_the_correctly_rounded_atan2(
            re in prop_oneof![-1e3f32..1e3, -1e-30f32..1e-30, any::<f32>()],
            im in prop_oneof![-1e3f32..1e3, -1e-30f32..1e-30, any::<f32>()],
        ) {
            let (x, y) = (f64::from(re), f64::from(im));
            let (ours, std) = (atan2(y, x), y.atan2(x));
            if std.is_nan() {
                prop_assert!(ours.is_nan());
            } else {
                prop_assert!(ulps(ours, std) <= 4, "atan2({}, {}): {} vs {}", y, x, ours, std);
            }
        }
    }
}
