//! `export --all` as PROV-JSON on the synthetic 1M-caltable registry (`lineage_fixture.rs`:
//! 1M solves, 4M inputs, 1M applications, 1.05M MSes; about 12M records), in-process, into a
//! sink that counts the bytes (the disk's write speed is not the export's). Baseline in the
//! same run: one plain scan of the rows the export reads (solves with their parameters,
//! inputs, applications and their tables).
//!
//! One measured run first, always: the scan baseline and one export timed, the process's
//! high-water mark (`VmHWM`) reset through `/proc/self/clear_refs` before the export and read
//! after it; the figures go to `target/criterion/export/peak_rss.json`, which `cargo xtask
//! bench` checks (peak memory budget: 200 MB) and reports. A full export takes about a minute
//! on the reference machine, so criterion's ten samples run only outside quick mode.

#![allow(missing_docs)]

use std::io::{self, Write};
use std::time::Duration;

use calprov_benches::lineage_registry;
use calprov_core::Registry;
use calprov_core::export::{ExportFormat, ExportRequest, ExportScope, export};
use criterion::{Criterion, criterion_group, criterion_main};

const N: usize = 1_000_000;

/// Counts what would be written.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn export_all(registry: &Registry) -> u64 {
    let request = ExportRequest {
        scope: ExportScope::All,
        upstream: false,
        downstream: false,
        format: ExportFormat::ProvJson,
    };
    let mut sink = io::BufWriter::with_capacity(1 << 20, CountingSink(0));
    export(registry, &request, &mut sink, "sink").expect("export");
    sink.into_inner().map(|s| s.0).unwrap_or(0)
}

fn scan_baseline(db: &std::path::Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open");
    let mut total = 0;
    for sql in [
        "SELECT sum(length(caltable_path) + length(params) + length(command) + length(source_ms_path)) FROM calprov_solves",
        "SELECT sum(length(path) + idx) FROM calprov_solve_inputs",
        "SELECT sum(length(ms_path) + length(params) + length(command)) FROM calprov_applications",
        "SELECT sum(length(caltable_path) + idx) FROM calprov_application_tables",
    ] {
        total += conn
            .query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .expect("scan")
            .unwrap_or(0);
    }
    total
}

/// `VmHWM` of this process, in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// The scan baseline and one export, timed, with the high-water mark reset before the
/// export: its own peak.
fn measure_once(db: &std::path::Path, registry: &Registry) {
    let started = std::time::Instant::now();
    scan_baseline(db);
    let scan_s = started.elapsed().as_secs_f64();
    let reset = std::fs::write("/proc/self/clear_refs", "5");
    let started = std::time::Instant::now();
    let bytes = export_all(registry);
    let export_s = started.elapsed().as_secs_f64();
    let peak = peak_rss_mb();
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/criterion/export");
    let _ = std::fs::create_dir_all(&dir);
    let report = serde_json::json!({
        "peak_rss_mb": peak,
        "high_water_mark_reset": reset.is_ok(),
        "bytes": bytes,
        "export_s": export_s,
        "scan_baseline_s": scan_s,
        "caltables": N,
    });
    let _ = std::fs::write(dir.join("peak_rss.json"), report.to_string());
}

fn bench(c: &mut Criterion) {
    let (db, _) = lineage_registry(N);
    let registry = Registry::open(&db).expect("open");
    measure_once(&db, &registry);
    if std::env::var_os("CALPROV_BENCH_QUICK").is_some() {
        return;
    }
    let mut group = c.benchmark_group("export");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("scan_baseline/1000000", |b| b.iter(|| scan_baseline(&db)));
    group.bench_function("all_prov_json/1000000", |b| {
        b.iter(|| export_all(&registry))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
