//! payhub's storage path without HTTP: the same payment row (with its outbox
//! event) that a create writes, through payhub's store (its driver, its
//! durability settings). The raw engine's ceilings for the same rows are in
//! `raw_sqlite` and `raw_postgres`; [`Columns`] is what all three write.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use payhub_core::{
    Currency, Document, EventKind, LedgerEvent, MerchantId, Money, NewPayment, Origin, Payment,
};
use payhub_store::Store;

/// A payment like the ones the HTTP cases create, for `account`.
pub fn payment_row(
    merchant: &MerchantId,
    account: &str,
    amount_minor: i64,
) -> (Payment, LedgerEvent) {
    let usd = Currency::parse("USD").ok();
    let amount = usd.and_then(|c| Money::from_minor(amount_minor, c).ok());
    let document = format!(
        r#"{{"account":{{"id":"{account}"}},"paymentMethod":{{"@type":"CashMethod"}},"totalAmount":{{"unit":"USD","value":{}}}}}"#,
        amount
            .map(|m| m.to_decimal().to_string())
            .unwrap_or_default()
    );
    let payment = Payment::record(
        NewPayment {
            merchant_id: merchant.clone(),
            account_id: account.to_owned(),
            correlator_id: None,
            total_amount: amount,
            amount_decimals: None,
            status: None,
            payment_date: None,
            document: Document::new(document),
            origin: Origin::new("tmf676"),
        },
        Utc::now(),
    );
    let event = LedgerEvent::new(
        merchant.clone(),
        EventKind::PaymentCreate,
        payment.id.get(),
        payment.status,
        payment.created_at,
    );
    (payment, event)
}

/// The column values payhub's store writes for a payment and its create event
/// (`payhub_store`'s `sql::row_values`), so that the raw-engine ceilings
/// write the rows payhub writes.
pub struct Columns {
    pub payment_id: i64,
    pub merchant_id: String,
    pub status: &'static str,
    pub status_date: i64,
    pub payment_date: i64,
    pub account_id: String,
    pub correlator_id: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub document: String,
    pub origin: String,
    pub created_at: i64,
    pub event_id: i64,
    pub event_type: &'static str,
    pub event_status: &'static str,
    pub occurred_at: i64,
}

impl Columns {
    pub fn of(payment: &Payment, event: &LedgerEvent) -> Self {
        Self {
            payment_id: payment.id.get(),
            merchant_id: payment.merchant_id.as_str().to_owned(),
            status: payment.status.as_str(),
            status_date: payment.status_date.timestamp_micros(),
            payment_date: payment.payment_date.timestamp_micros(),
            account_id: payment.account_id.clone(),
            correlator_id: payment.correlator_id.clone(),
            amount_minor: payment.total_amount.map(|m| m.amount_minor()),
            currency: payment.total_amount.map(|m| m.currency().code().to_owned()),
            document: payment.document.as_str().to_owned(),
            origin: payment.origin.as_str().to_owned(),
            created_at: payment.created_at.timestamp_micros(),
            event_id: event.id.get(),
            event_type: event.kind.as_str(),
            event_status: event.status.as_str(),
            occurred_at: event.occurred_at.timestamp_micros(),
        }
    }

    /// A payment of `account` like [`payment_row`]'s, as columns.
    pub fn new(merchant: &MerchantId, account: &str, amount_minor: i64) -> Self {
        let (payment, event) = payment_row(merchant, account, amount_minor);
        Self::of(&payment, &event)
    }
}

/// payhub's `INSERT` of a payment row, one row, with `$N` or `?N` placeholders.
pub fn insert_payment_sql(placeholder: char) -> String {
    format!(
        "INSERT INTO payments (id, merchant_id, status, status_date, payment_date, account_id, correlator_id, \
         amount_minor, currency, document, origin, created_at, updated_at) VALUES ({})",
        placeholders(placeholder, 13)
    )
}

/// payhub's `INSERT` of an outbox event, one row; the origin is bound, as a
/// create binds it.
pub fn insert_event_sql(placeholder: char) -> String {
    format!(
        "INSERT INTO outbox_events (id, merchant_id, event_type, resource_id, status, occurred_at, lease_until, \
         created_at, updated_at, origin) VALUES ({})",
        placeholders(placeholder, 10)
    )
}

fn placeholders(prefix: char, n: usize) -> String {
    (1..=n)
        .map(|i| format!("{prefix}{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows per second with one transaction per row, from `concurrency` tasks.
pub async fn one_row_per_transaction(
    store: Arc<dyn Store>,
    merchant: &MerchantId,
    concurrency: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let written = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (store, merchant, written) = (store.clone(), merchant.clone(), written.clone());
        tasks.spawn(async move {
            let mut n = 0_usize;
            while Instant::now() < deadline {
                let (payment, event) =
                    payment_row(&merchant, &format!("ceiling-{worker}-{n}"), 1000);
                // insert_payments is a transaction of its own, not group-committed.
                store.insert_payments(&[(payment, event)]).await?;
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

/// Writes `rows` payments in transactions of `batch` rows; returns rows per second.
/// `account_of(n)` names the account of the n-th row (the list case filters on it).
pub async fn batched(
    store: &dyn Store,
    merchant: &MerchantId,
    rows: usize,
    batch: usize,
    amount_minor: i64,
    account_of: impl Fn(usize) -> String,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut n = 0;
    while n < rows {
        let size = batch.min(rows - n);
        let chunk: Vec<_> = (n..n + size)
            .map(|i| payment_row(merchant, &account_of(i), amount_minor))
            .collect();
        store.insert_payments(&chunk).await?;
        n += size;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}
