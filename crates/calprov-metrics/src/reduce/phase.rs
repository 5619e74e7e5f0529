//! The phase of complex gains, in degrees: `atan2` within 2 ulp of the C library's, computed
//! four cells at a time.
//!
//! The phase RMS takes one `atan2` per unflagged CPARAM cell: at a million solutions it was
//! the largest single cost of tracking. The C library's `atan2` is correctly rounded and
//! branches on its argument's range, so nothing around it vectorises. The metrics are
//! compared with CASA's and numpy's to 1e-9; an error of an ulp or two is far below anything
//! a metric shows, and the result stays deterministic (the same bits on every machine: no
//! libm call on the regular path, and [`phase_deg`] and [`phases_deg`] compute the same
//! expression).
//!
//! How: with `n = min(|y|, |x|)` and `d = max(|y|, |x|)`, `atan(n / d)` is `atan(u)` with
//! `u = n / d` when `n <= tan(pi/8) d`, else `pi/4 + atan(u)` with `u = (n - d) / (n + d)`;
//! either way `|u| <= tan(pi/8)` after one division. There `atan(u) = u P(u^2)`, `P` of
//! degree 11 (a Chebyshev fit, 120-bit mpmath, maximum error 1.3e-18 relative). The octant
//! and the quadrant follow from which of `|y|`, `|x|` is larger and from the signs, by
//! selects, not branches. Zeros together, infinities, NaN and magnitudes outside
//! `(1e-300, 1e300)` go to the C library, so its special cases stay its own.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

/// `P(z)`'s coefficients, lowest degree first.
const P: [f64; 12] = [
    1.0,
    -0.333_333_333_333_331_2,
    0.199_999_999_999_408_93,
    -0.142_857_142_792_502_45,
    0.111_111_107_449_196_58,
    -0.090_908_968_090_640_27,
    0.076_920_453_309_022_25,
    -0.066_629_518_136_291_91,
    0.058_468_782_973_308_72,
    -0.050_351_024_566_015_52,
    0.037_965_257_455_865_93,
    -0.017_805_397_205_419_446,
];

/// tan(pi/8).
const TAN_PI_8: f64 = 0.414_213_562_373_095_03;

/// Cells computed together: four lanes become two SSE2 operations each.
const LANES: usize = 4;

/// Whether [`atan2_regular`] holds for these operands: neither NaN nor infinite, not both
/// zero, magnitudes the division and the sums cannot overflow or lose.
#[inline]
fn is_regular(y: f64, x: f64) -> bool {
    let (ax, ay) = (x.abs(), y.abs());
    let d = if ay > ax { ay } else { ax };
    // False for NaN too.
    d > 1e-300 && d < 1e300 && !ax.is_nan() && !ay.is_nan()
}

/// `atan2(y, x)` without a branch; meaningful only where [`is_regular`] holds.
#[inline(always)]
fn atan2_regular(y: f64, x: f64) -> f64 {
    let (ax, ay) = (x.abs(), y.abs());
    let steep = ay > ax;
    let n = if steep { ax } else { ay };
    let d = if steep { ay } else { ax };
    let past_pi_8 = n > TAN_PI_8 * d;
    let num = if past_pi_8 { n - d } else { n };
    let den = if past_pi_8 { n + d } else { d };
    let u = num / den;
    let z = u * u;
    let mut p = P[11];
    for c in P[..11].iter().rev() {
        p = p * z + c;
    }
    let octant = u * p + if past_pi_8 { FRAC_PI_4 } else { 0.0 };
    let half = if steep { FRAC_PI_2 - octant } else { octant };
    let whole = if x.is_sign_negative() {
        PI - half
    } else {
        half
    };
    whole.copysign(y)
}

/// The four-quadrant arctangent of `y / x` in radians, in `[-pi, pi]`: the C library's
/// `atan2` within 2 ulp, its special cases exactly.
#[inline]
pub fn atan2(y: f64, x: f64) -> f64 {
    if is_regular(y, x) {
        atan2_regular(y, x)
    } else {
        y.atan2(x)
    }
}

/// Radians to degrees in (-180, 180] (CASA's and numpy's convention: -180 is 180).
#[inline(always)]
fn degrees(radians: f64) -> f64 {
    let p = radians.to_degrees();
    if p == -180.0 { 180.0 } else { p }
}

/// The phase of `re + i im` in degrees, in (-180, 180].
#[inline]
pub fn phase_deg(re: f64, im: f64) -> f64 {
    degrees(atan2(im, re))
}

