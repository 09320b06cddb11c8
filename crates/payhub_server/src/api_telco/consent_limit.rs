//! The consent page's answer to a client over its rate limit: a short page
//! in the language of the page it asked for (the transaction's, when the
//! link is genuine; else the browser's), HTTP 429 with `Retry-After`. Like
//! the payment pages, the transaction is read only for a refused request
//! whose link carries its token.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::consent::{browser_lang, genuine_transaction, message_in};
use super::consent_text::SubscriberLang;
use crate::rate_limit::check_address_of;
use crate::state::AppState;

/// Middleware of `/consent/{payment_id}/{token}`.
pub async fn per_address(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Err(throttled) = check_address_of(&request) else {
        return next.run(request).await;
    };
    let mut segments = request.uri().path().trim_start_matches('/').split('/');
    let named = match (segments.next(), segments.next(), segments.next()) {
        (Some("consent"), Some(id), Some(token)) => {
            genuine_transaction(&state, id, token).await.ok().flatten()
        }
        _ => None,
    };
    let lang = match named {
        Some(transaction) => SubscriberLang::from_request(transaction.language.as_deref()),
        None => browser_lang(request.headers()),
    };
    let title = lang.texts().too_many_requests.0;
    let wait = lang.too_many_requests(throttled.retry_after_s());
    let page = message_in(lang, (title, &wait));
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page.into_string())).into_response();
    throttled.set_retry_after(&mut response);
    response
}
