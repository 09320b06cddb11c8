//! The telco payment service document (seed 004; docs/TELCO.md).
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
        title = "payhub telco payment service",
        version = "1.0.0",
        description = "The telco payment service (seed 004): a payment on the subscriber's bill or card, \
            after the subscriber's consent. Every answer, success or error, is \
            `{resultCode, resultDesc, transactionId}` (docs/TELCO.md)."
    ),
    paths(create_transaction, query_transaction, commit_transaction, release_transaction,
        list_products, put_product),
    components(schemas(PaymentRequest, RequestedItem, TelcoResult, Product, ProductInput, Money)),
    modifiers(&MerchantKeySchemes),
    security(("basic" = []), ("bearer" = [])),
    tags(
        (name = "paymentService", description = "Transactions"),
        (name = "catalogue", description = "The calling service's products")
    )
)]
pub struct TelcoApi;

/// A payment request.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequest {
    /// Up to 64 of `[A-Za-z0-9_.-]` (a string, or a number); unique per service.
    transaction_id: String,
    /// The subscriber's number with its country code, digits only, 10 to 15.
    msisdn: String,
    /// 10 reserve & commit, 11 direct debit, 40 card, 50 in-app purchase.
    channel_id: i64,
    /// `reserve`.
    payment_method: String,
    is_deliverable: Option<bool>,
    is_billing_required: Option<bool>,
    /// 1 to 100 items of the service's catalogue.
    item_list: Vec<RequestedItem>,
    language: Option<String>,
    /// Kept as sent (no card data).
    #[schema(value_type = Option<Object>)]
    additional_parameters: Option<serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestedItem {
    /// A product id of the catalogue.
    id: i64,
    /// A whole number ≥ 1.
    count: i64,
    is_removable: Option<bool>,
}

/// Every answer: `1103` CONSENT_REQUESTED … `1112` SMS_FAILED (the 11xx name a transaction's state), and the 20xx errors.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TelcoResult {
    result_code: i64,
    result_desc: String,
    /// The request's `transactionId`, or `""` when it had none.
    transaction_id: String,
}

/// An amount of a currency (`value` read exactly).
#[derive(Serialize, ToSchema)]
pub struct Money {
    unit: String,
    value: f64,
}

/// A product of the catalogue.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    id: i64,
    name: String,
    unit_price: Money,
}

/// A product to create or replace.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductInput {
    name: String,
    unit_price: Money,
}

#[utoipa::path(post, path = "/pgw/paymentService", operation_id = "create_transaction",
    tag = "paymentService", request_body = PaymentRequest,
    responses(
        (status = 200, description = "1103 CONSENT_REQUESTED", body = TelcoResult),
        (status = 400, description = "2002-2010", body = TelcoResult),
        (status = 401, description = "2001", body = TelcoResult),
        (status = 409, description = "2005 duplicate transactionId", body = TelcoResult),
        (status = 413, description = "2013", body = TelcoResult),
        (status = 500, description = "2099", body = TelcoResult),
    ))]
pub fn create_transaction() {}

#[utoipa::path(get, path = "/pgw/paymentService/{transaction_id}", operation_id = "query_transaction",
    tag = "paymentService",
    params(("transaction_id" = String, Path, description = "The request's transactionId")),
    responses(
        (status = 200, description = "Its current result", body = TelcoResult),
        (status = 401, description = "2001", body = TelcoResult),
        (status = 404, description = "2011", body = TelcoResult),
    ))]
pub fn query_transaction() {}

#[utoipa::path(post, path = "/pgw/paymentService/{transaction_id}/commit", operation_id = "commit_transaction",
    tag = "paymentService",
    params(("transaction_id" = String, Path, description = "The request's transactionId")),
    responses(
        (status = 200, description = "1106 COMMITTED", body = TelcoResult),
        (status = 401, description = "2001", body = TelcoResult),
        (status = 404, description = "2011", body = TelcoResult),
        (status = 409, description = "2012 not reserved", body = TelcoResult),
        (status = 500, description = "2099: the carrier's answer is not known yet (nothing changed here; call again, or wait for the carrier's notification)", body = TelcoResult),
    ))]
pub fn commit_transaction() {}

#[utoipa::path(post, path = "/pgw/paymentService/{transaction_id}/release", operation_id = "release_transaction",
    tag = "paymentService",
    params(("transaction_id" = String, Path, description = "The request's transactionId")),
    responses(
        (status = 200, description = "1108 RELEASED", body = TelcoResult),
        (status = 401, description = "2001", body = TelcoResult),
        (status = 404, description = "2011", body = TelcoResult),
        (status = 409, description = "2012 not reserved", body = TelcoResult),
        (status = 500, description = "2099: the carrier's answer is not known yet (nothing changed here; call again)", body = TelcoResult),
    ))]
pub fn release_transaction() {}

#[utoipa::path(get, path = "/pgw/catalogue", operation_id = "list_products", tag = "catalogue",
    responses(
        (status = 200, description = "The service's products", body = Vec<Product>),
        (status = 401, description = "2001", body = TelcoResult),
    ))]
pub fn list_products() {}

#[utoipa::path(put, path = "/pgw/catalogue/{product_id}", operation_id = "put_product", tag = "catalogue",
    params(("product_id" = i64, Path, description = "The product id items name")),
    request_body = ProductInput,
    responses(
        (status = 200, description = "The product", body = Product),
        (status = 400, description = "2002-2004", body = TelcoResult),
        (status = 401, description = "2001", body = TelcoResult),
    ))]
pub fn put_product() {}
