//! The rows a create writes (a payment, a refund, an outbox event, a kept
//! idempotent answer) as column names and values, defined once for every
//! driver that writes them: sqlx's `Any` pool (`ledger_writes`), rusqlite
//! on SQLite's writer thread (`sqlite_writer`) and tokio-postgres
//! (`postgres_writer`). Each driver only says how it binds a [`Value`] and
//! how it phrases a multi-row insert.

use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, Money, Payment, PaymentId, Refund};

use super::codec::micros;
use crate::records::IdempotentResponse;

/// One column's value: every ledger column is an integer or text, either
/// of which may be `NULL`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Value<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
}

/// The SQL type of a column, which a driver needs before it sees a value
/// (PostgreSQL's typed arrays).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Text,
}

/// A table's inserted columns, in the order of its values.
pub(super) struct Columns {
    pub(super) table: &'static str,
    pub(super) names: &'static [&'static str],
    pub(super) kinds: &'static [Kind],
}

impl Columns {
    /// `a, b, c`: the column list of an `INSERT`.
    pub(super) fn list(&self) -> String {
        self.names.join(", ")
    }
}

use Kind::{Int, Text};

pub(super) const PAYMENT_ROW: Columns = Columns {
    table: "payments",
    names: &[
        "id",
        "merchant_id",
        "status",
        "status_date",
        "payment_date",
        "account_id",
        "correlator_id",
        "amount_minor",
        "currency",
        "amount_decimals",
        "document",
        "origin",
        "created_at",
        "updated_at",
    ],
    kinds: &[
        Int, Text, Text, Int, Int, Text, Text, Int, Text, Int, Text, Text, Int, Int,
    ],
};

pub(super) const REFUND_ROW: Columns = Columns {
    table: "refunds",
    names: &[
        "id",
        "merchant_id",
        "payment_id",
        "status",
        "status_date",
        "refund_date",
        "account_id",
        "correlator_id",
        "amount_minor",
        "currency",
        "amount_decimals",
        "document",
        "created_at",
        "updated_at",
    ],
    kinds: &[
        Int, Text, Int, Text, Int, Int, Text, Text, Int, Text, Int, Text, Int, Int,
    ],
};

/// An outbox event; its last column, `origin`, is the origin of the
/// payment it concerns (see `outbox::EventOrigin`).
pub(super) const EVENT_ROW: Columns = Columns {
    table: "outbox_events",
    names: &[
        "id",
        "merchant_id",
        "event_type",
        "resource_id",
        "status",
        "occurred_at",
        "lease_until",
        "created_at",
        "updated_at",
        "origin",
    ],
    kinds: &[Int, Text, Text, Int, Text, Int, Int, Int, Int, Text],
};

fn amount(money: Option<&Money>) -> [Value<'_>; 2] {
    [
        Value::Int(money.map(Money::amount_minor)),
        Value::Text(money.map(Money::currency_code)),
    ]
}

fn int(value: i64) -> Value<'static> {
    Value::Int(Some(value))
}

fn text(value: &str) -> Value<'_> {
    Value::Text(Some(value))
}

/// A new payment's values, in [`PAYMENT_ROW`]'s order.
pub(super) fn payment_values(payment: &Payment) -> [Value<'_>; 14] {
    let [amount_minor, currency] = amount(payment.total_amount.as_ref());
    [
        int(payment.id.get()),
        text(payment.merchant_id.as_str()),
        text(payment.status.as_str()),
        int(micros(payment.status_date)),
        int(micros(payment.payment_date)),
        text(&payment.account_id),
        Value::Text(payment.correlator_id.as_deref()),
        amount_minor,
        currency,
        Value::Int(payment.amount_decimals.map(i64::from)),
        text(payment.document.as_str()),
        text(payment.origin.as_str()),
        int(micros(payment.created_at)),
        int(micros(payment.created_at)),
    ]
}

/// A new refund's values, in [`REFUND_ROW`]'s order.
pub(super) fn refund_values(refund: &Refund) -> [Value<'_>; 14] {
    let [amount_minor, currency] = amount(refund.total_amount.as_ref());
    [
        int(refund.id.get()),
        text(refund.merchant_id.as_str()),
        Value::Int(refund.payment_id.map(PaymentId::get)),
        text(refund.status.as_str()),
        int(micros(refund.status_date)),
        int(micros(refund.refund_date)),
        text(&refund.account_id),
        Value::Text(refund.correlator_id.as_deref()),
        amount_minor,
        currency,
        Value::Int(refund.amount_decimals.map(i64::from)),
        text(refund.document.as_str()),
        int(micros(refund.created_at)),
        int(micros(refund.created_at)),
    ]
}

