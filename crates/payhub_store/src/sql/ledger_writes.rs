//! The ledger's writes inside a caller's transaction: payments with their
//! events, and refunds checked against their locked payment. Shared by
//! group commit and by the gateway, APS, telco and carrier writers, so every
//! ledger row is written one way.

use std::collections::HashMap;

use payhub_core::ledger::RefundTally;
use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundRejection, Status};
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::batch::{anonymous_rows, id_list, values_list, IDS_PER_STATEMENT};
use super::codec::{amount_columns, micros, payment_from_row, PAYMENT_COLUMNS};
use super::idempotency::save_idempotent_response;
use super::outbox::{insert_events, EventOrigin};
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

/// A payment to write, with its create event and the response to keep under
/// its idempotency key (if any).
pub(super) type PaymentWrite<'a> = (&'a Payment, &'a LedgerEvent, Option<&'a IdempotentResponse>);

/// Writes payments with their events and idempotent responses inside `tx`,
/// many rows per statement.
pub(super) async fn write_payments(
    tx: &mut Transaction<'static, Any>,
    writes: &[PaymentWrite<'_>],
) -> Result<(), sqlx::Error> {
    if writes.is_empty() {
        return Ok(());
    }
    let payments: Vec<&Payment> = writes.iter().map(|(p, _, _)| *p).collect();
    let events: Vec<(&LedgerEvent, EventOrigin)> = writes
        .iter()
        .map(|(payment, event, _)| (*event, EventOrigin::Known(Some(payment.origin.as_str()))))
        .collect();
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
pub(super) async fn lock_payment(
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
pub(super) async fn refunded_minor(
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

/// A refund to write, with its create event and the response to keep under
/// its idempotency key (if any).
pub(super) type RefundWrite<'a> = (&'a Refund, &'a LedgerEvent, Option<&'a IdempotentResponse>);

/// Checks a refund against its payment (locked for the rest of `tx`) and, if
/// the rules allow it, writes it with its event and idempotent response.
/// The inner `Err` is the ledger's refusal; nothing was written then.
pub(super) async fn write_refund(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    refund: &Refund,
    event: &LedgerEvent,
    kept: Option<&IdempotentResponse>,
) -> Result<Result<(), RefundRejection>, StoreError> {
    let mut outcomes = write_refunds(tx, backend, &[(refund, event, kept)]).await?;
    Ok(outcomes.pop().unwrap_or(Ok(())))
}

/// Checks a run of refunds in order against their payments, all locked for
/// the rest of `tx`, each seeing the refunds of the run admitted before it
/// ([`RefundTally`]), and writes the admitted ones with their events and
/// idempotent responses: a few statements for the whole run, not four per
/// refund. One outcome per refund, in order; a refused refund wrote nothing.
pub(super) async fn write_refunds(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    writes: &[RefundWrite<'_>],
) -> Result<Vec<Result<(), RefundRejection>>, StoreError> {
    let mut payment_ids: Vec<i64> = writes
        .iter()
        .filter_map(|(refund, _, _)| refund.payment_id.map(PaymentId::get))
        .collect();
    payment_ids.sort_unstable();
    payment_ids.dedup();
    let payments = lock_payments(tx, backend, &payment_ids).await?;
    let mut tally = RefundTally::new(counted_refunds(tx, backend, &payment_ids).await?);
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
    insert_refund_rows(tx, &admitted).await?;
    let events: Vec<(&LedgerEvent, EventOrigin<'_>)> = admitted
        .iter()
        .map(|((_, event, _), origin)| (*event, EventOrigin::Known(*origin)))
        .collect();
    insert_events(tx, &events).await?;
    for ((refund, _, kept), _) in &admitted {
        if let Some(saved) = kept {
            save_idempotent_response(tx, saved, refund.created_at).await?;
        }
    }
    Ok(outcomes)
}

/// The payments with these ids, by id, locked for the rest of `tx` (in id
/// order on PostgreSQL, so that two writers lock them in the same order).
async fn lock_payments(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    ids: &[i64],
) -> Result<HashMap<i64, Payment>, StoreError> {
    let mut payments = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments WHERE id IN ({}) ORDER BY id{}",
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

/// The counted refunds of each of these payments that has any, in minor
/// units (see [`refunded_minor`]).
async fn counted_refunds(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    payment_ids: &[i64],
) -> Result<Vec<(PaymentId, i64)>, StoreError> {
    let mut counted = Vec::new();
    for chunk in payment_ids.chunks(IDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT payment_id, CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS refunded \
             FROM refunds WHERE payment_id IN ({}) AND status IN ({}) GROUP BY payment_id",
            id_list(backend, chunk.len()),
            counting_refund_statuses()
        );
        let mut query = sqlx::query(&sql);
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut **tx).await? {
            let id: i64 = row.try_get("payment_id")?;
            let id = PaymentId::from_i64(id)
                .ok_or_else(|| StoreError::Corrupt(format!("refund of payment id {id}")))?;
            counted.push((id, row.try_get("refunded")?));
        }
    }
    Ok(counted)
}

/// Writes admitted refund rows, many per statement.
async fn insert_refund_rows(
    tx: &mut Transaction<'static, Any>,
    refunds: &[(&RefundWrite<'_>, Option<&str>)],
) -> Result<(), sqlx::Error> {
    let (anonymous, rows) = anonymous_rows(tx);
    for chunk in refunds.chunks(rows) {
        let sql = format!(
            "INSERT INTO refunds (id, merchant_id, payment_id, status, status_date, refund_date, account_id, \
             correlator_id, amount_minor, currency, amount_decimals, document, created_at, updated_at) VALUES {}",
            values_list(chunk.len(), 14, anonymous)
        );
        let mut query = sqlx::query(&sql);
        for ((refund, _, _), _) in chunk {
            let (amount_minor, currency) = amount_columns(refund.total_amount);
            query = query
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
                .bind(refund.amount_decimals.map(i64::from))
                .bind(refund.document.as_str().to_owned())
                .bind(micros(refund.created_at))
                .bind(micros(refund.created_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Writes payment rows, many per statement.
async fn insert_payment_rows(
    tx: &mut Transaction<'static, Any>,
    payments: &[&Payment],
) -> Result<(), sqlx::Error> {
    // On SQLite the payment rows take anonymous placeholders, so the
    // statement's size no longer costs its square and may be as large as
    // PostgreSQL's.
    let (anonymous, rows) = anonymous_rows(tx);
    for chunk in payments.chunks(rows) {
        let sql = format!(
            "INSERT INTO payments (id, merchant_id, status, status_date, payment_date, account_id, correlator_id, \
             amount_minor, currency, amount_decimals, document, origin, created_at, updated_at) VALUES {}",
            values_list(chunk.len(), 14, anonymous)
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
                .bind(payment.amount_decimals.map(i64::from))
                .bind(payment.document.as_str().to_owned())
                .bind(payment.origin.as_str().to_owned())
                .bind(micros(payment.created_at))
                .bind(micros(payment.created_at));
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}
