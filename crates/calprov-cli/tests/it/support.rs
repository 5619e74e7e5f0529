//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use postgres::{Client, NoTls};
use rusqlite::Connection;
use serde_json::Value;

pub fn calprov_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_calprov"))
}

/// Runs `calprov --db DB ARGS...` with a clean registry environment.
pub fn calprov(db: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(calprov_bin());
    cmd.arg("--db").arg(db).args(args);
    clean_env(&mut cmd);
    cmd.output().unwrap()
}

/// Runs calprov with `args` and, on top of a clean environment, `env`.
pub fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(calprov_bin());
    cmd.args(args);
    clean_env(&mut cmd);
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.output().unwrap()
}

/// Removes the variables that steer calprov so the host's setting cannot leak in.
pub fn clean_env(cmd: &mut Command) {
    for var in [
        "PIPELINE_DB",
        "CAL_REGISTRY_DB",
        "PIPELINE_STATE_DIR",
        "CASA_VERSION",
        "CALPROV_LOG",
        "CALPROV_PYTHON",
        "PGUSER",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSSLMODE",
        "PGSSLROOTCERT",
    ] {
        cmd.env_remove(var);
    }
}

/// `calprov track` of a `gaincal` solve of `/data/obs.ms` that wrote `caltable`, with the
/// task's `params` (JSON) and `extra` flags.
pub fn track_gaincal(db: &Path, caltable: &str, params: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "track",
        "--caltable",
        caltable,
        "--ms",
        "/data/obs.ms",
        "--task",
        "gaincal",
        "--params",
        params,
    ];
    args.extend_from_slice(extra);
    calprov(db, &args)
}

pub fn stdout_json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

pub const LEGACY_DDL: &str = "CREATE TABLE IF NOT EXISTS caltables (
    id INTEGER PRIMARY KEY, set_name TEXT NOT NULL, path TEXT NOT NULL UNIQUE,
    table_type TEXT NOT NULL, order_index INTEGER NOT NULL, cal_field TEXT, refant TEXT,
    created_at REAL NOT NULL, valid_start_mjd REAL, valid_end_mjd REAL, status TEXT NOT NULL, notes TEXT);
CREATE INDEX IF NOT EXISTS idx_caltables_set ON caltables(set_name);
CREATE INDEX IF NOT EXISTS idx_caltables_valid ON caltables(valid_start_mjd, valid_end_mjd);";

pub const PROVENANCE: [&str; 5] = [
    "source_ms_path",
    "solver_command",
    "solver_version",
    "solver_params",
    "quality_metrics",
];

/// The registry shapes found in the field.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    Empty,
    Legacy,
    Partial(usize),
    CurrentPython,
    Calprov,
}

/// Creates a registry of `shape` with `rows` rows, as the Python pipeline would.
pub fn create_shape(path: &Path, shape: Shape, rows: usize) {
    let conn = Connection::open(path).unwrap();
    let n_prov = match shape {
        Shape::Empty => return,
        Shape::Calprov => {
            drop(conn);
            let out = calprov(path, &["init"]);
            assert!(out.status.success());
            return;
        }
        Shape::Legacy => 0,
        Shape::Partial(n) => n,
        Shape::CurrentPython => 5,
    };
    conn.execute_batch(LEGACY_DDL).unwrap();
    for col in &PROVENANCE[..n_prov] {
        conn.execute_batch(&format!("ALTER TABLE caltables ADD COLUMN {col} TEXT"))
            .unwrap();
    }
    if n_prov == 5 {
        conn.execute_batch(
            "CREATE INDEX IF NOT EXISTS idx_caltables_source ON caltables(source_ms_path)",
        )
        .unwrap();
    }
    let tx = conn.unchecked_transaction().unwrap();
    for i in 0..rows {
        tx.execute(
            "INSERT INTO caltables (set_name, path, table_type, order_index, created_at, status) VALUES (?1, ?2, 'K', 10, ?3, 'active')",
            rusqlite::params![format!("s{}", i % 3), format!("/cal/t{i}_kcal"), 1.0e9 + i as f64],
        )
        .unwrap();
    }
    tx.commit().unwrap();
}

