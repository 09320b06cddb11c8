//! The hosted page's routes: `/pay/{payment id}/{token}` and its forms.
//!
//! The token in the link is the customer's credential (see
//! [`payhub_app::secrets::MasterKey::page_token`]): no account, no cookie. Every
//! POST answers with a redirect back to the page (post/redirect/get), so a
//! reload never submits a card twice.
//!
//! A 3-D Secure step is either payhub's code form (the simulated issuers)
//! or the card issuer's own page, which the gateway names (Stripe's
//! `redirect_to_url`): the card post then sends the customer there, and the
//! issuer sends them back to `/pay/{id}/{token}/return`, which asks the
//! gateway how the step went and shows the page again.

use axum::extract::{Path, State};
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::Utc;
use payhub_core::{GatewayState, Money, Outcome, Payment, PaymentId};
use payhub_store::{ApsPayment, CreditState, GatewayApplied, GatewayPayment};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{from_user_agent, Layout};
use super::view::{self, CardFormView, PageOutcome, SaleView};
use crate::config::Mode;
use crate::state::AppState;
use payhub_app::card::check_card_form;
use payhub_app::gateways::flow::{self, challenge_redirect, CARD_ACTION};
use payhub_app::gateways::{simulated::CHALLENGE_CODE, GatewayKind};
use payhub_app::lang::Lang;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/pay/{id}/{token}", get(show))
        .route("/pay/{id}/{token}/card", post(submit_card))
        .route("/pay/{id}/{token}/challenge", post(submit_challenge))
        .route("/pay/{id}/{token}/return", get(return_from_issuer))
        .route("/pay/{id}/{token}/cancel", post(cancel))
        .route("/pay/{id}/{token}/result", get(result))
}

/// The link a customer pays a payment at.
pub fn payment_url(state: &AppState, id: PaymentId) -> String {
    format!(
        "{}{}",
        state.settings.public_base_url,
        payment_path(state, id)
    )
}

/// The payment page's path, for redirects from payhub's own pages (same host).
pub fn payment_path(state: &AppState, id: PaymentId) -> String {
    format!("/pay/{}/{}", id, state.master_key.page_token(id.get()))
}

/// Everything a page needs about its payment.
struct Loaded {
    payment: Payment,
    gateway: GatewayPayment,
    /// How an APS payment was covered: the page then asks only for the card
    /// part. `None` for the other dialects.
    aps: Option<ApsPayment>,
    kind: GatewayKind,
    lang: Lang,
    base: String,
}

fn not_found() -> Response {
    let lang = Lang::default();
    let texts = super::i18n::texts(lang);
    (
        StatusCode::NOT_FOUND,
        Html(view::message_page(lang, texts.not_found, texts.not_found).into_string()),
    )
        .into_response()
}

/// The gateway row of the payment a page link names, when its token is right.
async fn gateway_of(state: &AppState, id: &str, token: &str) -> Option<GatewayPayment> {
    let id: PaymentId = id.parse().ok()?;
    if !state.master_key.page_token_matches(id.get(), token) {
        return None;
    }
    state.store.find_gateway_payment(id).await.ok()?
}

/// The language of the page a link names: its payment's, or the one the
/// page for an unknown link is shown in.
pub(super) async fn language_of(state: &AppState, id: &str, token: &str) -> Lang {
    gateway_of(state, id, token)
        .await
        .and_then(|gateway| Lang::parse(&gateway.lang))
        .unwrap_or_default()
}

async fn load(state: &AppState, id: &str, token: &str) -> Option<Loaded> {
    let gateway = gateway_of(state, id, token).await?;
    let id = gateway.payment_id;
    let payment = state
        .store
        .find_payment(&gateway.merchant_id, id)
        .await
        .ok()??;
    let aps = state.store.find_aps_payment(id).await.ok()?;
    let kind = GatewayKind::parse(&gateway.gateway)?;
    let lang = Lang::parse(&gateway.lang).unwrap_or_default();
    let base = format!("/pay/{id}/{token}");
    Some(Loaded {
        payment,
        gateway,
        aps,
        kind,
        lang,
        base,
    })
}

/// The seller (`name`) and subject (`description`) a payment's document carries.
fn describe(payment: &Payment) -> (Option<String>, Option<String>) {
    let document: Value = serde_json::from_str(payment.document.as_str()).unwrap_or(Value::Null);
    let text = |name: &str| {
        document
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    (text("name"), text("description"))
}

fn sale_view<'a>(
    loaded: &'a Loaded,
    layout: Layout,
    seller: &'a Option<String>,
    subject: &'a Option<String>,
) -> Option<SaleView<'a>> {
    let total = loaded.payment.total_amount?;
    let (amount, credit_used) = match &loaded.aps {
        Some(aps) => card_and_credit(total, aps)?,
        None => (total, None),
    };
    Some(SaleView {
        lang: loaded.lang,
        layout,
        gateway: loaded.kind,
        amount,
        credit_used,
        saves_card: loaded.aps.as_ref().is_some_and(|aps| aps.save_method),
        seller: seller.as_deref(),
        subject: subject.as_deref(),
        rrn: loaded.payment.correlator_id.as_deref().unwrap_or_default(),
        card_last4: loaded.gateway.card.as_ref().map(|card| card.last4.as_str()),
        finished_at: loaded
            .gateway
            .state
            .is_final()
            .then_some(loaded.payment.status_date),
    })
}

