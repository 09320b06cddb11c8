//! The storage ceiling: the same payment row (with its outbox event) written
//! through the same driver and durability settings payhub uses, without HTTP.

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
