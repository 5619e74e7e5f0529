//! The Python pipeline's own access pattern (sqlite3 + json, standard library only) on
//! registries calprov adopted and wrote.

use std::process::Command;

use crate::support::calprov_bin;

#[test]
fn python_pipeline_reads_and_writes_registries_calprov_adopted() {
    let work = tempfile::tempdir().unwrap();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/python/pipeline_client.py"
    );
    let mut cmd = Command::new("python3");
    cmd.arg(script)
        .arg(calprov_bin())
        .arg(work.path())
        .arg("500");
    crate::support::clean_env(&mut cmd);
    let out = cmd
        .output()
        .expect("python3 must be installed to run the compatibility test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all python compatibility checks passed"),
        "{stdout}"
    );
    assert_eq!(stdout.matches("ok adoption").count(), 4, "{stdout}");
}
