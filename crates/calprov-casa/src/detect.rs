//! The CASA version detection chain: explicit value, the caltable's keyword, the
//! `CASA_VERSION` variable, a modular CASA in the configured Python's site-packages, a
//! monolithic CASA on `PATH`. The first step that yields a valid version wins.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crate::process::{ProcessOutcome, run_with_timeout};
use crate::{CasaVersion, normalize_version};

/// Which step of the chain produced the version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionStep {
    /// Given by the caller or the `--solver-version` flag.
    Explicit,
    /// The caltable's own `CASA_Version` keyword.
    CaltableKeyword,
    /// The `CASA_VERSION` environment variable.
    EnvVar,
    /// `casatools`/`casatasks` dist-info in the configured Python's site-packages.
    ModularPython,
    /// A monolithic `casa` launcher on `PATH`, in a versioned install directory.
    MonolithicPath,
}

impl VersionStep {
    /// The stable name recorded with provenance.
    pub fn name(self) -> &'static str {
        match self {
            VersionStep::Explicit => "explicit",
            VersionStep::CaltableKeyword => "caltable_keyword",
            VersionStep::EnvVar => "env_var",
            VersionStep::ModularPython => "modular_python",
            VersionStep::MonolithicPath => "monolithic_path",
        }
    }
}

/// Everything the chain looks at; the caller (core's env module) fills it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DetectionInputs {
    /// Step 1.
    pub explicit: Option<String>,
    /// Step 2: the caltable's `CASA_Version` keyword as read.
    pub caltable_keyword: Option<String>,
    /// Step 3: `CASA_VERSION`.
    pub env_casa_version: Option<String>,
    /// Step 4: the Python to ask for its site-packages (`CALPROV_PYTHON`), else `python3`
    /// found on `path_dirs`.
    pub python: Option<PathBuf>,
    /// Steps 4 and 5: the directories of `PATH`.
    pub path_dirs: Vec<PathBuf>,
    /// The longest any probe may take.
    pub probe_timeout: Duration,
}

/// A candidate the chain saw and refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejected {
    /// The step.
    pub step: VersionStep,
    /// What it found (cut to 80 characters).
    pub value: String,
    /// Why it was refused.
    pub reason: String,
}

/// What the chain found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DetectionResult {
    /// The version and the step that found it, or `None` when every step failed.
    pub found: Option<(CasaVersion, VersionStep)>,
    /// Values seen and refused, in chain order (each also logged as a warning).
    pub rejected: Vec<Rejected>,
}

/// The environment-dependent steps (3 to 5), cached per distinct environment for the life
/// of the process: probing Python costs tens of milliseconds, the environment does not
/// change under a running pipeline.
type EnvKey = (Option<String>, Option<PathBuf>, Vec<PathBuf>);
type EnvResult = (Option<(CasaVersion, VersionStep)>, Vec<Rejected>);
fn cache() -> &'static Mutex<HashMap<EnvKey, EnvResult>> {
    static CACHE: OnceLock<Mutex<HashMap<EnvKey, EnvResult>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Forgets cached environment results (tests, or a long-lived process whose environment
/// changed).
pub fn clear_cache() {
    if let Ok(mut map) = cache().lock() {
        map.clear();
    }
}

/// Runs the chain. Steps 1 and 2 are checked on every call; steps 3 to 5 are cached.
pub fn detect_version(inputs: &DetectionInputs) -> DetectionResult {
    let span = tracing::debug_span!("detect_casa_version");
    let _entered = span.enter();
    let mut rejected = Vec::new();
    for (step, value) in [
        (VersionStep::Explicit, &inputs.explicit),
        (VersionStep::CaltableKeyword, &inputs.caltable_keyword),
    ] {
        if let Some(found) = accept(step, value.as_deref(), &mut rejected) {
            return DetectionResult {
                found: Some((found, step)),
                rejected,
            };
        }
    }
    let key: EnvKey = (
        inputs.env_casa_version.clone(),
        inputs.python.clone(),
        inputs.path_dirs.clone(),
    );
    let cached = cache().lock().ok().and_then(|map| map.get(&key).cloned());
    let (found, env_rejected) = match cached {
        Some(hit) => hit,
        None => {
            let computed = detect_from_environment(inputs);
            if let Ok(mut map) = cache().lock() {
                map.insert(key, computed.clone());
            }
            computed
        }
    };
    rejected.extend(env_rejected);
    DetectionResult { found, rejected }
}

fn accept(
    step: VersionStep,
    value: Option<&str>,
    rejected: &mut Vec<Rejected>,
) -> Option<CasaVersion> {
    let value = value?;
    match normalize_version(value) {
        Ok(version) => Some(version),
        Err(err) => {
            tracing::warn!(step = step.name(), value, "ignoring CASA version: {err}");
            rejected.push(Rejected {
                step,
                value: value.chars().take(80).collect(),
                reason: err.to_string(),
            });
            None
        }
    }
}

fn detect_from_environment(inputs: &DetectionInputs) -> EnvResult {
    let mut rejected = Vec::new();
    if let Some(v) = accept(
        VersionStep::EnvVar,
        inputs.env_casa_version.as_deref(),
        &mut rejected,
    ) {
        return (Some((v, VersionStep::EnvVar)), rejected);
    }
    let python = inputs
        .python
        .clone()
        .or_else(|| find_on_path(&inputs.path_dirs, "python3"));
    if let Some(python) = python {
        let span = tracing::debug_span!("probe_modular_casa", python = %python.display());
        let _entered = span.enter();
        match modular_version(&python, inputs.probe_timeout) {
            Ok(Some(text)) => {
                if let Some(v) = accept(VersionStep::ModularPython, Some(&text), &mut rejected) {
                    return (Some((v, VersionStep::ModularPython)), rejected);
                }
            }
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(python = %python.display(), "modular CASA probe failed: {reason}");
                rejected.push(Rejected {
                    step: VersionStep::ModularPython,
                    value: python.display().to_string(),
                    reason,
                });
            }
        }
    }
    if let Some(casa) = find_on_path(&inputs.path_dirs, "casa") {
        // The launcher is often a symlink from /usr/local/bin into the install tree.
        let resolved = std::fs::canonicalize(&casa).unwrap_or(casa);
        let found = resolved.ancestors().find_map(monolithic_version_from_dir);
        if let Some(v) = accept(VersionStep::MonolithicPath, found.as_deref(), &mut rejected) {
            return (Some((v, VersionStep::MonolithicPath)), rejected);
        }
    }
    (None, rejected)
}

