//! The TMF676 Payment Management v4 document. Schema names and operation ids
//! are the official swagger's (`../shared/tmf676/`), so a TMF client
//! generated from either finds the same names; the compatibility test in
//! `tests/api/openapi.rs` keeps them so.
#![allow(
    dead_code,
    reason = "schema structs exist only to describe the wire format"
)]

use super::MerchantKeySchemes;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// The TMF676 document, served with its base path as its server.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "payhub TMF676 Payment Management",
        version = "4.0.0",
        description = "TMF676 Payment Management v4 over payhub's ledger. See docs/TMF676.md."
    ),
    servers((url = "/tmf-api/paymentManagement/v4")),
    paths(
        api_index, list_payment, create_payment, retrieve_payment, list_refund,
        create_refund, retrieve_refund, register_listener, retrieve_listener,
        unregister_listener
    ),
    components(schemas(
        Payment, PaymentCreate, Refund, RefundCreate, EventSubscription,
        EventSubscriptionInput, Error, Money, AccountRef, ChannelRef, RelatedParty,
        PaymentMethodRefOrValue, PaymentRef, PaymentItem, EntityRef, TimePeriod
    )),
    modifiers(&MerchantKeySchemes),
    security(("bearer" = []), ("basic" = [])),
    tags(
        (name = "payment", description = "Payments"),
        (name = "refund", description = "Refunds"),
        (name = "events subscription", description = "Hub listeners (notifications)")
    )
)]
pub struct Tmf676Api;

/// A base entity reference's common members.
macro_rules! reference {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Serialize, ToSchema)]
        $(#[$meta])*
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            $($(#[$fmeta])* $field: $ty,)*
            #[serde(rename = "@baseType")]
            base_type: Option<String>,
            #[serde(rename = "@schemaLocation")]
            schema_location: Option<String>,
            #[serde(rename = "@type")]
            r#type: Option<String>,
        }
    };
}

reference!(
    /// An amount: `value` is read exactly and may not have more decimals than `unit` allows.
    Money {
        /// ISO 4217 currency code.
        unit: Option<String>,
        /// The amount, read as an exact decimal.
        value: Option<f64>,
    }
);

reference!(
    /// The account the payment is made on (the merchant's customer account).
    AccountRef {
        id: String,
        href: Option<String>,
        description: Option<String>,
        name: Option<String>,
        #[serde(rename = "@referredType")]
        referred_type: Option<String>,
    }
);

reference!(
    /// The channel the payment came from.
    ChannelRef {
        id: String,
        href: Option<String>,
        name: Option<String>,
        #[serde(rename = "@referredType")]
        referred_type: Option<String>,
    }
);

reference!(
    /// A party (payer, requestor).
    RelatedParty {
        id: String,
        href: Option<String>,
        name: Option<String>,
        role: Option<String>,
        #[serde(rename = "@referredType")]
        referred_type: String,
    }
);

reference!(
    /// A generic entity reference (a payment item's `item`).
    EntityRef {
        id: String,
        href: Option<String>,
        name: Option<String>,
        #[serde(rename = "@referredType")]
        referred_type: Option<String>,
    }
);

reference!(
    /// The payment a refund refunds.
    PaymentRef {
        id: String,
        href: Option<String>,
        name: Option<String>,
        #[serde(rename = "@referredType")]
        referred_type: Option<String>,
    }
);

/// A period of time.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TimePeriod {
    start_date_time: Option<String>,
    end_date_time: Option<String>,
}

reference!(
    /// How the payment is made: `@type` names the gateway (`WXPAY`, `BankCard`, …);
    /// a full card number or CVC is refused, never stored.
    PaymentMethodRefOrValue {
        id: Option<String>,
        href: Option<String>,
        description: Option<String>,
        is_preferred: Option<bool>,
        name: Option<String>,
        status: Option<String>,
        status_date: Option<String>,
        related_party: Option<RelatedParty>,
        valid_for: Option<TimePeriod>,
        #[serde(rename = "@referredType")]
        referred_type: Option<String>,
    }
);

reference!(
    /// One item the payment pays for.
    PaymentItem {
        id: Option<String>,
        amount: Option<Money>,
        item: EntityRef,
        tax_amount: Option<Money>,
        total_amount: Option<Money>,
    }
);

