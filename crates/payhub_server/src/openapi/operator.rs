//! Everything payhub serves outside the four dialects: probes, the index,
//! these documents, deliveries, gateway notifications, the sandbox and the
//! pages a person sees (hosted payment page, telco consent page).
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
        title = "payhub operator endpoints and pages",
        version = "1.0.0",
        description = "Probes, the index, the API documents, webhook deliveries, gateway \
            notifications, the sandbox (sandbox mode only) and the HTML pages."
    ),
    paths(
        index, healthz, readyz, openapi_tmf676, openapi_retail, openapi_telco, openapi_aps,
        openapi_operator, docs_page, docs_file, list_deliveries, resend_delivery,
        gateway_notification, account_notification, camara_notification, list_connector_accounts,
        add_connector_account, show_connector_account, rotate_connector_credentials,
        disable_connector_account, enable_connector_account, settle_sandbox_payment, list_sandbox_sms, show_payment_page,
        submit_card, submit_challenge, return_from_issuer, cancel_payment_page, show_payment_result, show_consent,
        submit_consent, console_home, console_stylesheet, console_login_page, console_log_in,
        console_log_out, console_search_payments, console_show_payment, console_refund,
        console_resend_delivery, console_charts, console_not_found
    ),
    components(schemas(Probe, DeliveryError, SandboxOutcome)),
    modifiers(&MerchantKeySchemes),
    tags(
        (name = "ops", description = "No credentials: nothing about any merchant"),
        (name = "deliveries", description = "The merchant's webhook and hub deliveries (merchant API key)"),
        (name = "gateways", description = "Gateways' notifications (the gateway's signature)"),
        (name = "carrier", description = "The CAMARA carrier's notifications (the bearer token of the payment's sinkCredential)"),
        (name = "connector accounts", description = "Merchants' connector accounts (docs/GATEWAYS.md): HTTP Basic with a console operator's name and password; credentials are shown by their last four characters only"),
        (name = "sandbox", description = "Sandbox mode only (merchant API key)"),
        (name = "pages", description = "HTML pages; the link is the customer's credential"),
        (name = "console", description = "The operator console (docs/CONSOLE.md): HTML pages behind an operator session cookie; every POST carries the session's CSRF token")
    )
)]
pub struct OperatorApi;

/// A probe's answer.
#[derive(Serialize, ToSchema)]
pub struct Probe {
    /// `ok`, `ready` or `unavailable`.
    status: String,
    /// The backend (`sqlite`, `postgres`), on `/readyz`.
    database: Option<String>,
}

/// Errors of the merchant endpoints here use TMF676's envelope.
#[derive(Serialize, ToSchema)]
pub struct DeliveryError {
    code: String,
    reason: String,
    message: Option<String>,
    status: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SandboxOutcome {
    /// `success`, `failure`, … (docs/RETAIL.md "Sandbox").
    outcome: String,
}

#[utoipa::path(get, path = "/", tag = "ops", operation_id = "index",
    responses((status = 200, description = "What this payhub serves", body = serde_json::Value)))]
pub fn index() {}

#[utoipa::path(get, path = "/healthz", tag = "ops", operation_id = "healthz",
    responses((status = 200, description = "The process answers", body = Probe)))]
pub fn healthz() {}

#[utoipa::path(get, path = "/readyz", tag = "ops", operation_id = "readyz",
    responses(
        (status = 200, description = "The database answers too", body = Probe),
        (status = 503, description = "The database does not answer", body = Probe),
    ))]
pub fn readyz() {}

macro_rules! document_route {
    ($name:ident, $path:literal) => {
        #[utoipa::path(get, path = $path, tag = "ops",
            responses((status = 200, description = "An OpenAPI 3.1 document", body = serde_json::Value)))]
        pub fn $name() {}
    };
}

document_route!(openapi_tmf676, "/openapi/tmf676.json");
document_route!(openapi_retail, "/openapi/retail.json");
document_route!(openapi_telco, "/openapi/telco.json");
document_route!(openapi_aps, "/openapi/aps.json");
document_route!(openapi_operator, "/openapi/operator.json");

#[utoipa::path(get, path = "/docs", tag = "ops", operation_id = "docs_page",
    responses((status = 303, description = "To /docs/index.html, the Swagger UI")))]
pub fn docs_page() {}

