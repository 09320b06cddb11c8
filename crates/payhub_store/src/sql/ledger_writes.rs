//! The ledger's writes inside a caller's transaction: payments with their
//! events, and refunds checked against their locked payment. Shared by
//! group commit and by the gateway, APS, telco and carrier writers, so every
//! ledger row is written one way.

use payhub_core::{LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundRejection, Status};
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::batch::{is_sqlite, rows_per_statement, values_list, ANONYMOUS_ROWS_PER_STATEMENT};
use super::codec::{amount_columns, micros, payment_from_row, PAYMENT_COLUMNS};
use super::idempotency::save_idempotent_response;
use super::outbox::{insert_event, insert_events, EventOrigin};
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
    let mut origin = None;
    if let Some(payment_id) = refund.payment_id {
        let Some(payment) = lock_payment(tx, backend, &refund.merchant_id, payment_id).await?
        else {
            return Ok(Err(RefundRejection::PaymentNotFound(payment_id)));
        };
        let refunded = refunded_minor(tx, payment_id).await?;
        if let Err(rejection) = payhub_core::ledger::check_refund(&payment, refunded, refund) {
            return Ok(Err(rejection));
        }
        origin = Some(payment.origin);
    }
    let (amount_minor, currency) = amount_columns(refund.total_amount);
    sqlx::query(
        "INSERT INTO refunds (id, merchant_id, payment_id, status, status_date, refund_date, account_id, \
         correlator_id, amount_minor, currency, amount_decimals, document, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
    .bind(refund.amount_decimals.map(i64::from))
    .bind(refund.document.as_str().to_owned())
    .bind(micros(refund.created_at))
    .bind(micros(refund.created_at))
    .execute(&mut **tx)
    .await?;
    let origin = origin.as_ref().map(payhub_core::Origin::as_str);
    insert_event(tx, event, EventOrigin::Known(origin)).await?;
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
    // On SQLite the payment rows take anonymous placeholders, so the
    // statement's size no longer costs its square and may be as large as
    // PostgreSQL's.
    let anonymous = is_sqlite(tx);
    let rows = if anonymous {
        ANONYMOUS_ROWS_PER_STATEMENT
    } else {
        rows_per_statement(tx)
    };
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