reference!(
    /// A payment as payhub answers it (`status`: `pendingAuthorization`,
    /// `captured`, `denied`, `failed`, `canceled`, …; see docs/TMF676.md).
    Payment {
        id: Option<String>,
        href: Option<String>,
        authorization_code: Option<String>,
        correlator_id: Option<String>,
        description: Option<String>,
        name: Option<String>,
        payment_date: Option<String>,
        status: Option<String>,
        status_date: Option<String>,
        account: AccountRef,
        amount: Option<Money>,
        channel: Option<ChannelRef>,
        payer: Option<RelatedParty>,
        payment_item: Option<Vec<PaymentItem>>,
        payment_method: PaymentMethodRefOrValue,
        tax_amount: Option<Money>,
        total_amount: Option<Money>,
    }
);

reference!(
    /// A payment to create. Unknown and extension members are kept as sent.
    #[schema(as = Payment_Create)]
    PaymentCreate {
        authorization_code: Option<String>,
        correlator_id: Option<String>,
        description: Option<String>,
        name: Option<String>,
        account: AccountRef,
        amount: Option<Money>,
        channel: Option<ChannelRef>,
        payer: Option<RelatedParty>,
        payment_item: Option<Vec<PaymentItem>>,
        payment_method: PaymentMethodRefOrValue,
        tax_amount: Option<Money>,
        total_amount: Money,
    }
);

reference!(
    /// A refund as payhub answers it.
    Refund {
        id: Option<String>,
        href: Option<String>,
        authorization_code: Option<String>,
        correlator_id: Option<String>,
        description: Option<String>,
        name: Option<String>,
        refund_date: Option<String>,
        status: Option<String>,
        status_date: Option<String>,
        account: AccountRef,
        amount: Option<Money>,
        channel: Option<ChannelRef>,
        payment: Option<PaymentRef>,
        payment_method: PaymentMethodRefOrValue,
        requestor: Option<RelatedParty>,
        tax_amount: Option<Money>,
        total_amount: Option<Money>,
    }
);

reference!(
    /// A refund to create: `payment` names a captured payment of the merchant.
    #[schema(as = Refund_Create)]
    RefundCreate {
        authorization_code: Option<String>,
        correlator_id: Option<String>,
        description: Option<String>,
        name: Option<String>,
        refund_date: Option<String>,
        account: AccountRef,
        amount: Option<Money>,
        channel: Option<ChannelRef>,
        payment: Option<PaymentRef>,
        payment_method: PaymentMethodRefOrValue,
        requestor: Option<RelatedParty>,
        tax_amount: Option<Money>,
        total_amount: Money,
    }
);

/// A registered hub listener.
#[derive(Serialize, ToSchema)]
pub struct EventSubscription {
    id: String,
    /// Where payhub POSTs the events (http(s), a network payhub may reach).
    callback: String,
    /// Which events, e.g. `eventType=PaymentStateChangeEvent`.
    query: Option<String>,
}

/// A listener to register.
#[derive(Serialize, ToSchema)]
pub struct EventSubscriptionInput {
    callback: String,
    query: Option<String>,
}

reference!(
    /// Every TMF676 error (see docs/ERRORS.md).
    Error {
        /// Application error code.
        code: String,
        /// Why, for a person.
        reason: String,
        message: Option<String>,
        /// The HTTP status, as text.
        status: Option<String>,
        reference_error: Option<String>,
    }
);

/// `GET /`: the API's resources (no credentials).
#[utoipa::path(get, path = "/", operation_id = "apiIndex", tag = "payment", security(()),
    responses((status = 200, description = "Links to the resources", body = serde_json::Value)))]
pub fn api_index() {}

/// The query of a list: attribute selection, paging and filters.
#[utoipa::path(get, path = "/payment", operation_id = "listPayment", tag = "payment",
    params(
        ("fields" = Option<String>, Query, description = "Comma-separated attributes to return; the answer then holds only those (and `id`, `href`), so a selected resource may lack attributes the schema requires (TMF630 attribute selection)"),
        ("offset" = Option<u32>, Query, description = "Index of the first item"),
        ("limit" = Option<u32>, Query, description = "Number of items"),
        ("correlatorId" = Option<String>, Query, description = "A filter; any attribute may be filtered (docs/TMF676.md)"),
    ),
    responses(
        (status = 200, description = "Success", body = Vec<Payment>,
            headers(("X-Total-Count" = u64), ("X-Result-Count" = u64))),
        (status = 206, description = "Partial Content: one page of a longer list (TMF630)", body = Vec<Payment>,
            headers(("X-Total-Count" = u64), ("X-Result-Count" = u64))),
        (status = 400, description = "Bad Request", body = Error),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 503, description = "Database unavailable", body = Error),
    ))]
pub fn list_payment() {}

