//! Security: no value from a caltable or params reaches a shell, only one library function
//! starts processes, and new registries are not writable by other users.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::*;

#[test]
fn shell_metacharacters_in_paths_and_params_run_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("reg.sqlite3");
    let marker = dir.path().join("pwned");
    let evil_table = format!(
        "{}/x$(touch {})`touch {}`;touch {}_gacal",
        dir.path().display(),
        marker.display(),
        marker.display(),
        marker.display()
    );
    std::fs::create_dir_all(&evil_table).unwrap();
    register(&db, "s", &evil_table, "GA", "40");
    let params = format!(
        r#"{{"vis": "$(touch {m})", "caltable": "`touch {m}`; touch {m}", "field": "'; import os; os.system('touch {m}') #"}}"#,
        m = marker.display()
    );
    let out = calprov(
        &db,
        &[
            "track",
            "--caltable",
            &evil_table,
            "--ms",
            &format!("/d/$(touch {})", marker.display()),
            "--task",
            "gaincal",
            "--params",
            &params,
        ],
    );
    assert!(out.status.success());
    assert!(!marker.exists(), "a shell ran");
    let shown = stdout_json(&calprov(&db, &["show", &evil_table, "--json"]))["data"].clone();
    assert_eq!(shown["path"], evil_table.as_str());
}

#[test]
fn only_the_process_module_starts_processes() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut offenders = Vec::new();
    for lib in [
        "calprov-schema",
        "calprov-metrics",
        "calprov-casa",
        "calprov-core",
        "calprov-py",
    ] {
        let mut stack = vec![crates.join(lib).join("src")];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("calprov-casa/src/process.rs")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if text.contains("Command::new") || text.contains("process::Command") {
                        offenders.push(path.display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "processes started outside calprov_casa::process: {offenders:?}"
    );
}

#[test]
fn new_registries_are_not_writable_by_others() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state/deeper/reg.sqlite3");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 000 && exec \"{}\" --db \"{}\" init",
            calprov_bin().display(),
            db.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file_mode = std::fs::metadata(&db).unwrap().permissions().mode() & 0o777;
    let dir_mode = std::fs::metadata(db.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(file_mode & 0o022, 0, "registry file mode {file_mode:o}");
    assert_eq!(dir_mode & 0o022, 0, "registry directory mode {dir_mode:o}");
}
