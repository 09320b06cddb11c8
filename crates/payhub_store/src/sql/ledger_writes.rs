//! The ledger's writes inside a caller's transaction: payments with their
//! events, and refunds checked against their locked payment. Shared by
//! group commit and by the gateway, APS, telco and carrier writers, so every
//! ledger row is written one way, whichever driver carries it.
//!
//! The rules and the order of the writes live here once, over
//! [`LedgerTx`]: the few statements a ledger write needs, which each driver
//! implements: sqlx's `Any` transaction below, rusqlite on SQLite's writer
//! thread (`sqlite_writer`), tokio-postgres (`postgres_writer`). The rows'
//! columns and values are defined once too (`row_values`).

use std::collections::HashMap;

use payhub_core::ledger::RefundTally;
use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundRejection, Status};
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::batch::{backend_of, id_list, IDS_PER_STATEMENT};
use super::codec::{payment_from_row, PAYMENT_COLUMNS};
use super::row_values::{
    event_values, kept_response_values, payment_values, refund_values, Columns, Value,
    CLAIM_TAKEN_OVER, EVENT_ROW, KEEP_RESPONSE_SQL, PAYMENT_ROW, REFUND_ROW,
};
use super::statements::insert_many;
use crate::error::StoreError;
use crate::records::IdempotentResponse;

