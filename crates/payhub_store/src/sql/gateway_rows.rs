//! Gateway rows and dialect references as SQL: their codecs and the inserts
//! that the gateway, APS and telco writers each run inside their own
//! transaction. Kept apart from [`GatewayStore`](crate::traits::GatewayStore)'s
//! implementation so that those writers depend on it, not on each other.

use chrono::{DateTime, Utc};
use payhub_core::{Currency, GatewayState, Money, PaymentId, RefundId, RefundState};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::codec::{corrupt, from_micros, merchant_id, micros};
use crate::error::StoreError;
use crate::records::{CardRecord, ExternalRef, GatewayPayment, GatewayRefund, StartTerms};

pub(super) const GATEWAY_PAYMENT_COLUMNS: &str =
    "payment_id, merchant_id, gateway, gw_ref, state, action, gw_error_code, gw_error_message, \
     expires_at, next_check_at, checks, lang, return_url, webhook_url, card_token, card_brand, \
     card_first6, card_last4, created_at, fail_url, card_attempts, card_claimed_until, \
     connector_account, card_gateway_token, start_amount_minor, start_currency, start_subject";
pub(super) const GATEWAY_REFUND_COLUMNS: &str =
    "refund_id, payment_id, merchant_id, gateway, gw_ref, state, next_check_at, checks";

fn optional_time(value: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value.map(from_micros).transpose()
}

