//! PostgreSQL registries against a real server: the private cluster `.ci/postgres` starts,
//! named by `CALPROV_TEST_PG_URL`. Each test works in a database of its own. Without the
//! variable the tests say they did not run, unless `CALPROV_REQUIRE_TOOLS=1` (CI), where
//! that fails.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

use crate::lineage::chain;
use crate::support::*;

/// The tables of a registry and the columns they are ordered by (written out here rather
/// than taken from calprov, whose list is what is being tested).
const TABLES: [(&str, &str); 7] = [
    ("caltables", "id"),
    ("calprov_tracking_events", "id"),
    ("calprov_solves", "id"),
    ("calprov_solve_inputs", "solve_id, role, idx"),
    ("calprov_applications", "id"),
    ("calprov_application_tables", "application_id, idx"),
    ("calprov_solve_groups", "solve_id"),
];

/// Every row of every table of an SQLite registry, in key order.
fn sqlite_rows(db: &Path) -> Vec<(String, Vec<Vec<SqlValue>>)> {
    let conn = Connection::open(db).unwrap();
    TABLES
        .iter()
        .map(|(table, key)| {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY {key}"))
                .unwrap();
            let width = stmt.column_count();
            let rows = stmt
                .query_map([], |row| {
                    (0..width).map(|i| row.get::<_, SqlValue>(i)).collect()
                })
                .unwrap()
                .collect::<Result<Vec<Vec<SqlValue>>, _>>()
                .unwrap();
            ((*table).to_owned(), rows)
        })
        .collect()
}

