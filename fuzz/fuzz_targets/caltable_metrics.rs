//! Opening a caltable and extracting metrics from mutated table files, seeded with the real
//! caltables: the first byte picks the file (table.dat, table.f0, table.f0i) and the rest
//! replaces it. Every outcome is an `Ok` with consistent counts or an `Err` naming the table,
//! the parallel read agrees with the sequential one, and the read from memory (what a table
//! this small gets) with the read through casacure's mapped files when both succeed.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use calprov_metrics::fingerprint::table_fingerprint;
use calprov_metrics::reader::{read_caltable_mapped, read_caltable_with};
use calprov_metrics::{QaThresholds, extract_metrics};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 3] = ["table.dat", "table.f0", "table.f0i"];

fn template() -> &'static (tempfile::TempDir, PathBuf) {
    static TEMPLATE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = dir.path().join("fuzz_gacal");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/caltables/sim_gacal");
        std::fs::create_dir(&table).expect("mkdir");
        for file in ["table.dat", "table.f0", "table.f0i", "table.info"] {
            std::fs::copy(source.join(file), table.join(file)).expect("copy");
        }
        (dir, table)
    })
}

fuzz_target!(
    init: {
        // libfuzzer-sys turns every panic into an abort, even one the reader guard catches.
        // calprov promises that no panic *escapes* `extract_metrics` (casacure's own panics on
        // damaged files become `Error::Damaged`), so the reader's panics are not fatal here;
        // one that escaped would still abort through libfuzzer-sys's own catch_unwind.
        std::panic::set_hook(Box::new(|info| {
            if !info.location().is_some_and(|l| l.file().contains("casacure")) {
                eprintln!("{info}");
            }
        }));
    },
    |data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else { return };
    let (_dir, table) = template();
    let file = FILES[usize::from(selector) % FILES.len()];
    let original = std::fs::read(table.join(file)).expect("read template file");
    std::fs::write(table.join(file), content).expect("write mutated file");
    let result = extract_metrics(table, &QaThresholds::default(), 0.0);
    // The parallel read (chunks decoded in place when every cell has row 0's shape, else
    // appended) reads what the sequential one reads, or fails as it does.
    let sequential = read_caltable_with(table, Some(false));
    let parallel = read_caltable_with(table, Some(true));
    let mapped = read_caltable_mapped(table, Some(false));
    std::fs::write(table.join(file), &original).expect("restore template file");
    match (&sequential, &parallel) {
        // Compared by digests: NaN cells are equal bytes, not equal floats.
        (Ok(s), Ok(p)) => assert_eq!(table_fingerprint(s, false), table_fingerprint(p, false)),
        (Err(_), Err(_)) => {}
        _ => panic!("sequential and parallel reads disagree: {:?} / {:?}", sequential.is_ok(), parallel.is_ok()),
    }
    // casacure's open checks parts of a table the in-memory parse does not need (and the
    // other way round), so only two reads that both succeed must agree.
    if let (Ok(s), Ok(m)) = (&sequential, &mapped) {
        assert_eq!(table_fingerprint(s, false), table_fingerprint(m, false), "in-memory and mapped reads disagree");
    }
    match result {
        Ok(m) => {
            if let (Some(t), Some(n)) = (m.n_flag_true, m.n_flag_cells) {
                assert!(t <= n);
            }
            assert!(m.n_antennas <= m.n_solutions && m.n_times <= m.n_solutions);
        }
        Err(err) => assert!(err.to_string().contains("fuzz_gacal"), "error does not name the table: {err}"),
    }
    }
);
