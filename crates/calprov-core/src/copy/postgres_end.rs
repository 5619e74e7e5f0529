//! A PostgreSQL registry as one side of a copy.

use calprov_schema::postgres::PgTarget;
use calprov_schema::{ColumnType, TableSpec};
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use super::end::{End, Fault, after_clause, describe_key};
use crate::Error;
use crate::sql::cell::{Cell, postgres_can_hold};

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
        // Binary COPY: one stream per page, the rows in PostgreSQL's own binary format, no
        // statement to parse per row: a million-row table goes in within seconds.
        let types: Vec<Type> = table.columns.iter().map(|(_, ty)| pg_type(*ty)).collect();
        let sql = format!(
            "COPY {} ({}) FROM STDIN BINARY",
            table.name,
            table.column_list()
        );
        let copy_error = self.pg_error("insert rows");
        let copied = (|| {
            let mut writer = BinaryCopyInWriter::new(self.tx.copy_in(&sql)?, &types);
            for row in rows {
                let values: Vec<&(dyn ToSql + Sync)> =
                    row.iter().map(|c| c as &(dyn ToSql + Sync)).collect();
                writer.write(&values)?;
            }
            writer.finish()
        })();
        copied.map(|_| ()).map_err(copy_error)
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

fn pg_type(ty: ColumnType) -> Type {
    match ty {
        ColumnType::Integer => Type::INT8,
        ColumnType::Real => Type::FLOAT8,
        ColumnType::Text => Type::TEXT,
        ColumnType::Blob => Type::BYTEA,
    }
}
