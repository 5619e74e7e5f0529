//! An SQLite registry as one side of a copy.

use std::path::Path;

use calprov_schema::TableSpec;
use rusqlite::types::ValueRef;
use rusqlite::{ToSql, Transaction};

use super::end::{End, Fault, after_clause, describe_key};
use crate::Error;
use crate::sql::cell::{Cell, Stored, from_sqlite};

/// A transaction on an SQLite registry: a read snapshot for a source, the write lock for a
/// target.
pub(crate) struct SqliteEnd<'a> {
    pub(crate) tx: &'a Transaction<'a>,
    pub(crate) path: &'a Path,
}

impl SqliteEnd<'_> {
    fn sql_error(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> Fault + use<> {
        let path = self.path.to_path_buf();
        move |source| {
            Fault::Backend(Error::Sql {
                path,
                action,
                source,
            })
        }
    }
}

impl End for SqliteEnd<'_> {
    fn columns(&mut self, table: &TableSpec) -> Result<Vec<String>, Fault> {
        let mut stmt = self
            .tx
            .prepare("SELECT name FROM pragma_table_info(?1)")
            .map_err(self.sql_error("read the columns"))?;
        let names = stmt
            .query_map([table.name], |row| row.get::<_, String>(0))
            .and_then(Iterator::collect)
            .map_err(self.sql_error("read the columns"))?;
        Ok(names)
    }

    fn count(&mut self, table: &TableSpec) -> Result<u64, Fault> {
        let n: i64 = self
            .tx
            .query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| {
                r.get(0)
            })
            .map_err(self.sql_error("count rows"))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn read_page(
        &mut self,
        table: &TableSpec,
        after: Option<&[Cell]>,
        limit: usize,
    ) -> Result<Vec<Vec<Cell>>, Fault> {
        let sql = format!(
            "SELECT {} FROM {} {} ORDER BY {} LIMIT {limit}",
            table.column_list(),
            table.name,
            after_clause(table, after.is_some(), |i| format!("?{i}")),
            table.key.join(", "),
        );
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(self.sql_error("read rows"))?;
        let params: Vec<&dyn ToSql> = after
            .unwrap_or_default()
            .iter()
            .map(|c| c as &dyn ToSql)
            .collect();
        let mut rows = stmt
            .query(params.as_slice())
            .map_err(self.sql_error("read rows"))?;
        let mut page = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql_error("read rows"))? {
            let mut cells = Vec::with_capacity(table.columns.len());
            let mut refused = None;
            for (i, (name, ty)) in table.columns.iter().enumerate() {
                let stored = match row.get_ref(i).map_err(self.sql_error("read rows"))? {
                    ValueRef::Null => Stored::Null,
                    ValueRef::Integer(v) => Stored::Integer(v),
                    ValueRef::Real(v) => Stored::Real(v),
                    ValueRef::Text(v) => Stored::Text(v),
                    ValueRef::Blob(v) => Stored::Blob(v),
                };
                match from_sqlite(stored, *ty) {
                    Ok(cell) => cells.push(cell),
                    Err(why) => {
                        refused.get_or_insert((*name, why));
                        cells.push(Cell::Null);
                    }
                }
            }
            if let Some((column, why)) = refused {
                return Err(Fault::Value(format!(
                    "{}: column {column} {why}",
                    describe_key(table, &cells)
                )));
            }
            page.push(cells);
        }
        Ok(page)
    }

    fn insert(&mut self, table: &TableSpec, rows: &[Vec<Cell>]) -> Result<(), Fault> {
        let placeholders: Vec<String> =
            (1..=table.columns.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            table.name,
            table.column_list(),
            placeholders.join(", ")
        );
        let mut stmt = self
            .tx
            .prepare_cached(&sql)
            .map_err(self.sql_error("insert rows"))?;
        for row in rows {
            stmt.execute(rusqlite::params_from_iter(row.iter()))
                .map_err(self.sql_error("insert rows"))?;
        }
        Ok(())
    }

    fn after_insert(&mut self, _table: &TableSpec) -> Result<(), Fault> {
        // A rowid table's next id is already one past its largest.
        Ok(())
    }
}
