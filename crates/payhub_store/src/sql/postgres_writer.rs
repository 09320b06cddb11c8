//! Group commit's writes on PostgreSQL through tokio-postgres, instead of
//! through sqlx's `Any` pool.
//!
//! Each committer task keeps a connection of its own (so no checkout from
//! the pool) with its statements prepared once, and a batch's rows go in
//! one statement per table whatever the batch's size: the columns are sent
//! as typed arrays and unpacked by `UNNEST`, so the statement's text (and
//! its plan) is the same for one row as for 256. The pool's path builds a
//! new multi-row `VALUES` text for every batch size, which PostgreSQL
//! parses and plans each time, and copies every bound value through
//! sqlx's `Any` arguments.
//!
//! A connection that ended is replaced on the next batch; the batch that
//! met the end fails as unavailable (503), and group commit then tries its
//! jobs one by one, on a new connection. TLS: as for the reads
//! (`postgres_reads`): this path exists only where the URL lets payhub
//! connect without TLS; otherwise group commit writes through the pool.

use std::collections::HashMap;

use payhub_core::{Payment, PaymentId};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, Statement};

use super::codec::{payment_from_row, Columns as _};
use super::group_commit::{write_jobs, Job, Outcome};
use super::ledger_writes::{select_counted_refunds, select_payments, LedgerTx};
use super::postgres_reads::{classify, connect, Row};
use super::row_values::{Columns, Kind, Value, KEEP_RESPONSE_KINDS, KEEP_RESPONSE_SQL};
use crate::error::StoreError;

/// How these connections show in `pg_stat_activity`, unless the URL names one.
pub(super) const APPLICATION_NAME: &str = "payhub-writes";

/// One committer's connection, opened on its first batch.
pub(super) struct PostgresWriter {
    config: Config,
    client: Option<Client>,
    /// Prepared on `client`, by SQL text; emptied with a new connection.
    statements: HashMap<String, Statement>,
}

impl PostgresWriter {
    pub(super) fn new(config: Config) -> Self {
        Self {
            config,
            client: None,
            statements: HashMap::new(),
        }
    }

    /// Writes the jobs in one transaction.
    pub(super) async fn execute(
        &mut self,
        jobs: &[std::sync::Arc<Job>],
    ) -> Result<Vec<Outcome>, StoreError> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.statements.clear();
            self.client = None;
            self.client = Some(connect(&self.config).await?);
        }
        let Self {
            client, statements, ..
        } = self;
        let Some(client) = client.as_mut() else {
            return Err(StoreError::WriterStopped);
        };
        let result = async {
            let tx = client.transaction().await.map_err(classify)?;
            let outcomes = write_jobs(
                &mut PostgresTx {
                    tx: &tx,
                    statements,
                },
                jobs,
            )
            .await?;
            tx.commit().await.map_err(classify)?;
            Ok(outcomes)
        }
        .await;
        if let Err(StoreError::Unavailable(_)) = &result {
            self.client = None;
        }
        result
    }
}

/// The ledger's statements on a committer's open transaction.
struct PostgresTx<'t> {
    tx: &'t tokio_postgres::Transaction<'t>,
    statements: &'t mut HashMap<String, Statement>,
}

impl PostgresTx<'_> {
    /// `sql` prepared on this connection, once, with its parameters' types.
    async fn statement(&mut self, sql: &str, types: &[Type]) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.prepare_typed(sql, types).await.map_err(classify)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

