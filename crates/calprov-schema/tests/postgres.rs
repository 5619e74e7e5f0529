//! The PostgreSQL schema and failure kinds against a real server (`CALPROV_TEST_PG_URL`, the
//! private cluster of `.ci/postgres`): the migrations create the tables calprov's table list
//! describes, with its types, and each failure an operator must tell apart is classified
//! from the server's real answer.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use calprov_schema::postgres::{
    PgEnvironment, PgFailure, PgTarget, PgTimeouts, connect_postgres, migrate_postgres,
};
use calprov_schema::{ColumnType, Error, REGISTRY_TABLES};
use postgres::{Client, NoTls};

/// `(url of a fresh database, admin url)`, or `None` without a server (a failure in CI).
#[allow(clippy::print_stderr)]
fn fresh_database(name: &str) -> Option<(String, String)> {
    let Ok(admin_url) = std::env::var("CALPROV_TEST_PG_URL") else {
        let required = std::env::var_os("CALPROV_REQUIRE_TOOLS").is_some_and(|v| v == "1");
        assert!(!required, "CALPROV_TEST_PG_URL is not set");
        eprintln!("CALPROV_TEST_PG_URL is not set: {name} did not run");
        return None;
    };
    let name = format!("calprov_s_{name}");
    let mut admin = Client::connect(&admin_url, NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    Some((format!("{base}/{name}"), admin_url))
}

const TIMEOUTS: PgTimeouts = PgTimeouts {
    connect: Duration::from_secs(5),
    statement: Duration::from_secs(5),
};

fn connect(url: &str, timeouts: PgTimeouts) -> Result<(Client, PgTarget), Error> {
    let target = PgTarget::parse(url)?;
    let client = connect_postgres(&target, &PgEnvironment::default(), timeouts)?;
    Ok((client, target))
}

/// The error of a connection that must fail.
fn refused(url: &str) -> Error {
    match connect(url, TIMEOUTS) {
        Ok(_) => panic!("{url}: connected"),
        Err(error) => error,
    }
}

fn kind(error: &Error) -> PgFailure {
    match error {
        Error::Postgres { kind, .. } => *kind,
        other => panic!("not a PostgreSQL failure: {other}"),
    }
}

#[test]
fn migrations_create_the_listed_tables_with_their_types() {
    let Some((url, _)) = fresh_database("tables") else {
        return;
    };
    let (mut client, target) = connect(&url, TIMEOUTS).unwrap();
    let report = migrate_postgres(&mut client, &target, Duration::from_secs(5)).unwrap();
    assert_eq!(report.schema_version, 5);
    assert_eq!(report.migrations_applied.len(), 5);
    let again = migrate_postgres(&mut client, &target, Duration::from_secs(5)).unwrap();
    assert!(again.is_noop());
    for table in &REGISTRY_TABLES {
        let rows = client
            .query(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[&table.name],
            )
            .unwrap();
        let found: Vec<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let expected: Vec<(String, String)> = table
            .columns
            .iter()
            .map(|(name, ty)| {
                let sql = match ty {
                    ColumnType::Integer => "bigint",
                    ColumnType::Real => "double precision",
                    ColumnType::Text => "text",
                    ColumnType::Blob => "bytea",
                };
                ((*name).to_owned(), sql.to_owned())
            })
            .collect();
        assert_eq!(found, expected, "{}", table.name);
    }
    // The same indexes as SQLite's migrations, by name.
    let indexes: Vec<String> = client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexname LIKE 'idx_%' ORDER BY indexname",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        indexes,
        [
            "idx_calprov_app_tables_solve",
            "idx_calprov_applications_ms",
            "idx_calprov_events_time",
            "idx_calprov_inputs_path",
            "idx_calprov_inputs_solve",
            "idx_calprov_solves_caltable",
            "idx_calprov_solves_version",
            "idx_caltables_set",
            "idx_caltables_source",
            "idx_caltables_valid",
        ]
    );
}

