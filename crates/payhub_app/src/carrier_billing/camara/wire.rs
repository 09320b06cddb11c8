//! The CAMARA Carrier Billing API's wire shapes as payhub writes and reads
//! them: request bodies built from a booking, and the API's answers (its
//! payment statuses and its error model, `status` + `code`) read into
//! [`CarrierError`]. docs/TELCO.md ("CAMARA Carrier Billing") has the same
//! mapping as a table.

use std::str::FromStr;

use payhub_core::carrier_billing::BookingReport;
use payhub_core::{Currency, Money};
use serde_json::{json, Map, Value};

use crate::carrier_billing::carrier::{BillCredit, BillRequest, Booked, CarrierError};

/// A phone number as the API writes it: E.164 with its `+` (seed 004's
/// `msisdn` is written without it).
pub(super) fn phone_number(msisdn: &str) -> String {
    if msisdn.starts_with('+') {
        msisdn.to_owned()
    } else {
        format!("+{msisdn}")
    }
}

/// An amount as the API's `number`, written from its exact decimal text
/// (`1999` TRY minor units is `19.99`), never through a float.
pub(super) fn amount(money: Money) -> Result<Value, CarrierError> {
    serde_json::Number::from_str(&money.to_decimal().to_string())
        .map(Value::Number)
        .map_err(|_| CarrierError::Rejected(format!("cannot write the amount {money:?}")))
}

