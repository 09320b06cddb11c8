//! PostgreSQL's ceiling on the raw engine: payhub's rows written with
//! tokio-postgres, statements prepared once per connection and every
//! statement of a transaction pipelined (`BEGIN`, the inserts and `COMMIT`
//! leave together and cost one round trip), into a database made by payhub's
//! own migrations, with payhub's durability (the server's defaults:
//! `synchronous_commit = on`). No payhub code is on the path except the
//! making of the row values.
//!
//! One row is one plain `INSERT` per table. A batch is one `INSERT … SELECT
//! FROM unnest(…)` per table with the batch's columns bound as arrays: a
//! thousand single-row statements pipelined cost the server a thousand
//! executor starts and flushes, and measured slower than payhub's own
//! multi-row `INSERT`s, which would make a poor ceiling.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use payhub_core::MerchantId;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Statement};

use crate::storage::{insert_event_sql, insert_payment_sql, Columns};

/// payhub's payment rows, a batch at a time, as arrays.
const INSERT_PAYMENTS: &str = "INSERT INTO payments (id, merchant_id, status, status_date, payment_date, \
     account_id, correlator_id, amount_minor, currency, document, origin, created_at, updated_at) \
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], \
     $7::text[], $8::bigint[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[])";

/// payhub's outbox events, a batch at a time, as arrays.
const INSERT_EVENTS: &str = "INSERT INTO outbox_events (id, merchant_id, event_type, resource_id, status, \
     occurred_at, lease_until, created_at, updated_at, origin) \
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], \
     $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])";

/// One connection with payhub's statements prepared on it.
struct Writer {
    client: Client,
    begin: Statement,
    commit: Statement,
    payment: Statement,
    event: Statement,
    payments: Statement,
    events: Statement,
}

impl Writer {
    async fn connect(url: &str) -> anyhow::Result<Writer> {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
        // The connection task ends when the client is dropped.
        tokio::spawn(connection);
        Ok(Writer {
            begin: client.prepare("BEGIN").await?,
            commit: client.prepare("COMMIT").await?,
            payment: client.prepare(&insert_payment_sql('$')).await?,
            event: client.prepare(&insert_event_sql('$')).await?,
            payments: client.prepare(INSERT_PAYMENTS).await?,
            events: client.prepare(INSERT_EVENTS).await?,
            client,
        })
    }

    /// Writes one payment with its event in one transaction, every statement
    /// pipelined: the futures are polled in order, so their messages leave in
    /// order on the one connection, then all answers are read.
    async fn write_one(&self, r: &Columns) -> Result<(), tokio_postgres::Error> {
        let payment: [&(dyn ToSql + Sync); 13] = [
            &r.payment_id,
            &r.merchant_id,
            &r.status,
            &r.status_date,
            &r.payment_date,
            &r.account_id,
            &r.correlator_id,
            &r.amount_minor,
            &r.currency,
            &r.document,
            &r.origin,
            &r.created_at,
            &r.created_at,
        ];
        let event: [&(dyn ToSql + Sync); 10] = [
            &r.event_id,
            &r.merchant_id,
            &r.event_type,
            &r.payment_id,
            &r.event_status,
            &r.occurred_at,
            &0_i64,
            &r.occurred_at,
            &r.occurred_at,
            &r.origin,
        ];
        tokio::try_join!(
            self.client.execute(&self.begin, &[]),
            self.client.execute(&self.payment, &payment),
            self.client.execute(&self.event, &event),
            self.client.execute(&self.commit, &[]),
        )?;
        Ok(())
    }

    /// Writes `rows` (payments with their events) in one transaction: one
    /// statement per table with the columns as arrays, pipelined between
    /// `BEGIN` and `COMMIT`.
    async fn write_batch(&self, rows: &[Columns]) -> Result<(), tokio_postgres::Error> {
        fn col<T: Clone>(rows: &[Columns], f: impl Fn(&Columns) -> T) -> Vec<T> {
            rows.iter().map(f).collect()
        }
        let ids = col(rows, |r| r.payment_id);
        let merchants = col(rows, |r| r.merchant_id.clone());
        let statuses = col(rows, |r| r.status);
        let status_dates = col(rows, |r| r.status_date);
        let payment_dates = col(rows, |r| r.payment_date);
        let accounts = col(rows, |r| r.account_id.clone());
        let correlators = col(rows, |r| r.correlator_id.clone());
        let amounts = col(rows, |r| r.amount_minor);
        let currencies = col(rows, |r| r.currency.clone());
        let documents = col(rows, |r| r.document.clone());
        let origins = col(rows, |r| r.origin.clone());
        let created = col(rows, |r| r.created_at);
        let event_ids = col(rows, |r| r.event_id);
        let event_types = col(rows, |r| r.event_type);
        let event_statuses = col(rows, |r| r.event_status);
        let occurred = col(rows, |r| r.occurred_at);
        let leases = col(rows, |_| 0_i64);
        let payment_params: [&(dyn ToSql + Sync); 13] = [
            &ids,
            &merchants,
            &statuses,
            &status_dates,
            &payment_dates,
            &accounts,
            &correlators,
            &amounts,
            &currencies,
            &documents,
            &origins,
            &created,
            &created,
        ];
        let event_params: [&(dyn ToSql + Sync); 10] = [
            &event_ids,
            &merchants,
            &event_types,
            &ids,
            &event_statuses,
            &occurred,
            &leases,
            &occurred,
            &occurred,
            &origins,
        ];
        tokio::try_join!(
            self.client.execute(&self.begin, &[]),
            self.client.execute(&self.payments, &payment_params),
            self.client.execute(&self.events, &event_params),
            self.client.execute(&self.commit, &[]),
        )?;
        Ok(())
    }
}

/// Rows per second with one transaction per row, from `concurrency`
/// connections.
pub async fn one_row_per_transaction(
    url: &str,
    merchant: &MerchantId,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let mut writers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        writers.push(Writer::connect(url).await?);
    }
    let written = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for (worker, writer) in writers.into_iter().enumerate() {
        let (merchant, written) = (merchant.clone(), written.clone());
        tasks.spawn(async move {
            let mut n = 0_usize;
            while Instant::now() < deadline {
                let row = Columns::new(&merchant, &format!("raw-{worker}-{n}"), 1000);
                writer.write_one(&row).await?;
                written.fetch_add(1, Ordering::Relaxed);
                n += 1;
            }
            anyhow::Ok(())
        });
    }
    while let Some(result) = tasks.join_next().await {
        result??;
    }
    Ok(written.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// Writes `rows` payments in transactions of `batch` rows on one connection;
/// returns rows per second.
pub async fn batched(
    url: &str,
    merchant: &MerchantId,
    rows: usize,
    batch: usize,
    account_of: impl Fn(usize) -> String,
) -> anyhow::Result<f64> {
    let writer = Writer::connect(url).await?;
    let started = Instant::now();
    let mut n = 0;
    while n < rows {
        let size = batch.min(rows - n);
        let chunk: Vec<_> = (n..n + size)
            .map(|i| Columns::new(merchant, &account_of(i), 1000))
            .collect();
        writer.write_batch(&chunk).await?;
        n += size;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
