//! Reading a payment notification WeChat Pay POSTed (global APIv3 "Payment
//! Result Notification"): the `Wechatpay-*` headers sign the raw body as any
//! answer is signed; the body's `resource` is encrypted with the APIv3 key;
//! its plaintext is the payment as "Query Order" tells it.

use payhub_core::PaymentId;
use reqwest::header::HeaderMap;

use super::aead::{ApiV3Key, ALGORITHM};
use super::mapping;
use super::signing::PlatformVerifier;
use super::wire::{NotificationEnvelope, Transaction};
use crate::gateways::connector::{GatewayError, GatewayReport, Notification};

/// Who the notification must be for.
pub struct Recipient<'a> {
    pub mchid: &'a str,
    pub appid: &'a str,
}

/// Verifies and reads one notification, at `now` (Unix seconds).
pub fn parse(
    verifier: &PlatformVerifier,
    key: &ApiV3Key,
    recipient: &Recipient<'_>,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<Notification, GatewayError> {
    let bad = |why: &str| GatewayError::BadNotification(why.to_owned());
    verifier
        .verify(headers, body, now)
        .map_err(|error| bad(&error.to_string()))?;
    let envelope: NotificationEnvelope =
        serde_json::from_slice(body).map_err(|_| bad("the body is not a notification"))?;
    if !envelope.event_type.starts_with("TRANSACTION.") {
        return Err(bad("not a payment notification"));
    }
    let resource = &envelope.resource;
    if resource.algorithm != ALGORITHM {
        return Err(bad("an unknown resource algorithm"));
    }
    let plaintext = key
        .decrypt(
            &resource.nonce,
            &resource.associated_data,
            &resource.ciphertext,
        )
        .map_err(|error| bad(&error.to_string()))?;
    let transaction: Transaction =
        serde_json::from_slice(&plaintext).map_err(|_| bad("the resource is not a payment"))?;
    if transaction.mchid.as_deref() != Some(recipient.mchid)
        || transaction.appid.as_deref() != Some(recipient.appid)
    {
        return Err(bad("the payment is another merchant's"));
    }
    let payment_id = transaction
        .out_trade_no
        .parse::<PaymentId>()
        .map_err(|_| bad("out_trade_no is not a payhub payment id"))?;
    Ok(Notification {
        payment_id,
        report: report(transaction),
    })
}

/// What a payment as WeChat Pay tells it means.
pub fn report(transaction: Transaction) -> GatewayReport {
    GatewayReport {
        saved_method: None,
        gw_ref: transaction.id,
        state: mapping::payment_state(&transaction.trade_state),
        qr_content: None,
        code: Some((
            transaction.trade_state,
            transaction.trade_state_desc.unwrap_or_default(),
        )),
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly on a bad fixture")]
mod tests {
    use payhub_core::GatewayState;

    use super::*;

    /// A decrypted resource shaped as the global "Payment Result
    /// Notification" documents it (WeChat's order number is `id`; the
    /// cross-currency and promotion fields are there but not read).
    #[test]
    fn a_documented_resource_reads_as_a_paid_report() {
        let resource = r#"{
            "id": "1008450740201411110005820873",
            "appid": "wx2421b1c4370ec43b",
            "mchid": "10000100",
            "out_trade_no": "20150806125346",
            "payer": {"openid": "oUpF8uN95-Ptaags6E_roPHg7AG0"},
            "amount": {"total": 528800, "currency": "HKD", "payer_total": 518799,
                       "payer_currency": "CNY",
                       "exchange_rate": {"type": "SETTLEMENT_RATE", "rate": 8000000}},
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "支付成功",
            "bank_type": "CCB_DEBIT",
            "success_time": "2018-06-08T10:34:56+08:00",
            "promotion_detail": []
        }"#;
        let transaction: Transaction = serde_json::from_str(resource).unwrap();
        assert_eq!(transaction.mchid.as_deref(), Some("10000100"));
        assert_eq!(transaction.out_trade_no, "20150806125346");
        let report = report(transaction);
        assert_eq!(report.state, GatewayState::Succeeded);
        assert_eq!(
            report.gw_ref.as_deref(),
            Some("1008450740201411110005820873")
        );
        assert_eq!(
            report.code,
            Some(("SUCCESS".to_owned(), "支付成功".to_owned()))
        );
    }
}
