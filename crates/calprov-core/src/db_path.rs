//! Deciding which registry to use: the one rule for every command and API call.
//!
//! Each source may name an SQLite file or a PostgreSQL server (a `postgres://` or
//! `postgresql://` URL). Order (DESIGN.md section 7): an explicit path or URL, then
//! `PIPELINE_DB`, then `CAL_REGISTRY_DB`,
//! then `$PIPELINE_STATE_DIR/cal_registry.sqlite3`, then the default
//! `$XDG_STATE_HOME/calprov/cal_registry.sqlite3` (`~/.local/state/calprov/...` without
//! `XDG_STATE_HOME`, `./cal_registry.sqlite3` without a home). The default is absolute
//! whenever a home is known, so workers started from different directories agree.

use std::fmt;
use std::path::{Path, PathBuf};

use calprov_schema::postgres::{PgEnvironment, PgTarget, is_postgres_url};

use crate::Error;
use crate::env::{self, Environment};

/// The file name of the registry inside a state directory.
pub const REGISTRY_FILE_NAME: &str = "cal_registry.sqlite3";

/// Which rule decided the registry path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DbRule {
    /// A path given by the caller (`--db`).
    Explicit,
    /// The `PIPELINE_DB` variable.
    PipelineDb,
    /// The `CAL_REGISTRY_DB` variable.
    CalRegistryDb,
    /// `$PIPELINE_STATE_DIR/cal_registry.sqlite3`.
    PipelineStateDir,
    /// The documented default location.
    Default,
}

impl fmt::Display for DbRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DbRule::Explicit => "explicit path",
            DbRule::PipelineDb => env::PIPELINE_DB,
            DbRule::CalRegistryDb => env::CAL_REGISTRY_DB,
            DbRule::PipelineStateDir => env::PIPELINE_STATE_DIR,
            DbRule::Default => "default location",
        })
    }
}

/// Where a registry lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryAddress {
    /// An SQLite file (the embedded default).
    File(PathBuf),
    /// A PostgreSQL server, by URL (shown without its password).
    Postgres(PgTarget),
}

impl RegistryAddress {
    /// Reads a path or a URL.
    pub fn parse(text: &Path) -> Result<Self, Error> {
        match text.to_str().filter(|t| is_postgres_url(t)) {
            Some(url) => Ok(RegistryAddress::Postgres(PgTarget::parse(url)?)),
            None => Ok(RegistryAddress::File(text.to_path_buf())),
        }
    }

    /// The backend's name: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            RegistryAddress::File(_) => "sqlite",
            RegistryAddress::Postgres(_) => "postgres",
        }
    }

    /// The SQLite file, when it is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            RegistryAddress::File(path) => Some(path),
            RegistryAddress::Postgres(_) => None,
        }
    }
}

impl fmt::Display for RegistryAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryAddress::File(path) => write!(f, "{}", path.display()),
            RegistryAddress::Postgres(target) => write!(f, "{target}"),
        }
    }
}

/// The registry, the rule that chose it and any disagreement between set variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbLocation {
    /// The registry.
    pub address: RegistryAddress,
    /// The rule that decided.
    pub rule: DbRule,
    /// Human-readable warnings, e.g. two variables naming different files.
    pub warnings: Vec<String>,
}

impl DbLocation {
    /// The SQLite file, when the registry is one.
    pub fn file(&self) -> Option<&Path> {
        self.address.file()
    }
}

/// `calprov where --json`: the backend, the file or URL (never a password), the rule.
impl serde::Serialize for DbLocation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("DbLocation", 4)?;
        out.serialize_field("backend", self.address.backend())?;
        out.serialize_field("path", &self.address.to_string())?;
        out.serialize_field("rule", &self.rule)?;
        out.serialize_field("warnings", &self.warnings)?;
        out.end()
    }
}

/// What libpq reads besides the URL, from the environment snapshot.
pub fn pg_environment(environment: &Environment) -> PgEnvironment {
    PgEnvironment {
        user: environment.pguser.clone(),
        password: environment.pgpassword.clone(),
        passfile: environment.pgpassfile.clone().map(PathBuf::from),
        home: environment.home.clone().map(PathBuf::from),
        ssl_mode: environment.pgsslmode.clone(),
        ssl_root_cert: environment.pgsslrootcert.clone().map(PathBuf::from),
    }
}

/// Decides the registry from an explicit path or URL and the environment snapshot; fails
/// only on a PostgreSQL URL that cannot be parsed.
pub fn resolve_db_path(
    explicit: Option<&Path>,
    environment: &Environment,
) -> Result<DbLocation, Error> {
    let candidates: [(DbRule, Option<PathBuf>); 4] = [
        (DbRule::Explicit, explicit.map(Path::to_path_buf)),
        (
            DbRule::PipelineDb,
            environment.pipeline_db.clone().map(PathBuf::from),
        ),
        (
            DbRule::CalRegistryDb,
            environment.cal_registry_db.clone().map(PathBuf::from),
        ),
        (
            DbRule::PipelineStateDir,
            environment
                .pipeline_state_dir
                .clone()
                .map(|d| PathBuf::from(d).join(REGISTRY_FILE_NAME)),
        ),
    ];
    let set: Vec<(DbRule, PathBuf)> = candidates
        .into_iter()
        .filter_map(|(rule, path)| path.map(|p| (rule, p)))
        .collect();
    let Some((rule, path)) = set.first().cloned() else {
        return Ok(DbLocation {
            address: RegistryAddress::File(default_path(environment)),
            rule: DbRule::Default,
            warnings: Vec::new(),
        });
    };
    let warnings = set
        .iter()
        .skip(1)
        .filter(|(other_rule, other)| *other_rule != DbRule::Explicit && !same_file(other, &path))
        .map(|(other_rule, other)| {
            format!(
                "{other_rule} names {} but {rule} wins with {}",
                shown(other),
                shown(&path)
            )
        })
        .collect();
    Ok(DbLocation {
        address: RegistryAddress::parse(&path)?,
        rule,
        warnings,
    })
}

/// Creates the directory a registry at `location` lives in (readable by others, writable by
/// its owner only) when it does not exist: what the CLI and the Python package do before
/// opening, so a first run in a fresh state directory works.
pub fn ensure_parent_dir(location: &DbLocation) -> std::io::Result<()> {
    let Some(parent) = location
        .file()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
    else {
        return Ok(());
    };
    if parent.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(parent).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot create the registry directory {}: {e}",
                parent.display()
            ),
        )
    })
}

fn default_path(environment: &Environment) -> PathBuf {
    let state_home = environment
        .xdg_state_home
        .clone()
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            environment
                .home
                .clone()
                .map(|h| PathBuf::from(h).join(".local").join("state"))
        });
    match state_home {
        Some(dir) => dir.join("calprov").join(REGISTRY_FILE_NAME),
        None => PathBuf::from(REGISTRY_FILE_NAME),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (RegistryAddress::parse(a), RegistryAddress::parse(b)) {
        (Ok(RegistryAddress::File(a)), Ok(RegistryAddress::File(b))) => {
            crate::paths::normalize(&a) == crate::paths::normalize(&b)
        }
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// A path or URL as a warning may show it: a URL without its password.
fn shown(text: &Path) -> String {
    match RegistryAddress::parse(text) {
        Ok(address) => address.to_string(),
        Err(_) => "an invalid PostgreSQL URL".to_owned(),
    }
}
