use proptest::prelude::*;

use super::*;
use crate::reader::CaltableColumns;

/// A small gain table: `n` rows of two correlations, times increasing every 4 rows.
fn table(n: usize) -> CaltableColumns {
    let cells = 2;
    CaltableColumns {
        n_rows: n,
        time: (0..n).map(|i| 1e9 + (i / 4) as f64 * 10.0).collect(),
        antenna1: (0..n).map(|i| (i % 4) as i32).collect(),
        antenna2: vec![-1; n],
        spw: vec![0; n],
        field: vec![0; n],
        scan: (0..n).map(|i| (i / 8) as i32 + 1).collect(),
        flag: Some((0..n * cells).map(|i| i % 7 == 0).collect()),
        snr: Some((0..n * cells).map(|i| i as f32 * 0.5 + 3.0).collect()),
        cparam: Some(
            (0..n * cells)
                .map(|i| (1.0 + i as f32 * 1e-3, -(i as f32) * 1e-3))
                .collect(),
        ),
        fparam: None,
        paramerr: Some((0..n * cells).map(|i| 0.01 * (i % 5) as f32).collect()),
        row_cells: vec![cells as u32; n],
        description: digest_bytes(b"description"),
        subtables: [("ANTENNA".to_owned(), digest_bytes(b"antennas"))].into(),
        ..CaltableColumns::default()
    }
}

fn verdicts_between(old: &CaltableColumns, new: &CaltableColumns) -> Vec<Verdict> {
    let (a, rows_a) = fingerprint(old, false);
    let (b, _) = fingerprint(new, false);
    compare(&a, Some(&rows_a), &b, || row_groups(new, false)).verdicts
}

/// The rows of `columns` in a new order (`order[i]` is the old index of new row `i`).
fn reorder(columns: &CaltableColumns, order: &[usize]) -> CaltableColumns {
    let cells = 2;
    let pick = |v: &[i32]| order.iter().map(|&i| v[i]).collect::<Vec<_>>();
    fn cells_of<T: Copy>(v: &[T], order: &[usize], cells: usize) -> Vec<T> {
        order
            .iter()
            .flat_map(|&i| v[i * cells..(i + 1) * cells].to_vec())
            .collect()
    }
    CaltableColumns {
        n_rows: order.len(),
        time: order.iter().map(|&i| columns.time[i]).collect(),
        antenna1: pick(&columns.antenna1),
        antenna2: pick(&columns.antenna2),
        spw: pick(&columns.spw),
        field: pick(&columns.field),
        scan: pick(&columns.scan),
        flag: columns.flag.as_deref().map(|v| cells_of(v, order, cells)),
        snr: columns.snr.as_deref().map(|v| cells_of(v, order, cells)),
        cparam: columns.cparam.as_deref().map(|v| cells_of(v, order, cells)),
        paramerr: columns
            .paramerr
            .as_deref()
            .map(|v| cells_of(v, order, cells)),
        row_cells: vec![cells as u32; order.len()],
        ..columns.clone()
    }
}

#[test]
fn an_identical_table_is_unchanged() {
    let t = table(40);
    assert_eq!(verdicts_between(&t, &t.clone()), [Verdict::Unchanged]);
}

#[test]
fn rows_that_only_moved_are_unchanged() {
    let t = table(40);
    let order: Vec<usize> = (0..40).rev().collect();
    assert_eq!(
        verdicts_between(&t, &reorder(&t, &order)),
        [Verdict::Unchanged]
    );
}

#[test]
fn rows_appended_and_interleaved_by_time_are_rows_appended() {
    // The recorded table lacks every third solution interval of the final one: CASA's append
    // re-sorts by time, so the new intervals sit between the old ones.
    let full = table(60);
    let kept: Vec<usize> = (0..60).filter(|i| (i / 4) % 3 != 1).collect();
    let old = reorder(&full, &kept);
    assert_eq!(verdicts_between(&old, &full), [Verdict::RowsAppended]);
}

#[test]
fn a_row_moved_within_its_interval_or_to_another_run_is_unchanged() {
    let t = table(40);
    // Rows 5 and 6 swap (same interval); row 0 moves to the end (its interval split in two
    // runs).
    let mut order: Vec<usize> = (1..40).collect();
    order.swap(4, 5);
    order.push(0);
    assert_eq!(
        verdicts_between(&t, &reorder(&t, &order)),
        [Verdict::Unchanged]
    );
}