#[test]
fn a_registry_copied_to_postgresql_and_back_is_the_same_registry() {
    let Some(pg) = PgDatabase::fresh("roundtrip") else {
        return;
    };
    let c = chain();
    // A re-solve, so that a caltable has two solves and its inputs pin the first.
    solve(
        &c.db,
        &c.k,
        "gaincal",
        serde_json::json!({"vis": "/data/ms1.ms", "caltable": c.k, "gaintype": "K"}),
    );
    let before = sqlite_rows(&c.db);
    assert!(
        before.iter().all(|(_, rows)| !rows.is_empty()),
        "{before:?}"
    );

    let to_pg = ok(run(
        &[
            "copy",
            "--from",
            c.db.to_str().unwrap(),
            "--to",
            &pg.url,
            "--json",
        ],
        &[],
    ));
    let summary = stdout_json(&to_pg)["data"].clone();
    let mut client = pg.client();
    for (table, rows) in &before {
        let copied = summary["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == table.as_str())
            .unwrap()["rows"]
            .as_u64()
            .unwrap();
        assert_eq!(copied as usize, rows.len(), "{table}");
        assert_eq!(pg_count(&mut client, table) as usize, rows.len(), "{table}");
        // Statistics and visibility map made by the copy, not left to autovacuum.
        let vacuumed: bool = client
            .query_one(
                "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL \
                 FROM pg_stat_user_tables WHERE relname = $1",
                &[table],
            )
            .unwrap()
            .get(0);
        assert!(
            vacuumed,
            "{table} was not vacuumed and analysed after the copy"
        );
    }
    // New rows on the server get ids past the copied ones.
    let max_solve: i64 = client
        .query_one("SELECT max(id) FROM calprov_solves", &[])
        .unwrap()
        .get(0);
    let next: i64 = client
        .query_one(
            "INSERT INTO calprov_solves (caltable_path, solved_at, origin, outcome) \
             VALUES ('/x', 0, 'tracked', 'tracked') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(next, max_solve + 1);
    client
        .execute("DELETE FROM calprov_solves WHERE id = $1", &[&next])
        .unwrap();

    let back = c.root.join("back.sqlite3");
    ok(run(
        &["copy", "--from", &pg.url, "--to", back.to_str().unwrap()],
        &[],
    ));
    assert_eq!(sqlite_rows(&back), before, "the round trip changed a row");
    // History, lineage and the PROV graph read the same from the copy.
    for args in [
        vec!["history", c.k.as_str(), "--json"],
        vec!["lineage", c.g.as_str(), "--json"],
        vec!["impact", c.k.as_str(), "--explain", "--json"],
        vec!["export", "--all", "--format", "prov-n"],
    ] {
        let original = ok(calprov(&c.db, &args)).stdout;
        let copied = ok(calprov(&back, &args)).stdout;
        assert_eq!(
            String::from_utf8_lossy(&copied),
            String::from_utf8_lossy(&original),
            "{args:?}"
        );
    }
}

#[test]
fn a_copy_into_a_registry_that_is_not_empty_changes_nothing() {
    let Some(pg) = PgDatabase::fresh("not_empty") else {
        return;
    };
    let c = chain();
    ok(run(
        &["copy", "--from", c.db.to_str().unwrap(), "--to", &pg.url],
        &[],
    ));
    let mut client = pg.client();
    let held = pg_count(&mut client, "calprov_solves");
    let again = run(
        &["copy", "--from", c.db.to_str().unwrap(), "--to", &pg.url],
        &[],
    );
    assert_eq!(again.status.code(), Some(3), "{}", text(&again));
    assert!(text(&again).contains("already holds"), "{}", text(&again));
    assert_eq!(pg_count(&mut client, "calprov_solves"), held);
}

#[test]
fn a_value_postgresql_cannot_hold_is_named_and_nothing_is_written() {
    let Some(pg) = PgDatabase::fresh("bad_value") else {
        return;
    };
    let c = chain();
    let conn = Connection::open(&c.db).unwrap();
    // SQLite keeps what a writer gives it; a REAL column holding text cannot be copied.
    let id: i64 = conn
        .query_row(
            "UPDATE caltables SET created_at = 'yesterday' WHERE path = ?1 RETURNING id",
            [&c.k],
            |r| r.get(0),
        )
        .unwrap();
    drop(conn);
    let out = run(
        &["copy", "--from", c.db.to_str().unwrap(), "--to", &pg.url],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let message = text(&out);
    assert!(
        message.contains(&format!("caltables row (id={id})"))
            && message.contains("column created_at holds text"),
        "{message}"
    );
    let mut client = pg.client();
    for (table, _) in TABLES {
        assert_eq!(pg_count(&mut client, table), 0, "{table}");
    }
}

#[test]
fn sixteen_processes_migrating_one_empty_database_migrate_it_once() {
    let Some(pg) = PgDatabase::fresh("migrate16") else {
        return;
    };
    let children: Vec<_> = (0..16)
        .map(|_| {
            let mut cmd = Command::new(calprov_bin());
            cmd.args(["--db", &pg.url, "init", "--json"]);
            clean_env(&mut cmd);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut applied = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let data = stdout_json(&ok(out))["data"].clone();
        assert_eq!(data["schema_version"], 5, "{data}");
        applied.push(data["migrations_applied"].as_array().unwrap().len());
    }
    applied.sort_unstable();
    assert_eq!(applied.iter().filter(|n| **n > 0).count(), 1, "{applied:?}");
    assert_eq!(applied.last(), Some(&5), "{applied:?}");
    let mut client = pg.client();
    let rows = client
        .query(
            "SELECT version FROM refinery_schema_history ORDER BY version",
            &[],
        )
        .unwrap();
    let versions: Vec<i32> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5]);
}

#[test]
fn the_password_is_never_printed() {
    let Some(pg) = PgDatabase::fresh("password") else {
        return;
    };
    let c = chain();
    let other = c.root.join("other.sqlite3");
    let wrong = pg.url.replace(&pg.password, "Wr0ngPassw0rdXYZ");
    let runs = [
        run(&["-vv", "--db", &pg.url, "where"], &[]),
        run(&["-vv", "--db", &pg.url, "where", "--json"], &[]),
        run(&["-vv", "--db", &pg.url, "init", "--json"], &[]),
        run(
            &[
                "-vv",
                "copy",
                "--from",
                c.db.to_str().unwrap(),
                "--to",
                &pg.url,
            ],
            &[],
        ),
        run(
            &[
                "-vv",
                "copy",
                "--from",
                &pg.url,
                "--to",
                other.to_str().unwrap(),
            ],
            &[],
        ),
        run(&["-vv", "--db", &pg.url, "show", &c.k], &[]),
        // Two variables naming different registries: the warning shows both.
        run(
            &["-vv", "where"],
            &[("PIPELINE_DB", &pg.url), ("CAL_REGISTRY_DB", &wrong)],
        ),
        run(&["-vv", "--db", &wrong, "init"], &[]),
    ];
    for out in &runs {
        let all = text(out);
        assert!(!all.contains(&pg.password), "password printed:\n{all}");
        assert!(
            !all.contains("Wr0ngPassw0rdXYZ"),
            "password printed:\n{all}"
        );
    }
    assert!(text(&runs[0]).contains(&pg.url_without_password()));
    assert!(
        text(&runs[6]).contains("CAL_REGISTRY_DB names"),
        "{}",
        text(&runs[6])
    );
    let refused = &runs[7];
    assert_eq!(refused.status.code(), Some(3), "{}", text(refused));
    assert!(text(refused).contains("auth_refused"), "{}", text(refused));
}

#[test]
fn credentials_come_from_pgpassword_or_a_private_password_file() {
    let Some(pg) = PgDatabase::fresh("credentials") else {
        return;
    };
    let bare = pg.url_without_password();
    let dir = tempfile::tempdir().unwrap();
    let passfile = dir.path().join("pgpass");
    std::fs::write(&passfile, format!("*:*:{}:*:{}\n", pg.name, pg.password)).unwrap();
    let set_mode = |mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let passfile_text = passfile.to_str().unwrap();

    let none = run(&["--db", &bare, "init"], &[]);
    assert_eq!(none.status.code(), Some(3), "{}", text(&none));
    assert!(text(&none).contains("auth_refused"), "{}", text(&none));

    ok(run(
        &["--db", &bare, "init"],
        &[("PGPASSWORD", &pg.password)],
    ));
    set_mode(0o600);
    ok(run(
        &["--db", &bare, "init"],
        &[("PGPASSFILE", passfile_text)],
    ));
    // libpq ignores a password file others can read; so does calprov, and says why.
    set_mode(0o644);
    let open = run(&["--db", &bare, "init"], &[("PGPASSFILE", passfile_text)]);
    assert_eq!(open.status.code(), Some(3), "{}", text(&open));
    assert!(
        text(&open).contains("group or world access"),
        "{}",
        text(&open)
    );
}

#[test]
fn an_unreachable_server_is_a_classified_error_within_the_timeout() {
    // Port 1 on the loopback: nothing listens, the connection is refused at once.
    let started = Instant::now();
    let out = run(
        &[
            "--busy-timeout",
            "2",
            "--db",
            "postgres://calprov:secret@127.0.0.1:1/calprov",
            "init",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("server_unreachable"), "{}", text(&out));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!text(&out).contains("secret"));
}

#[test]
fn where_names_the_backend() {
    let out = ok(run(
        &[
            "--db",
            "postgresql://alice:pw@db.example:6543/cal",
            "where",
            "--json",
        ],
        &[],
    ));
    let data: Value = stdout_json(&out)["data"].clone();
    assert_eq!(data["backend"], "postgres");
    assert_eq!(data["path"], "postgres://alice@db.example:6543/cal");
    let bad = run(
        &["--db", "postgres://alice@db.example:notaport/cal", "where"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(
        text(&bad).contains("invalid PostgreSQL registry URL"),
        "{}",
        text(&bad)
    );
}
