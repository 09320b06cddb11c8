//! The [`Store`] on SQL: one implementation for SQLite and PostgreSQL.
//!
//! Queries are plain runtime SQL through sqlx's `Any` driver with `$N`
//! placeholders, which both backends accept. Where the two dialects differ
//! (how a write transaction begins, row locks, `SKIP LOCKED`), [`Backend`] says
//! which text to use. The dual-backend test suite is what keeps both honest.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{
    transition, Currency, Document, EventId, EventKind, LedgerEvent, MerchantId, Money, Payment,
    PaymentId, Refund, RefundId, Status, SubscriptionId, TelcoState,
};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use std::sync::Arc;

use sqlx::{Any, AnyPool, Row, Transaction};

use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::group_commit::{Committer, Job};
use crate::records::{BillRefund, CarrierAnswer, CarrierOp, SandboxSms};
use crate::records::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryKind, DeliveryOutcome, DeliveryRecord,
    ExternalRef, FanOut, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate,
    IdempotencyBegin, IdempotentResponse, ListFilter, Listed, Merchant, Page, SavedResponse,
    Subscription, TelcoProduct, TelcoTransaction, TelcoUpdate,
};
use crate::store::Store;
use payhub_core::{RefundRejection, RefundState};

mod aps;
mod carrier;
mod console;
mod gateway;
mod gauges;
mod simulator;
mod telco;

/// Which SQL server is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// SQLite must take the write lock when the transaction starts, or two
    /// writers that both read first deadlock on upgrade; PostgreSQL locks rows.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Row lock for read-then-write; SQLite's immediate transaction already excludes writers.
    fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Lets several nodes claim work from one queue without waiting on each other.
    fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }
}

/// The SQL store.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
    write_lock: WriteLock,
    committer: Committer,
}

/// Serializes this process's SQLite writers in memory.
///
/// SQLite has one writer at a time. A writer that finds the lock taken waits in
/// SQLite's busy handler, which sleeps 1, 2, 5 … up to 100 ms between tries,
/// so a 1 ms transaction can cost its neighbours 100 ms. Queuing writers on an
/// async mutex instead wakes the next one the moment the lock is free. (The busy
/// timeout still covers other processes, such as `payhub merchant create`.)
/// PostgreSQL needs no such lock.
#[derive(Clone)]
pub(crate) struct WriteLock(Option<Arc<tokio::sync::Mutex<()>>>);

impl WriteLock {
    fn for_backend(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => Self(Some(Arc::new(tokio::sync::Mutex::new(())))),
            Backend::Postgres => Self(None),
        }
    }

    /// Waits for this process's turn to write (at once on PostgreSQL).
    pub(crate) async fn acquire(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        match &self.0 {
            Some(lock) => {
                let asked = std::time::Instant::now();
                let turn = lock.clone().lock_owned().await;
                // docs/METRICS.md: how long writers queue for SQLite's one writer.
                metrics::histogram!("payhub_sqlite_write_wait_seconds")
                    .record(asked.elapsed().as_secs_f64());
                Some(turn)
            }
            None => None,
        }
    }
}

/// This process's turn to write on SQLite; held until the transaction ends.
type WriteTurn = Option<tokio::sync::OwnedMutexGuard<()>>;

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

const PAYMENT_COLUMNS: &str =
    "id, merchant_id, status, status_date, payment_date, account_id, correlator_id, \
     amount_minor, currency, document, created_at";
const REFUND_COLUMNS: &str =
    "id, merchant_id, payment_id, status, status_date, refund_date, account_id, \
     correlator_id, amount_minor, currency, document, created_at";
const EVENT_COLUMNS: &str = "id, merchant_id, event_type, resource_id, status, occurred_at";

/// Times are stored as Unix microseconds; see the first migration.
fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("time {value}")))
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn merchant_id(text: String) -> Result<MerchantId, StoreError> {
    MerchantId::parse(&text).ok_or_else(|| corrupt(format!("merchant id {text}")))
}

fn money(amount_minor: Option<i64>, currency: Option<String>) -> Result<Option<Money>, StoreError> {
    match (amount_minor, currency) {
        (Some(amount), Some(code)) => {
            let currency = Currency::parse(&code).map_err(corrupt)?;
            Money::from_minor(amount, currency)
                .map(Some)
                .map_err(corrupt)
        }
        _ => Ok(None),
    }
}

