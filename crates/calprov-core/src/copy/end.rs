//! One side of a copy: a registry in a transaction, read or written table by table.

use calprov_schema::TableSpec;

use crate::Error;
use crate::sql::cell::Cell;

/// What can stop a copy at one side.
pub(crate) enum Fault {
    /// The backend failed (connection, statement, constraint).
    Backend(Error),
    /// A value cannot be moved as it is; the message names the row and column.
    Value(String),
}

impl From<Error> for Fault {
    fn from(error: Error) -> Self {
        Fault::Backend(error)
    }
}

/// A registry inside the copy's transaction.
pub(crate) trait End {
    /// The columns `table` has on this side.
    fn columns(&mut self, table: &TableSpec) -> Result<Vec<String>, Fault>;
    /// How many rows `table` holds.
    fn count(&mut self, table: &TableSpec) -> Result<u64, Fault>;
    /// Up to `limit` rows of `table` whose key comes after `after`, in key order.
    fn read_page(
        &mut self,
        table: &TableSpec,
        after: Option<&[Cell]>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>, Fault>;
    /// Inserts `rows` into `table`, their ids as given.
    fn insert(&mut self, table: &TableSpec, rows: &[Vec<Cell>]) -> Result<(), Fault>;
    /// After a table's rows are in: new rows must get ids past the copied ones.
    fn after_insert(&mut self, table: &TableSpec) -> Result<(), Fault>;
}

/// `WHERE (k1, k2) > (p1, p2)` with the backend's placeholders, or nothing on the first page.
pub(crate) fn after_clause(
    table: &TableSpec,
    after: bool,
    placeholder: fn(usize) -> String,
) -> String {
    if !after {
        return String::new();
    }
    let placeholders: Vec<String> = (1..=table.key.len()).map(placeholder).collect();
    format!(
        "WHERE ({}) > ({})",
        table.key.join(", "),
        placeholders.join(", ")
    )
}

/// The key cells of `row`.
pub(crate) fn key_of(table: &TableSpec, row: &[Cell]) -> Vec<Cell> {
    table
        .key_positions()
        .into_iter()
        .filter_map(|i| row.get(i).cloned())
        .collect()
}

/// `(k1=v1, k2=v2)`, naming a row in messages.
pub(crate) fn describe_key(table: &TableSpec, row: &[Cell]) -> String {
    let parts: Vec<String> = table
        .key
        .iter()
        .zip(key_of(table, row))
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!("{} row ({})", table.name, parts.join(", "))
}
