//! Statements written once for both backends.
//!
//! calprov's SQL is the common part of SQLite's and PostgreSQL's dialects (`INSERT ... ON
//! CONFLICT`, `coalesce`, row values, `max`), with SQLite's numbered placeholders `?N`;
//! [`Tx`] runs it on either, turning `?N` into PostgreSQL's `$N`. Values go in and come out
//! as [`Cell`]s. Statements that need one backend's own features stay with that backend.

pub(crate) mod cell;
mod dialect;
mod row_ref;

use std::borrow::Cow;
use std::path::Path;

use calprov_schema::postgres::PgTarget;

use crate::postgres::{Statements, prepared};

pub(crate) use cell::{Cell, FromCell};
pub(crate) use dialect::Dialect;
pub(crate) use row_ref::RowRef;

use crate::Error;

/// A write transaction on a registry of either backend. Dropped without [`Tx::commit`], it
/// rolls back.
pub(crate) enum Tx<'c> {
    /// SQLite, begun `IMMEDIATE` (the write lock taken before anything is read).
    Sqlite {
        tx: rusqlite::Transaction<'c>,
        path: &'c Path,
    },
    /// PostgreSQL, `READ COMMITTED` (row locks taken by the statements themselves).
    Postgres {
        tx: postgres::Transaction<'c>,
        target: &'c PgTarget,
        /// The connection's prepared statements.
        statements: &'c mut Statements,
    },
}

/// `?N` placeholders as PostgreSQL's `$N`. A `?` inside a quoted literal is left alone.
pub(crate) fn postgres_placeholders(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

impl Tx<'_> {
    fn sqlite_error(path: &Path, action: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
        Error::sql(path, action)
    }

    fn postgres_error(
        target: &PgTarget,
        action: &'static str,
    ) -> impl FnOnce(postgres::Error) -> Error {
        move |e| Error::Schema(calprov_schema::Error::postgres(target, action, e))
    }

    /// Runs a statement; returns how many rows it changed.
    pub(crate) fn execute(
        &mut self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
    ) -> Result<u64, Error> {
        match self {
            Tx::Sqlite { tx, path } => tx
                .prepare_cached(sql)
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(params)))
                .map(|n| n as u64)
                .map_err(Self::sqlite_error(path, action)),
            Tx::Postgres {
                tx,
                target,
                statements,
            } => {
                let params = pg_params(params);
                let stmt =
                    prepared(tx, statements, sql).map_err(Self::postgres_error(target, action))?;
                tx.execute(&stmt, &params)
                    .map_err(Self::postgres_error(target, action))
            }
        }
    }

    /// Inserts one row; returns its `id`.
    pub(crate) fn insert_returning_id(
        &mut self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
    ) -> Result<i64, Error> {
        match self {
            Tx::Sqlite { tx, path } => {
                tx.prepare_cached(sql)
                    .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(params)))
                    .map_err(Self::sqlite_error(path, action))?;
                Ok(tx.last_insert_rowid())
            }
            Tx::Postgres {
                tx,
                target,
                statements,
            } => {
                let params = pg_params(params);
                let stmt = prepared(tx, statements, &format!("{sql} RETURNING id"))
                    .map_err(Self::postgres_error(target, action))?;
                let row = tx
                    .query_one(&stmt, &params)
                    .map_err(Self::postgres_error(target, action))?;
                row.try_get::<_, i64>(0)
                    .map_err(Self::postgres_error(target, action))
            }
        }
    }

    /// The integer in the first column of the first row, `None` for no row or NULL.
    pub(crate) fn query_i64(
        &mut self,
        sql: &str,
        params: &[Cell],
        action: &'static str,
    ) -> Result<Option<i64>, Error> {
        match self {
            Tx::Sqlite { tx, path } => {
                use rusqlite::OptionalExtension;
                tx.prepare_cached(sql)
                    .and_then(|mut stmt| {
                        stmt.query_row(rusqlite::params_from_iter(params), |r| {
                            r.get::<_, Option<i64>>(0)
                        })
                        .optional()
                    })
                    .map(Option::flatten)
                    .map_err(Self::sqlite_error(path, action))
            }
            Tx::Postgres {
                tx,
                target,
                statements,
            } => {
                let params = pg_params(params);
                let stmt =
                    prepared(tx, statements, sql).map_err(Self::postgres_error(target, action))?;
                let row = tx
                    .query_opt(&stmt, &params)
                    .map_err(Self::postgres_error(target, action))?;
                // Decoded by the column's type: `SELECT 1` is an int4 on PostgreSQL.
                match row {
                    Some(row) => match cell::from_postgres_column(&row, 0)
                        .map_err(Self::postgres_error(target, action))?
                    {
                        Cell::Integer(v) => Ok(Some(v)),
                        _ => Ok(None),
                    },
                    None => Ok(None),
                }
            }
        }
    }

    /// The SQLite transaction, for the statements written for SQLite only.
    pub(crate) fn sqlite(&self) -> Result<&rusqlite::Transaction<'_>, Error> {
        match self {
            Tx::Sqlite { tx, .. } => Ok(tx),
            Tx::Postgres { target, .. } => Err(Error::Unsupported {
                registry: target.shown().to_owned(),
            }),
        }
    }

    /// Commits.
    pub(crate) fn commit(self, action: &'static str) -> Result<(), Error> {
        match self {
            Tx::Sqlite { tx, path } => tx.commit().map_err(Self::sqlite_error(path, action)),
            Tx::Postgres { tx, target, .. } => {
                tx.commit().map_err(Self::postgres_error(target, action))
            }
        }
    }
}

/// Column `i` of a row read back, as `T`; an error naming the registry, the read and the
/// column when it holds something else.
pub(crate) fn get<T: FromCell>(
    row: &[Cell],
    i: usize,
    registry: &Path,
    action: &'static str,
) -> Result<T, Error> {
    let cell = row.get(i).unwrap_or(&Cell::Null);
    T::from_cell(cell).ok_or_else(|| Error::BadValue {
        registry: registry.display().to_string(),
        action,
        column: i,
        found: cell.to_string(),
    })
}

pub(crate) fn pg_params(params: &[Cell]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|c| c as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::postgres_placeholders;

    #[test]
    fn placeholders_become_dollars_outside_literals() {
        assert_eq!(
            postgres_placeholders("UPDATE t SET a = ?2, b = 'why?' WHERE p = ?1"),
            "UPDATE t SET a = $2, b = 'why?' WHERE p = $1"
        );
        assert_eq!(postgres_placeholders("SELECT 1"), "SELECT 1");
    }
}