#[test]
fn failures_are_classified_from_the_servers_answers() {
    let Some((url, admin_url)) = fresh_database("classify") else {
        return;
    };
    // Refused: nothing listens on port 1.
    let unreachable = refused("postgres://calprov:x@127.0.0.1:1/calprov");
    assert_eq!(kind(&unreachable), PgFailure::Unreachable, "{unreachable}");
    // A wrong password.
    let (base, _) = url.rsplit_once('@').unwrap();
    let (scheme_user, _) = base.rsplit_once(':').unwrap();
    let wrong = url.replacen(base, &format!("{scheme_user}:wrong"), 1);
    let auth = refused(&wrong);
    assert_eq!(kind(&auth), PgFailure::AuthRefused, "{auth}");
    // A database that does not exist.
    let (server, _) = url.rsplit_once('/').unwrap();
    let missing = refused(&format!("{server}/calprov_no_such_db"));
    assert_eq!(kind(&missing), PgFailure::NoDatabase, "{missing}");

    // A statement past the statement timeout.
    let short = PgTimeouts {
        connect: Duration::from_secs(5),
        statement: Duration::from_millis(300),
    };
    let (mut client, target) = connect(&url, short).unwrap();
    let slow = client.batch_execute("SELECT pg_sleep(3)").unwrap_err();
    let slow = Error::postgres(&target, "sleep", slow);
    assert_eq!(kind(&slow), PgFailure::Timeout, "{slow}");

    // Two repeatable-read transactions updating one row: the second cannot serialise.
    let (mut a, _) = connect(&url, TIMEOUTS).unwrap();
    let (mut b, _) = connect(&url, TIMEOUTS).unwrap();
    a.batch_execute("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t VALUES (1, 0)")
        .unwrap();
    a.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM t")
        .unwrap();
    b.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT * FROM t")
        .unwrap();
    a.batch_execute("UPDATE t SET v = 1 WHERE id = 1; COMMIT")
        .unwrap();
    let conflict = b
        .batch_execute("UPDATE t SET v = 2 WHERE id = 1")
        .unwrap_err();
    let conflict = Error::postgres(&target, "update", conflict);
    assert_eq!(kind(&conflict), PgFailure::Serialization, "{conflict}");

    // The server ends the session (as a restart or an operator would).
    let (mut victim, _) = connect(&url, TIMEOUTS).unwrap();
    let pid: i32 = victim
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let mut admin = Client::connect(&admin_url, NoTls).unwrap();
    admin
        .execute("SELECT pg_terminate_backend($1)", &[&pid])
        .unwrap();
    let lost = victim.batch_execute("SELECT 1").unwrap_err();
    let lost = Error::postgres(&target, "select", lost);
    assert_eq!(kind(&lost), PgFailure::ConnectionLost, "{lost}");
}

/// The PROV views' spelling rules on PostgreSQL give what SQLite's give, value for value:
/// times (rounded through SQLite's Julian-day milliseconds), names and their hex form,
/// labels. The SQLite side is the expression the SQLite views use.
#[test]
fn the_prov_views_spell_times_names_and_labels_as_sqlite_does() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let Some((url, _)) = fresh_database("prov_spelling") else {
        return;
    };
    let (mut pg, target) = connect(&url, TIMEOUTS).unwrap();
    migrate_postgres(&mut pg, &target, Duration::from_secs(5)).unwrap();
    let pg_spelling = pg
        .prepare(
            "SELECT calprov_prov_time($1), \
             calprov_prov_name('calprov:ms', 'calprov:ms-x', $2, TRUE), \
             calprov_prov_name('calprov:casa-', 'calprov:casa-x', $2, FALSE), \
             calprov_prov_label($2)",
        )
        .unwrap();
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    let sqlite_spelling = sqlite
        .prepare(
            "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', ?1, 'unixepoch'), \
             CASE WHEN ?2 GLOB '/*' AND ?2 NOT GLOB '*[^A-Za-z0-9/._+-]*' AND ?2 NOT GLOB '*.' \
                  THEN 'calprov:ms' || ?2 ELSE 'calprov:ms-x' || hex(?2) END, \
             CASE WHEN ?2 NOT GLOB '*[^A-Za-z0-9._+-]*' AND ?2 NOT GLOB '*.' \
                  THEN 'calprov:casa-' || ?2 ELSE 'calprov:casa-x' || hex(?2) END, \
             replace(?2, rtrim(?2, replace(?2, '/', '')), '')",
        )
        .unwrap();
    // The runner's closure is `Fn`: the connections are borrowed inside.
    let (pg, sqlite_spelling) = (
        std::cell::RefCell::new(pg),
        std::cell::RefCell::new(sqlite_spelling),
    );
    let spell = |t: f64, name: &str| {
        let row = pg
            .borrow_mut()
            .query_one(&pg_spelling, &[&t, &name])
            .unwrap();
        let on_pg: [Option<String>; 4] = [row.get(0), row.get(1), row.get(2), row.get(3)];
        let on_sqlite: [Option<String>; 4] = sqlite_spelling
            .borrow_mut()
            .query_row(rusqlite::params![t, name], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?])
            })
            .unwrap();
        (on_pg, on_sqlite)
    };
    // Rounding edges and SQLite's range ends.
    for t in [
        0.0,
        0.0005,
        0.0015,
        -0.0005,
        1_733_399_041.752_5,
        1_733_399_041.999_5,
        -210_866_760_000.0,
        253_402_300_799.999,
        1.0e13,
        -1.0e13,
    ] {
        let (on_pg, on_sqlite) = spell(t, "/data/obs.ms");
        assert_eq!(on_pg, on_sqlite, "{t}");
    }
    let mut runner = TestRunner::new(Config {
        cases: 300,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(
            &(-1.0e11..3.0e11f64, "(/?[a-zA-Z0-9 ._+()é-]{0,6}){0,4}\\.?"),
            |(t, name)| {
                let (on_pg, on_sqlite) = spell(t, &name);
                prop_assert_eq!(on_pg, on_sqlite, "{} {:?}", t, name);
                Ok(())
            },
        )
        .unwrap();
}
