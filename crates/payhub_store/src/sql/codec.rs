//! Row codecs: how ledger, merchant and subscription rows and their columns
//! (times, money, ids) read from and write to SQL.

use chrono::{DateTime, Utc};
use payhub_core::{
    Currency, Document, EventId, EventKind, LedgerEvent, MerchantId, Money, Origin, Payment,
    PaymentId, Refund, RefundId, Status, SubscriptionId,
};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::error::StoreError;
use crate::records::{DeliveryKind, Merchant, Subscription};

pub(super) const PAYMENT_COLUMNS: &str =
    "id, merchant_id, status, status_date, payment_date, account_id, correlator_id, \
     amount_minor, currency, amount_decimals, document, origin, created_at";
pub(super) const REFUND_COLUMNS: &str =
    "id, merchant_id, payment_id, status, status_date, refund_date, account_id, \
     correlator_id, amount_minor, currency, amount_decimals, document, created_at";
pub(super) const EVENT_COLUMNS: &str =
    "id, merchant_id, event_type, resource_id, status, occurred_at";

/// Times are stored as Unix microseconds; see the first migration.
pub(super) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

pub(super) fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Corrupt(format!("time {value}")))
}

pub(super) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

pub(super) fn merchant_id(text: String) -> Result<MerchantId, StoreError> {
    MerchantId::parse(&text).ok_or_else(|| corrupt(format!("merchant id {text}")))
}

pub(super) fn money(
    amount_minor: Option<i64>,
    currency: Option<String>,
) -> Result<Option<Money>, StoreError> {
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

/// The `amount_decimals` column: how many decimals the client wrote the amount with.
fn decimals(column: Option<i64>) -> Result<Option<u8>, StoreError> {
    column
        .map(|d| u8::try_from(d).map_err(|_| corrupt(format!("amount decimals {d}"))))
        .transpose()
}

/// A row's columns read by name, whichever driver read the row: the ledger's
/// rows come through sqlx's `Any` driver, and their hot reads through
/// rusqlite on SQLite (`sqlite_reads`) and tokio-postgres on PostgreSQL
/// (`postgres_reads`).
pub(super) trait Columns {
    fn int(&self, name: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, name: &str) -> Result<String, StoreError>;
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError>;
}

impl Columns for AnyRow {
    fn int(&self, name: &str) -> Result<i64, StoreError> {
        Ok(self.try_get(name)?)
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(name)?)
    }
    fn text(&self, name: &str) -> Result<String, StoreError> {
        Ok(self.try_get(name)?)
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(name)?)
    }
}

/// A ledger record decoded from a row of either driver.
pub(super) trait Decoded: Sized {
    fn decode(row: &impl Columns) -> Result<Self, StoreError>;
}

impl Decoded for Payment {
    fn decode(row: &impl Columns) -> Result<Self, StoreError> {
        payment_from_row(row)
    }
}

impl Decoded for Refund {
    fn decode(row: &impl Columns) -> Result<Self, StoreError> {
        refund_from_row(row)
    }
}

pub(super) fn payment_from_row(row: &impl Columns) -> Result<Payment, StoreError> {
    Ok(Payment {
        id: PaymentId::from_i64(row.int("id")?).ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.text("merchant_id")?)?,
        status: Status::parse(&row.text("status")?).map_err(corrupt)?,
        status_date: from_micros(row.int("status_date")?)?,
        payment_date: from_micros(row.int("payment_date")?)?,
        account_id: row.text("account_id")?,
        correlator_id: row.opt_text("correlator_id")?,
        total_amount: money(row.opt_int("amount_minor")?, row.opt_text("currency")?)?,
        amount_decimals: decimals(row.opt_int("amount_decimals")?)?,
        document: Document::new(row.text("document")?),
        origin: Origin::new(&row.text("origin")?),
        created_at: from_micros(row.int("created_at")?)?,
    })
}

pub(super) fn refund_from_row(row: &impl Columns) -> Result<Refund, StoreError> {
    let payment_id: Option<i64> = row.opt_int("payment_id")?;
    Ok(Refund {
        id: RefundId::from_i64(row.int("id")?).ok_or_else(|| corrupt("refund id"))?,
        merchant_id: merchant_id(row.text("merchant_id")?)?,
        payment_id: payment_id.and_then(PaymentId::from_i64),
        status: Status::parse(&row.text("status")?).map_err(corrupt)?,
        status_date: from_micros(row.int("status_date")?)?,
        refund_date: from_micros(row.int("refund_date")?)?,
        account_id: row.text("account_id")?,
        correlator_id: row.opt_text("correlator_id")?,
        total_amount: money(row.opt_int("amount_minor")?, row.opt_text("currency")?)?,
        amount_decimals: decimals(row.opt_int("amount_decimals")?)?,
        document: Document::new(row.text("document")?),
        created_at: from_micros(row.int("created_at")?)?,
    })
}

pub(super) fn event_from_row(row: &(impl Columns + ?Sized)) -> Result<LedgerEvent, StoreError> {
    let kind = row.text("event_type")?;
    Ok(LedgerEvent {
        id: EventId::from_i64(row.int("id")?).ok_or_else(|| corrupt("event id"))?,
        merchant_id: merchant_id(row.text("merchant_id")?)?,
        kind: EventKind::parse(&kind).ok_or_else(|| corrupt(format!("event type {kind}")))?,
        resource_id: row.int("resource_id")?,
        status: Status::parse(&row.text("status")?).map_err(corrupt)?,
        occurred_at: from_micros(row.int("occurred_at")?)?,
    })
}

pub(super) const MERCHANT_COLUMNS: &str =
    "id, name, api_key_hash, retail_api_key, gateways, retail_signature, created_at";

pub(super) fn merchant_from_row(row: &AnyRow) -> Result<Merchant, StoreError> {
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

pub(super) fn subscription_from_row(row: &AnyRow) -> Result<Subscription, StoreError> {
    Ok(Subscription {
        id: SubscriptionId::from_i64(row.try_get("id")?)
            .ok_or_else(|| corrupt("subscription id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        callback: row.try_get("callback")?,
        query: row.try_get("query")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

pub(super) fn delivery_kind(row: &(impl Columns + ?Sized)) -> Result<DeliveryKind, StoreError> {
    let kind = row.text("kind")?;
    DeliveryKind::parse(&kind).ok_or_else(|| corrupt(format!("delivery kind {kind}")))
}