/// The phase in degrees of every cell of `values`, into `out` (cleared first): the same
/// values as [`phase_deg`] of each, four cells at a time.
pub fn phases_deg(values: &[(f32, f32)], out: &mut Vec<f64>) {
    out.clear();
    out.resize(values.len(), 0.0);
    let mut cells = values.chunks_exact(LANES);
    let mut phases = out.chunks_exact_mut(LANES);
    for (cells, phases) in (&mut cells).zip(&mut phases) {
        let mut lanes = [0.0; LANES];
        for (lane, (re, im)) in lanes.iter_mut().zip(cells) {
            *lane = degrees(atan2_regular(f64::from(*im), f64::from(*re)));
        }
        phases.copy_from_slice(&lanes);
    }
    for (phase, (re, im)) in phases.into_remainder().iter_mut().zip(cells.remainder()) {
        *phase = degrees(atan2_regular(f64::from(*im), f64::from(*re)));
    }
    // The rare cells the series cannot compute (zero, infinite or NaN parts), wherever they
    // are.
    for (phase, (re, im)) in out.iter_mut().zip(values) {
        let (re, im) = (f64::from(*re), f64::from(*im));
        if !is_regular(im, re) {
            *phase = degrees(im.atan2(re));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{atan2, phase_deg, phases_deg};

    /// The distance in ulps between two doubles of the same sign.
    fn ulps(a: f64, b: f64) -> u64 {
        if a == b {
            return 0;
        }
        assert_eq!(a.is_sign_negative(), b.is_sign_negative(), "{a} vs {b}");
        a.to_bits().abs_diff(b.to_bits())
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        /// Any f32 bit pattern: every exponent, subnormals, zeros, infinities and NaNs.
        fn any_f32(&mut self) -> f32 {
            f32::from_bits(self.next() as u32)
        }
        /// A gain-like value: magnitude around 1.
        fn gain(&mut self) -> f32 {
            let v = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
            (v * 4.0 - 2.0) as f32
        }
    }

    /// `n` cells, half gain-like, half any f32 pattern.
    fn cells(n: usize) -> Vec<(f32, f32)> {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        (0..n)
            .map(|i| {
                if i % 2 == 0 {
                    (rng.gain(), rng.gain())
                } else {
                    (rng.any_f32(), rng.any_f32())
                }
            })
            .collect()
    }

    #[test]
    fn within_two_ulps_of_the_c_library_on_f32_operands() {
        let mut worst = 0;
        for (re, im) in cells(2_000_000) {
            let (y, x) = (f64::from(im), f64::from(re));
            let (fast, libm) = (atan2(y, x), y.atan2(x));
            if libm.is_nan() {
                assert!(fast.is_nan(), "atan2({y:e}, {x:e}) = {fast:e}, not NaN");
                continue;
            }
            let d = ulps(fast, libm);
            assert!(
                d <= 2,
                "atan2({y:e}, {x:e}) = {fast:e}, C library {libm:e}: {d} ulp"
            );
            worst = worst.max(d);
        }
        // Identical everywhere would mean the C library ran, not the series.
        assert!(
            worst >= 1,
            "identical to the C library everywhere: the series never ran"
        );
    }

    #[test]
    fn octant_edges_and_axes() {
        let tan_pi_8 = std::f64::consts::FRAC_PI_8.tan();
        for t in [0.0, 1e-30, 0.25, tan_pi_8, 0.5, 0.75, 1.0] {
            for scale in [1.0f64, -1.0] {
                for dt in [-1e-7, 0.0, 1e-7] {
                    let t = f64::from((t + dt) as f32) * scale;
                    for (y, x) in [(t, 1.0), (1.0, t), (-t, 1.0), (t, -1.0), (-1.0, -t)] {
                        let d = ulps(atan2(y, x), y.atan2(x));
                        assert!(d <= 2, "atan2({y:e}, {x:e}): {d} ulp");
                    }
                }
            }
        }
    }

    #[test]
    fn special_cases_are_the_c_library_s_bit_for_bit() {
        let specials = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            1e-320,
            1e301,
            f64::MAX,
            f64::from(f32::MAX),
            f64::from(f32::from_bits(1)),
        ];
        for y in specials {
            for x in specials {
                let (fast, libm) = (atan2(y, x), y.atan2(x));
                if libm.is_nan() {
                    assert!(fast.is_nan(), "atan2({y:e}, {x:e}) = {fast:e}, not NaN");
                } else if y == 0.0 || x == 0.0 || libm.abs() == std::f64::consts::PI {
                    // Axes and the branch cut: exactly the C library's, signs included.
                    assert_eq!(fast.to_bits(), libm.to_bits(), "atan2({y:e}, {x:e})");
                } else {
                    assert!(
                        ulps(fast, libm) <= 2,
                        "atan2({y:e}, {x:e}) = {fast:e} vs {libm:e}"
                    );
                }
            }
        }
        // -0.0 below the negative real axis is -pi, which the phase reads as 180 degrees.
        assert_eq!(phase_deg(-1.0, -0.0), 180.0);
        assert_eq!(phase_deg(-1.0, 0.0), 180.0);
    }

    #[test]
    fn four_at_a_time_is_one_at_a_time_bit_for_bit() {
        for n in [0, 1, 3, 4, 5, 1001] {
            let values = cells(n);
            let mut out = vec![1.0; 7];
            phases_deg(&values, &mut out);
            assert_eq!(out.len(), n);
            for (phase, (re, im)) in out.iter().zip(&values) {
                let one = phase_deg(f64::from(*re), f64::from(*im));
                assert!(
                    phase.to_bits() == one.to_bits() || (phase.is_nan() && one.is_nan()),
                    "phase of ({re:e}, {im:e}): {phase} in lanes, {one} alone"
                );
            }
        }
    }
}
