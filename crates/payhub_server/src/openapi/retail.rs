//! The retail online-payment document (seed 003; docs/RETAIL.md).
//!
//! Every request is authenticated in its body: `apiKey`, `timestamp` and
//! `sign` = Base64(HMAC-SHA1(secret, timestamp)); in the stronger mode the
//! `X-Payhub-Signature` header carries Base64(HMAC-SHA256(secret,
//! `{timestamp}.{raw body}`)) instead. Every answer is HTTP 200 with
//! `errorCode` (`0` success) except payhub's own failure (500).
#![allow(
    dead_code,
    reason = "schema structs exist only to describe the wire format"
)]

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "payhub retail online payment",
        version = "1.0.0",
        description = "The retail online-payment API (seed 003). Authentication is in the body: \
            `apiKey`, `timestamp` (ms since the epoch) and `sign` = Base64(HMAC-SHA1(secret, timestamp)). \
            Merchants switched to `hmac-sha256` send `X-Payhub-Signature` = \
            Base64(HMAC-SHA256(secret, `{timestamp}.{raw body}`)) instead. \
            Errors are HTTP 200 with a non-zero `errorCode` (docs/RETAIL.md)."
    ),
    servers((url = "/tt-pms-ws/rest/online")),
    paths(list_gateways, create_sale, query_sale, cancel_sale, create_refund),
    components(schemas(
        Signed, GatewayRequest, GatewayAnswer, GatewayType, SaleRequest, SaleAnswer,
        LookupRequest, QueryAnswer, RefundRequest, Answer
    )),
    modifiers(&Security),
    // Seed 003's body `sign` (no header), or the stronger mode's header.
    security((), ("payhubSignature" = [])),
    tags((name = "retail", description = "Sales and refunds"))
)]
pub struct RetailApi;

/// The header of the stronger mode; seed 003's `sign` is a body member, which
/// OpenAPI's security schemes cannot name, so it is described in [`Signed`].
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "payhubSignature",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Payhub-Signature",
                "hmac-sha256 mode: Base64(HMAC-SHA256(secret, `{timestamp}.{raw body}`)). \
                 In seed 003's mode the body's `sign` authenticates instead.",
            ))),
        );
    }
}

/// The members every request carries (the signature).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Signed {
    /// The merchant's retail API key (an identifier, not a secret).
    api_key: String,
    /// Milliseconds since the epoch (a number or a digit string), within ±300 s.
    timestamp: i64,
    /// Base64(HMAC-SHA1(secret, timestamp)); absent in the hmac-sha256 mode.
    sign: Option<String>,
}

/// `gateway`: the payment types the merchant may use.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayRequest {
    #[serde(flatten)]
    signed: Signed,
    /// `zh_hk` (default), `zh_cn` or `en`.
    lang: Option<String>,
}

/// One payment type.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayType {
    r#type: String,
    desc: String,
    lang_desc: Option<String>,
    base64_logo: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GatewayAnswer {
    error_code: String,
    error_message: String,
    gateways: Option<Vec<GatewayType>>,
}

/// `sales`: a new sale, started at its gateway.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleRequest {
    #[serde(flatten)]
    signed: Signed,
    /// One of the merchant's gateways (`WXPAY`, `VMPAY`, `TEST`, …).
    r#type: String,
    /// ≤ 64 of `[A-Za-z0-9_.-]`, unique per merchant across sales and refunds.
    rrn: String,
    store_code: String,
    till_id: String,
    salesman: String,
    /// `yyyy-MM-dd'T'HH:mm:ssZ`, e.g. `2021-06-09T13:10:33+0800`.
    tx_date_time: String,
    /// Minor units, ≥ 1.
    amt: i64,
    /// ISO 4217.
    ccy: String,
    lang: Option<String>,
    /// A JSON object text with `subject` and `seller`.
    extend_param: Option<String>,
    return_url: Option<String>,
    webhook_url: Option<String>,
    remarks: Option<String>,
    cashier: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SaleAnswer {
    /// `0` success, `3` gateway timeout (query it), `601` refused, 400xx errors.
    error_code: String,
    error_message: String,
    rrn: Option<String>,
    /// The hosted page to send the customer to.
    payment_url: Option<String>,
    gw_ref_code: Option<String>,
}

