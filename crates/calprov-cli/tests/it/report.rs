//! `calprov report` on the demo registry, loaded by a real headless Chromium (Debian's
//! `chromium`): no console error, every plot drawn, a screenshot that is not blank; and
//! `--json` gives the numbers the page shows.
//!
//! Needs `chromium` on the PATH (or `CALPROV_CHROMIUM`); `.ci/run` installs it. Without it
//! the test says it did not run, unless `CALPROV_REQUIRE_TOOLS=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// The number of plots in every report (the page's `<div class="plot">`s).
const PLOTS: usize = 6;

#[allow(clippy::print_stderr)]
fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CALPROV_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        let required = std::env::var_os("CALPROV_REQUIRE_TOOLS").is_some_and(|v| v == "1");
        assert!(!required, "chromium is required (CALPROV_REQUIRE_TOOLS=1)");
        eprintln!("chromium not found: the report was not loaded in a browser");
    }
    found
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, the console lines of its
/// log). Each run has its own profile directory, so runs never share state.
fn run_chromium(chromium: &Path, page: &Path, args: &[&str]) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| {
            l.contains("CONSOLE") || l.contains("Refused to") || l.contains("Failed to load")
        })
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&out.stdout).into_owned(), console)
}

/// The fraction of the screenshot's pixels that are not white.
fn inked_fraction(png_path: &Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let total = pixels.len() / channels;
    let inked = pixels
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|c| *c < 235))
        .count();
    inked as f64 / total as f64
}

#[test]
fn the_demo_report_loads_in_chromium_with_every_plot_and_no_console_error() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let db = demo.join("cal_registry.sqlite3");
    let mut cmd = Command::new(calprov_bin());
    clean_env(&mut cmd);
    ok(cmd.args(["demo", "--dir"]).arg(&demo).output().unwrap());
    // A failed call and a changed table, so that both lists have a row.
    let _ = calprov(
        &db,
        &[
            "track",
            "--ms",
            "/data/x.ms",
            "--caltable",
            "/nowhere/t.G",
            "--task",
            "gaincal",
            "--params",
            "{}",
        ],
    );
    std::fs::remove_dir_all(demo.join("obs1_kcal")).unwrap();

    let page = dir.path().join("report.html");
    let out = ok(calprov(
        &db,
        &["report", "--html", page.to_str().unwrap(), "--json"],
    ));
    let data = stdout_json(&out)["data"].clone();
    let html = std::fs::read_to_string(&page).unwrap();
    // The page shows the numbers --json gives.
    let totals = &data["totals"];
    assert!(
        html.contains(&format!(
            "<td>caltables</td><td>{}</td>",
            totals["caltables"]
        )),
        "{totals}"
    );
    assert!(html.contains(&format!(
        "<td>tracking calls</td><td>{}</td>",
        totals["tracking_calls"]
    )));
    assert_eq!(data["latest_failures"][0]["caltable"], "/nowhere/t.G");
    assert!(html.contains("/nowhere/t.G"));
    let changed = data["changed_tables"].as_array().unwrap();
    assert!(
        changed.iter().any(|c| c["verdicts"] == "missing"
            && c["caltable"].as_str().unwrap().ends_with("obs1_kcal")),
        "{changed:?}"
    );
    assert_eq!(data["heatmap"]["antennas"].as_array().unwrap().len(), 14);
    // Without verifying, the list says it was not checked; the figures are the same.
    let quick =
        stdout_json(&ok(calprov(&db, &["report", "--json", "--no-verify"])))["data"].clone();
    assert_eq!(
        (
            quick["verified"].as_bool(),
            quick["changed_tables"].as_array().map(Vec::len)
        ),
        (Some(false), Some(0))
    );
    assert_eq!(quick["totals"], data["totals"]);

    let Some(chromium) = chromium() else {
        return;
    };
    let (dom, console) = run_chromium(&chromium, &page, &["--dump-dom"]);
    assert!(console.is_empty(), "console errors: {console:#?}");
    assert_eq!(
        dom.matches("<div class=\"plot\"><svg").count(),
        PLOTS,
        "{dom}"
    );
    let shot = dir.path().join("report.png");
    let (_, console) = run_chromium(
        &chromium,
        &page,
        &[
            "--hide-scrollbars",
            "--window-size=1600,1500",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    assert!(console.is_empty(), "console errors: {console:#?}");
    let inked = inked_fraction(&shot);
    assert!(
        inked > 0.03,
        "the screenshot is blank: {inked:.4} of its pixels inked"
    );

    // The check above can fail: a page that loads something is reported.
    let bad = dir.path().join("bad.html");
    std::fs::write(
        &bad,
        html.replace(
            "</body>",
            "<img src=\"https://calprov.invalid/x.png\"></body>",
        ),
    )
    .unwrap();
    let (_, console) = run_chromium(&chromium, &bad, &["--dump-dom"]);
    assert!(!console.is_empty(), "a blocked load was not reported");
}

#[test]
fn absurd_times_in_the_registry_still_make_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("registry.sqlite3");
    create_shape(&db, Shape::CurrentPython, 3);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE caltables SET created_at = 1e300 WHERE id = 1; \
         UPDATE caltables SET created_at = -1e300 WHERE id = 2; \
         UPDATE caltables SET quality_metrics = '{\"qa_passed\": true, \"assessed_at\": 1e308}' WHERE id = 3;",
    )
    .unwrap();
    drop(conn);
    let page = dir.path().join("report.html");
    let out = ok(calprov(
        &db,
        &["report", "--json", "--html", page.to_str().unwrap()],
    ));
    let data = stdout_json(&out)["data"].clone();
    assert_eq!(data["totals"]["caltables"], 3);
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<div class=\"plot\"><svg").count(), PLOTS);
}
