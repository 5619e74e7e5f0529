//! Opening a registry on a PostgreSQL server: the one way calprov reaches one (connect with
//! the configured timeouts and libpq's credentials, then migrate under the advisory lock),
//! and the connection a [`crate::Registry`] keeps, which reconnects after the server went
//! away (a restart, a failover) instead of failing every later call.

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub use calprov_schema::postgres::{PgEnvironment, PgFailure, PgTarget};
use calprov_schema::postgres::{PgTimeouts, connect_postgres};
use calprov_schema::{MigrationReport, postgres::migrate_postgres};

use crate::Error;

/// A connection to a migrated PostgreSQL registry.
pub(crate) struct PgRegistry {
    pub(crate) client: postgres::Client,
    pub(crate) migration: MigrationReport,
}

/// Prepared statements by SQL text.
pub(crate) type Statements = std::collections::HashMap<String, postgres::Statement>;

/// The statement for `sql` (`?N` placeholders), prepared on the connection once: later
/// calls cost one round trip instead of two, and the server plans it once rather than at
/// every call (a walk's frontier query: 1.6 ms of planning for a few of execution).
pub(crate) fn prepared<C: postgres::GenericClient>(
    client: &mut C,
    statements: &mut Statements,
    sql: &str,
) -> Result<postgres::Statement, postgres::Error> {
    if let Some(statement) = statements.get(sql) {
        return Ok(statement.clone());
    }
    let statement = client.prepare(&crate::sql::postgres_placeholders(sql))?;
    statements.insert(sql.to_owned(), statement.clone());
    Ok(statement)
}

/// A client and the statements prepared on it (which belong to it: a new connection starts
/// with none).
pub(crate) struct Session {
    pub(crate) client: postgres::Client,
    pub(crate) statements: Statements,
}

/// The connection a registry holds, with what it needs to open it again.
pub(crate) struct PgConnection {
    // Behind a mutex: reads take `&self`, and postgres's client needs `&mut` for any
    // statement. Writes go through `&mut self` and take it without locking.
    session: Mutex<Session>,
    pub(crate) target: PgTarget,
    environment: PgEnvironment,
    timeout: Duration,
}

impl PgConnection {
    pub(crate) fn new(
        client: postgres::Client,
        target: &PgTarget,
        environment: &PgEnvironment,
        timeout: Duration,
    ) -> Self {
        Self {
            session: Mutex::new(Session {
                client,
                statements: Statements::default(),
            }),
            target: target.clone(),
            environment: environment.clone(),
            timeout,
        }
    }

    /// The session for a write, reconnected first when the server closed the last one.
    pub(crate) fn session_mut(&mut self) -> Result<&mut Session, Error> {
        // A poisoned lock only means another thread panicked mid-call; the connection
        // itself is still usable or fails on its own terms.
        let session = self
            .session
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        reconnect_if_closed(session, &self.target, &self.environment, self.timeout)?;
        Ok(session)
    }

    /// A `READ COMMITTED` transaction (reconnecting first if needed), the address its
    /// errors name and the connection's prepared statements.
    pub(crate) fn transaction(
        &mut self,
        action: &'static str,
    ) -> Result<(postgres::Transaction<'_>, &PgTarget, &mut Statements), Error> {
        self.session_mut()?;
        let target = &self.target;
        let Session { client, statements } = self
            .session
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = client
            .transaction()
            .map_err(|e| Error::Schema(calprov_schema::Error::postgres(target, action, e)))?;
        Ok((tx, target, statements))
    }

    /// The session for a read, reconnected first when the server closed the last one.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Session>, Error> {
        let mut session = self
            .session
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        reconnect_if_closed(&mut session, &self.target, &self.environment, self.timeout)?;
        Ok(session)
    }
}