/// A new outbox event's values, in [`EVENT_ROW`]'s order: not yet leased,
/// concerning a payment of `origin` (`None`: a refund of no payment).
pub(super) fn event_values<'a>(event: &'a LedgerEvent, origin: Option<&'a str>) -> [Value<'a>; 10] {
    [
        int(event.id.get()),
        text(event.merchant_id.as_str()),
        text(event.kind.as_str()),
        int(event.resource_id),
        text(event.status.as_str()),
        int(micros(event.occurred_at)),
        int(0),
        int(micros(event.occurred_at)),
        int(micros(event.occurred_at)),
        Value::Text(origin),
    ]
}

/// Keeps an answer under its idempotency key, if the request that wrote it
/// still holds the key's claim; bound with [`kept_response_values`]. A
/// request whose claim was taken over (its lease ran out) updates no row,
/// and its work must roll back (`idempotency::save_idempotent_response`).
pub(super) const KEEP_RESPONSE_SQL: &str =
    "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_location = $2, \
     response_body = $3, updated_at = $4 WHERE merchant_id = $5 AND idempotency_key = $6 \
     AND state = 'processing' AND claim = $7";

/// The kinds of [`KEEP_RESPONSE_SQL`]'s parameters.
pub(super) const KEEP_RESPONSE_KINDS: [Kind; 7] = [Int, Text, Text, Int, Text, Text, Text];

/// The values of [`KEEP_RESPONSE_SQL`], kept at `now`.
pub(super) fn kept_response_values(
    saved: &IdempotentResponse,
    now: DateTime<Utc>,
) -> [Value<'_>; 7] {
    [
        int(i64::from(saved.response.status)),
        Value::Text(saved.response.location.as_deref()),
        text(&saved.response.body),
        int(micros(now)),
        text(saved.merchant_id.as_str()),
        text(&saved.key),
        text(&saved.claim),
    ]
}

/// What a kept answer whose claim was taken over says.
pub(super) const CLAIM_TAKEN_OVER: &str =
    "the idempotency key's claim was taken over by another request";

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use payhub_core::{Currency, Document, MerchantId, NewPayment, NewRefund, Origin};

    use super::*;

    /// The values each row function gives, kind by kind, match its
    /// columns: a mismatch would bind text to an integer column on
    /// PostgreSQL's typed arrays.
    fn kinds(values: &[Value<'_>]) -> Vec<Kind> {
        values
            .iter()
            .map(|value| match value {
                Value::Int(_) => Int,
                Value::Text(_) => Text,
            })
            .collect()
    }

    #[test]
    fn every_row_has_one_kind_per_column_and_its_values_match_them() {
        for columns in [&PAYMENT_ROW, &REFUND_ROW, &EVENT_ROW] {
            assert_eq!(
                columns.names.len(),
                columns.kinds.len(),
                "{}",
                columns.table
            );
        }
        let merchant = MerchantId::parse("mer_0123456789abcdef").expect("a merchant id");
        let eur = Money::from_minor(1050, Currency::parse("EUR").expect("EUR")).expect("money");
        let (payment, event) = Payment::record_with_event(
            NewPayment {
                merchant_id: merchant.clone(),
                account_id: "acct".into(),
                correlator_id: None,
                total_amount: Some(eur),
                amount_decimals: None,
                status: None,
                payment_date: None,
                document: Document::new("{}".into()),
                origin: Origin::new("tmf676"),
            },
            Utc::now(),
        );
        let values = payment_values(&payment);
        assert_eq!(kinds(&values), PAYMENT_ROW.kinds);
        assert_eq!(values[7], Value::Int(Some(1050)));
        assert_eq!(values[8], Value::Text(Some("EUR")));
        let (refund, _) = Refund::record_with_event(
            NewRefund {
                merchant_id: merchant,
                payment_id: Some(payment.id),
                account_id: "acct".into(),
                correlator_id: None,
                total_amount: None,
                amount_decimals: None,
                status: None,
                refund_date: None,
                document: Document::new("{}".into()),
            },
            Utc::now(),
        );
        let values = refund_values(&refund);
        assert_eq!(kinds(&values), REFUND_ROW.kinds);
        assert_eq!(values[2], Value::Int(Some(payment.id.get())));
        assert_eq!(values[8], Value::Int(None), "no amount: NULL, not zero");
        assert_eq!(
            kinds(&event_values(&event, Some("tmf676"))),
            EVENT_ROW.kinds
        );
    }
}
