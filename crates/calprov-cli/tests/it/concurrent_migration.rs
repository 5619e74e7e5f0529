//! Many OS processes migrating one registry at the same moment.

use std::process::{Command, Stdio};

use crate::support::*;

const PROCESSES: usize = 16;
const TRIALS_PER_SHAPE: usize = 6;
const ROWS: usize = 2_000;

#[test]
fn sixteen_processes_migrating_together_leave_the_single_run_schema() {
    let shapes = [
        Shape::Empty,
        Shape::Legacy,
        Shape::Partial(2),
        Shape::CurrentPython,
        Shape::Calprov,
    ];
    let work = tempfile::tempdir().unwrap();
    let mut trials = 0;
    for shape in shapes {
        // The reference: one process migrating a file of the same shape alone.
        let reference = work.path().join(format!("{shape:?}-reference.sqlite3"));
        create_shape(&reference, shape, ROWS);
        assert!(calprov(&reference, &["init"]).status.success());
        let expected_schema = schema_sql(&reference);
        assert_eq!(columns(&reference).len(), 17);
        for trial in 0..TRIALS_PER_SHAPE {
            let db = work.path().join(format!("{shape:?}-{trial}.sqlite3"));
            create_shape(&db, shape, ROWS);
            let expected_rows = match shape {
                Shape::Empty => 0,
                Shape::Calprov => 0,
                _ => ROWS as i64,
            };
            let children: Vec<_> = (0..PROCESSES)
                .map(|_| {
                    let mut cmd = Command::new(calprov_bin());
                    cmd.arg("--db")
                        .arg(&db)
                        .arg("init")
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped());
                    clean_env(&mut cmd);
                    cmd.spawn().unwrap()
                })
                .collect();
            for child in children {
                let out = child.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "{shape:?} trial {trial}: a process failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            assert_eq!(schema_sql(&db), expected_schema, "{shape:?} trial {trial}");
            assert_eq!(count(&db, "SELECT count(*) FROM caltables"), expected_rows);
            // One row per migration file: each applied exactly once.
            assert_eq!(
                count(&db, "SELECT count(*) FROM refinery_schema_history"),
                calprov_core::schema_version()
            );
            assert_eq!(
                count(
                    &db,
                    "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"
                ),
                0
            );
            trials += 1;
        }
    }
    assert_eq!(trials, shapes.len() * TRIALS_PER_SHAPE);
}
