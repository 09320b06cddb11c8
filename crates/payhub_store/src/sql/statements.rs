//! Plain statements inside a write transaction, whichever driver runs it:
//! sqlx's `Any` transaction on the pool, or rusqlite on SQLite's writer
//! thread (`sqlite_writer`). Fan-out's writes (the outbox's claims and
//! dispatch, the deliveries' claims and outcomes) are written once over
//! [`StatementTx`], so that on SQLite they run on the writer thread, one
//! hand-off per transaction, as group commit's do, and keep SQLite's one
//! turn to write for as short a time.

use sqlx::{Any, Transaction};

use super::batch::{anonymous_rows, values_list};
use super::codec::Columns as RowColumns;
use super::ledger_writes::bind_value;
use super::row_values::{Columns, Value};
use crate::error::StoreError;

/// The statements a fan-out write needs from its transaction's driver.
pub(super) trait StatementTx {
    /// Whether the driver binds anonymous `?` placeholders (SQLite's, which
    /// cost no lookup by name), and how many rows a multi-row statement
    /// then carries.
    fn placeholders(&self) -> (bool, usize);

    /// Runs `sql` with `values` bound in order; the rows it changed.
    async fn execute(&mut self, sql: &str, values: &[Value<'_>]) -> Result<u64, StoreError>;

    /// Runs `sql` with `values` bound in order, each row it returns decoded.
    async fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[Value<'_>],
        decode: impl FnMut(&dyn RowColumns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError>;
}

impl StatementTx for Transaction<'_, Any> {
    fn placeholders(&self) -> (bool, usize) {
        anonymous_rows(self)
    }

    async fn execute(&mut self, sql: &str, values: &[Value<'_>]) -> Result<u64, StoreError> {
        let mut query = sqlx::query(sql);
        for value in values {
            query = bind_value(query, value);
        }
        Ok(query.execute(&mut **self).await?.rows_affected())
    }

    async fn fetch<T>(
        &mut self,
        sql: &str,
        values: &[Value<'_>],
        mut decode: impl FnMut(&dyn RowColumns) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut query = sqlx::query(sql);
        for value in values {
            query = bind_value(query, value);
        }
        let rows = query.fetch_all(&mut **self).await?;
        rows.iter().map(|row| decode(row)).collect()
    }
}

/// Inserts rows of `columns` (each row's values in turn in `values`), many
/// rows a statement, each statement ending in `suffix` (such as an `ON
/// CONFLICT` clause). On SQLite the rows take anonymous placeholders, so
/// the statement's size does not cost its square (see `batch`).
pub(super) async fn insert_many(
    tx: &mut impl StatementTx,
    columns: &Columns,
    values: &[Value<'_>],
    suffix: &str,
) -> Result<(), StoreError> {
    let (anonymous, rows) = tx.placeholders();
    let width = columns.names.len();
    for chunk in values.chunks(rows * width) {
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}{suffix}",
            columns.table,
            columns.list(),
            values_list(chunk.len() / width, width, anonymous)
        );
        tx.execute(&sql, chunk).await?;
    }
    Ok(())
}

/// The placeholders of `count` values that follow `before` bound ones:
/// `?, ?, …` when anonymous, `$before+1, $before+2, …` when numbered.
pub(super) fn placeholder_list(anonymous: bool, before: usize, count: usize) -> String {
    let each: Vec<String> = (1..=count)
        .map(|n| {
            if anonymous {
                "?".to_owned()
            } else {
                format!("${}", before + n)
            }
        })
        .collect();
    each.join(", ")
}

/// An `i64` column of a row of either driver (for `RETURNING id`).
pub(super) fn id_of(row: &dyn RowColumns) -> Result<i64, StoreError> {
    row.int("id")
}

#[cfg(test)]
mod tests {
    use super::placeholder_list;

    #[test]
    fn placeholders_follow_the_values_bound_before_them() {
        assert_eq!(placeholder_list(true, 2, 3), "?, ?, ?");
        assert_eq!(placeholder_list(false, 2, 3), "$3, $4, $5");
        assert_eq!(placeholder_list(false, 0, 1), "$1");
    }
}
