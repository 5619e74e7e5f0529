//! `calprov copy`: a whole registry, history and lineage included, from one backend to
//! another (SQLite to PostgreSQL and back), in one transaction on the target, verified by
//! reading every row back and comparing it with the source.
//!
//! The target must be empty (a migrated schema with no rows): a copy moves a registry, it
//! does not merge two. Ids are kept, so the PROV ids of an export (`calprov:solve-<id>`)
//! name the same things on both sides. Rows go through in pages in key order, so memory
//! stays a page whatever the registry's size. The source is read in one snapshot (an SQLite
//! read transaction, PostgreSQL's `REPEATABLE READ`), so writers may keep tracking into it
//! while it is copied; what they write after the snapshot is not copied.

mod end;
mod postgres_end;
mod sqlite_end;

use std::time::{Duration, Instant};

use calprov_schema::postgres::PgEnvironment;
use calprov_schema::{REGISTRY_TABLES, TableSpec, begin_immediate};

use crate::db_path::RegistryAddress;
use crate::postgres::open_postgres;
use crate::{Error, OpenOptions, Registry};
use end::{End, Fault, describe_key, key_of};
use postgres_end::PostgresEnd;
use sqlite_end::SqliteEnd;

/// Rows per page read (and per verification step).
const PAGE_ROWS: usize = 5_000;

/// How a copy connects.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    /// How long each side waits for a lock, a connection or a statement.
    pub timeout: Duration,
    /// libpq's credentials for PostgreSQL URLs without a password.
    pub postgres: PgEnvironment,
    /// Read every row back and compare it before committing (what `calprov copy` always
    /// does). Off, a copy of a million caltables takes about half the time; the row counts
    /// are still compared.
    pub verify: bool,
}

/// What a copy moved.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CopySummary {
    /// Rows copied (and verified) per table, in copy order.
    pub tables: Vec<TableCount>,
    /// Seconds the copy took, verification included.
    pub seconds: f64,
}

/// Rows of one table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableCount {
    /// The table.
    pub table: String,
    /// Rows copied and read back identical.
    pub rows: u64,
}

