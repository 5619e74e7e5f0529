use proptest::prelude::*;

use super::*;
use crate::reduce::{complex_stats, count_true, median_unflagged};

/// A table of `ants.len()` rows with the given ids and `cells` cells per row.
fn table(ants: &[i32], spws: &[i32], cells: usize, flags: &[bool], snr: &[f32]) -> CaltableColumns {
    let n = ants.len();
    let take = |len: usize, i: usize| i % len.max(1);
    CaltableColumns {
        n_rows: n,
        time: vec![0.0; n],
        antenna1: ants.to_vec(),
        spw: spws.to_vec(),
        flag: Some(
            (0..n * cells)
                .map(|i| flags[take(flags.len(), i)])
                .collect(),
        ),
        snr: Some((0..n * cells).map(|i| snr[take(snr.len(), i)]).collect()),
        cparam: Some(
            (0..n * cells)
                .map(|i| (1.0 + i as f32 * 1e-3, (i % 13) as f32 * 0.1 - 0.6))
                .collect(),
        ),
        row_cells: vec![cells as u32; n],
        ..CaltableColumns::default()
    }
}

#[test]
fn a_fully_flagged_antenna_has_no_unflagged_figures() {
    // Antenna 3's rows (the odd ones) are all flagged.
    let ants = [1, 3, 1, 3];
    let spws = [0, 0, 1, 1];
    let mut t = table(&ants, &spws, 2, &[false], &[7.0]);
    t.flag = Some(vec![false, false, true, true, false, false, true, true]);
    let b = breakdowns(&t, false).unwrap();
    assert_eq!(b.by_antenna.len(), 2);
    let dead = &b.by_antenna[1];
    assert_eq!((dead.id, dead.n_solutions), (3, 2));
    assert_eq!(dead.flagged_fraction, Some(1.0));
    assert_eq!(dead.snr_median_unflagged, None);
    assert_eq!(dead.amp_mean_unflagged, None);
    assert_eq!(b.by_antenna[0].flagged_fraction, Some(0.0));
    assert_eq!(b.by_spw[0].flagged_fraction, Some(0.5));
    let grid = b.flag_grid.unwrap();
    assert_eq!(grid.flagged, vec![vec![0, 0], vec![2, 2]]);
    assert_eq!(grid.cells, vec![vec![2, 2], vec![2, 2]]);
}

#[test]
fn no_breakdowns_without_rows_or_with_misaligned_ids() {
    assert!(breakdowns(&CaltableColumns::default(), false).is_none());
    let mut t = table(&[1, 2], &[0, 0], 1, &[false], &[1.0]);
    t.spw.pop();
    assert!(breakdowns(&t, false).is_none());
}

#[test]
fn unaligned_columns_are_left_out_of_the_groups() {
    let mut t = table(&[1, 2], &[0, 0], 2, &[true, false], &[1.0]);
    t.cparam.as_mut().unwrap().pop();
    t.snr.as_mut().unwrap().push(9.0);
    let b = breakdowns(&t, false).unwrap();
    assert!(b.complex.is_none());
    assert!(b.by_antenna.iter().all(|g| g.amp_mean_unflagged.is_none()
        && g.snr_median_unflagged.is_none()
        && g.flagged_fraction == Some(0.5)));
}

