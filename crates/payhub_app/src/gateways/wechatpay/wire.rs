//! The JSON of WeChat Pay's global APIv3 calls payhub makes (common mode),
//! as the global "Order Placement" (Native), "Query Order", "Close Order",
//! "Refund", "Query Single Refund" and "Payment Result Notification" pages
//! define them. Fields payhub does not use are left out of what it reads.

use serde::{Deserialize, Serialize};

/// An amount with its currency (`amount` of an order).
#[derive(Debug, Serialize)]
pub struct OrderAmount<'a> {
    pub total: i64,
    pub currency: &'a str,
}

/// `POST /v3/global/transactions/native`.
#[derive(Debug, Serialize)]
pub struct NativeOrder<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub description: &'a str,
    pub out_trade_no: &'a str,
    pub notify_url: &'a str,
    pub trade_type: &'static str,
    pub merchant_category_code: &'a str,
    pub time_expire: String,
    pub amount: OrderAmount<'a>,
}

/// The answer to a Native order.
#[derive(Debug, Deserialize)]
pub struct NativeOrderAnswer {
    pub code_url: String,
}

/// `POST /v3/global/transactions/out-trade-no/{out_trade_no}/close`.
#[derive(Debug, Serialize)]
pub struct CloseOrder<'a> {
    pub mchid: &'a str,
}

/// A payment as WeChat Pay tells it (a query answer, or a notification's
/// decrypted resource).
#[derive(Debug, Deserialize)]
pub struct Transaction {
    pub mchid: Option<String>,
    pub appid: Option<String>,
    pub out_trade_no: String,
    /// WeChat Pay's order number: `id` in the global API's answers,
    /// `transaction_id` in some pages' examples.
    #[serde(alias = "transaction_id")]
    pub id: Option<String>,
    pub trade_state: String,
    pub trade_state_desc: Option<String>,
}

/// The amount of a refund.
#[derive(Debug, Serialize)]
pub struct RefundAmount<'a> {
    pub refund: i64,
    pub total: i64,
    pub currency: &'a str,
}

/// `POST /v3/global/refunds`.
#[derive(Debug, Serialize)]
pub struct NewRefund<'a> {
    pub mchid: &'a str,
    pub appid: &'a str,
    pub out_trade_no: &'a str,
    pub out_refund_no: &'a str,
    pub amount: RefundAmount<'a>,
}

/// A refund as WeChat Pay tells it. The answer to a new refund may carry no
/// `status` yet.
#[derive(Debug, Deserialize)]
pub struct Refund {
    pub id: Option<String>,
    pub out_refund_no: String,
    pub status: Option<String>,
}

/// An error answer.
#[derive(Debug, Deserialize)]
pub struct ErrorAnswer {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub message: String,
}

/// A notification's envelope.
#[derive(Debug, Deserialize)]
pub struct NotificationEnvelope {
    pub event_type: String,
    pub resource: EncryptedResource,
}

/// A notification's encrypted `resource`.
#[derive(Debug, Deserialize)]
pub struct EncryptedResource {
    pub algorithm: String,
    pub ciphertext: String,
    pub nonce: String,
    #[serde(default)]
    pub associated_data: String,
}