/// The schema as SQL text, for comparing registries.
pub fn schema_sql(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT type || ' ' || name || ': ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The columns of `caltables`, in order.
pub fn columns(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name FROM pragma_table_info('caltables') ORDER BY cid")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn count(path: &Path, sql: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

/// The real CASA caltables shipped with the repository.
pub fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/caltables")
}

/// Copies a directory tree (a caltable) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// Registers `path` in set `set` through the CLI.
pub fn register(db: &Path, set: &str, path: &str, table_type: &str, order: &str) {
    let out = calprov(
        db,
        &[
            "register", "--set", set, "--path", path, "--type", table_type, "--order", order,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts the command succeeded.
pub fn ok(out: Output) -> Output {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `track --task` of one solve, strict, with no warning.
pub fn solve(db: &Path, caltable: &str, task: &str, params: Value) {
    let out = ok(calprov(
        db,
        &[
            "track",
            "--caltable",
            caltable,
            "--ms",
            params["vis"].as_str().unwrap(),
            "--task",
            task,
            "--params",
            &params.to_string(),
            "--strict",
        ],
    ));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `applied` of one applycal, strict.
pub fn apply(db: &Path, params: Value) {
    ok(calprov(
        db,
        &["applied", "--params", &params.to_string(), "--strict"],
    ));
}

/// A database of its own on the test server.
pub struct PgDatabase {
    pub url: String,
    pub password: String,
    admin_url: String,
    pub name: String,
}

impl PgDatabase {
    /// Creates (afresh) the database `calprov_t_<name>`; `None` when no server is configured.
    #[allow(clippy::print_stderr)]
    pub fn fresh(name: &str) -> Option<Self> {
        let Some(admin_url) = std::env::var("CALPROV_TEST_PG_URL").ok() else {
            let required = std::env::var_os("CALPROV_REQUIRE_TOOLS").is_some_and(|v| v == "1");
            assert!(
                !required,
                "CALPROV_TEST_PG_URL is not set (run .ci/postgres start)"
            );
            eprintln!("CALPROV_TEST_PG_URL is not set: the PostgreSQL test {name} did not run");
            return None;
        };
        let name = format!("calprov_t_{name}");
        let mut admin = Client::connect(&admin_url, NoTls).unwrap();
        // One statement per call: a batch would run in one transaction, where these cannot.
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let password = base
            .rsplit_once('@')
            .and_then(|(auth, _)| auth.rsplit_once(':'))
            .map(|(_, password)| password.to_owned())
            .unwrap();
        Some(Self {
            url: format!("{base}/{name}"),
            password,
            admin_url,
            name,
        })
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).unwrap()
    }

    /// The test server's administrative URL (a superuser's).
    pub fn admin_url(&self) -> String {
        self.admin_url.clone()
    }

    /// The URL without its password.
    pub fn url_without_password(&self) -> String {
        self.url.replace(&format!(":{}@", self.password), "@")
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A PostgreSQL cluster of a test's own (`.ci/postgres` with `CALPROV_PG_INSTANCE`), for
/// what the shared test server must not undergo (being killed, taking TLS only); stopped
/// when the test ends however it ends.
pub struct PgCluster {
    instance: &'static str,
    port: &'static str,
}

impl PgCluster {
    /// Starts (creating if needed) the cluster `instance` on `port`; its admin URL.
    pub fn start(instance: &'static str, port: &'static str) -> (Self, String) {
        let cluster = Self { instance, port };
        let url = cluster.script("start");
        (cluster, url)
    }

    /// Runs `.ci/postgres <command>` for this cluster; its last line of output.
    pub fn script(&self, command: &str) -> String {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres");
        let out = Command::new(script)
            .arg(command)
            .env("CALPROV_PG_INSTANCE", self.instance)
            .env("CALPROV_PG_PORT", self.port)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        stdout.lines().last().unwrap_or_default().trim().to_owned()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| self.script("stop"));
    }
}

/// The rows of `table` on a server.
pub fn pg_count(client: &mut Client, table: &str) -> i64 {
    client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

/// A process's stdout and stderr, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// One registry of each backend for a test that must hold on both: an SQLite file, and a
/// database of its own on the PostgreSQL test server when there is one.
pub struct Backend {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// What `--db` is given: the file, or the URL.
    pub db: PathBuf,
    _file: Option<tempfile::TempDir>,
    _database: Option<PgDatabase>,
}

pub fn backends(test: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![Backend {
        name: "sqlite",
        db: dir.path().join("reg.sqlite3"),
        _file: Some(dir),
        _database: None,
    }];
    if let Some(database) = PgDatabase::fresh(test) {
        all.push(Backend {
            name: "postgres",
            db: PathBuf::from(&database.url),
            _file: None,
            _database: Some(database),
        });
    }
    all
}

impl Backend {
    /// How calprov shows this registry: the file, or the URL without its password.
    pub fn shown(&self) -> String {
        match &self._database {
            Some(database) => database.url_without_password(),
            None => self.db.display().to_string(),
        }
    }

    /// The integer a query (portable SQL) returns, read with the backend's own client.
    pub fn count(&self, sql: &str) -> i64 {
        match &self._database {
            Some(database) => database.client().query_one(sql, &[]).unwrap().get(0),
            None => count(&self.db, sql),
        }
    }
}
