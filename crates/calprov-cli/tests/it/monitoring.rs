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
                .contains(".partial-"))
            .count(),
        0
    );
}

/// Five tracked solves and two calls on an unregistered caltable: the rates add up to 100%,
/// not being registered is a failure, `check` alerts on it, and Prometheus says the same.
#[test]
fn not_registered_counts_as_a_failure_and_the_rates_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let track = |caltable: &str| {
        let out = calprov(
            &db,
            &[
                "track",
                "--caltable",
                caltable,
                "--source-ms",
                "/d.ms",
                "--solver-version",
                "6.7.0.31",
            ],
        );
        assert!(out.status.success());
    };
    for i in 0..5 {
        let path = format!("/c/t{i}_gacal");
        register(&db, "s", &path, "GA", "40");
        track(&path);
    }
    track("/c/unregistered");
    track("/c/unregistered");

    let stats = stdout_json(&calprov(&db, &["stats", "--json"]))["data"].clone();
    let rate = |name: &str| stats[name].as_f64().unwrap();
    assert!((rate("success_rate") - 5.0 / 7.0).abs() < 1e-12, "{stats}");
    assert_eq!(rate("partial_rate"), 0.0, "{stats}");
    assert!((rate("failure_rate") - 2.0 / 7.0).abs() < 1e-12, "{stats}");
    assert!(
        (rate("success_rate") + rate("partial_rate") + rate("failure_rate") - 1.0).abs() < 1e-12
    );
    assert_eq!(stats["by_failure_kind"]["not_registered"], 2, "{stats}");

    let alert = calprov(&db, &["check", "--max-failure-rate", "0"]);
    assert_eq!(alert.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&alert.stderr).contains("recorded no provenance"));
    let partial = calprov(&db, &["check", "--max-partial-rate", "0"]);
    assert_eq!(partial.status.code(), Some(0));

    let prom = dir.path().join("calprov.prom");
    assert!(
        calprov(&db, &["export-prom", prom.to_str().unwrap()])
            .status
            .success()
    );
    let text = std::fs::read_to_string(&prom).unwrap();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let gauge = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} missing from {text}"))
    };
    assert_eq!(
        gauge("calprov_tracking_success_ratio"),
        rate("success_rate")
    );
    assert_eq!(
        gauge("calprov_tracking_partial_ratio"),
        rate("partial_rate")
    );
    assert_eq!(
        gauge("calprov_tracking_failure_ratio"),
        rate("failure_rate")
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "calprov_tracking_failures_total"
                && s.labels.get("kind") == Some("not_registered")
                && matches!(s.value, prometheus_parse::Value::Counter(v) if v == 2.0))
    );
}