#[utoipa::path(get, path = "/docs/{file}", tag = "ops", operation_id = "docs_file",
    params(("file" = String, Path, description = "A file of the bundled Swagger UI")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file"),
    ))]
pub fn docs_file() {}

#[utoipa::path(get, path = "/v1/deliveries", tag = "deliveries", operation_id = "list_deliveries",
    security(("bearer" = []), ("basic" = [])),
    params(("limit" = Option<i64>, Query, description = "At most this many")),
    responses(
        (status = 200, description = "The merchant's deliveries with their attempts", body = Vec<serde_json::Value>),
        (status = 400, description = "A filter, time or cursor that cannot be read", body = DeliveryError),
        (status = 401, description = "Unauthorized", body = DeliveryError),
    ))]
pub fn list_deliveries() {}

#[utoipa::path(post, path = "/v1/deliveries/{id}/resend", tag = "deliveries", operation_id = "resend_delivery",
    security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "The delivery")),
    responses(
        (status = 200, description = "Queued again", body = serde_json::Value),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn resend_delivery() {}

#[utoipa::path(post, path = "/gateways/{gateway}/notifications", tag = "gateways",
    operation_id = "gateway_notification",
    params(("gateway" = String, Path, description = "The gateway type (`WXPAY`, `VMPAY`, …)")),
    request_body(content = serde_json::Value, description = "The gateway's own signed notification"),
    responses(
        (status = 200, description = "Applied (or already applied)", body = serde_json::Value),
        (status = 400, description = "Not verifiable; nothing changed", body = serde_json::Value),
        (status = 404, description = "Unknown gateway", body = serde_json::Value),
    ))]
pub fn gateway_notification() {}

#[utoipa::path(post, path = "/gateways/accounts/{account}/notifications", tag = "gateways",
    operation_id = "account_notification",
    params(("account" = String, Path, description = "The connector account (`ca_…`) the gateway was given this URL for")),
    request_body(content = String, description = "The gateway's own signed notification, in its own format"),
    responses(
        (status = 200, description = "Applied (or already applied); answered as the gateway expects (`success`, WeChat Pay's JSON, …)", body = String),
        (status = 401, description = "Not verifiable with the account's credentials; nothing changed", body = serde_json::Value),
        (status = 404, description = "Unknown account, or a payment it does not serve", body = serde_json::Value),
        (status = 503, description = "Not applied now; the gateway sends it again", body = serde_json::Value),
    ))]
pub fn account_notification() {}

#[utoipa::path(post, path = "/carrier/camara/notifications/{payment}", tag = "carrier",
    operation_id = "camara_notification",
    security(("bearer" = [])),
    params(("payment" = String, Path, description = "payhub's payment id, as in the sink payhub gave the carrier")),
    request_body(content = serde_json::Value, content_type = "application/cloudevents+json",
        description = "A Carrier Billing CloudEvent (`org.camaraproject.carrier-billing.v0.payment-…`) naming the carrier's `data.paymentId`; payhub asks the API how that payment stands and applies the answer"),
    responses(
        (status = 204, description = "Taken (applied, or nothing to change)"),
        (status = 400, description = "Not a Carrier Billing CloudEvent (CAMARA error model)", body = serde_json::Value),
        (status = 401, description = "Not the bearer token of this payment's sink (CAMARA error model)", body = serde_json::Value),
        (status = 404, description = "No such payment (CAMARA error model)", body = serde_json::Value),
        (status = 503, description = "The carrier did not answer payhub's question; send it again", body = serde_json::Value),
    ))]
pub fn camara_notification() {}

#[utoipa::path(get, path = "/operator/v1/connector-accounts", tag = "connector accounts",
    operation_id = "list_connector_accounts",
    params(("merchant" = Option<String>, Query, description = "Only this merchant's (`mer_…`)")),
    responses(
        (status = 200, description = "The accounts the operator may see", body = Vec<serde_json::Value>),
        (status = 400, description = "Bad Request", body = DeliveryError),
        (status = 401, description = "Unauthorized", body = DeliveryError),
    ))]
pub fn list_connector_accounts() {}

#[utoipa::path(post, path = "/operator/v1/connector-accounts", tag = "connector accounts",
    operation_id = "add_connector_account",
    request_body(content = serde_json::Value, description = "`merchantId`, `connector`, `gatewayTypes`, `baseUrl`, `live`, `label`, `credentials`, `priority`, `weight`, `minAmountMinor`, `maxAmountMinor`, `currency`"),
    responses(
        (status = 201, description = "Added", body = serde_json::Value),
        (status = 400, description = "Refused; the message names what is wrong", body = DeliveryError),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "No such merchant (or not the operator's)", body = DeliveryError),
    ))]
