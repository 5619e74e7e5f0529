//! Inputs the fuzzers found, kept as tests. Each file is a `caltable_metrics` fuzz input:
//! one selector byte (0 table.dat, 1 table.f0, 2 table.f0i) and the file's new content.
//! A `timeout-` input once kept the reader busy for minutes: it must now fail at once.

use std::path::Path;

use calprov_metrics::{Error, QaThresholds, extract_metrics};

use crate::testdata;

const FILES: [&str; 3] = ["table.dat", "table.f0", "table.f0i"];

#[test]
fn fuzz_findings_are_clear_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        let (selector, content) = input.split_first().unwrap();
        let work = tempfile::tempdir().unwrap();
        let table = work.path().join("fuzz_gacal");
        std::fs::create_dir(&table).unwrap();
        for file in ["table.dat", "table.f0", "table.f0i", "table.info"] {
            std::fs::copy(testdata().join("sim_gacal").join(file), table.join(file)).unwrap();
        }
        std::fs::write(table.join(FILES[usize::from(*selector) % 3]), content).unwrap();
        match extract_metrics(&table, &QaThresholds::default(), 0.0) {
            // Caught before the reader allocates or panics: the validation names the count.
            Err(Error::Damaged { reason, .. }) => {
                assert!(
                    reason.contains("claims") || reason.contains("bucket index"),
                    "{name}: not caught by validation: {reason}"
                );
                // The hang was an index-bucket count beyond the file: caught by that check,
                // before anything walks the chain.
                if name.starts_with("timeout-") {
                    assert!(
                        reason.contains("index buckets in a file of"),
                        "{name}: {reason}"
                    );
                }
            }
            other => panic!("{name}: expected a damaged-table error, got {other:?}"),
        }
        n += 1;
    }
    assert!(n >= 1);
}

/// `caltable_fingerprint` fuzz inputs: the selector byte picks a main-table or subtable file
/// (the target's list). A FIELD/table.f0i record claiming billions of dimensions once made
/// casacure allocate 7 GB: the subtable is now `unreadable`, the rest still fingerprinted.
#[test]
fn fingerprint_fuzz_findings_leave_the_subtable_unreadable() {
    const FINGERPRINT_FILES: [&str; 9] = [
        "table.dat",
        "table.f0",
        "table.f0i",
        "ANTENNA/table.dat",
        "ANTENNA/table.f0",
        "FIELD/table.dat",
        "FIELD/table.f0",
        "FIELD/table.f0i",
        "SPECTRAL_WINDOW/table.f0",
    ];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fingerprint-fuzz-regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        let (selector, content) = input.split_first().unwrap();
        let work = tempfile::tempdir().unwrap();
        let table = work.path().join("fuzz_gacal");
        copy_tree(&testdata().join("sim_gacal"), &table);
        let file = FINGERPRINT_FILES[usize::from(*selector) % FINGERPRINT_FILES.len()];
        std::fs::write(table.join(file), content).unwrap();
        let extracted = calprov_metrics::extract(&table, &QaThresholds::default(), 0.0).unwrap();
        let fingerprint = extracted.metrics.fingerprint.unwrap();
        let subtable = file.split('/').next().unwrap();
        assert!(
            fingerprint.subtables[subtable].starts_with("unreadable: "),
            "{file}: {}",
            fingerprint.subtables[subtable]
        );
        n += 1;
    }
    assert!(n >= 1);
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
