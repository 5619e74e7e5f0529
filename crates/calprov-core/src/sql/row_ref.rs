//! One row of a streamed read, as either backend hands it over: columns read in place (text
//! borrowed from the row, nothing copied), errors naming the registry and the read. For the
//! reads too large to hold as [`super::Cell`]s (the export's passes over the whole history).

use std::borrow::Cow;
use std::path::Path;

use calprov_schema::postgres::PgTarget;
use postgres::types::Type;
use rusqlite::types::ValueRef;

use crate::Error;

/// A row being read, and what its errors name.
pub(crate) enum RowRef<'r> {
    Sqlite {
        row: &'r rusqlite::Row<'r>,
        db: &'r Path,
        action: &'static str,
    },
    Postgres {
        row: &'r postgres::Row,
        target: &'r PgTarget,
        action: &'static str,
    },
}

impl<'r> RowRef<'r> {
    fn sqlite_error(db: &Path, action: &'static str, e: rusqlite::Error) -> Error {
        Error::sql(db, action)(e)
    }

    fn postgres_error(target: &PgTarget, action: &'static str, e: postgres::Error) -> Error {
        Error::Schema(calprov_schema::Error::postgres(target, action, e))
    }

    /// An integer column (either backend's integer types); `None` for NULL.
    pub(crate) fn integer(&self, i: usize) -> Result<Option<i64>, Error> {
        match *self {
            RowRef::Sqlite { row, db, action } => row
                .get::<_, Option<i64>>(i)
                .map_err(|e| Self::sqlite_error(db, action, e)),
            RowRef::Postgres {
                row,
                target,
                action,
            } => {
                let read = match row.columns().get(i).map(|c| c.type_()) {
                    Some(ty) if *ty == Type::INT4 => {
                        row.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from))
                    }
                    Some(ty) if *ty == Type::INT2 => {
                        row.try_get::<_, Option<i16>>(i).map(|v| v.map(i64::from))
                    }
                    _ => row.try_get::<_, Option<i64>>(i),
                };
                read.map_err(|e| Self::postgres_error(target, action, e))
            }
        }
    }

    /// An integer column that cannot be NULL (an id).
    pub(crate) fn id(&self, i: usize) -> Result<i64, Error> {
        self.integer(i)?.ok_or_else(|| Error::BadValue {
            registry: self.registry(),
            action: self.action(),
            column: i,
            found: "NULL".to_owned(),
        })
    }

    /// A real column; `None` for NULL.
    pub(crate) fn real(&self, i: usize) -> Result<Option<f64>, Error> {
        match *self {
            RowRef::Sqlite { row, db, action } => row
                .get::<_, Option<f64>>(i)
                .map_err(|e| Self::sqlite_error(db, action, e)),
            RowRef::Postgres {
                row,
                target,
                action,
            } => row
                .try_get::<_, Option<f64>>(i)
                .map_err(|e| Self::postgres_error(target, action, e)),
        }
    }

    /// A text column, borrowed from the row; `None` for NULL or a value of another type
    /// (SQLite keeps whatever a writer gave it).
    pub(crate) fn text(&self, i: usize) -> Result<Option<Cow<'r, str>>, Error> {
        match *self {
            RowRef::Sqlite { row, db, action } => Ok(
                match row
                    .get_ref(i)
                    .map_err(|e| Self::sqlite_error(db, action, e))?
                {
                    ValueRef::Text(bytes) => Some(match std::str::from_utf8(bytes) {
                        Ok(s) => Cow::Borrowed(s),
                        Err(_) => String::from_utf8_lossy(bytes),
                    }),
                    _ => None,
                },
            ),
            RowRef::Postgres {
                row,
                target,
                action,
            } => row
                .try_get::<_, Option<&str>>(i)
                .map(|v| v.map(Cow::Borrowed))
                .map_err(|e| Self::postgres_error(target, action, e)),
        }
    }

    /// A truth value: SQLite's integer 1 or PostgreSQL's `true`.
    pub(crate) fn flag(&self, i: usize) -> Result<bool, Error> {
        match *self {
            RowRef::Sqlite { row, db, action } => Ok(matches!(
                row.get_ref(i)
                    .map_err(|e| Self::sqlite_error(db, action, e))?,
                ValueRef::Integer(1)
            )),
            RowRef::Postgres {
                row,
                target,
                action,
            } => row
                .try_get::<_, Option<bool>>(i)
                .map(|v| v == Some(true))
                .map_err(|e| Self::postgres_error(target, action, e)),
        }
    }

    fn registry(&self) -> String {
        match self {
            RowRef::Sqlite { db, .. } => db.display().to_string(),
            RowRef::Postgres { target, .. } => target.shown().to_owned(),
        }
    }

    fn action(&self) -> &'static str {
        match self {
            RowRef::Sqlite { action, .. } | RowRef::Postgres { action, .. } => action,
        }
    }
}