pub fn add_connector_account() {}

#[utoipa::path(get, path = "/operator/v1/connector-accounts/{id}", tag = "connector accounts",
    operation_id = "show_connector_account",
    params(("id" = String, Path, description = "The account (`ca_…`)")),
    responses(
        (status = 200, description = "The account", body = serde_json::Value),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn show_connector_account() {}

#[utoipa::path(post, path = "/operator/v1/connector-accounts/{id}/rotate", tag = "connector accounts",
    operation_id = "rotate_connector_credentials",
    params(("id" = String, Path, description = "The account (`ca_…`)")),
    request_body(content = serde_json::Value, description = "`{\"credentials\": {…}}`: the credentials to replace"),
    responses(
        (status = 200, description = "Rotated: the account under its new credentials version", body = serde_json::Value),
        (status = 400, description = "Refused; the message names what is wrong", body = DeliveryError),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn rotate_connector_credentials() {}

#[utoipa::path(post, path = "/operator/v1/connector-accounts/{id}/disable", tag = "connector accounts",
    operation_id = "disable_connector_account",
    params(("id" = String, Path, description = "The account (`ca_…`)")),
    responses(
        (status = 200, description = "Disabled: new payments no longer go to it", body = serde_json::Value),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn disable_connector_account() {}

#[utoipa::path(post, path = "/operator/v1/connector-accounts/{id}/enable", tag = "connector accounts",
    operation_id = "enable_connector_account",
    params(("id" = String, Path, description = "The account (`ca_…`)")),
    responses(
        (status = 200, description = "Enabled", body = serde_json::Value),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn enable_connector_account() {}

#[utoipa::path(post, path = "/sandbox/v1/payments/{id}/outcome", tag = "sandbox",
    operation_id = "settle_sandbox_payment",
    security(("bearer" = []), ("basic" = [])),
    params(("id" = String, Path, description = "The payment")),
    request_body = SandboxOutcome,
    responses(
        (status = 200, description = "Settled by the simulated gateway", body = serde_json::Value),
        (status = 400, description = "Bad Request", body = DeliveryError),
        (status = 401, description = "Unauthorized", body = DeliveryError),
        (status = 404, description = "Not Found", body = DeliveryError),
    ))]
pub fn settle_sandbox_payment() {}

#[utoipa::path(get, path = "/sandbox/v1/sms", tag = "sandbox", operation_id = "list_sandbox_sms",
    security(("bearer" = []), ("basic" = [])),
    params(("msisdn" = Option<String>, Query, description = "The subscriber")),
    responses(
        (status = 200, description = "The simulated SMS centre's messages", body = serde_json::Value),
        (status = 401, description = "Unauthorized", body = DeliveryError),
    ))]
pub fn list_sandbox_sms() {}

#[utoipa::path(get, path = "/pay/{id}/{token}", tag = "pages", operation_id = "show_payment_page",
    params(
        ("id" = String, Path, description = "The payment"),
        ("token" = String, Path, description = "The page's secret token"),
    ),
    responses((status = 200, description = "The hosted payment page", content_type = "text/html")))]
pub fn show_payment_page() {}

#[utoipa::path(post, path = "/pay/{id}/{token}/card", tag = "pages", operation_id = "submit_card",
    params(("id" = String, Path), ("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The card form (never stored, logged or echoed)"),
    responses((status = 303, description = "Back to the page: the challenge, the result, or the card form again after a decline while another card may be tried (PAYHUB_CARD_ATTEMPTS)")))]
pub fn submit_card() {}

#[utoipa::path(post, path = "/pay/{id}/{token}/challenge", tag = "pages", operation_id = "submit_challenge",
    params(("id" = String, Path), ("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The 3-D Secure challenge answer"),
    responses((status = 303, description = "Back to the page: the result, or the card form again after a failed challenge while another card may be tried")))]
pub fn submit_challenge() {}

#[utoipa::path(get, path = "/pay/{id}/{token}/return", tag = "pages", operation_id = "return_from_issuer",
    params(("id" = String, Path), ("token" = String, Path)),
    responses(
        (status = 303, description = "Where the card issuer's 3-D Secure page sends the customer back: payhub asks the gateway how the step ended, then sends the customer to the payment's page"),
        (status = 404, description = "No such payment page", content_type = "text/html"),
    ))]
