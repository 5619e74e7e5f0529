//! Adopting an existing registry and applying calprov's migrations, serialised across
//! processes.
//!
//! refinery cannot alter a table conditionally and takes no lock, so migration is two steps
//! under one cross-process lock:
//! 1. adoption: detect the shape and, inside one `BEGIN IMMEDIATE` transaction, add the
//!    provenance columns the table lacks (in the order the Python code adds them);
//! 2. refinery applies the embedded migrations. V1 is all `IF NOT EXISTS`: on an adopted
//!    registry it only creates what is missing and records the baseline in
//!    `refinery_schema_history`; on an empty file it creates everything.
//!
//! The `BEGIN IMMEDIATE` matters even under the lock: the Python pipeline may be adding the
//! same columns at the same moment, and it takes no lock of ours.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::lock::MigrationLock;
use crate::shape::{PROVENANCE_COLUMNS, caltables_columns, detect_shape};
use crate::{Error, RegistryShape, begin_immediate};

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// What a migration run found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct MigrationReport {
    /// The shape before anything was changed.
    pub shape_before: RegistryShape,
    /// Provenance columns the adoption step added.
    pub columns_added: Vec<String>,
    /// refinery migrations applied in this run, as `V<n>__<name>`.
    pub migrations_applied: Vec<String>,
    /// The schema version after the run.
    pub schema_version: i64,
    /// Wall-clock time of the whole run, lock wait included.
    pub elapsed: Duration,
    /// Time spent waiting for another process's migration.
    pub lock_wait: Duration,
}

impl MigrationReport {
    /// The report of a registry found at `version`, the latest: nothing to do.
    pub(crate) fn already_current(version: i64, elapsed: Duration) -> Self {
        Self {
            shape_before: RegistryShape::Calprov { version },
            columns_added: Vec::new(),
            migrations_applied: Vec::new(),
            schema_version: version,
            elapsed,
            lock_wait: Duration::ZERO,
        }
    }

    /// Logs what the run did (one line at `info`).
    pub(crate) fn log(&self) {
        tracing::info!(
            shape = self.shape_before.name(),
            columns_added = self.columns_added.len(),
            migrations = self.migrations_applied.len(),
            elapsed_ms = self.elapsed.as_secs_f64() * 1e3,
            "registry migrated"
        );
    }

    /// True when the run changed nothing (an already current registry).
    pub fn is_noop(&self) -> bool {
        self.columns_added.is_empty() && self.migrations_applied.is_empty()
    }
}

/// The schema version the embedded migrations lead to (`migrations/V<n>__*.sql`).
///
/// A constant rather than asked of refinery: building refinery's runner parses every
/// migration name with a regex, about a millisecond that every short-lived `calprov track`
/// process would pay on its fast path. A test checks it against the runner.
pub const LATEST_VERSION: i64 = 5;

/// The schema version the embedded migrations lead to.
pub fn latest_version() -> i64 {
    LATEST_VERSION
}

/// The latest version as refinery's runner sees the embedded migrations.
#[cfg(test)]
pub(crate) fn runner_latest_version() -> i64 {
    embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0)
}

/// Brings the registry behind `conn` to the current schema, whatever shape it is in.
///
/// Concurrent calls from several processes on one file are serialised by a lock on the side
/// file `<db>.migrate-lock`; the lock wait is bounded by the connection's intended busy
/// timeout (`lock_timeout`). Existing rows and values are never rewritten.
pub fn migrate(conn: &mut Connection, lock_timeout: Duration) -> Result<MigrationReport, Error> {
    let started = Instant::now();
    let path = conn
        .path()
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(":memory:"));
    let span = tracing::info_span!("migrate", path = %path.display());
    let _entered = span.enter();

    // Fast path without any lock: a registry at the latest version needs nothing. This is
    // what every tracking call after the first one sees.
    if let Ok(Some(version)) = crate::shape::refinery_version(conn)
        && version >= latest_version()
    {
        return Ok(MigrationReport::already_current(version, started.elapsed()));
    }

    let _lock = if conn.path().is_some_and(|p| !p.is_empty()) {
        Some(MigrationLock::acquire(&path, lock_timeout)?)
    } else {
        None
    };
    let lock_wait = started.elapsed();

    let (shape_before, columns_added) = adopt(conn, &path)?;
    let report = embedded::migrations::runner()
        .set_grouped(true)
        .run(conn)
        .map_err(|source| Error::Migrate {
            path: path.clone(),
            source,
        })?;
    let migrations_applied = report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect();
    let schema_version = crate::shape::refinery_version(conn)
        .ok()
        .flatten()
        .unwrap_or(0);
    let report = MigrationReport {
        shape_before,
        columns_added,
        migrations_applied,
        schema_version,
        elapsed: started.elapsed(),
        lock_wait,
    };
    report.log();
    Ok(report)
}

/// Detects the shape and adds missing provenance columns in one immediate transaction.
fn adopt(
    conn: &mut Connection,
    path: &std::path::Path,
) -> Result<(RegistryShape, Vec<String>), Error> {
    let adopt_error = |step: &str| {
        let step = step.to_owned();
        let path = path.to_path_buf();
        move |source| Error::Adopt { path, step, source }
    };
    let tx = begin_immediate(conn).map_err(adopt_error("begin"))?;
    let shape = detect_shape(&tx)
        .map_err(adopt_error("detect shape"))?
        .map_err(|missing| Error::IncompatibleTable {
            path: path.to_path_buf(),
            missing,
        })?;
    let mut added = Vec::new();
    if matches!(
        shape,
        RegistryShape::Legacy
            | RegistryShape::PartiallyMigrated { .. }
            | RegistryShape::Calprov { .. }
    ) {
        let existing = caltables_columns(&tx).map_err(adopt_error("read columns"))?;
        for (name, sql_type) in PROVENANCE_COLUMNS {
            if existing.iter().any(|c| c.eq_ignore_ascii_case(name)) {
                continue;
            }
            // ADD COLUMN of a nullable column without default only rewrites the schema
            // text: no row is touched, so it is O(1) whatever the registry's size.
            tx.execute_batch(&format!(
                "ALTER TABLE caltables ADD COLUMN {name} {sql_type}"
            ))
            .map_err(adopt_error(&format!("add column {name}")))?;
            added.push(name.to_owned());
        }
    }
    tx.commit().map_err(adopt_error("commit"))?;
    Ok((shape, added))
}
