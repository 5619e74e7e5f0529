//! Golden metrics of the real caltables.

use calprov_metrics::{QaThresholds, extract_metrics};
use serde_json::Value;

use crate::{TABLES, testdata};

fn close(a: f64, b: f64) -> bool {
    a == b || ((a - b).abs() <= 1e-9 * a.abs().max(b.abs()))
}

#[test]
fn metrics_equal_the_golden_values_of_every_real_caltable() {
    for table in TABLES {
        let golden: Value = serde_json::from_str(
            &std::fs::read_to_string(testdata().join(format!("{table}.metrics.json"))).unwrap(),
        )
        .unwrap();
        let metrics =
            extract_metrics(&testdata().join(table), &QaThresholds::default(), 0.0).unwrap();
        let ours = serde_json::to_value(&metrics).unwrap();
        let mut compared = 0;
        for (key, expected) in golden.as_object().unwrap() {
            if key == "table" || key == "metrics_backend" {
                continue;
            }
            let got = ours.get(key).unwrap_or(&Value::Null);
            match (expected, got) {
                (Value::Number(e), Value::Number(g)) if e.is_f64() || g.is_f64() => {
                    assert!(
                        close(e.as_f64().unwrap(), g.as_f64().unwrap()),
                        "{table}.{key}: golden {e}, ours {g}"
                    );
                }
                _ => assert_eq!(expected, got, "{table}.{key}"),
            }
            compared += 1;
        }
        assert!(compared >= 20, "{table}: only {compared} keys compared");
    }
}

#[test]
fn verdicts_of_the_real_caltables() {
    let t = QaThresholds::default();
    let k = extract_metrics(&testdata().join("sim_kcal"), &t, 0.0).unwrap();
    assert!(k.qa_passed, "{:?}", k.issues);
    assert!(
        k.warnings
            .iter()
            .any(|w| w.contains("SNR is not available")),
        "{:?}",
        k.warnings
    );
    let flagged = extract_metrics(&testdata().join("sim_flagged_gpcal"), &t, 0.0).unwrap();
    assert!(!flagged.qa_passed);
    assert!(
        flagged.issues.iter().any(|i| i.contains("flagged")),
        "{:?}",
        flagged.issues
    );
    let ga = extract_metrics(&testdata().join("sim_gacal"), &t, 0.0).unwrap();
    assert!(ga.qa_passed, "{:?}", ga.issues);
    let strict = QaThresholds {
        snr_issue: 20.0,
        ..QaThresholds::default()
    };
    assert!(
        !extract_metrics(&testdata().join("sim_gacal"), &strict, 0.0)
            .unwrap()
            .qa_passed
    );
    assert_eq!(ga.casa_version.as_deref(), Some("6.7.0-31"));
    assert_eq!(ga.ms_name.as_deref(), Some("sim_small.ms"));
}
