//! The console's error pages: HTML, never JSON or the framework's plain text,
//! and never an internal detail (that goes to the log, once, here).

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use payhub_store::StoreError;

use super::view;

/// Why a console request was not served.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No valid session: the browser is sent to the login page.
    #[error("please log in")]
    LoginRequired,
    /// A POST whose CSRF token is missing or not this session's.
    #[error(
        "this form has expired or did not come from the console; reload the page and try again"
    )]
    CsrfRejected,
    /// A form or query that cannot be read.
    #[error("{0}")]
    BadRequest(String),
    /// No such payment or delivery, or not one this operator may see.
    #[error("{0}")]
    NotFound(String),
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for ConsoleError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) | StoreError::WriterStopped => ConsoleError::Unavailable,
            other => ConsoleError::Internal(other.into()),
        }
    }
}

impl ConsoleError {
    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::LoginRequired => StatusCode::SEE_OTHER,
            ConsoleError::CsrfRejected => StatusCode::FORBIDDEN,
            ConsoleError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ConsoleError::NotFound(_) => StatusCode::NOT_FOUND,
            ConsoleError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ConsoleError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        if let ConsoleError::LoginRequired = self {
            return Redirect::to("/console/login").into_response();
        }
        if let ConsoleError::Internal(error) = &self {
            tracing::error!(error.cause_chain = ?error, "console request failed");
        }
        let status = self.status();
        let message = self.to_string();
        let page = view::message_page(status.canonical_reason().unwrap_or("Error"), &message);
        (status, Html(page.into_string())).into_response()
    }
}