/// The statuses of refunds that still hold part of their payment's amount, as SQL.
pub(super) fn counting_refund_statuses() -> String {
    Status::ALL
        .into_iter()
        .filter(|s| s.counts_against_refundable())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `SELECT {PAYMENT_COLUMNS} FROM payments`, for a lock of payments by id.
pub(super) fn select_payments() -> String {
    format!("SELECT {PAYMENT_COLUMNS} FROM payments")
}

/// `SELECT payment_id, refunded FROM refunds` with the counted refunds'
/// statuses, for a sum of them per payment; the caller adds which payments.
pub(super) fn select_counted_refunds(payments: &str) -> String {
    format!(
        "SELECT payment_id, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded \
         FROM refunds WHERE payment_id {payments} AND status IN ({}) GROUP BY payment_id",
        counting_refund_statuses()
    )
}

/// The payment a row of [`select_counted_refunds`] names.
pub(super) fn counted_payment(id: i64) -> Result<PaymentId, StoreError> {
    PaymentId::from_i64(id).ok_or_else(|| StoreError::Corrupt(format!("refund of payment id {id}")))
}

/// The statements a ledger write needs of an open write transaction, each
/// driver its own way. A method's error leaves the transaction to be
/// rolled back by its owner.
pub(super) trait LedgerTx {
    /// The payments with these ids (sorted, distinct), by id, locked for
    /// the rest of the transaction (in id order on PostgreSQL, so that two
    /// writers lock them in the same order); then, read under that lock,
    /// the counted refunds of each of them that has any, in minor units
    /// (see [`Status::counts_against_refundable`]).
    async fn lock_and_count(
        &mut self,
        ids: &[i64],
    ) -> Result<(HashMap<i64, Payment>, Vec<(PaymentId, i64)>), StoreError>;

    /// Inserts rows of `columns`: `values` holds each row's values in
    /// turn, `columns.names.len()` of them per row.
    async fn insert_rows(
        &mut self,
        columns: &Columns,
        values: &[Value<'_>],
    ) -> Result<(), StoreError>;

    /// Runs [`KEEP_RESPONSE_SQL`] with these values; whether it kept the
    /// answer (the claim was still held).
    async fn keep_response(&mut self, values: &[Value<'_>; 7]) -> Result<bool, StoreError>;

    /// [`LedgerTx::insert_rows`] of two tables, in order. A driver that can
    /// send both at once overrides this.
    async fn insert_both(
        &mut self,
        first: (&Columns, &[Value<'_>]),
        second: (&Columns, &[Value<'_>]),
    ) -> Result<(), StoreError> {
        self.insert_rows(first.0, first.1).await?;
        self.insert_rows(second.0, second.1).await
    }
}

/// A payment to write, with its create event and the response to keep under
/// its idempotency key (if any).
pub(super) type PaymentWrite<'a> = (&'a Payment, &'a LedgerEvent, Option<&'a IdempotentResponse>);

/// Writes payments with their events and idempotent responses inside `tx`,
/// many rows per statement.
pub(super) async fn write_payments(
    tx: &mut impl LedgerTx,
    writes: &[PaymentWrite<'_>],
) -> Result<(), StoreError> {
    if writes.is_empty() {
        return Ok(());
    }
    let rows: Vec<Value<'_>> = writes
        .iter()
        .flat_map(|(payment, _, _)| payment_values(payment))
        .collect();
    let events: Vec<Value<'_>> = writes
        .iter()
        .flat_map(|(payment, event, _)| event_values(event, Some(payment.origin.as_str())))
        .collect();
    tx.insert_both((&PAYMENT_ROW, &rows), (&EVENT_ROW, &events))
        .await?;
    for (payment, _, kept) in writes {
        if let Some(saved) = kept {
            keep_response(tx, saved, payment.created_at).await?;
        }
    }
    Ok(())
}

/// Keeps the response under its key, inside the work's transaction, if the
/// request still holds the key's claim. A request whose claim was taken over
/// (its lease ran out) fails here, so its work rolls back: the request that
/// took the key over does the work, and it is done once.
pub(super) async fn keep_response(
    tx: &mut impl LedgerTx,
    saved: &IdempotentResponse,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    if tx.keep_response(&kept_response_values(saved, now)).await? {
        Ok(())
    } else {
        Err(StoreError::Other(sqlx::Error::Protocol(
            CLAIM_TAKEN_OVER.into(),
        )))
    }
}

/// The merchant's payment, locked for the rest of `tx` so that refunds of it
/// are checked and written one at a time.
pub(super) async fn lock_payment(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    merchant: &MerchantId,
    payment_id: PaymentId,
) -> Result<Option<Payment>, StoreError> {
    let sql = format!(
        "{} WHERE id = $1 AND merchant_id = $2{}",
        select_payments(),
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
pub(super) async fn refunded_minor(
    tx: &mut Transaction<'static, Any>,
    payment_id: PaymentId,
) -> Result<i64, StoreError> {
    let counted = pool_counted_refunds(tx, &[payment_id.get()]).await?;
    Ok(counted.first().map_or(0, |(_, refunded)| *refunded))
}

/// A refund to write, with its create event and the response to keep under
/// its idempotency key (if any).
pub(super) type RefundWrite<'a> = (&'a Refund, &'a LedgerEvent, Option<&'a IdempotentResponse>);

/// Checks a refund against its payment (locked for the rest of `tx`) and, if
/// the rules allow it, writes it with its event and idempotent response.
/// The inner `Err` is the ledger's refusal; nothing was written then.
pub(super) async fn write_refund(
    tx: &mut impl LedgerTx,
    refund: &Refund,
    event: &LedgerEvent,
    kept: Option<&IdempotentResponse>,
) -> Result<Result<(), RefundRejection>, StoreError> {
    let mut outcomes = write_refunds(tx, &[(refund, event, kept)]).await?;
    Ok(outcomes.pop().unwrap_or(Ok(())))
}

/// Checks a run of refunds in order against their payments, all locked for
/// the rest of `tx`, each seeing the refunds of the run admitted before it
/// ([`RefundTally`]), and writes the admitted ones with their events and
/// idempotent responses: a few statements for the whole run, not four per
/// refund. One outcome per refund, in order; a refused refund wrote nothing.
pub(super) async fn write_refunds(
    tx: &mut impl LedgerTx,
    writes: &[RefundWrite<'_>],
) -> Result<Vec<Result<(), RefundRejection>>, StoreError> {
    let mut payment_ids: Vec<i64> = writes
        .iter()
        .filter_map(|(refund, _, _)| refund.payment_id.map(PaymentId::get))
        .collect();
    payment_ids.sort_unstable();
    payment_ids.dedup();
    let (payments, counted) = tx.lock_and_count(&payment_ids).await?;
    let mut tally = RefundTally::new(counted);
    let mut outcomes = Vec::with_capacity(writes.len());
    let mut admitted: Vec<(&RefundWrite<'_>, Option<&str>)> = Vec::with_capacity(writes.len());
    for write in writes {
        let (refund, _, _) = write;
        let payment = refund.payment_id.and_then(|id| {
            payments
                .get(&id.get())
                .filter(|payment| payment.merchant_id == refund.merchant_id)
        });
        let outcome = tally.admit(payment, refund);
        if outcome.is_ok() {
            admitted.push((write, payment.map(|p| p.origin.as_str())));
        }
        outcomes.push(outcome);
    }
    if admitted.is_empty() {
        return Ok(outcomes);
    }
    let rows: Vec<Value<'_>> = admitted
        .iter()
        .flat_map(|((refund, _, _), _)| refund_values(refund))
        .collect();
    let events: Vec<Value<'_>> = admitted
        .iter()
        .flat_map(|((_, event, _), origin)| event_values(event, *origin))
        .collect();
    tx.insert_both((&REFUND_ROW, &rows), (&EVENT_ROW, &events))
        .await?;
    for ((refund, _, kept), _) in &admitted {
        if let Some(saved) = kept {
            keep_response(tx, saved, refund.created_at).await?;
        }
    }
    Ok(outcomes)
}

/// The ledger's statements on sqlx's `Any` driver, for the writers whose
/// transactions hold more than ledger rows (gateway, APS, telco, carrier)
/// and for group commit where no native driver is set up.
impl LedgerTx for Transaction<'_, Any> {
    async fn lock_and_count(
        &mut self,
        ids: &[i64],
    ) -> Result<(HashMap<i64, Payment>, Vec<(PaymentId, i64)>), StoreError> {
        let payments = pool_lock_payments(self, ids).await?;
        Ok((payments, pool_counted_refunds(self, ids).await?))
    }

    async fn insert_rows(
        &mut self,
        columns: &Columns,
        values: &[Value<'_>],
    ) -> Result<(), StoreError> {
        insert_many(self, columns, values, "").await
    }

    async fn keep_response(&mut self, values: &[Value<'_>; 7]) -> Result<bool, StoreError> {
        let mut query = sqlx::query(KEEP_RESPONSE_SQL);
        for value in values {
            query = bind_value(query, value);
        }
        Ok(query.execute(&mut **self).await?.rows_affected() == 1)
    }
}

/// [`LedgerTx::lock_and_count`]'s lock on the `Any` driver.
async fn pool_lock_payments(
    tx: &mut Transaction<'_, Any>,
    ids: &[i64],
) -> Result<HashMap<i64, Payment>, StoreError> {
    let backend = backend_of(tx);
    let mut payments = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "{} WHERE id IN ({}) ORDER BY id{}",
            select_payments(),
            id_list(backend, chunk.len()),
            backend.for_update()
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let payment = payment_from_row(&row)?;
            payments.insert(payment.id.get(), payment);
        }
    }
    Ok(payments)
}

/// [`LedgerTx::lock_and_count`]'s sums on the `Any` driver.
async fn pool_counted_refunds(
    tx: &mut Transaction<'_, Any>,
    ids: &[i64],
) -> Result<Vec<(PaymentId, i64)>, StoreError> {
    let backend = backend_of(tx);
    let mut counted = Vec::new();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let sql = select_counted_refunds(&format!("IN ({})", id_list(backend, chunk.len())));
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let id: i64 = row.try_get("payment_id")?;
            counted.push((counted_payment(id)?, row.try_get("refunded")?));
        }
    }
    Ok(counted)
}

/// Binds one column's value to a query on the `Any` driver.
pub(super) fn bind_value<'q>(
    query: Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    value: &Value<'_>,
) -> Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    match value {
        Value::Int(value) => query.bind(*value),
        Value::Text(value) => query.bind(value.map(str::to_owned)),
    }
}
