//! The metrics of every real CASA caltable in `testdata/caltables` against its golden
//! `<table>.metrics.json`, and the synthetic writer against the reader.

#![allow(clippy::unwrap_used, missing_docs)]

mod breakdown;
mod golden;
mod regressions;
mod synthetic;

use std::path::PathBuf;

pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/caltables")
}

pub const TABLES: [&str; 5] = [
    "sim_kcal",
    "sim_bpcal",
    "sim_gpcal",
    "sim_gacal",
    "sim_flagged_gpcal",
];
