//! Synthetic caltables read back with the layout of real ones.

use calprov_metrics::reader::read_caltable;
use calprov_metrics::synthetic::{SyntheticKind, SyntheticSpec, write_synthetic_caltable};
use calprov_metrics::{QaThresholds, compute_metrics_with};

#[test]
fn synthetic_tables_read_back_with_real_layout() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, rows, chans, shape) in [
        (SyntheticKind::Gain, 2_800, 1, "[2, 1]"),
        (SyntheticKind::Delay, 56, 1, "[2, 1]"),
        (SyntheticKind::Bandpass, 28, 8, "[2, 8]"),
        (SyntheticKind::Gain, 0, 1, ""),
    ] {
        let out = dir.path().join(format!("{kind:?}-{rows}"));
        let spec = SyntheticSpec {
            kind,
            channels: chans,
            ..SyntheticSpec::gain(rows)
        };
        write_synthetic_caltable(&out, &spec).unwrap();
        let c = read_caltable(&out).unwrap();
        assert_eq!(c.n_rows, rows);
        let cells = rows * 2 * chans;
        assert_eq!(c.flag.as_ref().unwrap().len(), cells);
        assert_eq!(c.snr.as_ref().unwrap().len(), cells);
        if rows > 0 {
            assert_eq!(c.cell_shapes.iter().next().unwrap(), shape);
        }
        assert_eq!(c.keywords.casa_version.as_deref(), Some("6.7.0-31"));
        let m = compute_metrics_with(&c, &QaThresholds::default(), 0.0, false);
        if rows > 0 {
            assert_eq!(m.n_antennas, 14);
            assert_eq!(m.n_spws, 2);
        }
        if kind == SyntheticKind::Delay {
            assert_eq!(m.n_snr_zero, Some(cells as u64));
            assert!(c.fparam.is_some());
        }
        // Reading in parallel gives the same columns and metrics.
        let par = compute_metrics_with(&c, &QaThresholds::default(), 0.0, true);
        assert_eq!(m, par);
    }
    assert!(
        write_synthetic_caltable(&dir.path().join("Gain-2800"), &SyntheticSpec::gain(1)).is_err()
    );
}

#[test]
fn parallel_reading_equals_sequential_reading() {
    use calprov_metrics::reader::read_caltable_with;
    let dir = tempfile::tempdir().unwrap();
    // Above the parallel threshold and not a multiple of the read chunk.
    for (kind, channels) in [(SyntheticKind::Gain, 1), (SyntheticKind::Bandpass, 4)] {
        let out = dir.path().join(format!("{kind:?}"));
        let spec = SyntheticSpec {
            kind,
            channels,
            ..SyntheticSpec::gain(123_457)
        };
        write_synthetic_caltable(&out, &spec).unwrap();
        let parallel = read_caltable_with(&out, Some(true)).unwrap();
        let sequential = read_caltable_with(&out, Some(false)).unwrap();
        assert_eq!(parallel, sequential);
        assert_eq!(
            parallel.flag.as_ref().unwrap().len(),
            123_457 * 2 * channels
        );
        assert_eq!(parallel.time.len(), 123_457);
    }
}
