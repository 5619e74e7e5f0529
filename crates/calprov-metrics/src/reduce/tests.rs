use proptest::prelude::*;

use super::*;

fn snr_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => any::<f32>(),
        1 => Just(f32::NAN),
        1 => Just(0.0f32),
        1 => Just(f32::INFINITY),
        4 => 0.0f32..60.0,
    ]
}

fn naive_median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

#[test]
fn median_matches_numpy_convention() {
    assert_eq!(exact_median(vec![]), None);
    assert_eq!(exact_median(vec![3.0]), Some(3.0));
    assert_eq!(exact_median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    assert_eq!(exact_median(vec![5.0, 1.0, 3.0]), Some(3.0));
}

#[test]
fn all_flagged_and_empty_columns() {
    let s = snr_stats(&[1.0, 2.0], Some(&[true, true]), false);
    assert_eq!(s.unflagged.map(|u| u.count), Some(0));
    assert_eq!(median_unflagged(&[1.0, 2.0], Some(&[true, true])), None);
    let e = snr_stats(&[], Some(&[]), true);
    assert_eq!(e.all.count, 0);
    assert_eq!(e.median, None);
    assert_eq!(count_true(&[], true), 0);
    assert_eq!(distinct_ints(&[]), 0);
    assert_eq!(
        distinct_floats(&[0.0, -0.0, f64::NAN, f64::NAN, 1.0], true),
        3
    );
}

/// A column of `len` SNR-like values with NaNs, zeros and infinities, from a seed (building
/// large vectors element by element through proptest is too slow for a unit test).
fn column(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (state >> 33) as u32;
            match r % 16 {
                0 => f32::NAN,
                1 => 0.0,
                2 => f32::INFINITY,
                3 => f32::from_bits(r.rotate_left(7)),
                _ => (r % 60_000) as f32 / 1000.0,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    // Sizes cross the chunk size so several chunks are combined.
    #[test]
    fn parallel_equals_sequential(len in 0..(3 * CHUNK), seed in any::<u64>()) {
        let snr = column(len, seed);
        let flags: Vec<bool> = (0..snr.len()).map(|i| (seed.rotate_left(i as u32 % 64) ^ i as u64).is_multiple_of(3)).collect();
        let cplx: Vec<(f32, f32)> = snr.iter().map(|v| (*v, v * 0.5 - 1.0)).collect();
        let seq = snr_stats(&snr, Some(&flags), false);
        let par = snr_stats(&snr, Some(&flags), true);
        prop_assert_eq!(format!("{seq:?}"), format!("{par:?}"));
        prop_assert_eq!(count_true(&flags, false), count_true(&flags, true));
        let (a, b) = (complex_stats(&cplx, Some(&flags), false), complex_stats(&cplx, Some(&flags), true));
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        let (a, b) = (real_stats(&snr, Some(&flags), false), real_stats(&snr, Some(&flags), true));
        prop_assert_eq!(format!("{a:?}"), format!("{b:?}"));
        // The median is exact: it equals a full sort's.
        let finite: Vec<f64> = snr.iter().map(|v| f64::from(*v)).filter(|v| !v.is_nan()).collect();
        prop_assert_eq!(seq.median.map(f64::to_bits), naive_median(finite.clone()).map(f64::to_bits));
        let finite32: Vec<f32> = snr.iter().copied().filter(|v| !v.is_nan()).collect();
        prop_assert_eq!(exact_median_f32(finite32).map(f64::to_bits), exact_median(finite.clone()).map(f64::to_bits));
        prop_assert_eq!(seq.all.count, finite.len());
        prop_assert_eq!(seq.n_nan, snr.len() - finite.len());
    }

    #[test]
    fn small_odd_and_single_row_columns(snr in prop::collection::vec(snr_value(), 0..7), all_flagged in any::<bool>()) {
        let flags = vec![all_flagged; snr.len()];
        let seq = snr_stats(&snr, Some(&flags), false);
        let par = snr_stats(&snr, Some(&flags), true);
        prop_assert_eq!(format!("{seq:?}"), format!("{par:?}"));
        if all_flagged {
            prop_assert_eq!(seq.unflagged.map(|u| u.count), Some(0));
        }
    }
}
