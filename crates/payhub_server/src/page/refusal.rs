//! How payhub's pages (the payment page, the telco consent page) answer a
//! request refused at the edge (`crate::edge`): a plain page saying the
//! request could not be read, never the framework's plain text, and nothing
//! stored (a control character in a form field would otherwise reach the
//! database, where PostgreSQL refuses it and SQLite keeps it).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::i18n::texts;
use super::view::message_page;
use crate::edge::{Dialect, Refusal, DEFAULT_BODY_LIMIT};
use crate::rate_limit::{Throttled, ThrottledAnswer};
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

/// The hosted pages' answer: a short HTML page.
pub struct PageAnswer;

impl ThrottledAnswer for PageAnswer {
    fn throttled(throttled: Throttled) -> Response {
        let page = message_page(
            Lang::En,
            "Too many requests",
            &format!(
                "Please wait {} seconds and reload this page.",
                throttled.retry_after_s()
            ),
        );
        let mut response =
            (StatusCode::TOO_MANY_REQUESTS, Html(page.into_string())).into_response();
        throttled.set_retry_after(&mut response);
        response
    }
}
