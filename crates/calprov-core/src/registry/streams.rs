//! Reading more than fits in memory, on either backend: rows streamed one at a time, other
//! connections for reading in parallel, and one snapshot they all read.

use calprov_schema::OpenOptions;
use calprov_schema::disk_space::use_wal_index;
use calprov_schema::open_registry;

use super::{Backend, Registry};
use crate::Error;
use crate::sql::{Cell, RowRef};

/// What the readers of one export see: on a server, the snapshot of a read-only transaction
/// on the registry's own connection, shared with every reader (history is appended
/// concurrently, and ids are not committed in order there); a file needs none, its ids
/// being committed in order by its one writer. Ends the transaction when dropped.
pub(crate) struct SharedSnapshot<'r> {
    registry: &'r Registry,
    name: Option<String>,
}

impl SharedSnapshot<'_> {
    /// The snapshot's name, for [`Registry::open_reader`].
    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

impl Drop for SharedSnapshot<'_> {
    fn drop(&mut self) {
        if let (Backend::Postgres(connection), Some(_)) = (&self.registry.backend, &self.name) {
            connection.end_snapshot();
        }
    }
}

impl Registry {
    /// Calls `visit` with each row of a query (written for both backends, `?N`
    /// placeholders) as it arrives: memory stays one row whatever the query returns.
    pub(crate) fn for_each_row(
        &self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
        visit: impl FnMut(RowRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.each_row(sql, params, action, Arrival::Streamed, visit)
    }

    /// [`for_each_row`](Self::for_each_row) for a result the caller keeps anyway (a walk's
    /// level): on a server the rows arrive all at once, the PostgreSQL client's runtime
    /// entered once for them rather than once a row, which was half the client's time on a
    /// walk of 10,000 rows. The same on a file.
    pub(crate) fn for_each_row_at_once(
        &self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
        visit: impl FnMut(RowRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.each_row(sql, params, action, Arrival::AtOnce, visit)
    }

    fn each_row(
        &self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
        arrival: Arrival,
        mut visit: impl FnMut(RowRef<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => {
                let db = self.path.as_path();
                let failed = |e| Error::sql(db, action)(e);
                let mut stmt = conn.prepare_cached(sql).map_err(failed)?;
                let mut rows = stmt
                    .query(rusqlite::params_from_iter(params))
                    .map_err(failed)?;
                while let Some(row) = rows.next().map_err(failed)? {
                    visit(RowRef::Sqlite { row, db, action })?;
                }
                Ok(())
            }
            Backend::Postgres(connection) => {
                use postgres::fallible_iterator::FallibleIterator;
                let target = &connection.target;
                connection.with_statement(sql, action, |client, statement, failed| {
                    let mut visit_row = |row: &postgres::Row| {
                        visit(RowRef::Postgres {
                            row,
                            target,
                            action,
                        })
                    };
                    let params = crate::sql::pg_params(params);
                    match arrival {
                        Arrival::Streamed => {
                            let mut rows = client.query_raw(statement, params).map_err(failed)?;
                            while let Some(row) = rows.next().map_err(failed)? {
                                visit_row(&row)?;
                            }
                        }
                        Arrival::AtOnce => {
                            let rows = client.query(statement, &params).map_err(failed)?;
                            rows.iter().try_for_each(visit_row)?;
                        }
                    }
                    Ok(())
                })
            }
        }
    }

    /// Runs one statement outside any transaction of this handle's (the temporary tables a
    /// read stages its selection in: private to this connection, never in the registry).
    pub(crate) fn execute_here(
        &self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
    ) -> Result<(), Error> {
        match &self.backend {
            Backend::Sqlite { conn, .. } => conn
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(params)))
                .map(drop)
                .map_err(Error::sql(&self.path, action)),
            Backend::Postgres(connection) => {
                connection.with_statement(sql, action, |client, statement, failed| {
                    client
                        .execute(statement, &crate::sql::pg_params(params))
                        .map(drop)
                        .map_err(failed)
                })
            }
        }
    }

    /// Starts what every reader of one export reads (see [`SharedSnapshot`]).
    pub(crate) fn share_snapshot(&self) -> Result<SharedSnapshot<'_>, Error> {
        let name = match &self.backend {
            Backend::Sqlite { .. } => None,
            Backend::Postgres(connection) => Some(connection.export_snapshot()?),
        };
        Ok(SharedSnapshot {
            registry: self,
            name,
        })
    }

    /// Another handle on this registry, for reading on another thread: through the one
    /// opener, read-only for a file, no migration (this one did it); on a server, reading in
    /// `snapshot` when one is given.
    pub(crate) fn open_reader(&self, snapshot: Option<&str>) -> Result<Registry, Error> {
        let backend = match &self.backend {
            Backend::Sqlite { .. } => {
                let options = OpenOptions {
                    busy_timeout: self.busy_timeout,
                    read_only: true,
                    create: false,
                };
                let wal_index = use_wal_index(&self.path);
                Backend::Sqlite {
                    conn: open_registry(&self.path, &options)?,
                    _wal_index: wal_index,
                }
            }
            Backend::Postgres(connection) => {
                let reader = connection.another()?;
                if let Some(name) = snapshot {
                    reader.import_snapshot(name)?;
                }
                Backend::Postgres(Box::new(reader))
            }
        };
        Ok(Registry {
            backend,
            path: self.path.clone(),
            migration: self.migration.clone(),
            busy_timeout: self.busy_timeout,
        })
    }
}

/// How a query's rows reach the caller on a server.
#[derive(Clone, Copy)]
enum Arrival {
    /// One at a time as they arrive: memory stays one row.
    Streamed,
    /// All of them, then visited.
    AtOnce,
}
