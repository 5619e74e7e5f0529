//! A PostgreSQL registry as one side of a copy.

use calprov_schema::postgres::PgTarget;
use calprov_schema::{ColumnType, TableSpec};
use postgres::Transaction;
use postgres::types::ToSql;

use super::end::{End, Fault, after_clause, describe_key};
use crate::Error;
use crate::sql::cell::{Cell, postgres_can_hold};

/// At most this many parameters in one INSERT (PostgreSQL allows 65,535).
const MAX_PARAMETERS: usize = 16_000;

/// A transaction on a PostgreSQL registry: `REPEATABLE READ, READ ONLY` for a source (one
/// snapshot for the whole copy and its verification), the default for a target.
pub(crate) struct PostgresEnd<'a, 't> {
    pub(crate) tx: &'a mut Transaction<'t>,
    pub(crate) target: &'a PgTarget,
}

impl PostgresEnd<'_, '_> {
    fn pg_error(&self, action: &'static str) -> impl FnOnce(postgres::Error) -> Fault + use<> {
        let target = self.target.clone();
        move |e| {
            Fault::Backend(Error::Schema(calprov_schema::Error::postgres(
                &target, action, e,
            )))
        }
    }
}

impl End for PostgresEnd<'_, '_> {
    fn columns(&mut self, table: &TableSpec) -> Result<Vec<String>, Fault> {
        let rows = self
            .tx
            .query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
                &[&table.name],
            )
            .map_err(self.pg_error("read the columns"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn count(&mut self, table: &TableSpec) -> Result<u64, Fault> {
        let n: i64 = self
            .tx
            .query_one(&format!("SELECT count(*) FROM {}", table.name), &[])
            .map_err(self.pg_error("count rows"))?
            .get(0);
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
            after_clause(table, after.is_some(), |i| format!("${i}")),
            table.key.join(", "),
        );
        let params: Vec<&(dyn ToSql + Sync)> = after
            .unwrap_or_default()
            .iter()
            .map(|c| c as &(dyn ToSql + Sync))
            .collect();
        let rows = self
            .tx
            .query(&sql, &params)
            .map_err(self.pg_error("read rows"))?;
        let read = |row: &postgres::Row| -> Result<Vec<Cell>, postgres::Error> {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, ty))| {
                    Ok(match ty {
                        ColumnType::Integer => row.try_get::<_, Option<i64>>(i)?.map(Cell::Integer),
                        ColumnType::Real => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
                        ColumnType::Text => row.try_get::<_, Option<String>>(i)?.map(Cell::Text),
                        ColumnType::Blob => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Cell::Blob),
                    }
                    .unwrap_or(Cell::Null))
                })
                .collect()
        };
        rows.iter()
            .map(|row| read(row).map_err(self.pg_error("read rows")))
            .collect()
    }

    fn insert(&mut self, table: &TableSpec, rows: &[Vec<Cell>]) -> Result<(), Fault> {
        for row in rows {
            for ((name, _), cell) in table.columns.iter().zip(row) {
                postgres_can_hold(cell).map_err(|why| {
                    Fault::Value(format!("{}: column {name} {why}", describe_key(table, row)))
                })?;
            }
        }
        let width = table.columns.len();
        let per_statement = (MAX_PARAMETERS / width).max(1);
        for chunk in rows.chunks(per_statement) {
            let tuples: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let cells: Vec<String> = (1..=width)
                        .map(|c| format!("${}::{}", r * width + c, pg_type(table.columns[c - 1].1)))
                        .collect();
                    format!("({})", cells.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.name,
                table.column_list(),
                tuples.join(", ")
            );
            let params: Vec<&(dyn ToSql + Sync)> = chunk
                .iter()
                .flatten()
                .map(|c| c as &(dyn ToSql + Sync))
                .collect();
            self.tx
                .execute(&sql, &params)
                .map_err(self.pg_error("insert rows"))?;
        }
        Ok(())
    }

    fn after_insert(&mut self, table: &TableSpec) -> Result<(), Fault> {
        if !table.identity {
            return Ok(());
        }
        // Move the identity past the copied ids, so the next solve gets a new one.
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence('{0}', 'id'), max(id)) FROM {0} HAVING max(id) IS NOT NULL",
            table.name
        );
        self.tx
            .query(&sql, &[])
            .map_err(self.pg_error("move the id sequence"))?;
        Ok(())
    }
}

fn pg_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "int8",
        ColumnType::Real => "float8",
        ColumnType::Text => "text",
        ColumnType::Blob => "bytea",
    }
}