impl LedgerTx for PostgresTx<'_> {
    async fn lock_payments(&mut self, ids: &[i64]) -> Result<HashMap<i64, Payment>, StoreError> {
        let sql = format!(
            "{} WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            select_payments()
        );
        let statement = self.statement(&sql, &[Type::INT8_ARRAY]).await?;
        let rows = self.tx.query(&statement, &[&ids]).await.map_err(classify)?;
        let mut payments = HashMap::with_capacity(rows.len());
        for row in &rows {
            let payment = payment_from_row(&Row::new(row))?;
            payments.insert(payment.id.get(), payment);
        }
        Ok(payments)
    }

    async fn counted_refunds(&mut self, ids: &[i64]) -> Result<Vec<(PaymentId, i64)>, StoreError> {
        let sql = select_counted_refunds("= ANY($1)");
        let statement = self.statement(&sql, &[Type::INT8_ARRAY]).await?;
        let rows = self.tx.query(&statement, &[&ids]).await.map_err(classify)?;
        rows.iter()
            .map(|row| {
                let row = Row::new(row);
                let id = row.int("payment_id")?;
                let payment = PaymentId::from_i64(id)
                    .ok_or_else(|| StoreError::Corrupt(format!("refund of payment id {id}")))?;
                Ok((payment, row.int("refunded")?))
            })
            .collect()
    }

    async fn insert_rows(
        &mut self,
        columns: &Columns,
        values: &[Value<'_>],
    ) -> Result<(), StoreError> {
        let arrays = column_arrays(columns, values)?;
        let unnest: Vec<String> = columns
            .kinds
            .iter()
            .enumerate()
            .map(|(i, kind)| format!("${}::{}", i + 1, array_cast(*kind)))
            .collect();
        let sql = format!(
            "INSERT INTO {} ({}) SELECT * FROM UNNEST({})",
            columns.table,
            columns.list(),
            unnest.join(", ")
        );
        let types: Vec<Type> = columns.kinds.iter().map(|kind| array_type(*kind)).collect();
        let statement = self.statement(&sql, &types).await?;
        let params: Vec<&(dyn ToSql + Sync)> = arrays.iter().map(ColumnArray::param).collect();
        self.tx
            .execute(&statement, &params)
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn keep_response(&mut self, values: &[Value<'_>; 7]) -> Result<bool, StoreError> {
        let types = KEEP_RESPONSE_KINDS.map(scalar_type);
        let statement = self.statement(KEEP_RESPONSE_SQL, &types).await?;
        let params: Vec<&(dyn ToSql + Sync)> = values.iter().map(scalar_param).collect();
        let updated = self
            .tx
            .execute(&statement, &params)
            .await
            .map_err(classify)?;
        Ok(updated == 1)
    }
}

/// One column of a batch's rows, as the array `UNNEST` takes.
enum ColumnArray<'a> {
    Ints(Vec<Option<i64>>),
    Texts(Vec<Option<&'a str>>),
}

impl ColumnArray<'_> {
    fn param(&self) -> &(dyn ToSql + Sync) {
        match self {
            ColumnArray::Ints(values) => values,
            ColumnArray::Texts(values) => values,
        }
    }
}

/// Turns rows of values into one array per column. A value of another
/// kind than its column is a bug in `row_values`, refused before anything
/// is sent.
fn column_arrays<'a>(
    columns: &Columns,
    values: &[Value<'a>],
) -> Result<Vec<ColumnArray<'a>>, StoreError> {
    let width = columns.kinds.len();
    let rows = values.len() / width;
    let mut arrays: Vec<ColumnArray<'a>> = columns
        .kinds
        .iter()
        .map(|kind| match kind {
            Kind::Int => ColumnArray::Ints(Vec::with_capacity(rows)),
            Kind::Text => ColumnArray::Texts(Vec::with_capacity(rows)),
        })
        .collect();
    for row in values.chunks(width) {
        for (array, value) in arrays.iter_mut().zip(row) {
            match (array, value) {
                (ColumnArray::Ints(ints), Value::Int(int)) => ints.push(*int),
                (ColumnArray::Texts(texts), Value::Text(text)) => texts.push(*text),
                _ => {
                    return Err(StoreError::Invariant(format!(
                        "a value of the wrong kind for a column of {}",
                        columns.table
                    )))
                }
            }
        }
    }
    Ok(arrays)
}

fn array_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8_ARRAY,
        Kind::Text => Type::TEXT_ARRAY,
    }
}

/// The SQL type `UNNEST`'s parameter is cast to, so the statement's text
/// says what the arrays hold.
fn array_cast(kind: Kind) -> &'static str {
    match kind {
        Kind::Int => "BIGINT[]",
        Kind::Text => "TEXT[]",
    }
}

fn scalar_type(kind: Kind) -> Type {
    match kind {
        Kind::Int => Type::INT8,
        Kind::Text => Type::TEXT,
    }
}

fn scalar_param<'v>(value: &'v Value<'_>) -> &'v (dyn ToSql + Sync) {
    match value {
        Value::Int(value) => value,
        Value::Text(value) => value,
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use crate::sql::row_values::EVENT_ROW;

    #[test]
    fn rows_become_one_array_per_column_and_a_wrong_kind_is_refused() {
        let columns = Columns {
            table: "t",
            names: &["a", "b"],
            kinds: &[Kind::Int, Kind::Text],
        };
        let values = [
            Value::Int(Some(1)),
            Value::Text(Some("x")),
            Value::Int(None),
            Value::Text(None),
        ];
        let arrays = column_arrays(&columns, &values).expect("arrays");
        assert!(matches!(&arrays[0], ColumnArray::Ints(ints) if ints == &[Some(1), None]));
        assert!(matches!(&arrays[1], ColumnArray::Texts(texts) if texts == &[Some("x"), None]));
        let swapped = [Value::Text(Some("x")), Value::Int(Some(1))];
        assert!(matches!(
            column_arrays(&columns, &swapped),
            Err(StoreError::Invariant(_))
        ));
        assert_eq!(array_type(EVENT_ROW.kinds[0]), Type::INT8_ARRAY);
    }
}
