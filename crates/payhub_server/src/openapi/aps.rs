//! The APS PaymentManagement document (seed 001; docs/APS.md).
#![allow(
    dead_code,
    reason = "schema structs exist only to describe the wire format"
)]

use super::MerchantKeySchemes;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "payhub APS PaymentManagement",
        version = "1.0.0",
        description = "The APS PaymentManagement dialect (seed 001): payments on a merchant's \
            customer account (an APS resource), from its credit, a stored method or the hosted card page \
            (docs/APS.md)."
    ),
    servers((url = "/aps/2/resources")),
    paths(pay, payments),
    components(schemas(
        APSPaymentCreationRequest, APSPaymentContext, APSDocument, APSPaymentCreationResult,
        APSRedirectData, APSPayment, APSError
    )),
    modifiers(&MerchantKeySchemes),
    security(("bearer" = []), ("basic" = [])),
    tags((name = "PaymentManagement", description = "Payments of an APS resource"))
)]
pub struct ApsApi;

/// `pay`'s body.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSPaymentCreationRequest {
    /// > 0, read exactly, with at most the account currency's decimals.
    total: f64,
    /// A stored payment method of this account.
    payment_method_id: Option<i64>,
    /// Spend the account's credit first (default false).
    use_available_credit: Option<bool>,
    payment_context: Option<APSPaymentContext>,
    /// At most 100.
    documents: Option<Vec<APSDocument>>,
}

/// Strings only; other members are accepted and kept.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSPaymentContext {
    /// Where the hosted page sends the customer after success.
    callback_url_ok: Option<String>,
    /// … after failure.
    callback_url_fail: Option<String>,
    /// Where payhub POSTs the result.
    notify_url: Option<String>,
    origin_url: Option<String>,
    callback_url: Option<String>,
    #[serde(rename = "callbackUrl3D")]
    callback_url_3d: Option<String>,
    #[serde(rename = "ccpViewID")]
    ccp_view_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSDocument {
    /// `INVOICE` or `ORDER`.
    doc_type: String,
    doc_id: Option<String>,
    amount: Option<f64>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSPaymentCreationResult {
    payment_id: i64,
    /// Present when the customer must pay the rest on the hosted card page.
    redirect_data: Option<APSRedirectData>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSRedirectData {
    #[serde(rename = "redirectURL")]
    redirect_url: String,
    /// `GET`.
    method: String,
    post_arguments: Vec<String>,
    message: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSPayment {
    account_id: String,
    payment_id: i64,
    currency: String,
    /// `CREDIT`, a card brand (`VISA`, …), `CARD` or `WALLET`.
    payment_type: String,
    /// `424242******4242`.
    tokenized_card_number: Option<String>,
    transaction_number: Option<String>,
    /// RFC 3339, when the payment succeeded.
    authorization_date: Option<String>,
    amount: Option<f64>,
    /// `IN_PROGRESS`, `SUCCESS`, `FAILED`.
    status: String,
}

/// Every APS error (codes in docs/APS.md).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct APSError {
    /// `unauthorized`, `invalid_field`, `resource_not_found`, …
    code: String,
    field: Option<String>,
    message: String,
    /// The HTTP reason phrase.
    error: String,
}

#[utoipa::path(post, path = "/{aps_id}/payment", operation_id = "pay", tag = "PaymentManagement",
    params(
        ("aps_id" = String, Path, description = "The APS resource (customer account)"),
        ("Idempotency-Key" = Option<String>, Header, description = "Repeats answer the first response"),
    ),
    request_body = APSPaymentCreationRequest,
    responses(
        (status = 200, description = "Created", body = APSPaymentCreationResult),
        (status = 400, description = "invalid_json, missing_field, invalid_field, url_refused, …", body = APSError),
        (status = 401, description = "unauthorized", body = APSError),
        (status = 404, description = "resource_not_found", body = APSError),
        (status = 409, description = "idempotency_request_in_progress", body = APSError),
        (status = 413, description = "payload_too_large", body = APSError),
        (status = 422, description = "payment_method_not_found, gateway_unavailable, idempotency_key_reused", body = APSError),
        (status = 503, description = "service_unavailable", body = APSError),
    ))]
pub fn pay() {}

#[utoipa::path(get, path = "/{aps_id}/payments", operation_id = "payments", tag = "PaymentManagement",
    params(
        ("aps_id" = String, Path, description = "The APS resource (customer account)"),
        ("paymentIds" = String, Query, description = "Comma-separated payment ids (at most 100)"),
    ),
    responses(
        (status = 200, description = "The payments of this account among the ids", body = Vec<APSPayment>),
        (status = 400, description = "missing_field, invalid_payment_ids", body = APSError),
        (status = 401, description = "unauthorized", body = APSError),
        (status = 404, description = "resource_not_found", body = APSError),
    ))]
pub fn payments() {}
