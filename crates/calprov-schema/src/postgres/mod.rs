//! A registry on a PostgreSQL server: its address, credentials, connection and migrations.
//!
//! SQLite stays the embedded default; a registry that every node of a pipeline must reach
//! lives on a PostgreSQL server instead, named by a `postgres://` or `postgresql://` URL.
//! The password is never shown: [`PgTarget`] displays the URL without it, and no error of
//! this module carries it.

mod classify;
mod migrate;
mod passfile;
mod tls;

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

pub use classify::{PgFailure, classify};
pub use migrate::{LATEST_VERSION as LATEST_POSTGRES_VERSION, migrate_postgres};
pub use passfile::find_password;
pub use tls::TlsMode;

use crate::Error;

/// Whether `text` names a PostgreSQL registry rather than an SQLite file.
pub fn is_postgres_url(text: &str) -> bool {
    let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// The credentials' sources outside the URL, as libpq reads them: taken from the caller's
/// environment snapshot (libraries never read the environment themselves).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PgEnvironment {
    /// `PGUSER`: the user when the URL names none.
    pub user: Option<String>,
    /// `PGPASSWORD`: the password when the URL holds none.
    pub password: Option<String>,
    /// `PGPASSFILE`: the password file; `~/.pgpass` when unset.
    pub passfile: Option<std::path::PathBuf>,
    /// `HOME`, for `~/.pgpass` and `~/.postgresql/root.crt`.
    pub home: Option<std::path::PathBuf>,
    /// `PGSSLMODE`: the TLS mode when the URL gives none.
    pub ssl_mode: Option<String>,
    /// `PGSSLROOTCERT`: the root certificate when the URL names none.
    pub ssl_root_cert: Option<std::path::PathBuf>,
}

/// A PostgreSQL registry's address: the parsed URL, shown without its password.
#[derive(Clone)]
pub struct PgTarget {
    // Boxed: an address is passed around by value, and `Config` is some 300 bytes.
    config: Box<Config>,
    /// `sslmode` and `sslrootcert`, which postgres's parser does not take as libpq does.
    tls: tls::TlsOptions,
    shown: String,
}

impl std::fmt::Debug for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PgTarget").field(&self.shown).finish()
    }
}

impl std::fmt::Display for PgTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PartialEq for PgTarget {
    fn eq(&self, other: &Self) -> bool {
        self.shown == other.shown && self.config.get_password() == other.config.get_password()
    }
}

impl Eq for PgTarget {}

impl PgTarget {
    /// Parses a `postgres://` / `postgresql://` URL (libpq's syntax: user, password, hosts,
    /// port, database, `?` options such as `connect_timeout`).
    pub fn parse(url: &str) -> Result<Self, Error> {
        if !is_postgres_url(url) {
            return Err(Error::PgUrl {
                message: "a PostgreSQL registry is named by a postgres:// or postgresql:// URL"
                    .to_owned(),
            });
        }
        let (url, tls) = tls::split_tls_options(url)?;
        // The parser's messages name the option at fault, never its value.
        let config = Config::from_str(&url).map_err(|e| Error::PgUrl {
            message: e.to_string(),
        })?;
        if config.get_hosts().is_empty() {
            return Err(Error::PgUrl {
                message: "the URL names no host (postgres://user@host/database)".to_owned(),
            });
        }
        let mut shown = show(&config);
        if let Some(mode) = tls.mode {
            shown.push_str("?sslmode=");
            shown.push_str(mode.name());
        }
        Ok(Self {
            config: Box::new(config),
            tls,
            shown,
        })
    }

    /// The URL without its password: what logs, errors and `calprov where` show.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// `postgres://user@host:port/db`: every part but the password.
fn show(config: &Config) -> String {
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(dir) => dir.display().to_string(),
            };
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let db = config
        .get_dbname()
        .map(|d| format!("/{d}"))
        .unwrap_or_default();
    format!("postgres://{user}{}{db}", hosts.join(","))
}

/// How long a connection may take to open and a statement to run.
#[derive(Debug, Clone, Copy)]
pub struct PgTimeouts {
    /// Connecting (TCP and authentication); also how long a migration waits for another
    /// process's, and how long a statement waits for a lock.
    pub connect: Duration,
    /// A statement, on the server (`statement_timeout`), and unacknowledged data on the
    /// socket (`tcp_user_timeout`): a server that stops answering ends the call.
    pub statement: Duration,
}

/// Opens a connection to `target` with the credentials libpq would use: the URL's password,
/// else `PGPASSWORD`, else the matching line of the password file.
pub fn connect_postgres(
    target: &PgTarget,
    environment: &PgEnvironment,
    timeouts: PgTimeouts,
) -> Result<Client, Error> {
    let mut config = (*target.config).clone();
    if config.get_user().is_none() {
        match &environment.user {
            Some(user) => {
                config.user(user);
            }
            None => {
                return Err(Error::PgUrl {
                    message: format!("{target}: the URL names no user and PGUSER is not set"),
                });
            }
        }
    }
    if config.get_password().is_none() {
        if let Some(password) = &environment.password {
            config.password(password);
        } else if let Some(password) = passfile::lookup(&config, environment) {
            config.password(password);
        }
    }
    let millis = timeouts.statement.as_millis().max(1);
    config
        .connect_timeout(timeouts.connect.max(Duration::from_millis(1)))
        .tcp_user_timeout(timeouts.statement.max(Duration::from_millis(1)))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(10))
        .application_name("calprov")
        // jit=off: calprov's statements are short (index reads a frontier at a time), and
        // the planner's estimate for a JSON list of id runs is large enough to start JIT
        // compilation that costs 100x the query itself (measured: 160 ms for a 0.7 ms walk
        // step).
        .options(&format!(
            "-c jit=off -c statement_timeout={millis} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
            timeouts.connect.as_millis().max(1),
            millis.saturating_mul(2),
        ));
    // A Unix socket never carries TLS (libpq ignores sslmode there; the server refuses it).
    let local = config
        .get_hosts()
        .iter()
        .all(|h| matches!(h, Host::Unix(_)));
    let tls = if local {
        tls::Tls::none()
    } else {
        tls::tls_for(&target.tls, environment)?
    };
    config.ssl_mode(tls.mode);
    match tls.connector {
        Some(connector) => config.connect(connector),
        None => config.connect(NoTls),
    }
    .map_err(|source| Error::postgres(target, "connect", source))
}
