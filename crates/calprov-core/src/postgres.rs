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

/// The connection a registry holds, with what it needs to open it again.
pub(crate) struct PgConnection {
    // Behind a mutex: reads take `&self`, and postgres's client needs `&mut` for any
    // statement. Writes go through `&mut self` and take it without locking.
    client: Mutex<postgres::Client>,
    /// Statements prepared on this connection, by their SQL: a write then costs one round
    /// trip per statement instead of two (prepare, execute).
    statements: Statements,
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
            client: Mutex::new(client),
            statements: Statements::default(),
            target: target.clone(),
            environment: environment.clone(),
            timeout,
        }
    }

    /// The client for a write, reconnected first when the server closed the last one.
    pub(crate) fn client_mut(&mut self) -> Result<&mut postgres::Client, Error> {
        // A poisoned lock only means another thread panicked mid-call; the connection
        // itself is still usable or fails on its own terms.
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if client.is_closed() {
            *client = connect_postgres(&self.target, &self.environment, timeouts(self.timeout))?;
            // Prepared statements belong to the connection that prepared them.
            self.statements.clear();
            tracing::info!(registry = %self.target, "reconnected to the registry's server");
        }
        Ok(client)
    }

    /// A `READ COMMITTED` transaction (reconnecting first if needed), and the address its
    /// errors name.
    pub(crate) fn transaction(
        &mut self,
        action: &'static str,
    ) -> Result<(postgres::Transaction<'_>, &PgTarget, &mut Statements), Error> {
        self.client_mut()?;
        let target = &self.target;
        let statements = &mut self.statements;
        let client = self
            .client
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let tx = client
            .transaction()
            .map_err(|e| Error::Schema(calprov_schema::Error::postgres(target, action, e)))?;
        Ok((tx, target, statements))
    }

    /// The client for a read, reconnected first when the server closed the last one.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, postgres::Client>, Error> {
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if client.is_closed() {
            *client = connect_postgres(&self.target, &self.environment, timeouts(self.timeout))?;
            tracing::info!(registry = %self.target, "reconnected to the registry's server");
        }
        Ok(client)
    }
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

/// Connects to the PostgreSQL registry at `target` and migrates it: what `calprov init`
/// does for a server. Returns what the migration found and did.
pub fn init_postgres(
    target: &PgTarget,
    environment: &PgEnvironment,
    timeout: Duration,
) -> Result<MigrationReport, Error> {
    Ok(open_postgres(target, environment, timeout)?.migration)
}
