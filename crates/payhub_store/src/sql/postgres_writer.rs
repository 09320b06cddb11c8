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
//! sqlx's `Any` arguments. Statements that do not wait for each other's
//! answers are sent at once (pipelined): a payment batch's rows and events,
//! a refund run's lock of its payments and the sum of their refunds. A
//! batch of payments is then three round trips (begin, inserts, commit).
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
use super::ledger_writes::{counted_payment, select_counted_refunds, select_payments, LedgerTx};
use super::postgres_reads::{classify, connect, Row};
use super::row_values::{Columns, Kind, Value, KEEP_RESPONSE_KINDS, KEEP_RESPONSE_SQL};
use crate::error::StoreError;

/// How these connections show in `pg_stat_activity`, unless the URL names one.
pub(super) const APPLICATION_NAME: &str = "payhub-writes";

/// The writers' statements take their ids as one array (`= ANY($1)`), so
/// their text is the same for any batch. After five executions PostgreSQL
/// may keep a generic plan for a prepared statement, made without knowing
/// the array's length or the table's size at that moment: planned on a
/// nearly empty `refunds` table, the sum of a payment's refunds stayed a
/// sequential scan while the table grew, and refunds ran at 60% of the
/// pool's rate (docs/PERFORMANCE.md, "Group commit on native drivers").
/// Planning each execution costs microseconds for these statements.
const CUSTOM_PLANS: &str = "-c plan_cache_mode=force_custom_plan";

/// One committer's connection, opened on its first batch.
pub(super) struct PostgresWriter {
    config: Config,
    client: Option<Client>,
    /// Prepared on `client`, by SQL text; emptied with a new connection.
    statements: HashMap<String, Statement>,
}

impl PostgresWriter {
    pub(super) fn new(mut config: Config) -> Self {
        // Plan every execution for its own arguments: see [`CUSTOM_PLANS`].
        let options = match config.get_options() {
            Some(given) => format!("{given} {CUSTOM_PLANS}"),
            None => CUSTOM_PLANS.to_owned(),
        };
        config.options(options);
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
    /// Both statements sent at once (pipelined): one round trip. The count
    /// runs once the lock is held, as the connection runs them in order.
    async fn lock_and_count(
        &mut self,
        ids: &[i64],
    ) -> Result<(HashMap<i64, Payment>, Vec<(PaymentId, i64)>), StoreError> {
        let lock = self.statement(&lock_sql(), &[Type::INT8_ARRAY]).await?;
        let count = self.statement(&count_sql(), &[Type::INT8_ARRAY]).await?;
        let params: [&(dyn ToSql + Sync); 1] = [&ids];
        let (locked, counted) = tokio::join!(
            self.tx.query(&lock, &params),
            self.tx.query(&count, &params)
        );
        let (locked, counted) = first_error((locked, counted))?;
        Ok((payments_by_id(&locked)?, counted_by_payment(&counted)?))
    }

    /// Both inserts sent at once (pipelined): one round trip.
    async fn insert_both(
        &mut self,
        first: (&Columns, &[Value<'_>]),
        second: (&Columns, &[Value<'_>]),
    ) -> Result<(), StoreError> {
        let (first_sql, first_types) = unnest_insert(first.0);
        let (second_sql, second_types) = unnest_insert(second.0);
        let first_statement = self.statement(&first_sql, &first_types).await?;
        let second_statement = self.statement(&second_sql, &second_types).await?;
        let first_arrays = column_arrays(first.0, first.1)?;
        let second_arrays = column_arrays(second.0, second.1)?;
        let first_params: Vec<&(dyn ToSql + Sync)> =
            first_arrays.iter().map(ColumnArray::param).collect();
        let second_params: Vec<&(dyn ToSql + Sync)> =
            second_arrays.iter().map(ColumnArray::param).collect();
        let answers = tokio::join!(
            self.tx.execute(&first_statement, &first_params),
            self.tx.execute(&second_statement, &second_params)
        );
        first_error(answers)?;
        Ok(())
    }

    async fn insert_rows(
        &mut self,
        columns: &Columns,
        values: &[Value<'_>],
    ) -> Result<(), StoreError> {
        let arrays = column_arrays(columns, values)?;
        let (sql, types) = unnest_insert(columns);
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

/// Both answers of two pipelined statements, or the error of the first
/// that failed, in the order they were sent: once one fails, PostgreSQL
/// refuses the rest of the transaction ("current transaction is aborted"),
/// and that refusal must not hide the cause (a taken id is an id
/// collision, which the caller draws again for).
fn first_error<A, B>(
    answers: (
        Result<A, tokio_postgres::Error>,
        Result<B, tokio_postgres::Error>,
    ),
) -> Result<(A, B), StoreError> {
    match answers {
        (Ok(first), Ok(second)) => Ok((first, second)),
        (Err(error), _) | (Ok(_), Err(error)) => Err(classify(error)),
    }
}

/// Locks payments by id, in id order (see [`LedgerTx::lock_payments`]).
fn lock_sql() -> String {
    format!(
        "{} WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        select_payments()
    )
}

fn count_sql() -> String {
    select_counted_refunds("= ANY($1)")
}

fn payments_by_id(rows: &[tokio_postgres::Row]) -> Result<HashMap<i64, Payment>, StoreError> {
    let mut payments = HashMap::with_capacity(rows.len());
    for row in rows {
        let payment = payment_from_row(&Row::new(row))?;
        payments.insert(payment.id.get(), payment);
    }
    Ok(payments)
}

fn counted_by_payment(rows: &[tokio_postgres::Row]) -> Result<Vec<(PaymentId, i64)>, StoreError> {
    rows.iter()
        .map(|row| {
            let row = Row::new(row);
            Ok((
                counted_payment(row.int("payment_id")?)?,
                row.int("refunded")?,
            ))
        })
        .collect()
}

/// The insert of a batch's rows of `columns`, one typed array per column
/// unpacked by `UNNEST`, and its parameters' types.
fn unnest_insert(columns: &Columns) -> (String, Vec<Type>) {
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
    (
        sql,
        columns.kinds.iter().map(|kind| array_type(*kind)).collect(),
    )
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
