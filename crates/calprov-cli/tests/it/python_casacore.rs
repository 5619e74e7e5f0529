//! The synthetic caltables read by python-casacore, and its numbers against calprov's.
//!
//! Needs a Python with python-casacore and numpy: set `CALPROV_CASACORE_PYTHON` to it
//! (`.ci/run` creates one). Without it the test reports that it did not run.

use std::process::Command;

use crate::support::*;

#[test]
fn python_casacore_reads_generated_tables_with_the_same_metrics() {
    let Some(python) = std::env::var_os("CALPROV_CASACORE_PYTHON") else {
        eprintln!("CALPROV_CASACORE_PYTHON is not set: python-casacore comparison not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (kind, rows) in [("gain", "3000"), ("delay", "56"), ("bandpass", "28")] {
        let out_dir = dir.path().join(format!("gen_{kind}"));
        let mut gen_cmd = Command::new(calprov_bin());
        clean_env(&mut gen_cmd);
        let out = gen_cmd
            .args(["gen-caltable", "--rows", rows, "--kind", kind, "--out"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ours = stdout_json(&calprov(
            &dir.path().join("unused.sqlite3"),
            &["metrics", "--json", out_dir.to_str().unwrap()],
        ))["data"]
            .clone();
        let script = "import json, sys\nimport numpy as np\nfrom casacore.tables import table\nt = table(sys.argv[1], ack=False)\nflag = t.getcol('FLAG'); snr = t.getcol('SNR').astype(np.float64)\nkw = t.getkeywords()\nprint(json.dumps({'n': t.nrows(), 'flagged': float(flag.mean()), 'snr_mean': float(snr.mean()), 'snr_median': float(np.median(snr)), 'ants': int(len(np.unique(t.getcol('ANTENNA1')))), 'viscal': kw['VisCal'], 'version': kw['CASA_Version']}))";
        let out = Command::new(&python)
            .args(["-c", script])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python-casacore cannot read {kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let close = |a: &serde_json::Value, b: &serde_json::Value| {
            (a.as_f64().unwrap() - b.as_f64().unwrap()).abs()
                <= 1e-9 * a.as_f64().unwrap().abs().max(1.0)
        };
        assert_eq!(theirs["n"], ours["n_solutions"], "{kind}");
        assert!(
            close(&theirs["flagged"], &ours["flagged_fraction"]),
            "{kind}: {theirs} vs {ours}"
        );
        assert!(
            close(&theirs["snr_mean"], &ours["snr_mean"]),
            "{kind}: {theirs} vs {ours}"
        );
        assert!(
            close(&theirs["snr_median"], &ours["snr_median"]),
            "{kind}: {theirs} vs {ours}"
        );
        assert_eq!(theirs["ants"], ours["n_antennas"]);
        assert_eq!(theirs["viscal"], ours["vis_cal"]);
        assert_eq!(theirs["version"], ours["casa_version"]);
    }
}