/// Creates a payment (honours `Idempotency-Key`).
#[utoipa::path(post, path = "/payment", operation_id = "createPayment", tag = "payment",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats answer the first response")),
    request_body = PaymentCreate,
    responses(
        (status = 201, description = "Created", body = Payment),
        (status = 400, description = "Bad Request", body = Error),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 409, description = "Conflict", body = Error),
        (status = 413, description = "Payload too large", body = Error),
        (status = 422, description = "Unprocessable", body = Error),
        (status = 503, description = "Database unavailable", body = Error),
    ))]
pub fn create_payment() {}

/// One payment of the merchant.
#[utoipa::path(get, path = "/payment/{id}", operation_id = "retrievePayment", tag = "payment",
    params(
        ("id" = String, Path, description = "Identifier of the Payment"),
        ("fields" = Option<String>, Query, description = "Comma-separated attributes to return; the answer then holds only those (and `id`, `href`), so a selected resource may lack attributes the schema requires (TMF630 attribute selection)"),
    ),
    responses(
        (status = 200, description = "Success", body = Payment),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 404, description = "Not Found", body = Error),
    ))]
pub fn retrieve_payment() {}

/// The merchant's refunds.
#[utoipa::path(get, path = "/refund", operation_id = "listRefund", tag = "refund",
    params(
        ("fields" = Option<String>, Query, description = "Comma-separated attributes to return; the answer then holds only those (and `id`, `href`), so a selected resource may lack attributes the schema requires (TMF630 attribute selection)"),
        ("offset" = Option<u32>, Query, description = "Index of the first item"),
        ("limit" = Option<u32>, Query, description = "Number of items"),
    ),
    responses(
        (status = 200, description = "Success", body = Vec<Refund>,
            headers(("X-Total-Count" = u64), ("X-Result-Count" = u64))),
        (status = 206, description = "Partial Content: one page of a longer list (TMF630)", body = Vec<Refund>,
            headers(("X-Total-Count" = u64), ("X-Result-Count" = u64))),
        (status = 400, description = "Bad Request", body = Error),
        (status = 401, description = "Unauthorized", body = Error),
    ))]
pub fn list_refund() {}

/// Refunds all or part of a captured payment (honours `Idempotency-Key`).
#[utoipa::path(post, path = "/refund", operation_id = "createRefund", tag = "refund",
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeats answer the first response")),
    request_body = RefundCreate,
    responses(
        (status = 201, description = "Created", body = Refund),
        (status = 400, description = "Bad Request", body = Error),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 404, description = "No such payment", body = Error),
        (status = 409, description = "Conflict", body = Error),
        (status = 422, description = "Not refundable", body = Error),
    ))]
pub fn create_refund() {}

/// One refund of the merchant.
#[utoipa::path(get, path = "/refund/{id}", operation_id = "retrieveRefund", tag = "refund",
    params(
        ("id" = String, Path, description = "Identifier of the Refund"),
        ("fields" = Option<String>, Query, description = "Comma-separated attributes to return; the answer then holds only those (and `id`, `href`), so a selected resource may lack attributes the schema requires (TMF630 attribute selection)"),
    ),
    responses(
        (status = 200, description = "Success", body = Refund),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 404, description = "Not Found", body = Error),
    ))]
pub fn retrieve_refund() {}

/// Registers a listener for the merchant's payment and refund events.
#[utoipa::path(post, path = "/hub", operation_id = "registerListener", tag = "events subscription",
    request_body = EventSubscriptionInput,
    responses(
        (status = 201, description = "Subscribed", body = EventSubscription),
        (status = 400, description = "Bad Request (or a callback payhub may not reach)", body = Error),
        (status = 401, description = "Unauthorized", body = Error),
    ))]
pub fn register_listener() {}

/// One listener (payhub's addition; the official API has no GET on `/hub/{id}`).
#[utoipa::path(get, path = "/hub/{id}", operation_id = "retrieveListener", tag = "events subscription",
    params(("id" = String, Path, description = "Identifier of the listener")),
    responses(
        (status = 200, description = "Success", body = EventSubscription),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 404, description = "Not Found", body = Error),
    ))]
pub fn retrieve_listener() {}

/// Unregisters a listener.
#[utoipa::path(delete, path = "/hub/{id}", operation_id = "unregisterListener", tag = "events subscription",
    params(("id" = String, Path, description = "Identifier of the listener")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Unauthorized", body = Error),
        (status = 404, description = "Not Found", body = Error),
    ))]
pub fn unregister_listener() {}
