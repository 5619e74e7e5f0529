use std::time::Duration;

use rusqlite::Connection;

use super::*;

const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

fn legacy_ddl() -> &'static str {
    "CREATE TABLE caltables (
        id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
        table_type TEXT NOT NULL, order_index INTEGER NOT NULL, cal_field TEXT, refant TEXT,
        created_at REAL NOT NULL, valid_start_mjd REAL, valid_end_mjd REAL,
        status TEXT NOT NULL, notes TEXT);
     CREATE INDEX idx_caltables_set ON caltables(set_name);
     CREATE INDEX idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);"
}

fn schema_of(conn: &Connection) -> Vec<(String, String)> {
    let mut stmt = conn
        .prepare("SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn open(dir: &tempfile::TempDir) -> Connection {
    open_registry(&dir.path().join("reg.sqlite3"), &OpenOptions::default()).unwrap()
}

#[test]
fn empty_file_gets_exactly_the_design_schema() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = open(&dir);
    let report = migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    assert_eq!(report.shape_before, RegistryShape::Empty);
    assert_eq!(report.schema_version, latest_version());
    let columns = shape::caltables_columns(&conn).unwrap();
    assert_eq!(columns, ALL_COLUMNS);
    let indexes: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='caltables' AND sql IS NOT NULL ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "idx_caltables_set",
            "idx_caltables_source",
            "idx_caltables_valid"
        ]
    );
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn legacy_registry_keeps_every_row_and_gains_provenance_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(legacy_ddl()).unwrap();
        for i in 0..50 {
            conn.execute(
                "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status, notes)
                 VALUES ('s', ?1, 'K', 10, ?2, 'active', 'n')",
                rusqlite::params![format!("/cal/{i}_kcal"), 1.0e9 + f64::from(i)],
            )
            .unwrap();
        }
    }
    let mut conn = open_registry(&path, &OpenOptions::default()).unwrap();
    let before: Vec<(i64, String, f64)> = conn
        .prepare("SELECT id, path, created_at FROM caltables ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let report = migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    assert_eq!(report.shape_before, RegistryShape::Legacy);
    assert_eq!(report.columns_added.len(), 5);
    let after: Vec<(i64, String, f64)> = conn
        .prepare("SELECT id, path, created_at FROM caltables ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(before, after);
    assert_eq!(shape::caltables_columns(&conn).unwrap(), ALL_COLUMNS);
}

#[test]
fn partial_registry_gets_only_the_missing_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(legacy_ddl()).unwrap();
        conn.execute_batch(
            "ALTER TABLE caltables ADD COLUMN source_ms_path TEXT;
             ALTER TABLE caltables ADD COLUMN solver_command TEXT;",
        )
        .unwrap();
    }
    let mut conn = open_registry(&path, &OpenOptions::default()).unwrap();
    let report = migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    assert_eq!(
        report.shape_before,
        RegistryShape::PartiallyMigrated {
            present: vec!["source_ms_path".into(), "solver_command".into()]
        }
    );
    assert_eq!(
        report.columns_added,
        ["solver_version", "solver_params", "quality_metrics"]
    );
    assert_eq!(shape::caltables_columns(&conn).unwrap(), ALL_COLUMNS);
}

#[test]
fn second_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = open(&dir);
    migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    let schema = schema_of(&conn);
    let again = migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    assert!(again.is_noop(), "{again:?}");
    assert_eq!(schema, schema_of(&conn));
}

#[test]
fn foreign_caltables_table_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite3");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE caltables (id INTEGER PRIMARY KEY, path TEXT)")
            .unwrap();
    }
    let mut conn = open_registry(&path, &OpenOptions::default()).unwrap();
    let err = migrate(&mut conn, LOCK_TIMEOUT).unwrap_err();
    match err {
        Error::IncompatibleTable { missing, .. } => {
            assert!(missing.contains(&"set_name".to_owned()))
        }
        other => panic!("unexpected error {other}"),
    }
    assert_eq!(shape::caltables_columns(&conn).unwrap(), ["id", "path"]);
}

#[test]
fn not_a_database_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite3");
    std::fs::write(&path, b"this is a text file, long enough to have a header of sorts............................................").unwrap();
    let err = open_registry(&path, &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::NotADatabase { .. }), "{err:?}");
    assert!(err.to_string().contains("reg.sqlite3"));
}

#[test]
fn directory_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = open_registry(dir.path(), &OpenOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err:?}");
}

#[test]
fn the_latest_version_constant_matches_the_embedded_migrations() {
    assert_eq!(
        crate::migrate::LATEST_VERSION,
        crate::migrate::runner_latest_version()
    );
}

#[test]
fn the_table_list_is_what_the_migrations_create() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = open(&dir);
    migrate(&mut conn, LOCK_TIMEOUT).unwrap();
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' AND name <> 'refinery_schema_history' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut listed: Vec<String> = REGISTRY_TABLES.iter().map(|t| t.name.to_owned()).collect();
    listed.sort();
    assert_eq!(tables, listed);
    for table in &REGISTRY_TABLES {
        let mut stmt = conn
            .prepare("SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid")
            .unwrap();
        let columns: Vec<(String, String, i64)> = stmt
            .query_map([table.name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<(String, String)> = table
            .columns
            .iter()
            .map(|(name, ty)| {
                let sql = match ty {
                    ColumnType::Integer => "INTEGER",
                    ColumnType::Real => "REAL",
                    ColumnType::Text => "TEXT",
                    ColumnType::Blob => "BLOB",
                };
                ((*name).to_owned(), sql.to_owned())
            })
            .collect();
        let found: Vec<(String, String)> = columns
            .iter()
            .map(|(n, t, _)| (n.clone(), t.clone()))
            .collect();
        assert_eq!(found, expected, "{}", table.name);
        let mut key: Vec<(i64, String)> = columns
            .iter()
            .filter(|(_, _, pk)| *pk > 0)
            .map(|(n, _, pk)| (*pk, n.clone()))
            .collect();
        key.sort();
        let key: Vec<String> = key.into_iter().map(|(_, n)| n).collect();
        assert_eq!(key, table.key, "{}", table.name);
    }
}

#[test]
fn postgres_urls_are_shown_without_their_password() {
    let target = postgres::PgTarget::parse(
        "postgresql://alice:s3cret@db.example:6543/cal?connect_timeout=3",
    )
    .unwrap();
    assert_eq!(target.to_string(), "postgres://alice@db.example:6543/cal");
    assert!(!format!("{target:?}").contains("s3cret"));
    for bad in [
        "postgres://alice@db.example:notaport/cal",
        "mysql://alice@db/cal",
        "postgres://alice:s3cret@db/cal?sslmode=nonsense",
    ] {
        let err = postgres::PgTarget::parse(bad).unwrap_err().to_string();
        assert!(err.starts_with("invalid PostgreSQL registry URL"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
    assert!(postgres::is_postgres_url("POSTGRES://x@y/z"));
    assert!(!postgres::is_postgres_url("/data/postgres://x"));
}
