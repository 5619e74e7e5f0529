//! One value of a registry row, as both backends can hold it, and the rules that turn what a
//! backend returns into it (pure: tested without a database).

use bytes::BytesMut;
use calprov_schema::ColumnType;
use postgres::types::{IsNull, Type, to_sql_checked};
use rusqlite::types::{ToSqlOutput, ValueRef};

/// A value of one column of one row.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// Equality as a copy must keep it: reals by their bits (so `-0.0` and `0.0` differ and a
/// NaN equals itself), everything else by value.
impl PartialEq for Cell {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Cell::Null, Cell::Null) => true,
            (Cell::Integer(a), Cell::Integer(b)) => a == b,
            (Cell::Real(a), Cell::Real(b)) => a.to_bits() == b.to_bits(),
            (Cell::Text(a), Cell::Text(b)) => a == b,
            (Cell::Blob(a), Cell::Blob(b)) => a == b,
            _ => false,
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => f.write_str("NULL"),
            Cell::Integer(v) => write!(f, "{v}"),
            Cell::Real(v) => write!(f, "{v:?}"),
            Cell::Text(v) if v.chars().count() > 60 => {
                let head: String = v.chars().take(60).collect();
                write!(f, "{head:?}...")
            }
            Cell::Text(v) => write!(f, "{v:?}"),
            Cell::Blob(v) => write!(f, "a blob of {} bytes", v.len()),
        }
    }
}

/// Bound to an SQLite statement as the value it holds.
impl rusqlite::ToSql for Cell {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Cell::Null => ValueRef::Null,
            Cell::Integer(v) => ValueRef::Integer(*v),
            Cell::Real(v) => ValueRef::Real(*v),
            Cell::Text(v) => ValueRef::Text(v.as_bytes()),
            Cell::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// Bound to a PostgreSQL statement as the value it holds, in the column types calprov's
/// PostgreSQL schema uses (`BIGINT`, `DOUBLE PRECISION`, `TEXT`, `BYTEA`).
impl postgres::types::ToSql for Cell {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Cell::Null => Ok(IsNull::Yes),
            Cell::Integer(v) => v.to_sql(ty, out),
            Cell::Real(v) => v.to_sql(ty, out),
            Cell::Text(v) => v.to_sql(ty, out),
            Cell::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        [Type::INT8, Type::FLOAT8, Type::TEXT, Type::BYTEA].contains(ty)
    }

    to_sql_checked!();
}

impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::Integer(v)
    }
}

impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::Real(v)
    }
}

impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Integer(i64::from(v))
    }
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Text(v.to_owned())
    }
}

impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Text(v)
    }
}

