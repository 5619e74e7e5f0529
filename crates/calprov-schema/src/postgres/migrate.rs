//! Migrating a PostgreSQL registry: refinery's embedded migrations (`postgres_migrations/`,
//! the SQLite ones in PostgreSQL's types, numbered alike), serialised across every host by
//! an advisory lock.
//!
//! An advisory lock rather than a table lock: it exists before any table does (the first
//! migration of an empty database is what must be serialised), it is released by the server
//! when the holder's session ends however it ends, and no other work of the database waits
//! on it.

use std::time::{Duration, Instant};

use postgres::Client;

use super::PgTarget;
use crate::{ALL_COLUMNS, Error, MigrationReport, RegistryShape};

mod embedded {
    refinery::embed_migrations!("postgres_migrations");
}

/// The schema version the PostgreSQL migrations lead to.
pub const LATEST_VERSION: i64 = 5;

/// The advisory lock's key: "calprov" in ASCII, so that it is recognisable in `pg_locks`.
const MIGRATION_LOCK_KEY: i64 = 0x0063_616c_7072_6f76;

/// Brings the PostgreSQL registry behind `client` to the current schema, waiting at most
/// `lock_timeout` for another process's migration.
pub fn migrate_postgres(
    client: &mut Client,
    target: &PgTarget,
    lock_timeout: Duration,
) -> Result<MigrationReport, Error> {
    let started = Instant::now();
    let span = tracing::info_span!("migrate", registry = %target);
    let _entered = span.enter();
    // Fast path without the lock: what every call after the first sees.
    let version = refinery_version(client, target)?;
    if let Some(version) = version.filter(|v| *v >= LATEST_VERSION) {
        return Ok(MigrationReport::already_current(version, started.elapsed()));
    }
    acquire_lock(client, target, lock_timeout)?;
    let lock_wait = started.elapsed();
    let outcome = migrate_locked(client, target);
    // The session's end would release it too; unlocking keeps a pooled session clean.
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
        .map_err(|e| Error::postgres(target, "release the migration lock", e));
    let (shape_before, migrations_applied, schema_version) = outcome?;
    unlocked?;
    let report = MigrationReport {
        shape_before,
        columns_added: Vec::new(),
        migrations_applied,
        schema_version,
        elapsed: started.elapsed(),
        lock_wait,
    };
    report.log();
    Ok(report)
}

type Migrated = (RegistryShape, Vec<String>, i64);

fn migrate_locked(client: &mut Client, target: &PgTarget) -> Result<Migrated, Error> {
    let shape = detect_shape(client, target)?;
    // refinery unwraps its own history rows; a damaged history must be an error here, not
    // a panic in the caller's process.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        embedded::migrations::runner().set_grouped(true).run(client)
    }));
    let report = match run {
        Ok(Ok(report)) => report,
        Ok(Err(source)) => {
            return Err(Error::PgSchema {
                target: target.shown().to_owned(),
                message: format!("applying migrations failed: {}", crate::chain(&source)),
            });
        }
        Err(_) => {
            return Err(Error::PgSchema {
                target: target.shown().to_owned(),
                message: "refinery_schema_history is damaged (refinery could not read it)"
                    .to_owned(),
            });
        }
    };
    let applied = report
        .applied_migrations()
        .iter()
        .map(|m| m.to_string())
        .collect();
    let version = refinery_version(client, target)?.unwrap_or(0);
    Ok((shape, applied, version))
}

fn acquire_lock(client: &mut Client, target: &PgTarget, timeout: Duration) -> Result<(), Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        let row = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
            .map_err(|e| Error::postgres(target, "take the migration lock", e))?;
        if row.get::<_, bool>(0) {
            return Ok(());
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::PgLockTimeout {
                target: target.shown().to_owned(),
                waited,
            });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// The highest version in refinery's history, `None` when it has none.
fn refinery_version(client: &mut Client, target: &PgTarget) -> Result<Option<i64>, Error> {
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('refinery_schema_history') IS NOT NULL",
            &[],
        )
        .map_err(|e| Error::postgres(target, "read the schema version", e))?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM refinery_schema_history", &[])
        .map_err(|e| Error::postgres(target, "read the schema version", e))?
        .get(0);
    Ok(version.map(i64::from))
}

/// `Empty`, `Calprov` (refinery's history exists) or `CurrentPython` (a `caltables` with the
/// 17 columns made by hand); a `caltables` without them is refused.
fn detect_shape(client: &mut Client, target: &PgTarget) -> Result<RegistryShape, Error> {
    if let Some(version) = refinery_version(client, target)? {
        return Ok(RegistryShape::Calprov { version });
    }
    let rows = client
        .query(
            "SELECT column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = 'caltables'",
            &[],
        )
        .map_err(|e| Error::postgres(target, "read the caltables columns", e))?;
    if rows.is_empty() {
        return Ok(RegistryShape::Empty);
    }
    let present: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let missing: Vec<&str> = ALL_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.iter().any(|p| p == c))
        .collect();
    if missing.is_empty() {
        Ok(RegistryShape::CurrentPython)
    } else {
        Err(Error::PgSchema {
            target: target.shown().to_owned(),
            message: format!(
                "table caltables is not a calibration registry (missing columns: {})",
                missing.join(", ")
            ),
        })
    }
}