#[test]
fn a_flag_moved_to_another_row_of_its_interval_is_flags_edited() {
    let mut t = table(8);
    if let Some(f) = t.flag.as_mut() {
        f.iter_mut().for_each(|x| *x = false);
        f[0] = true;
    }
    let mut moved = t.clone();
    if let Some(f) = moved.flag.as_mut() {
        f[0] = false;
        f[2] = true;
    }
    assert_eq!(verdicts_between(&t, &moved), [Verdict::FlagsEdited]);
}

#[test]
fn a_flag_edit_is_flags_edited_and_a_solution_edit_is_solutions_changed() {
    let t = table(40);
    let mut flags = t.clone();
    if let Some(f) = flags.flag.as_mut() {
        f[13] = !f[13];
    }
    assert_eq!(verdicts_between(&t, &flags), [Verdict::FlagsEdited]);
    let mut solutions = t.clone();
    if let Some(c) = solutions.cparam.as_mut() {
        c[5].0 += 1.0;
    }
    assert_eq!(
        verdicts_between(&t, &solutions),
        [Verdict::SolutionsChanged]
    );
}

#[test]
fn flags_edited_on_old_rows_and_rows_appended_are_both_reported() {
    let full = table(60);
    let old = reorder(&full, &(0..40).collect::<Vec<_>>());
    let mut new = full.clone();
    if let Some(f) = new.flag.as_mut() {
        f[3] = !f[3];
    }
    assert_eq!(
        verdicts_between(&old, &new),
        [Verdict::FlagsEdited, Verdict::RowsAppended]
    );
}

#[test]
fn removed_rows_are_solutions_changed() {
    let t = table(40);
    let fewer = reorder(&t, &(0..39).collect::<Vec<_>>());
    let c = {
        let (a, rows) = fingerprint(&t, false);
        let (b, _) = fingerprint(&fewer, false);
        compare(&a, Some(&rows), &b, || row_groups(&fewer, false))
    };
    assert_eq!(c.verdicts, [Verdict::SolutionsChanged]);
    assert_eq!(c.details.groups.map(|g| g.changed_or_removed), Some(1));
}

#[test]
fn keyword_and_subtable_changes_have_their_own_verdicts() {
    let t = table(8);
    let mut k = t.clone();
    k.description = digest_bytes(b"other keywords");
    assert_eq!(verdicts_between(&t, &k), [Verdict::KeywordsChanged]);
    let mut s = t.clone();
    s.subtables
        .insert("ANTENNA".into(), digest_bytes(b"moved antenna"));
    let (a, ra) = fingerprint(&t, false);
    let (b, _) = fingerprint(&s, false);
    let c = compare(&a, Some(&ra), &b, || row_groups(&s, false));
    assert_eq!(c.verdicts, [Verdict::SubtablesChanged]);
    assert_eq!(c.details.subtables_changed, ["ANTENNA"]);
}

#[test]
fn without_recorded_rows_the_columns_decide() {
    let t = table(40);
    let mut flags = t.clone();
    if let Some(f) = flags.flag.as_mut() {
        f[0] = !f[0];
    }
    let (a, _) = fingerprint(&t, false);
    let (b, _) = fingerprint(&flags, false);
    assert_eq!(
        compare(&a, None, &b, Vec::new).verdicts,
        [Verdict::FlagsEdited]
    );
    let more = table(44);
    let (m, _) = fingerprint(&more, false);
    assert_eq!(
        compare(&a, None, &m, Vec::new).verdicts,
        [Verdict::SolutionsChanged]
    );
}

#[test]
fn parallel_and_sequential_digests_agree_across_many_chunks() {
    // More than one leaf per column and more than one row chunk.
    let t = table(200_000);
    assert_eq!(fingerprint(&t, true), fingerprint(&t, false));
    let (f, groups) = fingerprint(&t, true);
    // One run per interval of four rows, and the run cut by every parallel chunk boundary
    // that falls inside an interval (none: 32768 is a multiple of 4).
    assert_eq!(groups.len(), 50_000);
    assert!(f.columns["CPARAM"].starts_with("xxh3-128:"));
    assert_eq!(f.columns.len(), 10);
}

#[test]
fn a_row_count_of_zero_fingerprints() {
    let t = table(0);
    let (f, groups) = fingerprint(&t, false);
    assert_eq!(f.n_rows, 0);
    assert!(groups.is_empty());
}

/// Which column a mutation touches, and where.
#[derive(Debug, Clone)]
enum Mutation {
    Time(usize, u32),
    Antenna1(usize, u32),
    Scan(usize, u32),
    Cparam(usize, u32),
    Snr(usize, u32),
    Paramerr(usize, u32),
    Flag(usize),
}