impl From<Vec<u8>> for Cell {
    fn from(v: Vec<u8>) -> Self {
        Cell::Blob(v)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Self {
        v.map_or(Cell::Null, Into::into)
    }
}

/// A Rust value a cell read back can be: `None` when the cell holds another type.
pub(crate) trait FromCell: Sized {
    fn from_cell(cell: &Cell) -> Option<Self>;
}

impl FromCell for i64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl FromCell for f64 {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Real(v) => Some(*v),
            // SQLite may hand back a whole-number REAL as an integer.
            Cell::Integer(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl FromCell for String {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl<T: FromCell> FromCell for Option<T> {
    fn from_cell(cell: &Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// Any value SQLite returns, as the cell of its own type.
pub(crate) fn from_sqlite_value(value: ValueRef<'_>) -> Cell {
    match value {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(v) => Cell::Integer(v),
        ValueRef::Real(v) => Cell::Real(v),
        // `from_utf8` checks a word at a time; the lossy conversion walks every byte, and a
        // solve's metrics text is kilobytes. Invalid text (written by another program) still
        // reads, lossily.
        ValueRef::Text(v) => Cell::Text(match std::str::from_utf8(v) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(v).into_owned(),
        }),
        ValueRef::Blob(v) => Cell::Blob(v.to_vec()),
    }
}

/// Column `i` of a PostgreSQL row, as the cell of its type (the types calprov's schema and
/// its queries produce; `count`s are `BIGINT`, and queries cast sums and booleans).
pub(crate) fn from_postgres_column(row: &postgres::Row, i: usize) -> Result<Cell, postgres::Error> {
    let ty = row.columns().get(i).map(|c| c.type_().clone());
    Ok(match ty {
        Some(ty) if ty == Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Integer),
        Some(ty) if ty == Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Cell::Integer(i64::from(v))),
        Some(ty) if ty == Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Cell::Integer(i64::from(v))),
        Some(ty) if ty == Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
        Some(ty) if ty == Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Blob),
        _ => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
    }
    .unwrap_or(Cell::Null))
}

/// A value as SQLite stores it, before it is checked against its column's type.
pub(crate) enum Stored<'a> {
    Null,
    Integer(i64),
    Real(f64),
    Text(&'a [u8]),
    Blob(&'a [u8]),
}

/// The cell a stored SQLite value becomes in a column of type `ty`, or why it cannot.
///
/// SQLite keeps whatever a writer gave it; the other backend keeps only its column's type.
/// An integer in a real column is the same number (SQLite's REAL affinity would have
/// converted it), an integral real in an integer column too; anything else is refused
/// rather than changed.
pub(crate) fn from_sqlite(value: Stored<'_>, ty: ColumnType) -> Result<Cell, String> {
    match (value, ty) {
        (Stored::Null, _) => Ok(Cell::Null),
        (Stored::Integer(v), ColumnType::Integer) => Ok(Cell::Integer(v)),
        (Stored::Integer(v), ColumnType::Real) => Ok(Cell::Real(v as f64)),
        (Stored::Real(v), ColumnType::Real) => Ok(Cell::Real(v)),
        (Stored::Real(v), ColumnType::Integer) if v.fract() == 0.0 && v.abs() < 9.0e15 => {
            Ok(Cell::Integer(v as i64))
        }
        (Stored::Text(bytes), ColumnType::Text) => String::from_utf8(bytes.to_vec())
            .map(Cell::Text)
            .map_err(|_| "holds text that is not valid UTF-8".to_owned()),
        (Stored::Blob(bytes), ColumnType::Blob) => Ok(Cell::Blob(bytes.to_vec())),
        (value, ty) => Err(format!(
            "holds {}, and its column is {}",
            stored_kind(&value),
            type_name(ty)
        )),
    }
}

/// Whether PostgreSQL can store `cell`: its text may not contain NUL.
pub(crate) fn postgres_can_hold(cell: &Cell) -> Result<(), String> {
    match cell {
        Cell::Text(text) if text.contains('\0') => {
            Err("holds text with a NUL character, which PostgreSQL's TEXT cannot".to_owned())
        }
        _ => Ok(()),
    }
}

fn stored_kind(value: &Stored<'_>) -> String {
    match value {
        Stored::Null => "NULL".to_owned(),
        Stored::Integer(v) => format!("the integer {v}"),
        Stored::Real(v) => format!("the real {v:?}"),
        Stored::Text(bytes) => format!("text of {} bytes", bytes.len()),
        Stored::Blob(bytes) => format!("a blob of {} bytes", bytes.len()),
    }
}

fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "an integer column",
        ColumnType::Real => "a real column",
        ColumnType::Text => "a text column",
        ColumnType::Blob => "a blob column",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sqlite_values_become_cells_of_their_column_or_are_refused() {
        let int = ColumnType::Integer;
        let real = ColumnType::Real;
        let text = ColumnType::Text;
        assert_eq!(from_sqlite(Stored::Integer(3), real), Ok(Cell::Real(3.0)));
        assert_eq!(from_sqlite(Stored::Real(4.0), int), Ok(Cell::Integer(4)));
        assert!(from_sqlite(Stored::Real(4.5), int).is_err());
        assert!(from_sqlite(Stored::Text(b"abc"), real).is_err());
        assert!(from_sqlite(Stored::Text(&[0xff, 0xfe]), text).is_err());
        assert!(from_sqlite(Stored::Blob(b"x"), text).is_err());
        assert_eq!(from_sqlite(Stored::Null, text), Ok(Cell::Null));
        assert!(postgres_can_hold(&Cell::Text("a\0b".into())).is_err());
    }

    #[test]
    fn reals_compare_by_bits() {
        assert_ne!(Cell::Real(0.0), Cell::Real(-0.0));
        assert_eq!(Cell::Real(f64::NAN), Cell::Real(f64::NAN));
        assert_ne!(Cell::Integer(1), Cell::Real(1.0));
    }

    proptest! {
        #[test]
        fn values_of_the_right_type_pass_unchanged(i in any::<i64>(), r in any::<f64>(), t in ".*", b in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(from_sqlite(Stored::Integer(i), ColumnType::Integer), Ok(Cell::Integer(i)));
            prop_assert_eq!(from_sqlite(Stored::Real(r), ColumnType::Real), Ok(Cell::Real(r)));
            prop_assert_eq!(from_sqlite(Stored::Text(t.as_bytes()), ColumnType::Text), Ok(Cell::Text(t.clone())));
            prop_assert_eq!(from_sqlite(Stored::Blob(&b), ColumnType::Blob), Ok(Cell::Blob(b.clone())));
        }
    }
}