impl PgConnection {
    /// Runs `work` with the statement for `sql` prepared on this connection (reconnecting
    /// first when the server closed the last one) and the mapping of postgres's errors to
    /// ones that name the registry and `action`.
    pub(crate) fn with_statement<T>(
        &self,
        sql: &str,
        action: &'static str,
        work: impl FnOnce(
            &mut postgres::Client,
            &postgres::Statement,
            &dyn Fn(postgres::Error) -> Error,
        ) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let target = &self.target;
        let failed =
            |e: postgres::Error| Error::Schema(calprov_schema::Error::postgres(target, action, e));
        let mut session = self.lock()?;
        let Session { client, statements } = &mut *session;
        let statement = prepared(client, statements, sql).map_err(failed)?;
        work(client, &statement, &failed)
    }

    /// Another connection to the same registry (already migrated: no migration).
    pub(crate) fn another(&self) -> Result<PgConnection, Error> {
        let client = connect_postgres(&self.target, &self.environment, timeouts(self.timeout))?;
        Ok(PgConnection::new(
            client,
            &self.target,
            &self.environment,
            self.timeout,
        ))
    }

    /// Starts a read-only `REPEATABLE READ` transaction and returns its snapshot's name,
    /// for other connections to read exactly what this one does (as `pg_dump`'s workers).
    pub(crate) fn export_snapshot(&self) -> Result<String, Error> {
        let action = "share a snapshot of the registry";
        let mut session = self.lock()?;
        let messages = session
            .client
            .simple_query(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()",
            )
            .map_err(|e| Error::Schema(calprov_schema::Error::postgres(&self.target, action, e)))?;
        messages
            .iter()
            .find_map(|m| match m {
                postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                _ => None,
            })
            .ok_or_else(|| Error::BadValue {
                registry: self.target.shown().to_owned(),
                action,
                column: 0,
                found: "no snapshot".to_owned(),
            })
    }

    /// Reads from now on in the snapshot `name` another connection exported.
    pub(crate) fn import_snapshot(&self, name: &str) -> Result<(), Error> {
        // A name is what PostgreSQL made (hex digits and dashes); anything else is refused
        // rather than spliced into SQL.
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::BadValue {
                registry: self.target.shown().to_owned(),
                action: "read a shared snapshot",
                column: 0,
                found: name.to_owned(),
            });
        }
        self.lock()?
            .client
            .batch_execute(&format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{name}'"
            ))
            .map_err(|e| {
                Error::Schema(calprov_schema::Error::postgres(
                    &self.target,
                    "read a shared snapshot",
                    e,
                ))
            })
    }

    /// Ends the read-only transaction a snapshot was read in. Best effort: a connection
    /// that lost its server has no transaction left.
    pub(crate) fn end_snapshot(&self) {
        if let Ok(mut session) = self.lock() {
            let _ = session.client.batch_execute("COMMIT");
        }
    }
}

/// Opens a new connection when the server closed the last one (its prepared statements go
/// with it).
fn reconnect_if_closed(
    session: &mut Session,
    target: &PgTarget,
    environment: &PgEnvironment,
    timeout: Duration,
) -> Result<(), Error> {
    if session.client.is_closed() {
        session.client = connect_postgres(target, environment, timeouts(timeout))?;
        session.statements.clear();
        tracing::info!(registry = %target, "reconnected to the registry's server");
    }
    Ok(())
}

/// The connection and statement timeouts of a registry opened with `timeout`.
fn timeouts(timeout: Duration) -> PgTimeouts {
    PgTimeouts {
        connect: timeout,
        statement: timeout.max(Duration::from_secs(30)),
    }
}

/// Connects to `target` and brings its schema to the current version. `timeout` bounds the
/// connection, each statement and the wait for another process's migration.
pub(crate) fn open_postgres(
    target: &PgTarget,
    environment: &PgEnvironment,
    timeout: Duration,
) -> Result<PgRegistry, Error> {
    let mut client = connect_postgres(target, environment, timeouts(timeout))?;
    let migration = migrate_postgres(&mut client, target, timeout)?;
    Ok(PgRegistry { client, migration })
}
