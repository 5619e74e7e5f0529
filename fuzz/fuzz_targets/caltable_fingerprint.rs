//! Fingerprinting mutated tables, subtables included, seeded with the real `sim_gacal`: the
//! first byte picks the file (the main table's or a subtable's) and the rest replaces it.
//! Every outcome is an `Ok` whose comparison with the intact table gives verdicts, or an
//! `Err` naming the table; never a panic or an abort.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use calprov_metrics::fingerprint::{Fingerprint, Group, compare};
use calprov_metrics::{QaThresholds, extract};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 9] = [
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

struct Template {
    _dir: tempfile::TempDir,
    table: PathBuf,
    fingerprint: Fingerprint,
    groups: Vec<Group>,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("list") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

fn template() -> &'static Template {
    static TEMPLATE: OnceLock<Template> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let table = dir.path().join("fuzz_gacal");
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/caltables/sim_gacal");
        copy_tree(&source, &table);
        let intact = extract(&table, &QaThresholds::default(), 0.0).expect("the template reads");
        Template {
            fingerprint: intact.metrics.fingerprint.expect("fingerprinted"),
            groups: intact.groups,
            table,
            _dir: dir,
        }
    })
}

fuzz_target!(
    init: {
        // As in caltable_metrics: the reader's own panics are caught by calprov's guard;
        // one that escaped would still abort through libfuzzer-sys's catch_unwind.
        std::panic::set_hook(Box::new(|info| {
            if !info.location().is_some_and(|l| l.file().contains("casacure")) {
                eprintln!("{info}");
            }
        }));
    },
    |data: &[u8]| {
    let Some((&selector, content)) = data.split_first() else { return };
    let t = template();
    let file = t.table.join(FILES[usize::from(selector) % FILES.len()]);
    let original = std::fs::read(&file).expect("read template file");
    std::fs::write(&file, content).expect("write mutated file");
    let result = extract(&t.table, &QaThresholds::default(), 0.0);
    std::fs::write(&file, &original).expect("restore template file");
    match result {
        Ok(e) => {
            let current = e.metrics.fingerprint.expect("a read table is fingerprinted");
            let c = compare(&t.fingerprint, Some(&t.groups), &current, || e.groups.clone());
            assert!(!c.verdicts.is_empty());
            assert_eq!(current.n_rows, e.metrics.n_solutions);
        }
        Err(err) => assert!(err.to_string().contains("fuzz_gacal"), "error does not name the table: {err}"),
    }
    }
);
