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