fn payment_from_row(row: &AnyRow) -> Result<Payment, StoreError> {
    Ok(Payment {
        id: PaymentId::from_i64(row.try_get("id")?).ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        status: Status::parse(&row.try_get::<String, _>("status")?).map_err(corrupt)?,
        status_date: from_micros(row.try_get("status_date")?)?,
        payment_date: from_micros(row.try_get("payment_date")?)?,
        account_id: row.try_get("account_id")?,
        correlator_id: row.try_get("correlator_id")?,
        total_amount: money(row.try_get("amount_minor")?, row.try_get("currency")?)?,
        document: Document::new(row.try_get("document")?),
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn refund_from_row(row: &AnyRow) -> Result<Refund, StoreError> {
    let payment_id: Option<i64> = row.try_get("payment_id")?;
    Ok(Refund {
        id: RefundId::from_i64(row.try_get("id")?).ok_or_else(|| corrupt("refund id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        payment_id: payment_id.and_then(PaymentId::from_i64),
        status: Status::parse(&row.try_get::<String, _>("status")?).map_err(corrupt)?,
        status_date: from_micros(row.try_get("status_date")?)?,
        refund_date: from_micros(row.try_get("refund_date")?)?,
        account_id: row.try_get("account_id")?,
        correlator_id: row.try_get("correlator_id")?,
        total_amount: money(row.try_get("amount_minor")?, row.try_get("currency")?)?,
        document: Document::new(row.try_get("document")?),
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn event_from_row(row: &AnyRow) -> Result<LedgerEvent, StoreError> {
    let kind: String = row.try_get("event_type")?;
    Ok(LedgerEvent {
        id: EventId::from_i64(row.try_get("id")?).ok_or_else(|| corrupt("event id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt(format!("event type {kind}")))?,
        resource_id: row.try_get("resource_id")?,
        status: Status::parse(&row.try_get::<String, _>("status")?).map_err(corrupt)?,
        occurred_at: from_micros(row.try_get("occurred_at")?)?,
    })
}

const MERCHANT_COLUMNS: &str =
    "id, name, api_key_hash, retail_api_key, gateways, retail_signature, created_at";

fn merchant_from_row(row: &AnyRow) -> Result<Merchant, StoreError> {
    let gateways: String = row.try_get("gateways")?;
    Ok(Merchant {
        id: merchant_id(row.try_get("id")?)?,
        name: row.try_get("name")?,
        api_key_hash: row.try_get("api_key_hash")?,
        retail_api_key: row
            .try_get::<Option<String>, _>("retail_api_key")?
            .unwrap_or_default(),
        gateways: gateways
            .split(',')
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        retail_signature: row.try_get("retail_signature")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn subscription_from_row(row: &AnyRow) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: SubscriptionId::from_i64(row.try_get("id")?)
            .ok_or_else(|| corrupt("subscription id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        callback: row.try_get("callback")?,
        query: row.try_get("query")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

/// A value bound into a dynamically built query.
enum Bind {
    Int(i64),
    Text(String),
}

/// Builds `WHERE merchant_id = $1 AND col IN (...) ...` for a list filter.
struct WhereClause {
    sql: String,
    binds: Vec<Bind>,
}

impl WhereClause {
    fn new(merchant: &MerchantId) -> Self {
        Self {
            sql: "WHERE merchant_id = $1".to_owned(),
            binds: vec![Bind::Text(merchant.as_str().to_owned())],
        }
    }

    fn push_in(&mut self, column: &str, values: Vec<Bind>) {
        let mut placeholders = Vec::with_capacity(values.len());
        for value in values {
            self.binds.push(value);
            placeholders.push(format!("${}", self.binds.len()));
        }
        self.sql
            .push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
    }

    fn from_filter(merchant: &MerchantId, filter: &ListFilter) -> Self {
        let mut clause = Self::new(merchant);
        let ints = |v: &Vec<i64>| v.iter().copied().map(Bind::Int).collect::<Vec<_>>();
        let texts = |v: &Vec<String>| v.iter().cloned().map(Bind::Text).collect::<Vec<_>>();
        if let Some(ids) = &filter.ids {
            clause.push_in("id", ints(ids));
        }
        if let Some(accounts) = &filter.account_ids {
            clause.push_in("account_id", texts(accounts));
        }
        if let Some(correlators) = &filter.correlator_ids {
            clause.push_in("correlator_id", texts(correlators));
        }
        if let Some(statuses) = &filter.statuses {
            clause.push_in("status", texts(statuses));
        }
        if let Some(payments) = &filter.payment_ids {
            clause.push_in("payment_id", ints(payments));
        }
        if let Some(before) = filter.before_id {
            clause.binds.push(Bind::Int(before));
            clause
                .sql
                .push_str(&format!(" AND id < ${}", clause.binds.len()));
        }
        clause
    }
}

fn bind_all<'q>(mut query: AnyQuery<'q>, binds: &[Bind]) -> AnyQuery<'q> {
    for bind in binds {
        query = match bind {
            Bind::Int(v) => query.bind(*v),
            Bind::Text(v) => query.bind(v.clone()),
        };
    }
    query
}

/// The statuses of refunds that still hold part of their payment's amount, as SQL.
pub(crate) fn counting_refund_statuses() -> String {
    Status::ALL
        .into_iter()
        .filter(|s| s.counts_against_refundable())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    /// Wraps a migrated pool.
    pub fn new(pool: AnyPool, backend: Backend) -> Self {
        let write_lock = WriteLock::for_backend(backend);
        let writers = match backend {
            Backend::Sqlite => 1,
            Backend::Postgres => 4,
        };
        let committer = Committer::start(pool.clone(), backend, write_lock.clone(), writers);
        Self {
            pool,
            backend,
            write_lock,
            committer,
        }
    }

    /// Starts a write transaction; keep the turn alive until it commits.
    async fn begin_write(&self) -> Result<(WriteTurn, Transaction<'static, Any>), StoreError> {
        let turn = self.write_lock.acquire().await;
        let tx = self.pool.begin_with(self.backend.begin_write()).await?;
        Ok((turn, tx))
    }

    async fn find_row(
        &self,
        table: &str,
        columns: &str,
        merchant: &MerchantId,
        id: i64,
    ) -> Result<Option<AnyRow>, StoreError> {
        let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2");
        Ok(sqlx::query(&sql)
            .bind(id)
            .bind(merchant.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn list_rows(
        &self,
        table: &str,
        columns: &str,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<(Vec<AnyRow>, i64), StoreError> {
        if filter.matches_nothing() {
            return Ok((Vec::new(), 0));
        }
        let clause = WhereClause::from_filter(merchant, filter);
        let Some(page) = page else {
            let sql = format!(
                "SELECT {columns} FROM {table} {} ORDER BY id DESC",
                clause.sql
            );
            let rows = bind_all(sqlx::query(&sql), &clause.binds)
                .fetch_all(&self.pool)
                .await?;
            let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            return Ok((rows, total));
        };
        // The count is a second statement on purpose: `COUNT(*) OVER ()` in the
        // page query would make the database read every matching row in full
        // before `LIMIT`, while a separate `COUNT(*)` is answered from the index
        // alone (measured: a 100-row account listed 2.3x slower with the window).
        let sql = format!(
            "SELECT {columns} FROM {table} {} ORDER BY id DESC LIMIT {} OFFSET {}",
            clause.sql,
            page.limit.max(0),
            page.offset.max(0)
        );
        let rows = bind_all(sqlx::query(&sql), &clause.binds)
            .fetch_all(&self.pool)
            .await?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} {}", clause.sql);
        let total = bind_all(sqlx::query(&count_sql), &clause.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((rows, total))
    }

    /// Locks a payment or refund row, moves it through the status machine and
    /// writes the change with its event. Returns nothing: callers re-read.
    async fn update_status(
        &self,
        table: &str,
        kind: EventKind,
        merchant: &MerchantId,
        id: i64,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<(), UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let from = lock_status(&mut tx, self.backend, table, merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
        move_status(&mut tx, table, kind, merchant, id, from, to, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Reads (and on PostgreSQL locks) the status of a merchant's payment or
/// refund inside `tx`; `None` when it has none with that id.
async fn lock_status(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    table: &str,
    merchant: &MerchantId,
    id: i64,
) -> Result<Option<Status>, StoreError> {
    let select = format!(
        "SELECT status FROM {table} WHERE id = $1 AND merchant_id = $2{}",
        backend.for_update()
    );
    let row = sqlx::query(&select)
        .bind(id)
        .bind(merchant.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| Status::parse(&row.try_get::<String, _>("status")?).map_err(corrupt))
        .transpose()
}

/// Moves a payment or refund from `from` to `to` inside `tx`, if the status
/// machine allows it, with its state-change event in the outbox. The one
/// place a stored status changes after creation.
#[expect(
    clippy::too_many_arguments,
    reason = "one row's identity, its move and the time: all needed, none derivable"
)]
async fn move_status(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    kind: EventKind,
    merchant: &MerchantId,
    id: i64,
    from: Status,
    to: Status,
    now: DateTime<Utc>,
) -> Result<Status, UpdateStatusError> {
    let to = transition(from, to)?;
    let update =
        format!("UPDATE {table} SET status = $1, status_date = $2, updated_at = $3 WHERE id = $4");
    sqlx::query(&update)
        .bind(to.as_str())
        .bind(micros(now))
        .bind(micros(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    insert_event(tx, &LedgerEvent::new(merchant.clone(), kind, id, to, now)).await?;
    Ok(to)
}

fn delivery_kind(row: &AnyRow) -> Result<DeliveryKind, StoreError> {
    let kind: String = row.try_get("kind")?;
    DeliveryKind::parse(&kind).ok_or_else(|| corrupt(format!("delivery kind {kind}")))
}

/// Rows per multi-row `INSERT`: well under both backends' bind-parameter limits.
const ROWS_PER_STATEMENT: usize = 400;

/// `($1, …, $c), ($c+1, …)`: the placeholders of `rows` rows of `columns` values.
fn values_list(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn insert_event(
    tx: &mut Transaction<'static, Any>,
    event: &LedgerEvent,
) -> Result<(), sqlx::Error> {
    insert_events(tx, &[event]).await
}

/// Writes outbox events, many rows per statement.
async fn insert_events(
    tx: &mut Transaction<'static, Any>,
    events: &[&LedgerEvent],
) -> Result<(), sqlx::Error> {
    for chunk in events.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO outbox_events (id, merchant_id, event_type, resource_id, status, occurred_at, lease_until, \
             created_at, updated_at) VALUES {}",
            values_list(chunk.len(), 9)
        );
        let mut query = sqlx::query(&sql);
        for event in chunk {
            query = query
                .bind(event.id.get())
                .bind(event.merchant_id.as_str().to_owned())
                .bind(event.kind.as_str())
                .bind(event.resource_id)
                .bind(event.status.as_str())
                .bind(micros(event.occurred_at))
                .bind(0_i64)
                .bind(micros(event.occurred_at))
                .bind(micros(event.occurred_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// A payment to write, with its create event and the response to keep under
/// its idempotency key (if any).
pub(crate) type PaymentWrite<'a> = (&'a Payment, &'a LedgerEvent, Option<&'a IdempotentResponse>);

/// Writes payments with their events and idempotent responses inside `tx`,
/// many rows per statement.
pub(crate) async fn write_payments(
    tx: &mut Transaction<'static, Any>,
    writes: &[PaymentWrite<'_>],
) -> Result<(), sqlx::Error> {
    if writes.is_empty() {
        return Ok(());
    }
    let payments: Vec<&Payment> = writes.iter().map(|(p, _, _)| *p).collect();
    let events: Vec<&LedgerEvent> = writes.iter().map(|(_, e, _)| *e).collect();
    insert_payment_rows(tx, &payments).await?;
    insert_events(tx, &events).await?;
    for (payment, _, kept) in writes {
        if let Some(saved) = kept {
            save_idempotent_response(tx, saved, payment.created_at).await?;
        }
    }
    Ok(())
}

/// The merchant's payment, locked for the rest of `tx` so that refunds of it
/// are checked and written one at a time.
pub(crate) async fn lock_payment(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    merchant: &MerchantId,
    payment_id: PaymentId,
) -> Result<Option<Payment>, StoreError> {
    let sql = format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = $1 AND merchant_id = $2{}",
        backend.for_update()
    );
    let row = sqlx::query(&sql)
        .bind(payment_id.get())
        .bind(merchant.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(payment_from_row).transpose()
}

/// The sum of a payment's refunds that still count against it (see
/// [`Status::counts_against_refundable`]), in minor units.
pub(crate) async fn refunded_minor(
    tx: &mut Transaction<'static, Any>,
    payment_id: PaymentId,
) -> Result<i64, StoreError> {
    let sum_sql = format!(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded FROM refunds \
         WHERE payment_id = $1 AND status IN ({})",
        counting_refund_statuses()
    );
    Ok(sqlx::query(&sum_sql)
        .bind(payment_id.get())
        .fetch_one(&mut **tx)
        .await?
        .try_get("refunded")?)
}

/// Checks a refund against its payment (locked for the rest of `tx`) and, if
/// the rules allow it, writes it with its event and idempotent response.
/// The inner `Err` is the ledger's refusal; nothing was written then.
pub(crate) async fn write_refund(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    refund: &Refund,
    event: &LedgerEvent,
    kept: Option<&IdempotentResponse>,
) -> Result<Result<(), RefundRejection>, StoreError> {
    if let Some(payment_id) = refund.payment_id {
        let Some(payment) = lock_payment(tx, backend, &refund.merchant_id, payment_id).await?
        else {
            return Ok(Err(RefundRejection::PaymentNotFound(payment_id)));
        };
        let refunded = refunded_minor(tx, payment_id).await?;
        if let Err(rejection) = payhub_core::ledger::check_refund(&payment, refunded, refund) {
            return Ok(Err(rejection));
        }
    }
    let (amount_minor, currency) = amount_columns(refund.total_amount);
    sqlx::query(
        "INSERT INTO refunds (id, merchant_id, payment_id, status, status_date, refund_date, account_id, \
         correlator_id, amount_minor, currency, document, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(refund.id.get())
    .bind(refund.merchant_id.as_str().to_owned())
    .bind(refund.payment_id.map(PaymentId::get))
    .bind(refund.status.as_str())
    .bind(micros(refund.status_date))
    .bind(micros(refund.refund_date))
    .bind(refund.account_id.clone())
    .bind(refund.correlator_id.clone())
    .bind(amount_minor)
    .bind(currency)
    .bind(refund.document.as_str().to_owned())
    .bind(micros(refund.created_at))
    .bind(micros(refund.created_at))
    .execute(&mut **tx)
    .await?;
    insert_event(tx, event).await?;
    if let Some(saved) = kept {
        save_idempotent_response(tx, saved, refund.created_at).await?;
    }
    Ok(Ok(()))
}

/// Writes payment rows, many per statement.
async fn insert_payment_rows(
    tx: &mut Transaction<'static, Any>,
    payments: &[&Payment],
) -> Result<(), sqlx::Error> {
    for chunk in payments.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO payments (id, merchant_id, status, status_date, payment_date, account_id, correlator_id, \
             amount_minor, currency, document, created_at, updated_at) VALUES {}",
            values_list(chunk.len(), 12)
        );
        let mut query = sqlx::query(&sql);
        for payment in chunk {
            let (amount_minor, currency) = amount_columns(payment.total_amount);
            query = query
                .bind(payment.id.get())
                .bind(payment.merchant_id.as_str().to_owned())
                .bind(payment.status.as_str())
                .bind(micros(payment.status_date))
                .bind(micros(payment.payment_date))
                .bind(payment.account_id.clone())
                .bind(payment.correlator_id.clone())
                .bind(amount_minor)
                .bind(currency)
                .bind(payment.document.as_str().to_owned())
                .bind(micros(payment.created_at))
                .bind(micros(payment.created_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Keeps the response under its key, inside the work's transaction, if the
/// request still holds the key's claim. A request whose claim was taken over
/// (its lease ran out) fails here, so its work rolls back: the request that
/// took the key over does the work, and it is done once.
async fn save_idempotent_response(
    tx: &mut Transaction<'static, Any>,
    saved: &IdempotentResponse,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let kept = sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_location = $2, \
         response_body = $3, updated_at = $4 WHERE merchant_id = $5 AND idempotency_key = $6 \
         AND state = 'processing' AND claim = $7",
    )
    .bind(i64::from(saved.response.status))
    .bind(saved.response.location.clone())
    .bind(saved.response.body.clone())
    .bind(micros(now))
    .bind(saved.merchant_id.as_str().to_owned())
    .bind(saved.key.clone())
    .bind(saved.claim.clone())
    .execute(&mut **tx)
    .await?;
    if kept.rows_affected() == 1 {
        Ok(())
    } else {
        Err(sqlx::Error::Protocol(
            "the idempotency key's claim was taken over by another request".into(),
        ))
    }
}

fn amount_columns(amount: Option<Money>) -> (Option<i64>, Option<String>) {
    match amount {
        Some(m) => (Some(m.amount_minor()), Some(m.currency().code().to_owned())),
        None => (None, None),
    }
}

#[async_trait]
impl Store for SqlStore {
    fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn insert_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO merchants (id, name, api_key_hash, retail_api_key, gateways, retail_signature, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(merchant.id.as_str().to_owned())
        .bind(merchant.name.clone())
        .bind(merchant.api_key_hash.clone())
        .bind(merchant.retail_api_key.clone())
        .bind(merchant.gateways.join(","))
        .bind(merchant.retail_signature.clone())
        .bind(micros(merchant.created_at))
        .bind(micros(merchant.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn find_merchant_by_api_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE api_key_hash = $1");
        let row = sqlx::query(&sql)
            .bind(api_key_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn find_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.find_merchant_where("id", id.as_str()).await
    }

    async fn find_merchant_by_retail_api_key(
        &self,
        retail_api_key: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        self.find_merchant_where("retail_api_key", retail_api_key)
            .await
    }

    async fn update_merchant_gateways(
        &self,
        id: &MerchantId,
        gateways: &[String],
        retail_signature: &str,
    ) -> Result<bool, StoreError> {
        self.set_merchant_gateways(id, gateways, retail_signature)
            .await
    }

    async fn insert_gateway_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        gateway: &GatewayPayment,
        reference: Option<&ExternalRef>,
    ) -> Result<(), StoreError> {
        self.write_gateway_payment(payment, event, gateway, reference)
            .await
    }

    async fn insert_gateway_row(&self, gateway: &GatewayPayment) -> Result<(), StoreError> {
        self.write_gateway_row(gateway).await
    }

    async fn find_gateway_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<GatewayPayment>, StoreError> {
        self.read_gateway_payment(payment_id).await
    }

    async fn find_external_ref(
        &self,
        merchant: &MerchantId,
        dialect: &str,
        reference: &str,
    ) -> Result<Option<ExternalRef>, StoreError> {
        self.read_external_ref(merchant, dialect, reference).await
    }

    async fn apply_gateway_update(
        &self,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError> {
        self.write_gateway_update(payment_id, update, now).await
    }

    async fn claim_due_gateway_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayPayment>, StoreError> {
        self.claim_due_payment_checks(now, lease_until, limit).await
    }

    async fn insert_gateway_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        gateway: &GatewayRefund,
        reference: Option<&ExternalRef>,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        self.write_gateway_refund(refund, event, gateway, reference, idempotent)
            .await
    }

    async fn find_gateway_refund(
        &self,
        refund_id: RefundId,
    ) -> Result<Option<GatewayRefund>, StoreError> {
        self.read_gateway_refund(refund_id).await
    }

    async fn apply_refund_update(
        &self,
        refund_id: RefundId,
        state: RefundState,
        gw_ref: Option<&str>,
        next_check_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError> {
        self.write_refund_update(refund_id, state, gw_ref, next_check_at, now)
            .await
    }

    async fn claim_due_refund_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayRefund>, StoreError> {
        self.claim_due_refunds(now, lease_until, limit).await
    }

    async fn remember_signature(
        &self,
        api_key: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.note_signature(api_key, signature, now).await
    }

    async fn purge_seen_signatures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.forget_signatures(before).await
    }

    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        self.read_deliveries(filter).await
    }

    async fn list_delivery_attempts(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        self.read_delivery_attempts(delivery_id).await
    }

    async fn resend_delivery(
        &self,
        merchant: Option<&MerchantId>,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.requeue_delivery(merchant, delivery_id, now).await
    }

    async fn insert_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError> {
        let job = Job::Payment {
            payment: payment.clone(),
            event: event.clone(),
            kept: idempotent.cloned(),
        };
        match self.committer.submit(job).await {
            Ok(()) => Ok(()),
            Err(InsertRefundError::Store(error)) => Err(error),
            Err(InsertRefundError::Rejected(rejection)) => Err(StoreError::Corrupt(format!(
                "a payment was refused as a refund: {rejection}"
            ))),
        }
    }

    async fn insert_payments(&self, payments: &[(Payment, LedgerEvent)]) -> Result<(), StoreError> {
        let writes: Vec<PaymentWrite<'_>> = payments.iter().map(|(p, e)| (p, e, None)).collect();
        let (_turn, mut tx) = self.begin_write().await?;
        write_payments(&mut tx, &writes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_payment(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        let row = self
            .find_row("payments", PAYMENT_COLUMNS, merchant, id.get())
            .await?;
        row.as_ref().map(payment_from_row).transpose()
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Payment>, StoreError> {
        let (rows, total) = self
            .list_rows("payments", PAYMENT_COLUMNS, merchant, filter, page)
            .await?;
        let items = rows
            .iter()
            .map(payment_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn update_payment_status(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Payment, UpdateStatusError> {
        self.update_status(
            "payments",
            EventKind::PaymentStateChange,
            merchant,
            id.get(),
            to,
            now,
        )
        .await?;
        self.find_payment(merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)
    }

    async fn insert_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        let job = Job::Refund {
            refund: refund.clone(),
            event: event.clone(),
            kept: idempotent.cloned(),
        };
        self.committer.submit(job).await
    }

    async fn find_refund(
        &self,
        merchant: &MerchantId,
        id: RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        let row = self
            .find_row("refunds", REFUND_COLUMNS, merchant, id.get())
            .await?;
        row.as_ref().map(refund_from_row).transpose()
    }

    async fn list_refunds(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Refund>, StoreError> {
        let (rows, total) = self
            .list_rows("refunds", REFUND_COLUMNS, merchant, filter, page)
            .await?;
        let items = rows.iter().map(refund_from_row).collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn update_refund_status(
        &self,
        merchant: &MerchantId,
        id: RefundId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Refund, UpdateStatusError> {
        self.update_status(
            "refunds",
            EventKind::RefundStateChange,
            merchant,
            id.get(),
            to,
            now,
        )
        .await?;
        self.find_refund(merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)
    }

    async fn insert_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO hub_subscriptions (id, merchant_id, callback, query, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(subscription.id.get())
        .bind(subscription.merchant_id.as_str().to_owned())
        .bind(subscription.callback.clone())
        .bind(subscription.query.clone())
        .bind(micros(subscription.created_at))
        .bind(micros(subscription.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_subscription(
        &self,
        merchant: &MerchantId,
        id: SubscriptionId,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM hub_subscriptions WHERE id = $1 AND merchant_id = $2")
                .bind(id.get())
                .bind(merchant.as_str().to_owned())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
        // A removed listener gets nothing more, not even retries of earlier events.
        sqlx::query(
            "UPDATE hub_deliveries SET state = 'dead', last_error = 'listener removed' \
             WHERE subscription_id = $1 AND merchant_id = $2 AND state = 'pending'",
        )
        .bind(id.get())
        .bind(merchant.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn list_subscriptions(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, merchant_id, callback, query, created_at FROM hub_subscriptions WHERE merchant_id = $1 ORDER BY id",
        )
        .bind(merchant.as_str().to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }

    async fn claim_undispatched_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let sql = format!(
            "UPDATE outbox_events SET lease_until = $1, updated_at = $2 WHERE id IN (SELECT id FROM outbox_events \
             WHERE dispatched_at IS NULL AND lease_until <= $3 ORDER BY id LIMIT $4{}) RETURNING {EVENT_COLUMNS}",
            self.backend.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    async fn complete_dispatch(
        &self,
        fan_out: &[FanOut],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for FanOut {
            event,
            subscriptions,
            webhooks,
        } in fan_out
        {
            for webhook in webhooks {
                // Subscription id 0 marks the event's one merchant webhook.
                sqlx::query(
                    "INSERT INTO hub_deliveries (id, event_id, subscription_id, merchant_id, callback, state, attempts, \
                     next_attempt_at, created_at, updated_at, kind, body) \
                     VALUES ($1, $2, 0, $3, $4, 'pending', 0, $5, $6, $7, $8, $9) \
                     ON CONFLICT (event_id, subscription_id) DO NOTHING",
                )
                .bind(payhub_core::ids::generate_id(now))
                .bind(event.get())
                .bind(webhook.merchant_id.as_str().to_owned())
                .bind(webhook.url.clone())
                .bind(micros(now))
                .bind(micros(now))
                .bind(micros(now))
                .bind(webhook.kind.as_str())
                .bind(webhook.body.clone())
                .execute(&mut *tx)
                .await?;
            }
            for subscription in subscriptions {
                sqlx::query(
                    "INSERT INTO hub_deliveries (id, event_id, subscription_id, merchant_id, callback, state, attempts, \
                     next_attempt_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $8) \
                     ON CONFLICT (event_id, subscription_id) DO NOTHING",
                )
                .bind(payhub_core::ids::generate_id(now))
                .bind(event.get())
                .bind(subscription.id.get())
                .bind(subscription.merchant_id.as_str().to_owned())
                .bind(subscription.callback.clone())
                .bind(micros(now))
                .bind(micros(now))
                .bind(micros(now))
                .execute(&mut *tx)
                .await?;
            }
        }
        // One statement marks the whole batch dispatched.
        let ids: Vec<i64> = fan_out.iter().map(|f| f.event.get()).collect();
        for chunk in ids.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 3)).collect();
            let sql = format!(
                "UPDATE outbox_events SET dispatched_at = $1, updated_at = $2 WHERE id IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(micros(now)).bind(micros(now));
            for id in chunk {
                query = query.bind(*id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn find_event(&self, id: EventId) -> Result<Option<LedgerEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let sql = format!(
            "UPDATE hub_deliveries SET next_attempt_at = $1, updated_at = $2 WHERE id IN (SELECT id FROM hub_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4{}) \
             RETURNING id, event_id, subscription_id, merchant_id, callback, attempts, kind, body",
            self.backend.skip_locked()
        );
        let rows = sqlx::query(&sql)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Delivery {
                    id: row.try_get("id")?,
                    event_id: EventId::from_i64(row.try_get("event_id")?)
                        .ok_or_else(|| corrupt("event id"))?,
                    // Subscription id 0 marks a merchant webhook.
                    subscription_id: SubscriptionId::from_i64(row.try_get("subscription_id")?),
                    merchant_id: merchant_id(row.try_get("merchant_id")?)?,
                    callback: row.try_get("callback")?,
                    attempts: row.try_get("attempts")?,
                    kind: delivery_kind(row)?,
                    body: row.try_get("body")?,
                })
            })
            .collect()
    }

    async fn record_delivery_outcome(
        &self,
        delivery_id: i64,
        outcome: &DeliveryOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        // Only a pending delivery takes an outcome: one given up meanwhile
        // (its listener removed) stays given up.
        let (state, next_attempt_at) = match (outcome.delivered, outcome.retry_at) {
            (true, _) => ("delivered", now),
            (false, Some(retry_at)) => ("pending", retry_at),
            (false, None) => ("dead", now),
        };
        let mut tx = self.pool.begin_with(self.backend.begin_write()).await?;
        let updated = sqlx::query(
            "UPDATE hub_deliveries SET state = $1, attempts = attempts + 1, next_attempt_at = $2, last_status = $3, \
             last_error = $4, last_response = $5, updated_at = $6 WHERE id = $7 AND state = 'pending'",
        )
        .bind(state)
        .bind(micros(next_attempt_at))
        .bind(outcome.status_code)
        .bind(outcome.error.clone())
        .bind(outcome.response.clone())
        .bind(micros(now))
        .bind(delivery_id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() > 0 {
            sqlx::query(
                "INSERT INTO delivery_attempts (id, delivery_id, attempted_at, status_code, error, response) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(payhub_core::ids::generate_id(now))
            .bind(delivery_id)
            .bind(micros(now))
            .bind(outcome.status_code)
            .bind(outcome.error.clone())
            .bind(outcome.response.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn count_undelivered(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM outbox_events WHERE dispatched_at IS NULL) \
             + (SELECT COUNT(*) FROM hub_deliveries WHERE state = 'pending') AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn read_gauges(&self) -> Result<crate::StoreGauges, StoreError> {
        gauges::read(&self.pool).await
    }

    async fn claim_cluster_setting(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO cluster_settings (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(value.to_owned())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM cluster_settings WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }

    async fn begin_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        fingerprint: &str,
        claim: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (merchant_id, idempotency_key, fingerprint, state, created_at, updated_at, claim) \
             VALUES ($1, $2, $3, 'processing', $4, $5, $6) ON CONFLICT (merchant_id, idempotency_key) DO NOTHING",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(fingerprint.to_owned())
        .bind(micros(now))
        .bind(micros(now))
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyBegin::Proceed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, state, response_status, response_location, response_body, updated_at \
             FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        // Deleted between our insert and select (abandoned or purged): treat as in progress; the client retries.
        let Some(row) = row else {
            return Ok(IdempotencyBegin::InProgress);
        };
        if row.try_get::<String, _>("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        if row.try_get::<String, _>("state")? == "done" {
            let status: i64 = row
                .try_get::<Option<i64>, _>("response_status")?
                .unwrap_or(500);
            return Ok(IdempotencyBegin::Replay(SavedResponse {
                status: u16::try_from(status).map_err(corrupt)?,
                location: row.try_get("response_location")?,
                body: row
                    .try_get::<Option<String>, _>("response_body")?
                    .unwrap_or_default(),
            }));
        }
        let updated_at: i64 = row.try_get("updated_at")?;
        if updated_at >= micros(stale_before) {
            return Ok(IdempotencyBegin::InProgress);
        }
        // The first request died without answering; take the key over, once.
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET updated_at = $1, claim = $5 WHERE merchant_id = $2 \
             AND idempotency_key = $3 AND state = 'processing' AND updated_at = $4",
        )
        .bind(micros(now))
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(updated_at)
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(if taken.rows_affected() == 1 {
            IdempotencyBegin::Proceed
        } else {
            IdempotencyBegin::InProgress
        })
    }

    async fn renew_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let renewed = sqlx::query(
            "UPDATE idempotency_keys SET updated_at = $1 WHERE merchant_id = $2 \
             AND idempotency_key = $3 AND state = 'processing' AND claim = $4",
        )
        .bind(micros(now))
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    async fn complete_idempotent(
        &self,
        saved: &IdempotentResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        save_idempotent_response(&mut tx, saved, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn abandon_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2 \
             AND state = 'processing' AND claim = $3",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }

    async fn upsert_telco_product(
        &self,
        product: &TelcoProduct,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write_telco_product(product, now).await
    }

    async fn list_telco_products(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<TelcoProduct>, StoreError> {
        self.read_telco_products(merchant).await
    }

    async fn insert_telco_transaction(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        transaction: &TelcoTransaction,
        reference: &ExternalRef,
    ) -> Result<(), StoreError> {
        self.write_telco_transaction(payment, event, transaction, reference)
            .await
    }

    async fn find_telco_transaction(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<TelcoTransaction>, StoreError> {
        self.read_telco_transaction(payment_id).await
    }

    async fn apply_telco_update(
        &self,
        payment_id: PaymentId,
        update: &TelcoUpdate,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError> {
        self.write_telco_update(payment_id, update, now).await
    }

    async fn list_overdue_telco_transactions(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TelcoTransaction>, StoreError> {
        self.read_overdue_telco_transactions(now, limit).await
    }

    async fn set_telco_callback_url(
        &self,
        merchant: &MerchantId,
        url: Option<&str>,
    ) -> Result<bool, StoreError> {
        self.write_telco_callback_url(merchant, url).await
    }

    async fn telco_callback_url(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<String>, StoreError> {
        self.read_telco_callback_url(merchant).await
    }

    async fn record_wrong_telco_code(
        &self,
        payment_id: PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError> {
        self.write_wrong_telco_code(payment_id, now).await
    }

    async fn claim_telco_transaction(
        &self,
        payment_id: PaymentId,
        from: TelcoState,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, StoreError> {
        self.write_telco_claim(payment_id, from, claim, until, now)
            .await
    }

    async fn book_carrier(
        &self,
        op: &CarrierOp,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError> {
        self.write_carrier_booking(op, reference, now).await
    }

    async fn carrier_charged(&self, msisdn: &str) -> Result<i64, StoreError> {
        self.read_carrier_charged(msisdn).await
    }

    async fn insert_sandbox_sms(&self, sms: &SandboxSms) -> Result<(), StoreError> {
        self.write_sandbox_sms(sms).await
    }

    async fn list_sandbox_sms(
        &self,
        merchant: &MerchantId,
        msisdn: &str,
    ) -> Result<Vec<SandboxSms>, StoreError> {
        self.read_sandbox_sms(merchant, msisdn).await
    }

    async fn insert_bill_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        row: &BillRefund,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        self.write_bill_refund(refund, event, row, kept).await
    }

    async fn claim_due_bill_refunds(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<BillRefund>, StoreError> {
        self.claim_bill_refunds(now, lease_until, limit).await
    }

    async fn settle_bill_refund(
        &self,
        refund_id: RefundId,
        carrier_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError> {
        self.write_bill_refund_credited(refund_id, carrier_ref, now)
            .await
    }
}