fn mutation(n: usize) -> impl Strategy<Value = Mutation> {
    let cells = n * 2;
    prop_oneof![
        (0..n, 0u32..64).prop_map(|(i, b)| Mutation::Time(i, b)),
        (0..n, 0u32..32).prop_map(|(i, b)| Mutation::Antenna1(i, b)),
        (0..n, 0u32..32).prop_map(|(i, b)| Mutation::Scan(i, b)),
        (0..cells, 0u32..64).prop_map(|(i, b)| Mutation::Cparam(i, b)),
        (0..cells, 0u32..32).prop_map(|(i, b)| Mutation::Snr(i, b)),
        (0..cells, 0u32..32).prop_map(|(i, b)| Mutation::Paramerr(i, b)),
        (0..cells).prop_map(Mutation::Flag),
    ]
}

/// Applies the mutation (one bit of one value: one changed byte of the column's data) and
/// names the column it touched.
fn apply(t: &mut CaltableColumns, m: &Mutation) -> &'static str {
    let flip32 = |x: f32, b: u32| f32::from_bits(x.to_bits() ^ (1 << b));
    match *m {
        Mutation::Time(i, b) => {
            t.time[i] = f64::from_bits(t.time[i].to_bits() ^ (1 << b));
            "TIME"
        }
        Mutation::Antenna1(i, b) => {
            t.antenna1[i] ^= 1 << b;
            "ANTENNA1"
        }
        Mutation::Scan(i, b) => {
            t.scan[i] ^= 1 << b;
            "SCAN_NUMBER"
        }
        Mutation::Cparam(i, b) => {
            if let Some(c) = t.cparam.as_mut() {
                c[i] = if b < 32 {
                    (flip32(c[i].0, b), c[i].1)
                } else {
                    (c[i].0, flip32(c[i].1, b - 32))
                };
            }
            "CPARAM"
        }
        Mutation::Snr(i, b) => {
            if let Some(s) = t.snr.as_mut() {
                s[i] = flip32(s[i], b);
            }
            "SNR"
        }
        Mutation::Paramerr(i, b) => {
            if let Some(s) = t.paramerr.as_mut() {
                s[i] = flip32(s[i], b);
            }
            "PARAMERR"
        }
        Mutation::Flag(i) => {
            if let Some(f) = t.flag.as_mut() {
                f[i] = !f[i];
            }
            "FLAG"
        }
    }
}

proptest! {
    #[test]
    fn one_changed_byte_changes_exactly_that_columns_digest(m in mutation(64)) {
        let t = table(64);
        let mut changed = t.clone();
        let column = apply(&mut changed, &m);
        let (before, groups_before) = fingerprint(&t, false);
        let (after, groups_after) = fingerprint(&changed, false);
        let differing: Vec<&String> = before
            .columns
            .iter()
            .filter(|(k, v)| after.columns.get(*k) != Some(v))
            .map(|(k, _)| k)
            .collect();
        prop_assert_eq!(differing, vec![column]);
        prop_assert_eq!(&before.description, &after.description);
        // And the groups tell: a flag as flags_edited, anything else as solutions_changed.
        prop_assert_ne!(&groups_before, &groups_after);
        let m = match_groups(&groups_before, &groups_after);
        if column == "FLAG" {
            prop_assert_eq!((m.flags_edited, m.changed_or_removed), (1, 0));
        } else {
            prop_assert!(m.changed_or_removed >= 1);
        }
    }

    #[test]
    fn groups_survive_their_stored_form(words in proptest::collection::vec(any::<(u64, u64, u64)>(), 0..300)) {
        let groups: Vec<Group> = words.iter().map(|&(key, content, flags)| Group { key, content, flags }).collect();
        prop_assert_eq!(decode_groups(&encode_groups(&groups)), Some(groups));
    }

    #[test]
    fn stored_groups_of_a_broken_length_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        prop_assert_eq!(decode_groups(&bytes).is_some(), bytes.len().is_multiple_of(GROUP_BYTES));
    }

    #[test]
    fn a_fingerprint_survives_its_json_form(n in 0usize..50, extra in "[A-Z_]{1,12}") {
        let mut t = table(n);
        t.subtables.insert(extra, "unreadable: gone".into());
        let (f, _) = fingerprint(&t, false);
        let text = serde_json::to_string(&f).unwrap_or_default();
        let back: Fingerprint = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, f);
    }
}