/// Asks `python` for its site-packages directories (importing only `site` and `sys`, never
/// casatools, which takes seconds) and reads the version from a casatools or casatasks
/// dist-info there.
fn modular_version(python: &Path, timeout: Duration) -> Result<Option<String>, String> {
    const SCRIPT: &str = "import site, sys\n\
        paths = list(getattr(site, 'getsitepackages', lambda: [])())\n\
        paths.append(site.getusersitepackages())\n\
        paths.extend(sys.path)\n\
        print('\\n'.join(p for p in paths if p))";
    let stdout = match run_with_timeout(python, &["-c", SCRIPT], timeout) {
        ProcessOutcome::Exited {
            code: Some(0),
            stdout,
        } => stdout,
        ProcessOutcome::Exited { code, .. } => return Err(format!("exited with {code:?}")),
        ProcessOutcome::TimedOut => return Err(format!("no answer within {timeout:?}")),
        ProcessOutcome::NotStarted(err) => return Err(format!("cannot start: {err}")),
    };
    for dir in stdout.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(version) = dist_info_version(Path::new(dir)) {
            return Ok(Some(version));
        }
    }
    Ok(None)
}

/// The version in `casatools-*.dist-info/METADATA` (else casatasks) inside `site_packages`.
fn dist_info_version(site_packages: &Path) -> Option<String> {
    let entries: Vec<_> = std::fs::read_dir(site_packages)
        .ok()?
        .filter_map(Result::ok)
        .collect();
    for package in ["casatools", "casatasks"] {
        for entry in &entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(&format!("{package}-")) && name.ends_with(".dist-info") {
                let metadata = std::fs::read_to_string(entry.path().join("METADATA")).ok()?;
                if let Some(version) = parse_dist_info_metadata(&metadata, package) {
                    return Some(version);
                }
            }
        }
    }
    None
}

/// Reads `Version:` from a dist-info METADATA text whose `Name:` is `package`.
pub fn parse_dist_info_metadata(metadata: &str, package: &str) -> Option<String> {
    let mut name = None;
    let mut version = None;
    // The header ends at the first blank line; the description follows.
    for line in metadata.lines().take_while(|l| !l.trim().is_empty()) {
        if let Some(v) = line.strip_prefix("Name:") {
            name = Some(v.trim().to_ascii_lowercase().replace('_', "-"));
        } else if let Some(v) = line.strip_prefix("Version:") {
            version = Some(v.trim().to_owned());
        }
    }
    (name.as_deref() == Some(package))
        .then_some(version)
        .flatten()
}

/// The version in a monolithic install directory name such as
/// `casa-6.7.1-13-py3.10.el8` or `casa-release-5.8.0-109.el7`.
pub fn monolithic_version_from_dir(dir: &Path) -> Option<String> {
    let name = dir.file_name()?.to_str()?;
    let rest = name
        .strip_prefix("casa-")
        .or_else(|| name.strip_prefix("CASA-"))?;
    let rest = rest.strip_prefix("release-").unwrap_or(rest);
    let mut tokens = rest.split('-');
    let base = tokens.next()?;
    let base = base.split(".el").next()?;
    if !base
        .split('.')
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let build = tokens
        .next()
        .map(|t| t.split(".el").next().unwrap_or(t))
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()));
    Some(match build {
        Some(build) => format!("{base}.{build}"),
        None => base.to_owned(),
    })
}

fn find_on_path(dirs: &[PathBuf], program: &str) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}