/// What the card of an APS payment is charged (the part credit did not
/// cover), and the credit spent when it is still spent (a failed payment has
/// given it back, so the page no longer shows it as paid).
fn card_and_credit(total: Money, aps: &ApsPayment) -> Option<(Money, Option<Money>)> {
    let card = Money::from_minor(aps.method_minor, total.currency()).ok()?;
    let credit = (aps.credit_minor > 0 && aps.credit_state == CreditState::Held)
        .then(|| Money::from_minor(aps.credit_minor, total.currency()).ok())
        .flatten();
    Some((card, credit))
}

fn outcome_of(state: GatewayState) -> PageOutcome {
    match (state.outcome(), state) {
        (Outcome::Succeeded, _) => PageOutcome::Paid,
        (_, GatewayState::Expired) => PageOutcome::Expired,
        (_, GatewayState::Canceled) => PageOutcome::Canceled,
        _ => PageOutcome::Declined,
    }
}

/// Where the customer goes once the payment has ended: the merchant's
/// failure URL (when it gave one and the payment failed) or `returnUrl`, with
/// the result in its query, or payhub's result page.
fn finished_redirect(state: &AppState, loaded: &Loaded) -> Response {
    let failed = loaded.gateway.state.outcome() != Outcome::Succeeded;
    let target = match (failed, loaded.gateway.fail_url.as_deref()) {
        (true, Some(fail_url)) => Some(fail_url),
        _ => loaded.gateway.return_url.as_deref(),
    };
    let Some(return_url) = target else {
        return Redirect::to(&format!("{}/result", loaded.base)).into_response();
    };
    let parameters = state
        .hooks
        .dialect(&loaded.payment.origin)
        .and_then(|dialect| dialect.return_parameters(&loaded.payment, &loaded.gateway))
        .unwrap_or_default();
    let Ok(mut url) = url::Url::parse(return_url) else {
        return Redirect::to(&format!("{}/result", loaded.base)).into_response();
    };
    url.query_pairs_mut().extend_pairs(parameters);
    Redirect::to(url.as_str()).into_response()
}

fn sandbox_hint(state: &AppState, text: String) -> Option<String> {
    (state.settings.mode == Mode::Sandbox).then_some(text)
}

async fn show(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    if loaded.gateway.state.is_final() {
        return finished_redirect(&state, &loaded);
    }
    let layout = from_user_agent(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()));
    let (seller, subject) = describe(&loaded.payment);
    let Some(sale) = sale_view(&loaded, layout, &seller, &subject) else {
        return not_found();
    };
    let markup = match (loaded.gateway.state, loaded.gateway.action.as_deref()) {
        // A card is at the gateway (another tab, another click): wait for it.
        (GatewayState::AwaitingCustomer, Some(CARD_ACTION)) if card_out(&loaded.gateway) => {
            view::processing_page(&sale)
        }
        (GatewayState::AwaitingCustomer, Some(CARD_ACTION)) => {
            card_form(&loaded, &sale, &[], &CardForm::default())
        }
        (GatewayState::AwaitingCustomer, Some(qr)) => {
            let seconds_left = seconds_left(&loaded);
            let hint = sandbox_hint(&state, format!(
                "POST /sandbox/v1/payments/{}/outcome {{\"outcome\":\"success\"}} settles this payment as a scan would.",
                loaded.payment.id
            ));
            view::qr_page(&sale, qr, seconds_left, hint.as_deref())
        }
        (GatewayState::Challenge, Some(action)) if challenge_redirect(action).is_some() => {
            view::issuer_challenge_page(&sale, challenge_redirect(action).unwrap_or_default())
        }
        (GatewayState::Challenge, _) => {
            let hint = sandbox_hint(
                &state,
                format!("The sandbox issuer's code is {CHALLENGE_CODE}."),
            );
            view::challenge_page(
                &sale,
                &format!("{}/challenge", loaded.base),
                false,
                hint.as_deref(),
            )
        }
        _ => view::processing_page(&sale),
    };
    Html(markup.into_string()).into_response()
}

/// Whether a card of this payment is at its gateway now (its claim is live).
fn card_out(gateway: &GatewayPayment) -> bool {
    gateway
        .card_claimed_until
        .is_some_and(|until| until > Utc::now())
}

/// Whether the payment waits for another card because the last one was
/// declined: a card was tried and the gateway's decline is on the row (a
/// payment still waiting after a card was tried was not paid by it).
fn declined_before(gateway: &GatewayPayment) -> bool {
    gateway.card_attempts > 0 && gateway.gw_error_code.is_some()
}

