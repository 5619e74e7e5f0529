//! `stats`, `check` and `export-prom`, the textfile parsed by a third-party Prometheus parser.

use crate::support::*;

#[test]
fn check_alerts_and_prometheus_file_parses() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    register(&db, "s", "/c/a_kcal", "K", "10");
    register(&db, "s", "/c/b_gacal", "GA", "40");
    // One partial (missing table), one not registered.
    let args = [
        "track",
        "--caltable",
        "/c/a_kcal",
        "--ms",
        "/d.ms",
        "--task",
        "gaincal",
        "--params",
        "{}",
    ];
    assert!(calprov(&db, &args).status.success());
    assert!(
        calprov(
            &db,
            &[
                "track",
                "--caltable",
                "/c/none",
                "--ms",
                "/d.ms",
                "--task",
                "gaincal",
                "--params",
                "{}"
            ]
        )
        .status
        .success()
    );

    let ok = calprov(
        &db,
        &[
            "check",
            "--max-failure-rate",
            "0.5",
            "--min-coverage",
            "0.5",
        ],
    );
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let alert = calprov(&db, &["check", "--min-coverage", "0.9"]);
    assert_eq!(alert.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&alert.stderr).contains("1 of 2 registered caltables"));

    let prom = dir.path().join("calprov.prom");
    let out = calprov(&db, &["export-prom", prom.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| s.value.clone())
    };
    assert!(
        matches!(value("calprov_tracking_calls_total", Some(("outcome", "partial"))), Some(prometheus_parse::Value::Counter(v)) if v == 1.0)
    );
    assert!(
        matches!(value("calprov_tracking_calls_total", Some(("outcome", "not_registered"))), Some(prometheus_parse::Value::Counter(v)) if v == 1.0)
    );
    assert!(
        matches!(value("calprov_provenance_coverage_ratio", None), Some(prometheus_parse::Value::Gauge(v)) if v == 0.5)
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "calprov_tracking_latency_seconds"
                && matches!(&s.value, prometheus_parse::Value::Histogram(h) if !h.is_empty())),
        "no latency histogram in {text}"
    );
    assert!(
        text.lines().all(|l| !l.starts_with("# EOF")),
        "OpenMetrics-only marker"
    );
    // No temporary file left behind.
    assert_eq!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e
                .as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp"))
            .count(),
        0
    );
}
