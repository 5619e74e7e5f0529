//! Opening a registry on a PostgreSQL server: the one way calprov reaches one (connect with
//! the configured timeouts and libpq's credentials, then migrate under the advisory lock).

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

/// Connects to `target` and brings its schema to the current version. `timeout` bounds the
/// connection, each statement and the wait for another process's migration.
pub(crate) fn open_postgres(
    target: &PgTarget,
    environment: &PgEnvironment,
    timeout: Duration,
) -> Result<PgRegistry, Error> {
    let timeouts = PgTimeouts {
        connect: timeout,
        statement: timeout.max(Duration::from_secs(30)),
    };
    let mut client = connect_postgres(target, environment, timeouts)?;
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