proptest! {
    #[test]
    fn groups_sum_to_the_table_and_do_not_depend_on_parallelism(
        rows in prop::collection::vec((0i32..40, 0i32..5), 1..40_000),
        cells in 1usize..4,
        flags in prop::collection::vec(any::<bool>(), 1..50),
        snr in prop::collection::vec(prop_oneof![Just(f32::NAN), -1e3f32..1e3], 1..50),
    ) {
        let ants: Vec<i32> = rows.iter().map(|r| r.0).collect();
        let spws: Vec<i32> = rows.iter().map(|r| r.1).collect();
        let t = table(&ants, &spws, cells, &flags, &snr);
        let seq = breakdowns(&t, false).unwrap();
        let par = breakdowns(&t, true).unwrap();
        prop_assert_eq!(&seq, &par);
        let total_rows: u64 = seq.by_antenna.iter().map(|g| g.n_solutions).sum();
        prop_assert_eq!(total_rows, rows.len() as u64);
        let spw_rows: u64 = seq.by_spw.iter().map(|g| g.n_solutions).sum();
        prop_assert_eq!(spw_rows, rows.len() as u64);
        let flag = t.flag.as_deref().unwrap();
        let grid = seq.flag_grid.as_ref().unwrap();
        let grid_true: u64 = grid.flagged.iter().flatten().sum();
        prop_assert_eq!(grid_true, count_true(flag, false) as u64);
        prop_assert_eq!(
            seq.snr_median_unflagged,
            median_unflagged(t.snr.as_deref().unwrap(), Some(flag))
        );
        // The totals equal the cell-by-cell reduction up to the order of the sums.
        let whole = complex_stats(t.cparam.as_deref().unwrap(), Some(flag), false);
        let ours = seq.complex.unwrap();
        prop_assert_eq!(ours.n_unflagged, whole.n_unflagged);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
        prop_assert!(close(ours.amp_sum, whole.amp_sum));
        prop_assert!(close(ours.phase_sq_sum, whole.phase_sq_sum));
    }
}

#[test]
fn rows_of_different_shapes_are_cut_by_their_own_cell_counts() {
    // Three rows of 1, 3 and 2 cells: antenna 5 holds cells 0 and 4..6, antenna 6 cells 1..4.
    let mut t = table(&[5, 6, 5], &[0, 0, 0], 1, &[false], &[1.0]);
    t.row_cells = vec![1, 3, 2];
    t.flag = Some(vec![true, false, false, true, false, true]);
    t.snr = Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    t.cparam = Some(vec![(1.0, 0.0); 6]);
    let b = breakdowns(&t, false).unwrap();
    let grid = b.flag_grid.unwrap();
    assert_eq!(grid.flagged, vec![vec![2], vec![1]]);
    assert_eq!(grid.cells, vec![vec![3], vec![3]]);
    // Antenna 5's unflagged SNR: cell 4 (5.0); antenna 6's: cells 1 and 2 (2.0, 3.0).
    assert_eq!(b.by_antenna[0].snr_median_unflagged, Some(5.0));
    assert_eq!(b.by_antenna[1].snr_median_unflagged, Some(2.5));
    assert_eq!(b.snr_median_unflagged, Some(3.0));
}

#[test]
fn the_table_figures_survive_cells_that_do_not_line_up_with_rows() {
    // No parameter column: the rows hold no cells, but SNR and FLAG agree with each other.
    let mut t = table(&[1, 2], &[0, 0], 2, &[false, true], &[3.0, 4.0]);
    t.cparam = None;
    t.row_cells = vec![0, 0];
    let m = crate::compute_metrics(&t, &crate::QaThresholds::default(), 0.0);
    assert_eq!(m.snr_median_unflagged, Some(3.0));
    assert_eq!(m.snr_mean_unflagged, Some(3.0));
    assert_eq!(m.by_antenna.len(), 2);
    assert!(
        m.by_antenna
            .iter()
            .all(|g| g.snr_median_unflagged.is_none())
    );
}

#[test]
fn garbage_ids_get_no_breakdown_but_the_table_keeps_its_figures() {
    // 300 x 300 distinct pairs: more than a grid holds.
    let ants: Vec<i32> = (0..90_000).map(|i| i / 300).collect();
    let spws: Vec<i32> = (0..90_000).map(|i| i % 300).collect();
    let t = table(&ants, &spws, 1, &[false, true], &[2.0, 9.0]);
    assert!(breakdowns(&t, false).is_none());
    let m = crate::compute_metrics(&t, &crate::QaThresholds::default(), 0.0);
    assert!(m.by_antenna.is_empty() && m.flag_grid.is_none());
    assert_eq!(m.snr_median_unflagged, Some(2.0));
    assert_eq!(m.cparam_n_unflagged, Some(45_000));
}