impl CopySummary {
    /// Rows copied in all.
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Copies the registry at `from` into the empty registry at `to` (created and migrated if
/// needed), verifying every row; nothing is written to `to` unless all of it is.
pub fn copy_registry(
    from: &RegistryAddress,
    to: &RegistryAddress,
    options: &CopyOptions,
) -> Result<CopySummary, Error> {
    let started = Instant::now();
    let copy_error = |message: String| Error::Copy {
        from: from.to_string(),
        to: to.to_string(),
        message,
    };
    if same_registry(from, to) {
        return Err(copy_error(
            "the source and the target are the same registry".to_owned(),
        ));
    }
    let fault = |fault: Fault| match fault {
        Fault::Backend(error) => error,
        Fault::Value(message) => copy_error(message),
    };
    let tables = with_end(from, Role::Source, options, |source| {
        with_end(to, Role::Target, options, |target| {
            copy_all(source, target, options.verify).map_err(fault)
        })
    })?;
    let summary = CopySummary {
        tables,
        seconds: started.elapsed().as_secs_f64(),
    };
    tracing::info!(
        from = %from,
        to = %to,
        rows = summary.total_rows(),
        seconds = summary.seconds,
        "registry copied"
    );
    Ok(summary)
}

fn same_registry(a: &RegistryAddress, b: &RegistryAddress) -> bool {
    match (a, b) {
        (RegistryAddress::File(a), RegistryAddress::File(b)) => {
            crate::paths::normalize(a) == crate::paths::normalize(b)
        }
        (RegistryAddress::Postgres(a), RegistryAddress::Postgres(b)) => a.shown() == b.shown(),
        _ => false,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Source,
    Target,
}

/// Opens `address` (migrating it), starts the side's transaction, runs `work` on it and, for
/// a target, commits when `work` succeeded. A failed copy leaves the target as it was.
fn with_end<T>(
    address: &RegistryAddress,
    role: Role,
    options: &CopyOptions,
    work: impl FnOnce(&mut dyn End) -> Result<T, Error>,
) -> Result<T, Error> {
    match address {
        RegistryAddress::File(path) => {
            let open = OpenOptions {
                busy_timeout: options.timeout,
                create: role == Role::Target,
                ..OpenOptions::default()
            };
            let mut registry = Registry::open_with(path, &open)?;
            let conn = registry.connection_mut()?;
            let tx = match role {
                Role::Source => conn.transaction(),
                Role::Target => begin_immediate(conn),
            }
            .map_err(Error::sql(path, "begin the copy"))?;
            let result = work(&mut SqliteEnd { tx: &tx, path })?;
            if role == Role::Target {
                tx.commit().map_err(Error::sql(path, "commit the copy"))?;
            }
            Ok(result)
        }
        RegistryAddress::Postgres(target) => {
            let mut registry = open_postgres(target, &options.postgres, options.timeout)?;
            let pg_error =
                |action| move |e| Error::Schema(calprov_schema::Error::postgres(target, action, e));
            let mut tx = match role {
                Role::Source => registry
                    .client
                    .build_transaction()
                    .isolation_level(postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start(),
                Role::Target => registry.client.transaction(),
            }
            .map_err(pg_error("begin the copy"))?;
            let result = work(&mut PostgresEnd {
                tx: &mut tx,
                target,
            })?;
            if role == Role::Target {
                tx.commit().map_err(pg_error("commit the copy"))?;
                vacuum_analyze(&mut registry.client, target);
            }
            Ok(result)
        }
    }
}

/// Gives the copied tables their statistics and visibility maps now: after a bulk load the
/// planner has no statistics and index-only scans read the heap until autovacuum comes by
/// (a minute or more later, and then competing with the first queries). Best effort: the
/// copy is committed whatever this does.
fn vacuum_analyze(client: &mut postgres::Client, target: &calprov_schema::postgres::PgTarget) {
    // A large registry's VACUUM may outlast the session's statement timeout.
    let _ = client.batch_execute("SET statement_timeout = 0");
    for table in &REGISTRY_TABLES {
        // One statement per call: VACUUM cannot run inside a batch's transaction.
        if let Err(error) = client.batch_execute(&format!("VACUUM (ANALYZE) {}", table.name)) {
            tracing::warn!(registry = %target, table = table.name, %error, "copy: VACUUM (ANALYZE) failed; autovacuum will do it later");
            return;
        }
    }
}

/// Checks the target is empty and the source has no column the target lacks, then copies
/// and verifies every table.
fn copy_all(
    source: &mut dyn End,
    target: &mut dyn End,
    verify: bool,
) -> Result<Vec<TableCount>, Fault> {
    for table in &REGISTRY_TABLES {
        let held = target.count(table)?;
        if held > 0 {
            return Err(Fault::Value(format!(
                "the target already holds {held} rows in {}: a copy moves a registry into an empty one",
                table.name
            )));
        }
        let extra: Vec<String> = source
            .columns(table)?
            .into_iter()
            .filter(|c| !table.columns.iter().any(|(name, _)| name == c))
            .collect();
        if !extra.is_empty() {
            return Err(Fault::Value(format!(
                "the source's {} has columns calprov does not know ({}); copying would lose them",
                table.name,
                extra.join(", ")
            )));
        }
    }
    let mut counts = Vec::with_capacity(REGISTRY_TABLES.len());
    for table in &REGISTRY_TABLES {
        let rows = copy_table(source, target, table)?;
        target.after_insert(table)?;
        let verified = if verify {
            verify_table(source, target, table)?
        } else {
            target.count(table)?
        };
        if verified != rows {
            return Err(Fault::Value(format!(
                "{}: {rows} rows copied but {verified} read back",
                table.name
            )));
        }
        counts.push(TableCount {
            table: table.name.to_owned(),
            rows,
        });
    }
    Ok(counts)
}

fn copy_table(source: &mut dyn End, target: &mut dyn End, table: &TableSpec) -> Result<u64, Fault> {
    let mut after: Option<Vec<_>> = None;
    let mut copied = 0u64;
    loop {
        let page = source.read_page(table, after.as_deref(), PAGE_ROWS)?;
        let Some(last) = page.last() else {
            return Ok(copied);
        };
        after = Some(key_of(table, last));
        target.insert(table, &page)?;
        copied += page.len() as u64;
    }
}

/// Reads both sides page by page in key order and compares every cell.
fn verify_table(
    source: &mut dyn End,
    target: &mut dyn End,
    table: &TableSpec,
) -> Result<u64, Fault> {
    let mut after: Option<Vec<_>> = None;
    let mut verified = 0u64;
    loop {
        let expected = source.read_page(table, after.as_deref(), PAGE_ROWS)?;
        let found = target.read_page(table, after.as_deref(), PAGE_ROWS)?;
        for (i, want) in expected.iter().enumerate() {
            let Some(got) = found.get(i) else {
                return Err(Fault::Value(format!(
                    "verification: {} is missing from the target",
                    describe_key(table, want)
                )));
            };
            if let Some(((name, _), (a, b))) = table
                .columns
                .iter()
                .zip(want.iter().zip(got))
                .find(|(_, (a, b))| a != b)
            {
                return Err(Fault::Value(format!(
                    "verification: {} column {name} reads back as {b}, the source holds {a}",
                    describe_key(table, want)
                )));
            }
        }
        if found.len() > expected.len() {
            return Err(Fault::Value(format!(
                "verification: the target holds {} that the source does not",
                describe_key(table, &found[expected.len()])
            )));
        }
        let Some(last) = expected.last() else {
            return Ok(verified);
        };
        after = Some(key_of(table, last));
        verified += expected.len() as u64;
    }
}
