use proptest::prelude::*;

use crate::data::*;
use crate::{PLOT_CLASS, PLOTS, escape, render};

fn day(d: i64) -> Day {
    Day {
        day: d,
        date: format!("day{d}"),
    }
}

/// A report with something in every part, and hostile text where text goes.
fn sample() -> ReportData {
    ReportData {
        generated: "2026-12-05 06:00".into(),
        registry: "/data/<registry>.sqlite3".into(),
        totals: Totals {
            caltables: 10,
            with_provenance: 7,
            ..Totals::default()
        },
        coverage: vec![CoverageSeries {
            set: "set&1".into(),
            points: vec![
                CoveragePoint {
                    day: day(20000),
                    registered: 4,
                    with_provenance: 2,
                },
                CoveragePoint {
                    day: day(20001),
                    registered: 6,
                    with_provenance: 5,
                },
            ],
        }],
        qa: vec![QaDay {
            day: day(20001),
            assessed: 5,
            passed: 4,
        }],
        flagged_fraction: Histogram::of([0.01, 0.05, 0.9], 0.0, 1.0, 20),
        heatmap: Some(Heatmap {
            set: "set&1".into(),
            caltables: 2,
            antennas: vec![0, 1, 2],
            spws: vec![0, 1],
            flagged: vec![vec![0, 1], vec![2, 2], vec![0, 0]],
            cells: vec![vec![2, 2], vec![2, 2], vec![0, 2]],
        }),
        latency_ms: Histogram::of([1.2, 1.4, 9.0], 0.0, 10.0, 20),
        casa_versions: vec![VersionSeries {
            version: "6.7.0.31".into(),
            points: vec![VersionPoint {
                day: day(20001),
                solves: 3,
            }],
        }],
        latest_failures: vec![Failure {
            at: "2026-12-05".into(),
            caltable: "/cal/<script>alert(1)</script>".into(),
            outcome: "failed".into(),
            kind: Some("busy".into()),
            message: Some("database is locked".into()),
        }],
        changed_tables: vec![Changed {
            caltable: "/cal/x.G".into(),
            verdicts: "flags_edited".into(),
            detail: None,
        }],
        verified: true,
        ..ReportData::default()
    }
}

fn plots_in(page: &str) -> usize {
    page.matches(&format!("<div class=\"{PLOT_CLASS}\"><svg"))
        .count()
}

#[test]
fn every_plot_is_inline_svg_and_nothing_is_loaded() {
    for data in [sample(), ReportData::default()] {
        let page = render(&data).unwrap();
        assert_eq!(plots_in(&page), PLOTS);
        assert!(!page.contains("<script"), "a script in the page");
        assert!(!page.contains("<?xml"));
        for attr in ["src=", "href=", "url(", "@import", "@font-face"] {
            assert!(!page.contains(attr), "{attr} in the page");
        }
        assert!(page.contains("Content-Security-Policy"));
    }
}

#[test]
fn text_from_the_registry_is_escaped() {
    let page = render(&sample()).unwrap();
    assert!(page.contains("/cal/&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("/data/&lt;registry&gt;.sqlite3"));
    assert!(page.contains("set&amp;1"));
}

#[test]
fn the_heatmap_draws_one_cell_per_pair() {
    let svg = crate::plots::heatmap(sample().heatmap.as_ref()).unwrap();
    // Antenna 1, spw 0: all flagged (pure red); antenna 2, spw 0: no cells (grey).
    assert!(
        svg.contains("#FF0000") || svg.contains("rgb(255,0,0)"),
        "{svg}"
    );
    assert!(svg.contains("#DCDCDC") || svg.contains("rgb(220,220,220)"));
}

#[test]
fn the_json_document_round_trips() {
    let data = sample();
    let text = serde_json::to_string(&data).unwrap();
    let back: ReportData = serde_json::from_str(&text).unwrap();
    assert_eq!(back, data);
}

proptest! {
    #[test]
    fn escaped_text_has_no_markup_and_reads_back(text in ".*") {
        let e = escape(&text);
        prop_assert!(!e.contains('<') && !e.contains('>') && !e.contains('"') && !e.contains('\''));
        let back = e
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        let expected: String = text
            .chars()
            .map(|c| if c.is_control() && c != '\n' && c != '\t' { '\u{fffd}' } else { c })
            .collect();
        prop_assert_eq!(back, expected);
    }

    #[test]
    fn a_histogram_counts_every_value_once(
        values in prop::collection::vec(prop_oneof![Just(f64::NAN), -1.0f64..2.0], 0..200),
        bins in 1usize..40,
    ) {
        let h = Histogram::of(values.iter().copied(), 0.0, 1.0, bins);
        prop_assert_eq!(h.counts.len(), bins);
        prop_assert_eq!(h.edges.len(), bins + 1);
        prop_assert_eq!(h.total() + h.outside, values.len() as u64);
    }

    #[test]
    fn any_figures_render(
        counts in prop::collection::vec((0u64..50, 0u64..50), 0..30),
        days in prop::collection::vec(prop_oneof![-5i64..40_000, Just(i64::MIN), Just(i64::MAX)], 0..30),
    ) {
        let mut data = sample();
        data.coverage[0].points = days
            .iter()
            .zip(&counts)
            .map(|(d, (a, b))| CoveragePoint { day: day(*d), registered: *a.max(b), with_provenance: *a.min(b) })
            .collect();
        data.qa.clear();
        data.heatmap = None;
        let page = render(&data).unwrap();
        prop_assert_eq!(plots_in(&page), PLOTS);
    }
}