pub fn return_from_issuer() {}

#[utoipa::path(get, path = "/pay/{id}/{token}/result", tag = "pages", operation_id = "show_payment_result",
    params(("id" = String, Path), ("token" = String, Path)),
    responses((status = 200, description = "The result page, or a redirect to the merchant's returnUrl",
        content_type = "text/html")))]
pub fn show_payment_result() {}

#[utoipa::path(get, path = "/consent/{payment_id}/{token}", tag = "pages", operation_id = "show_consent",
    params(("payment_id" = String, Path), ("token" = String, Path)),
    responses((status = 200, description = "The telco consent page", content_type = "text/html")))]
pub fn show_consent() {}

#[utoipa::path(post, path = "/consent/{payment_id}/{token}", tag = "pages", operation_id = "submit_consent",
    params(("payment_id" = String, Path), ("token" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "The subscriber's code, or a refusal"),
    responses((status = 200, description = "The consent page's answer", content_type = "text/html")))]
pub fn submit_consent() {}

#[utoipa::path(post, path = "/pay/{id}/{token}/cancel", tag = "pages", operation_id = "cancel_payment_page",
    params(("id" = String, Path), ("token" = String, Path)),
    responses((status = 303, description = "The payment is canceled; to the merchant's returnUrl (APS: callbackUrlFail) or the result page")))]
pub fn cancel_payment_page() {}

#[utoipa::path(get, path = "/console", tag = "console", operation_id = "console_home",
    responses((status = 303, description = "To the payment search")))]
pub fn console_home() {}

#[utoipa::path(get, path = "/console/console.css", tag = "console", operation_id = "console_stylesheet",
    responses((status = 200, description = "The console's stylesheet", content_type = "text/css")))]
pub fn console_stylesheet() {}

#[utoipa::path(get, path = "/console/login", tag = "console", operation_id = "console_login_page",
    responses((status = 200, description = "The login form", content_type = "text/html")))]
pub fn console_login_page() {}

#[utoipa::path(post, path = "/console/login", tag = "console", operation_id = "console_log_in",
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Operator name, password and the login form's CSRF token"),
    responses((status = 303, description = "Logged in: a session cookie, to the payment search"),
        (status = 401, description = "Wrong name or password (the form again)", content_type = "text/html")))]
pub fn console_log_in() {}

#[utoipa::path(post, path = "/console/logout", tag = "console", operation_id = "console_log_out",
    responses((status = 303, description = "The session is ended; to the login form")))]
pub fn console_log_out() {}

#[utoipa::path(get, path = "/console/payments", tag = "console", operation_id = "console_search_payments",
    responses((status = 200, description = "Payments found by id, merchant, reference, account, state or date", content_type = "text/html")))]
pub fn console_search_payments() {}

#[utoipa::path(get, path = "/console/payments/{id}", tag = "console", operation_id = "console_show_payment",
    params(("id" = String, Path)),
    responses((status = 200, description = "A payment and its timeline", content_type = "text/html")))]
pub fn console_show_payment() {}

#[utoipa::path(post, path = "/console/payments/{id}/refund", tag = "console", operation_id = "console_refund",
    params(("id" = String, Path)),
    request_body(content = String, content_type = "application/x-www-form-urlencoded",
        description = "Amount and the session's CSRF token"),
    responses((status = 303, description = "Refunded (as TMF676 POST /refund would); back to the payment")))]
pub fn console_refund() {}

#[utoipa::path(post, path = "/console/deliveries/{id}/resend", tag = "console", operation_id = "console_resend_delivery",
    params(("id" = String, Path)),
    responses((status = 303, description = "The delivery is pending again; back to its payment")))]
pub fn console_resend_delivery() {}

#[utoipa::path(get, path = "/console/charts", tag = "console", operation_id = "console_charts",
    responses((status = 200, description = "Volume and success rate per gateway type and merchant", content_type = "text/html")))]
pub fn console_charts() {}

#[utoipa::path(get, path = "/console/{rest}", tag = "console", operation_id = "console_not_found",
    params(("rest" = String, Path)),
    responses((status = 404, description = "No such console page", content_type = "text/html")))]
pub fn console_not_found() {}