/// `query` and `cancel`: a sale (or refund) by `rrn`.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LookupRequest {
    #[serde(flatten)]
    signed: Signed,
    r#type: String,
    rrn: String,
    store_code: String,
}

/// A sale or refund as the ledger has it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueryAnswer {
    error_code: String,
    error_message: String,
    r#type: Option<String>,
    rrn: Option<String>,
    org_rrn: Option<String>,
    store_code: Option<String>,
    till_id: Option<String>,
    amt: Option<i64>,
    additional_amt: Option<i64>,
    ccy: Option<String>,
    /// `00` paid, `01` in progress, `02` failed, `04` canceled, … (docs/RETAIL.md).
    gw_ref_status: Option<String>,
    gw_ref_code: Option<String>,
    org_gw_ref_code: Option<String>,
    gw_error_code: Option<String>,
    gw_error_message: Option<String>,
    tx_date_time: Option<String>,
    extend_param: Option<String>,
}

/// `refund`: gives back all or part of a paid sale.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    #[serde(flatten)]
    signed: Signed,
    r#type: String,
    /// The refund's own, new `rrn`.
    rrn: String,
    /// The sale's `rrn`.
    org_rrn: String,
    store_code: String,
    amt: i64,
    ccy: Option<String>,
    till_id: Option<String>,
    salesman: Option<String>,
    tx_date_time: Option<String>,
    remarks: Option<String>,
}

/// The envelope of every answer, and of every error (HTTP 200; 500 for
/// `40002`; 413 for `40015`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Answer {
    error_code: String,
    error_message: String,
}

#[utoipa::path(post, path = "/gateway", operation_id = "list_gateways", tag = "retail",
    request_body = GatewayRequest,
    responses(
        (status = 200, description = "The gateways, or an error code", body = GatewayAnswer),
        (status = 413, description = "Body too large (40015)", body = Answer),
        (status = 500, description = "payhub failed (40002)", body = Answer),
    ))]
pub fn list_gateways() {}

#[utoipa::path(post, path = "/sales", operation_id = "create_sale", tag = "retail",
    request_body = SaleRequest,
    responses(
        (status = 200, description = "The sale and its paymentUrl, or an error code", body = SaleAnswer),
        (status = 413, description = "Body too large (40015)", body = Answer),
        (status = 500, description = "payhub failed (40002)", body = Answer),
    ))]
pub fn create_sale() {}

#[utoipa::path(post, path = "/query", operation_id = "query_sale", tag = "retail",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "The sale or refund, or an error code", body = QueryAnswer),
        (status = 413, description = "Body too large (40015)", body = Answer),
        (status = 500, description = "payhub failed (40002)", body = Answer),
    ))]
pub fn query_sale() {}

#[utoipa::path(post, path = "/cancel", operation_id = "cancel_sale", tag = "retail",
    request_body = LookupRequest,
    responses(
        (status = 200, description = "Canceled (gwRefStatus 04), or an error code", body = QueryAnswer),
        (status = 413, description = "Body too large (40015)", body = Answer),
        (status = 500, description = "payhub failed (40002)", body = Answer),
    ))]
pub fn cancel_sale() {}

#[utoipa::path(post, path = "/refund", operation_id = "create_refund", tag = "retail",
    request_body = RefundRequest,
    responses(
        (status = 200, description = "The refund, or an error code", body = QueryAnswer),
        (status = 413, description = "Body too large (40015)", body = Answer),
        (status = 500, description = "payhub failed (40002)", body = Answer),
    ))]
pub fn create_refund() {}