/// The `paymentAmount` of a charge or reservation: the total in
/// `chargingInformation`, one `paymentDetails` item per basket line kept
/// (its line total), the calling service in `chargingMetaData`. Catalogue
/// prices are what the subscriber pays, so every amount is tax included
/// (`isTaxIncluded: true`); payhub does not know the tax itself and sends
/// no `taxAmount`.
fn payment_amount(request: &BillRequest<'_>) -> Result<Value, CarrierError> {
    let currency: Currency = request.amount.currency();
    let kept: Vec<_> = request.basket.items.iter().filter(|i| !i.removed).collect();
    let mut details = Vec::with_capacity(kept.len());
    for item in &kept {
        let line = item
            .unit_price_minor
            .checked_mul(item.count)
            .and_then(|minor| Money::from_minor(minor, currency).ok())
            .ok_or_else(|| CarrierError::Rejected(format!("item {} overflows", item.id)))?;
        let description = if item.count == 1 {
            item.name.clone()
        } else {
            format!("{} x {}", item.count, item.name)
        };
        details.push(json!({
            "id": item.id,
            "amount": amount(line)?,
            "currency": currency.code(),
            "description": description,
            "isTaxIncluded": true,
        }));
    }
    let description = kept
        .iter()
        .map(|item| item.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut meta = Map::new();
    meta.insert("merchantIdentifier".into(), json!(request.merchant));
    if let [only] = kept.as_slice() {
        meta.insert("productId".into(), json!(only.id));
    }
    let mut body = json!({
        "chargingInformation": {
            "amount": amount(request.amount)?,
            "currency": currency.code(),
            "description": description,
            "isTaxIncluded": true,
        },
        "chargingMetaData": meta,
    });
    if !details.is_empty() {
        body["paymentDetails"] = Value::Array(details);
    }
    Ok(body)
}

/// The body of `createPayment` and `preparePayment` (the same shape): the
/// booking's key is both `clientCorrelator` (so a retry books once) and
/// `referenceCode`.
pub(super) fn payment_body(request: &BillRequest<'_>) -> Result<Value, CarrierError> {
    Ok(json!({
        "amountTransaction": {
            "phoneNumber": phone_number(request.msisdn),
            "clientCorrelator": request.key,
            "referenceCode": request.key,
            "paymentAmount": payment_amount(request)?,
        }
    }))
}

/// The body of `createRefund`: a `partial` refund of the credit's amount
/// (payhub's refunds name their amount, and a partial refund leaves later
/// ones possible), its key as `clientCorrelator` and `referenceCode`.
pub(super) fn refund_body(credit: &BillCredit<'_>) -> Result<Value, CarrierError> {
    Ok(json!({
        "type": "partial",
        "amountTransaction": {
            "clientCorrelator": credit.key,
            "referenceCode": credit.key,
            "refundAmount": {
                "chargingInformation": {
                    "amount": amount(credit.amount)?,
                    "currency": credit.amount.currency().code(),
                    "description": format!("Refund {}", credit.key),
                    "isTaxIncluded": true,
                }
            }
        }
    }))
}

/// What a payment's `paymentStatus` says about a booking that expected
/// `expected` (`reserved` for a reservation, `succeeded` for a charge or a
/// confirmed reservation). `processing` (the operator works
/// asynchronously) is an outcome not known yet: asked again later.
pub(super) fn payment_outcome(status: &str, expected: &str) -> Result<(), CarrierError> {
    match status {
        s if s == expected => Ok(()),
        "processing" => Err(CarrierError::Unavailable),
        "denied" => Err(CarrierError::Denied),
        "cancelled" => Err(CarrierError::UnknownReservation),
        "pending_validation" => Err(CarrierError::Rejected(
            "the carrier asks for its own OTP validation; payhub validates consent itself".into(),
        )),
        // A reservation still reserved after a confirm: not confirmed yet.
        "reserved" => Err(CarrierError::Unavailable),
        other => Err(CarrierError::Rejected(format!(
            "unexpected paymentStatus {other}"
        ))),
    }
}

/// A payment of the API (`Payment`) as a booking: its id, its status and
/// its amount (`chargingInformation`, read from its exact decimal text).
pub(super) fn booked(payment: &Value, currency: Currency) -> Result<Booked, CarrierError> {
    let reference = payment["paymentId"]
        .as_str()
        .ok_or_else(|| CarrierError::Rejected("the payment has no paymentId".into()))?;
    let report = match payment["paymentStatus"].as_str().unwrap_or("") {
        "reserved" => BookingReport::Reserved,
        "succeeded" => BookingReport::Charged,
        "cancelled" => BookingReport::Cancelled,
        "denied" => BookingReport::Denied,
        "processing" | "pending_validation" => BookingReport::Processing,
        other => {
            return Err(CarrierError::Rejected(format!(
                "unexpected paymentStatus {other}"
            )))
        }
    };
    let charging = &payment["amountTransaction"]["paymentAmount"]["chargingInformation"];
    let amount = match (&charging["amount"], charging["currency"].as_str()) {
        (Value::Number(number), Some(code)) if code == currency.code() => {
            Money::parse_decimal(&number.to_string(), currency).ok()
        }
        _ => None,
    }
    .ok_or_else(|| CarrierError::Rejected("the payment's amount is not readable".into()))?;
    Ok(Booked {
        reference: reference.to_owned(),
        report,
        amount,
    })
}

/// The API's error model read into a [`CarrierError`]: an answer with
/// `status` (the HTTP status) and `code`.
pub(super) fn refusal(status: u16, body: &Value) -> CarrierError {
    let code = body.get("code").and_then(Value::as_str).unwrap_or("");
    match (status, code) {
        (
            422,
            "CARRIER_BILLING.UNAUTHORIZED_AMOUNT"
            | "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED"
            | "CARRIER_BILLING.AMOUNT_THRESHOLD_OVERPASSED"
            | "CARRIER_BILLING_REFUND.UNAUTHORIZED_AMOUNT"
            | "CARRIER_BILLING_REFUND.AMOUNT_THRESHOLD_OVERPASSED",
        ) => CarrierError::AmountRefused,
        (404, "IDENTIFIER_NOT_FOUND") | (422, "SERVICE_NOT_APPLICABLE") => {
            CarrierError::UnknownSubscriber
        }
        (
            403,
            "CARRIER_BILLING.PAYMENT_DENIED"
            | "CARRIER_BILLING_REFUND.REFUND_DENIED"
            | "CARRIER_BILLING_REFUND.PAYMENT_NOT_ELIGIBLE_FOR_REFUND",
        ) => CarrierError::Denied,
        (404, "NOT_FOUND") | (409, "CARRIER_BILLING.PAYMENT_CANCELLED") => {
            CarrierError::UnknownReservation
        }
        // Rate limited or the server failed: nothing is known; ask again.
        (429, _) | (500..=599, _) => CarrierError::Unavailable,
        (status, code) => CarrierError::Rejected(format!("{status} {code}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::carrier_billing::basket::{Basket, BasketItem};

    fn try_() -> Currency {
        Currency::parse("TRY").unwrap_or_else(|_| unreachable!("TRY is ISO 4217"))
    }

    #[test]
    fn amounts_are_written_exactly_from_their_decimal_text() -> Result<(), CarrierError> {
        let money = Money::from_minor(1999, try_()).map_err(|_| CarrierError::Unavailable)?;
        assert_eq!(amount(money)?.to_string(), "19.99");
        let kwd = Currency::parse("KWD").map_err(|_| CarrierError::Unavailable)?;
        let money = Money::from_minor(1001, kwd).map_err(|_| CarrierError::Unavailable)?;
        assert_eq!(amount(money)?.to_string(), "1.001");
        Ok(())
    }

    #[test]
    fn the_basket_maps_onto_payment_details() -> Result<(), CarrierError> {
        let item = |id: &str, price, count, removed| BasketItem {
            id: id.into(),
            name: format!("item {id}"),
            unit_price_minor: price,
            count,
            is_removable: true,
            removed,
        };
        let basket = Basket {
            currency: "TRY".into(),
            items: vec![
                item("50", 1999, 1, false),
                item("53", 500, 3, false),
                item("54", 100, 1, true),
            ],
        };
        let total = Money::from_minor(3499, try_()).map_err(|_| CarrierError::Unavailable)?;
        let request = BillRequest {
            key: "42",
            msisdn: "905321234567",
            amount: total,
            basket: &basket,
            merchant: "m1",
        };
        let body = payment_body(&request)?;
        let transaction = &body["amountTransaction"];
        assert_eq!(transaction["phoneNumber"], "+905321234567");
        assert_eq!(transaction["clientCorrelator"], "42");
        let amount = &transaction["paymentAmount"];
        assert_eq!(amount["chargingInformation"]["amount"].to_string(), "34.99");
        assert_eq!(amount["chargingInformation"]["currency"], "TRY");
        let details = amount["paymentDetails"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(details.len(), 2, "the removed item is not charged");
        assert_eq!(details[1]["amount"].to_string(), "15.00");
        assert_eq!(details[1]["description"], "3 x item 53");
        assert_eq!(amount["chargingMetaData"]["merchantIdentifier"], "m1");
        Ok(())
    }

    #[test]
    fn the_error_model_maps_onto_carrier_errors() {
        let table = [
            (
                422,
                "CARRIER_BILLING.USER_AMOUNT_THRESHOLD_OVERPASSED",
                CarrierError::AmountRefused,
            ),
            (
                422,
                "CARRIER_BILLING.UNAUTHORIZED_AMOUNT",
                CarrierError::AmountRefused,
            ),
            (404, "IDENTIFIER_NOT_FOUND", CarrierError::UnknownSubscriber),
            (
                422,
                "SERVICE_NOT_APPLICABLE",
                CarrierError::UnknownSubscriber,
            ),
            (403, "CARRIER_BILLING.PAYMENT_DENIED", CarrierError::Denied),
            (404, "NOT_FOUND", CarrierError::UnknownReservation),
            (
                409,
                "CARRIER_BILLING.PAYMENT_CANCELLED",
                CarrierError::UnknownReservation,
            ),
            (429, "TOO_MANY_REQUESTS", CarrierError::Unavailable),
            (503, "UNAVAILABLE", CarrierError::Unavailable),
            (
                400,
                "INVALID_ARGUMENT",
                CarrierError::Rejected("400 INVALID_ARGUMENT".into()),
            ),
            (
                403,
                "PERMISSION_DENIED",
                CarrierError::Rejected("403 PERMISSION_DENIED".into()),
            ),
        ];
        for (status, code, want) in table {
            let body = json!({"status": status, "code": code, "message": "-"});
            assert_eq!(refusal(status, &body), want, "{status} {code}");
        }
    }
}