pub(super) fn gateway_payment_from_row(row: &AnyRow) -> Result<GatewayPayment, StoreError> {
    let state: String = row.try_get("state")?;
    let card_token: Option<String> = row.try_get("card_token")?;
    let card = match card_token {
        Some(token) => Some(CardRecord {
            token,
            brand: row
                .try_get::<Option<String>, _>("card_brand")?
                .unwrap_or_default(),
            first6: row
                .try_get::<Option<String>, _>("card_first6")?
                .unwrap_or_default(),
            last4: row
                .try_get::<Option<String>, _>("card_last4")?
                .unwrap_or_default(),
            gateway_token: row.try_get("card_gateway_token")?,
        }),
        None => None,
    };
    Ok(GatewayPayment {
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        gateway: row.try_get("gateway")?,
        gw_ref: row.try_get("gw_ref")?,
        state: GatewayState::parse(&state)
            .ok_or_else(|| corrupt(format!("gateway state {state}")))?,
        action: row.try_get("action")?,
        gw_error_code: row.try_get("gw_error_code")?,
        gw_error_message: row.try_get("gw_error_message")?,
        expires_at: from_micros(row.try_get("expires_at")?)?,
        next_check_at: optional_time(row.try_get("next_check_at")?)?,
        checks: row.try_get("checks")?,
        lang: row.try_get("lang")?,
        return_url: row.try_get("return_url")?,
        webhook_url: row.try_get("webhook_url")?,
        fail_url: row.try_get("fail_url")?,
        card,
        card_attempts: row.try_get("card_attempts")?,
        card_claimed_until: optional_time(row.try_get("card_claimed_until")?)?,
        connector_account: row.try_get("connector_account")?,
        start: start_terms(row)?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

/// What a row's start asked for; `None` when the row predates migration 0015.
fn start_terms(row: &AnyRow) -> Result<Option<StartTerms>, StoreError> {
    let amount: Option<i64> = row.try_get("start_amount_minor")?;
    let currency: Option<String> = row.try_get("start_currency")?;
    let (Some(amount), Some(currency)) = (amount, currency) else {
        return Ok(None);
    };
    let currency = Currency::parse(&currency).map_err(corrupt)?;
    Ok(Some(StartTerms {
        amount: Money::from_minor(amount, currency).map_err(corrupt)?,
        subject: row.try_get("start_subject")?,
    }))
}

pub(super) fn gateway_refund_from_row(row: &AnyRow) -> Result<GatewayRefund, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(GatewayRefund {
        refund_id: RefundId::from_i64(row.try_get("refund_id")?)
            .ok_or_else(|| corrupt("refund id"))?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        gateway: row.try_get("gateway")?,
        gw_ref: row.try_get("gw_ref")?,
        state: RefundState::parse(&state)
            .ok_or_else(|| corrupt(format!("refund state {state}")))?,
        next_check_at: optional_time(row.try_get("next_check_at")?)?,
        checks: row.try_get("checks")?,
    })
}

/// Fails with [`StoreError::DuplicateReference`] when the reference is taken,
/// otherwise writes it. Two racing writers on PostgreSQL both pass the check;
/// the primary key then refuses one (an id collision to the caller, whose
/// retry finds the reference taken).
pub(super) async fn claim_reference(
    tx: &mut Transaction<'static, Any>,
    reference: &ExternalRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let taken = sqlx::query(
        "SELECT 1 AS taken FROM external_refs WHERE merchant_id = $1 AND dialect = $2 AND reference = $3",
    )
    .bind(reference.merchant_id.as_str().to_owned())
    .bind(reference.dialect.clone())
    .bind(reference.reference.clone())
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_some() {
        return Err(StoreError::DuplicateReference);
    }
    sqlx::query(
        "INSERT INTO external_refs (merchant_id, dialect, reference, resource_kind, resource_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reference.merchant_id.as_str().to_owned())
    .bind(reference.dialect.clone())
    .bind(reference.reference.clone())
    .bind(reference.resource_kind.clone())
    .bind(reference.resource_id)
    .bind(micros(now))
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        // A concurrent request claimed it between the check and the insert.
        if error
            .as_database_error()
            .is_some_and(|e| e.is_unique_violation())
        {
            StoreError::DuplicateReference
        } else {
            error.into()
        }
    })?;
    Ok(())
}

/// Writes a gateway payment's row inside `tx`.
pub(super) async fn insert_gateway_payment_row(
    tx: &mut Transaction<'static, Any>,
    gateway: &GatewayPayment,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO gateway_payments ({GATEWAY_PAYMENT_COLUMNS}, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
    );
    let card = gateway.card.as_ref();
    let start = gateway.start.as_ref();
    sqlx::query(&sql)
        .bind(gateway.payment_id.get())
        .bind(gateway.merchant_id.as_str().to_owned())
        .bind(gateway.gateway.clone())
        .bind(gateway.gw_ref.clone())
        .bind(gateway.state.as_str())
        .bind(gateway.action.clone())
        .bind(gateway.gw_error_code.clone())
        .bind(gateway.gw_error_message.clone())
        .bind(micros(gateway.expires_at))
        .bind(gateway.next_check_at.map(micros))
        .bind(gateway.checks)
        .bind(gateway.lang.clone())
        .bind(gateway.return_url.clone())
        .bind(gateway.webhook_url.clone())
        .bind(card.map(|c| c.token.clone()))
        .bind(card.map(|c| c.brand.clone()))
        .bind(card.map(|c| c.first6.clone()))
        .bind(card.map(|c| c.last4.clone()))
        .bind(micros(gateway.created_at))
        .bind(gateway.fail_url.clone())
        .bind(gateway.card_attempts)
        .bind(gateway.card_claimed_until.map(micros))
        .bind(gateway.connector_account.clone())
        .bind(card.and_then(|c| c.gateway_token.clone()))
        .bind(start.map(|s| s.amount.amount_minor()))
        .bind(start.map(|s| s.amount.currency().code().to_owned()))
        .bind(start.and_then(|s| s.subject.clone()))
        .bind(micros(gateway.created_at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Writes the gateway row of a refund about to be sent to its payment's
/// gateway, inside the transaction that records the refund.
pub(super) async fn insert_gateway_refund_row(
    tx: &mut Transaction<'static, Any>,
    gateway: &GatewayRefund,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO gateway_refunds ({GATEWAY_REFUND_COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(gateway.refund_id.get())
    .bind(gateway.payment_id.get())
    .bind(gateway.merchant_id.as_str().to_owned())
    .bind(gateway.gateway.clone())
    .bind(gateway.gw_ref.clone())
    .bind(gateway.state.as_str())
    .bind(gateway.next_check_at.map(micros))
    .bind(gateway.checks)
    .bind(micros(now))
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
