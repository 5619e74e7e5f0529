//! The one place calprov reads environment variables.
//!
//! Libraries never call `std::env::var` elsewhere: every variable is read here into an
//! [`Environment`] snapshot that the rest of the code takes as a plain value, so tests can
//! pass any environment without touching the process's.

use std::ffi::OsString;
use std::path::PathBuf;

/// Explicit registry path used by the pipeline (highest-priority variable).
pub const PIPELINE_DB: &str = "PIPELINE_DB";
/// Registry path used by the calibration registry module of the pipeline.
pub const CAL_REGISTRY_DB: &str = "CAL_REGISTRY_DB";
/// The pipeline's state directory; the registry is `cal_registry.sqlite3` inside it.
pub const PIPELINE_STATE_DIR: &str = "PIPELINE_STATE_DIR";
/// The CASA version, set by some launch scripts.
pub const CASA_VERSION: &str = "CASA_VERSION";
/// The Python interpreter to look for a modular CASA installation in.
pub const CALPROV_PYTHON: &str = "CALPROV_PYTHON";
/// The XDG state directory, for the default registry location.
pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
/// The home directory, for the default registry location.
pub const HOME: &str = "HOME";
/// The search path, for finding `python3` and a monolithic `casa`.
pub const PATH: &str = "PATH";
/// The CLI's log filter (`warn`, `debug`, `calprov_core=debug`, ...).
pub const CALPROV_LOG: &str = "CALPROV_LOG";

/// libpq's user, for a PostgreSQL URL that names none.
pub const PGUSER: &str = "PGUSER";
/// libpq's password, for a PostgreSQL URL that holds none.
pub const PGPASSWORD: &str = "PGPASSWORD";
/// libpq's password file (`~/.pgpass` when unset).
pub const PGPASSFILE: &str = "PGPASSFILE";
/// libpq's TLS mode, for a PostgreSQL URL without `sslmode`.
pub const PGSSLMODE: &str = "PGSSLMODE";
/// libpq's root certificate, for a PostgreSQL URL without `sslrootcert`.
pub const PGSSLROOTCERT: &str = "PGSSLROOTCERT";

/// A snapshot of the variables calprov reads.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Environment {
    /// `PIPELINE_DB`.
    pub pipeline_db: Option<OsString>,
    /// `CAL_REGISTRY_DB`.
    pub cal_registry_db: Option<OsString>,
    /// `PIPELINE_STATE_DIR`.
    pub pipeline_state_dir: Option<OsString>,
    /// `CASA_VERSION`.
    pub casa_version: Option<String>,
    /// `CALPROV_PYTHON`.
    pub calprov_python: Option<OsString>,
    /// `XDG_STATE_HOME`.
    pub xdg_state_home: Option<OsString>,
    /// `HOME`.
    pub home: Option<OsString>,
    /// `PATH`.
    pub path: Option<OsString>,
    /// `CALPROV_LOG`.
    pub calprov_log: Option<String>,
    /// `PGUSER`.
    pub pguser: Option<String>,
    /// `PGPASSWORD` (never printed: `Environment`'s `Debug` hides it).
    pub pgpassword: Option<String>,
    /// `PGPASSFILE`.
    pub pgpassfile: Option<OsString>,
    /// `PGSSLMODE`.
    pub pgsslmode: Option<String>,
    /// `PGSSLROOTCERT`.
    pub pgsslrootcert: Option<OsString>,
    /// The working directory (not a variable, but part of the same snapshot): recorded with
    /// each solve, and what relative input paths are taken against.
    pub cwd: Option<PathBuf>,
    /// The host name, recorded with each solve.
    pub host: Option<String>,
}

impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Environment")
            .field("pipeline_db", &self.pipeline_db)
            .field("cal_registry_db", &self.cal_registry_db)
            .field("pipeline_state_dir", &self.pipeline_state_dir)
            .field("casa_version", &self.casa_version)
            .field("calprov_python", &self.calprov_python)
            .field("xdg_state_home", &self.xdg_state_home)
            .field("home", &self.home)
            .field("path", &self.path)
            .field("calprov_log", &self.calprov_log)
            .field("pguser", &self.pguser)
            .field("pgpassword", &self.pgpassword.as_ref().map(|_| "<hidden>"))
            .field("pgpassfile", &self.pgpassfile)
            .field("pgsslmode", &self.pgsslmode)
            .field("pgsslrootcert", &self.pgsslrootcert)
            .field("cwd", &self.cwd)
            .field("host", &self.host)
            .finish()
    }
}

impl Environment {
    /// Reads the variables from the current process; empty values count as unset.
    pub fn from_process() -> Self {
        let os = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        Self {
            pipeline_db: os(PIPELINE_DB),
            cal_registry_db: os(CAL_REGISTRY_DB),
            pipeline_state_dir: os(PIPELINE_STATE_DIR),
            casa_version: os(CASA_VERSION).and_then(|v| v.into_string().ok()),
            calprov_python: os(CALPROV_PYTHON),
            xdg_state_home: os(XDG_STATE_HOME),
            home: os(HOME),
            path: os(PATH),
            calprov_log: os(CALPROV_LOG).and_then(|v| v.into_string().ok()),
            pguser: os(PGUSER).and_then(|v| v.into_string().ok()),
            pgpassword: os(PGPASSWORD).and_then(|v| v.into_string().ok()),
            pgpassfile: os(PGPASSFILE),
            pgsslmode: os(PGSSLMODE).and_then(|v| v.into_string().ok()),
            pgsslrootcert: os(PGSSLROOTCERT),
            cwd: std::env::current_dir().ok(),
            // The kernel's node name, what `/proc/sys/kernel/hostname` reads, in one system
            // call instead of five (the Python module snapshots the environment per call).
            host: Some(
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .trim()
                    .to_owned(),
            )
            .filter(|h| !h.is_empty()),
        }
    }

    /// The directories of `PATH`, in order.
    pub fn path_dirs(&self) -> Vec<PathBuf> {
        self.path
            .as_ref()
            .map(|p| std::env::split_paths(p).collect())
            .unwrap_or_default()
    }
}
