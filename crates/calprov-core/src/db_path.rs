//! Deciding which registry file to use: the one rule for every command and API call.
//!
//! Order (DESIGN.md section 7): an explicit path, then `PIPELINE_DB`, then `CAL_REGISTRY_DB`,
//! then `$PIPELINE_STATE_DIR/cal_registry.sqlite3`, then the default
//! `$XDG_STATE_HOME/calprov/cal_registry.sqlite3` (`~/.local/state/calprov/...` without
//! `XDG_STATE_HOME`, `./cal_registry.sqlite3` without a home). The default is absolute
//! whenever a home is known, so workers started from different directories agree.

use std::fmt;
use std::path::{Path, PathBuf};

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

/// The registry path, the rule that chose it and any disagreement between set variables.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DbLocation {
    /// The registry file.
    pub path: PathBuf,
    /// The rule that decided.
    pub rule: DbRule,
    /// Human-readable warnings, e.g. two variables naming different files.
    pub warnings: Vec<String>,
}

/// Decides the registry path from an explicit path and the environment snapshot.
pub fn resolve_db_path(explicit: Option<&Path>, environment: &Environment) -> DbLocation {
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
        return DbLocation {
            path: default_path(environment),
            rule: DbRule::Default,
            warnings: Vec::new(),
        };
    };
    let warnings = set
        .iter()
        .skip(1)
        .filter(|(other_rule, other)| *other_rule != DbRule::Explicit && !same_file(other, &path))
        .map(|(other_rule, other)| {
            format!(
                "{other_rule} names {} but {rule} wins with {}",
                other.display(),
                path.display()
            )
        })
        .collect();
    DbLocation {
        path,
        rule,
        warnings,
    }
}

/// Creates the directory a registry at `location` lives in (readable by others, writable by
/// its owner only) when it does not exist: what the CLI and the Python package do before
/// opening, so a first run in a fresh state directory works.
pub fn ensure_parent_dir(location: &DbLocation) -> std::io::Result<()> {
    let Some(parent) = location.path.parent().filter(|p| !p.as_os_str().is_empty()) else {
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
    crate::paths::normalize(a) == crate::paths::normalize(b)
}
