//! Per-antenna and per-spw quality of the real caltables against goldens computed by an
//! independent reader (`testdata/caltables/breakdown_goldens.py`: python-casacore + numpy).

use calprov_metrics::{QaThresholds, extract_metrics};
use serde_json::Value;

use crate::{TABLES, testdata};

fn close(a: f64, b: f64) -> bool {
    a == b || ((a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
}

/// Compares two JSON values: numbers within 1e-9 (relative), everything else exactly, and
/// every key of the golden present in ours.
fn assert_matches(golden: &Value, ours: &Value, at: &str) {
    match (golden, ours) {
        (Value::Number(g), Value::Number(o)) => assert!(
            close(g.as_f64().unwrap(), o.as_f64().unwrap()),
            "{at}: golden {g}, ours {o}"
        ),
        (Value::Object(g), Value::Object(o)) => {
            assert_eq!(
                g.keys().collect::<Vec<_>>(),
                o.keys().collect::<Vec<_>>(),
                "{at}: keys"
            );
            for (k, v) in g {
                assert_matches(v, &o[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(g), Value::Array(o)) => {
            assert_eq!(g.len(), o.len(), "{at}: length");
            for (i, (gv, ov)) in g.iter().zip(o).enumerate() {
                assert_matches(gv, ov, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(golden, ours, "{at}"),
    }
}

#[test]
fn breakdowns_equal_the_golden_values_of_every_real_caltable() {
    for table in TABLES {
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(testdata().join(format!("{table}.breakdown.json"))).unwrap(),
        )
        .unwrap();
        let metrics =
            extract_metrics(&testdata().join(table), &QaThresholds::default(), 0.0).unwrap();
        let ours = serde_json::to_value(&metrics).unwrap();
        for key in ["by_antenna", "by_spw", "flag_grid"] {
            assert_matches(&golden[key], &ours[key], &format!("{table}.{key}"));
        }
        assert_eq!(
            metrics.by_antenna.len() as u64,
            metrics.n_antennas,
            "{table}"
        );
        assert_eq!(metrics.by_spw.len() as u64, metrics.n_spws, "{table}");
    }
}

#[test]
fn the_goldens_are_what_python_casacore_computes() {
    let Some(python) = std::env::var_os("CALPROV_CASACORE_PYTHON") else {
        let required = std::env::var_os("CALPROV_REQUIRE_TOOLS").is_some_and(|v| v == "1");
        assert!(!required, "CALPROV_CASACORE_PYTHON is required");
        eprintln!("CALPROV_CASACORE_PYTHON is not set: the goldens were not recomputed");
        return;
    };
    let out = std::process::Command::new(python)
        .arg(testdata().join("breakdown_goldens.py"))
        .arg("--check")
        .arg(testdata())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_verdict_names_the_flagged_antennas_and_spws() {
    let t = QaThresholds::default();
    let flagged = extract_metrics(&testdata().join("sim_flagged_gpcal"), &t, 0.0).unwrap();
    assert!(!flagged.qa_passed);
    // Antenna 8 is the most flagged of that table (95.0%, in the golden).
    assert!(
        flagged
            .issues
            .iter()
            .any(|i| i == "antenna 8: 95.0% flagged"),
        "{:?}",
        flagged.issues
    );
    assert!(
        flagged.issues.iter().any(|i| i == "spw 1: 89.4% flagged"),
        "{:?}",
        flagged.issues
    );
    // A table that passes names no group: none is over the thresholds.
    let good = extract_metrics(&testdata().join("sim_gacal"), &t, 0.0).unwrap();
    assert!(good.qa_passed);
    assert!(
        !good.warnings.iter().any(|w| w.starts_with("antenna")),
        "{:?}",
        good.warnings
    );
}
