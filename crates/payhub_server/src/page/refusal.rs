//! How the payment pages answer a client over its rate limit, in the
//! page's language (the consent page's own: `api_telco::consent_limit`),
//! and how pages answer a request refused at the edge (`crate::edge`): a
//! plain page saying the
//! request could not be read, never the framework's plain text, and nothing
//! stored (a control character in a form field would otherwise reach the
//! database, where PostgreSQL refuses it and SQLite keeps it).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::i18n::texts;
use super::routes::language_of;
use super::view::message_page;
use crate::edge::{Dialect, Refusal, DEFAULT_BODY_LIMIT};
use crate::rate_limit::{check_address_of, Throttled};
use crate::state::AppState;
use payhub_app::lang::Lang;

/// The pages' answers to edge refusals.
pub struct PageEdge;

impl Dialect for PageEdge {
    /// Forms are a few fields; axum's default is ample.
    const BODY_LIMIT: usize = DEFAULT_BODY_LIMIT;

    fn refuse(refusal: Refusal) -> Response {
        let lang = Lang::default();
        let status = match refusal {
            Refusal::Path => StatusCode::NOT_FOUND,
            Refusal::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::QueryTooLong
            | Refusal::QueryText
            | Refusal::BodyUnreadable
            | Refusal::ControlCharacter(_) => StatusCode::BAD_REQUEST,
        };
        let title = if status == StatusCode::NOT_FOUND {
            texts(lang).not_found
        } else {
            "This request could not be read"
        };
        let message = format!("{refusal}. Go back and try again.");
        (
            status,
            Html(message_page(lang, title, &message).into_string()),
        )
            .into_response()
    }
}

/// A client over its limit, answered with a short page in `lang`: HTTP 429
/// and `Retry-After`.
pub fn throttled_page(lang: Lang, throttled: Throttled) -> Response {
    let t = texts(lang);
    let page = message_page(
        lang,
        t.too_many_requests,
        &t.too_many_requests_text(throttled.retry_after_s()),
    );
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(page.into_string())).into_response();
    throttled.set_retry_after(&mut response);
    response
}

/// Middleware of the payment pages (`/pay/{id}/{token}/…`): refuses a
/// client address over its limit with a page in the language of the page
/// it asked for, like every other page: the payment's language, read only
/// for a refused request whose link carries the payment's token (one
/// lookup by key); an unknown link's refusal is in the language of the
/// page for an unknown link.
pub async fn per_address(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Err(throttled) = check_address_of(&request) else {
        return next.run(request).await;
    };
    let mut segments = request.uri().path().trim_start_matches('/').split('/');
    let lang = match (segments.next(), segments.next(), segments.next()) {
        (Some("pay"), Some(id), Some(token)) => language_of(&state, id, token).await,
        _ => Lang::default(),
    };
    throttled_page(lang, throttled)
}