/// The card form for `loaded`, with the problems of a refused submission and
/// what of it may be shown again (expiry and holder, never number or CVC).
fn card_form(
    loaded: &Loaded,
    sale: &SaleView,
    errors: &[payhub_app::card::CardError],
    typed: &CardForm,
) -> maud::Markup {
    let action = format!("{}/card", loaded.base);
    let cancel = format!("{}/cancel", loaded.base);
    view::card_form_page(
        sale,
        &CardFormView {
            action: &action,
            errors,
            expiry: &typed.expiry,
            holder: &typed.holder,
            seconds_left: Some(seconds_left(loaded)),
            cancel_action: Some(&cancel),
            declined: declined_before(&loaded.gateway),
        },
    )
}

/// Seconds until the payment expires (`PAYHUB_PAYMENT_EXPIRY_S` after it started).
fn seconds_left(loaded: &Loaded) -> i64 {
    (loaded.gateway.expires_at - Utc::now()).num_seconds()
}

/// The card form's fields. No `Debug`: a card number must never reach a log.
#[derive(Deserialize, Default)]
struct CardForm {
    #[serde(default)]
    number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cvc: String,
    #[serde(default)]
    holder: String,
}

async fn submit_card(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
    Form(form): Form<CardForm>,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    let card = match check_card_form(
        &form.number,
        &form.expiry,
        &form.cvc,
        &form.holder,
        Utc::now().date_naive(),
    ) {
        Ok(card) => card,
        Err(errors) => {
            let layout = from_user_agent(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()));
            let (seller, subject) = describe(&loaded.payment);
            let Some(sale) = sale_view(&loaded, layout, &seller, &subject) else {
                return not_found();
            };
            let page = card_form(&loaded, &sale, &errors, &form);
            return (StatusCode::UNPROCESSABLE_ENTITY, Html(page.into_string())).into_response();
        }
    };
    let return_url = url::Url::parse(&format!(
        "{}{}/return",
        state.settings.public_base_url, loaded.base
    ))
    .ok();
    match flow::pay_with_card(&state, &loaded.gateway, &card, return_url.as_ref()).await {
        // The issuer's own 3-D Secure page: straight there.
        Ok(GatewayApplied::Changed(row)) => {
            if let Some(issuer) = issuer_page(&row) {
                return Redirect::to(issuer).into_response();
            }
        }
        Ok(GatewayApplied::AlreadyFinal(_)) => {}
        Err(error) => {
            tracing::info!(payment.id = %loaded.payment.id, %error, "card submitted to a payment not waiting for one");
        }
    }
    Redirect::to(&loaded.base).into_response()
}

/// The card issuer's 3-D Secure page a payment waits on, if any.
fn issuer_page(row: &GatewayPayment) -> Option<&str> {
    (row.state == GatewayState::Challenge)
        .then(|| row.action.as_deref().and_then(challenge_redirect))
        .flatten()
}

/// The customer is back from the card issuer's 3-D Secure page (a GET:
/// the issuer redirects the browser here, with the gateway's own query
/// parameters, which payhub does not need: the link names the payment).
/// payhub asks the gateway how the step went, then shows the page, which
/// shows the result or sends the customer on as for any ended payment. A
/// payment not waiting on the issuer (a reload, a code-form challenge) is
/// only shown.
async fn return_from_issuer(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    if let Err(error) = flow::return_from_challenge(&state, &loaded.gateway).await {
        tracing::info!(payment.id = %loaded.payment.id, %error, "return from the issuer for a payment not waiting on it");
    }
    Redirect::to(&loaded.base).into_response()
}

#[derive(Deserialize)]
struct ChallengeForm {
    #[serde(default)]
    code: String,
}

async fn submit_challenge(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    Form(form): Form<ChallengeForm>,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    if let Err(error) = flow::answer_challenge(&state, &loaded.gateway, &form.code).await {
        tracing::info!(payment.id = %loaded.payment.id, %error, "challenge answered for a payment not waiting for one");
    }
    Redirect::to(&loaded.base).into_response()
}

/// The customer gives up on the payment: payhub cancels it at its gateway
/// and sends the customer where a finished payment goes (the merchant's
/// failure URL or `returnUrl`, with the canceled result in the query, or
/// payhub's result page). A payment that has already ended, or a gateway
/// that does not answer, leaves the payment as it is; the customer is then
/// sent to the page, which shows its real state.
async fn cancel(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    if let Err(error) = flow::cancel(&state, &loaded.gateway).await {
        tracing::info!(payment.id = %loaded.payment.id, %error, "customer cancel not applied");
    }
    Redirect::to(&loaded.base).into_response()
}

async fn result(
    State(state): State<AppState>,
    Path((id, token)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(loaded) = load(&state, &id, &token).await else {
        return not_found();
    };
    if !loaded.gateway.state.is_final() {
        return Redirect::to(&loaded.base).into_response();
    }
    let layout = from_user_agent(headers.get(USER_AGENT).and_then(|v| v.to_str().ok()));
    let (seller, subject) = describe(&loaded.payment);
    let Some(sale) = sale_view(&loaded, layout, &seller, &subject) else {
        return not_found();
    };
    Html(view::result_page(&sale, outcome_of(loaded.gateway.state), None).into_string())
        .into_response()
}
