//! The checks every dialect's request passes before any handler runs, so that
//! what the framework would refuse in plain text, or the database would choke
//! on, is refused in the dialect's own envelope, the same way on both backends.
//!
//! - The path, percent-decoded, must be UTF-8 without control characters: no
//!   resource has such an id, and PostgreSQL cannot even compare one holding
//!   NUL (SQLSTATE 22021), where SQLite would.
//! - The query string is at most [`MAX_QUERY_BYTES`] long and, decoded, UTF-8
//!   without control characters.
//! - The body is read up to the dialect's limit. When it is JSON, no string in
//!   it (key or value) may hold a control character other than tab, line feed
//!   and carriage return; those three stay allowed in free text. A form body
//!   (`application/x-www-form-urlencoded`, the hosted pages') is held to the
//!   same rule, field by field.
//!
//! Each dialect implements [`Dialect`] to say how it answers each [`Refusal`],
//! and wraps its router in [`guard`] once.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use serde_json::Value;

/// The longest query string accepted. Far above any real filter (a hundred
/// ids fit in 2 KiB) and far below hyper's own 64 KiB limit on the request
/// target, above which hyper answers an empty 414 before payhub sees anything.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// The body limit of dialects that set none of their own (axum's default).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// Why a request was refused before reaching its handler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The path is not UTF-8 once decoded, or holds a control character.
    Path,
    /// The query string is longer than [`MAX_QUERY_BYTES`].
    QueryTooLong,
    /// The query string is not UTF-8 once decoded, or holds a control character.
    QueryText,
    /// The body is larger than the dialect's limit.
    BodyTooLarge(usize),
    /// The body could not be read (the client went away mid-body).
    BodyUnreadable,
    /// A string in the JSON body holds a control character; the field's path.
    ControlCharacter(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Path => {
                f.write_str("the path is not valid text (invalid UTF-8 or a control character)")
            }
            Refusal::QueryTooLong => {
                write!(f, "the query string is longer than {MAX_QUERY_BYTES} bytes")
            }
            Refusal::QueryText => f.write_str(
                "the query string is not valid text (invalid UTF-8 or a control character)",
            ),
            Refusal::BodyTooLarge(limit) => {
                write!(f, "the request body is larger than {limit} bytes")
            }
            Refusal::BodyUnreadable => f.write_str("the request body could not be read"),
            Refusal::ControlCharacter(field) => {
                write!(f, "'{}' holds a control character", field.escape_debug())
            }
        }
    }
}

/// How a dialect answers requests refused at the edge.
pub trait Dialect {
    /// The largest body the dialect reads.
    const BODY_LIMIT: usize;
    /// The dialect's answer to a refusal, in its own envelope.
    fn refuse(refusal: Refusal) -> Response;
}

/// Middleware: passes the request on when it clears every check, otherwise
/// answers the dialect's refusal. Use with `axum::middleware::from_fn`.
pub async fn guard<D: Dialect>(request: Request, next: Next) -> Response {
    match checked(request, D::BODY_LIMIT).await {
        Ok(request) => next.run(request).await,
        Err(refusal) => D::refuse(refusal),
    }
}

async fn checked(request: Request, body_limit: usize) -> Result<Request, Refusal> {
    if !is_clean_identifier(request.uri().path()) {
        return Err(Refusal::Path);
    }
    if let Some(query) = request.uri().query() {
        check_query(query)?;
    }
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, body_limit).await?;
    if is_form(&parts.headers) {
        check_form_text(&bytes)?;
    } else {
        check_json_text(&bytes)?;
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Whether percent-encoded text decodes to UTF-8 without any control character.
fn is_clean_identifier(encoded: &str) -> bool {
    percent_decode_str(encoded)
        .decode_utf8()
        .is_ok_and(|text| !text.chars().any(char::is_control))
}

fn check_query(query: &str) -> Result<(), Refusal> {
    if query.len() > MAX_QUERY_BYTES {
        return Err(Refusal::QueryTooLong);
    }
    if query.split(['&', '=']).all(is_clean_identifier) {
        Ok(())
    } else {
        Err(Refusal::QueryText)
    }
}

/// Reads the body up to `limit` bytes. A larger one is refused, but only after
/// reading (and dropping) up to `limit` more bytes: a server that answers
/// while the client is still sending, then closes, makes the client's kernel
/// reset the connection, and the client may never read the answer.
async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, Refusal> {
    let mut read = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Refusal::BodyUnreadable)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        if read.len().saturating_add(data.len()) > limit {
            drain(body, limit).await;
            return Err(Refusal::BodyTooLarge(limit));
        }
        read.extend_from_slice(&data);
    }
    Ok(Bytes::from(read))
}

/// Reads and drops up to `at_most` more bytes of a body, keeping none.
async fn drain(mut body: Body, at_most: usize) {
    let mut dropped = 0usize;
    while dropped <= at_most {
        match body.frame().await {
            Some(Ok(frame)) => {
                dropped = dropped.saturating_add(frame.data_ref().map_or(0, |d| d.len()));
            }
            _ => return,
        }
    }
}

/// Whether the body is an HTML form's.
fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Refuses a form body with a control character in some field's name or value.
fn check_form_text(body: &[u8]) -> Result<(), Refusal> {
    for (name, value) in url::form_urlencoded::parse(body) {
        if has_forbidden_control(&name) || has_forbidden_control(&value) {
            return Err(Refusal::ControlCharacter(name.into_owned()));
        }
    }
    Ok(())
}

/// Refuses a JSON body with a control character in some string; a body that
/// is not JSON is left to the handler, which answers its own error.
fn check_json_text(body: &[u8]) -> Result<(), Refusal> {
    if body.is_empty() {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => match field_with_control(&value, "") {
            Some(field) => Err(Refusal::ControlCharacter(field)),
            None => Ok(()),
        },
        Err(_) => Ok(()),
    }
}

/// Whether a text holds a control character other than tab, LF or CR.
pub fn has_forbidden_control(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// The path (`a.b[2]`) of the first string holding a forbidden control character.
fn field_with_control(value: &Value, at: &str) -> Option<String> {
    let name = |at: &str| {
        if at.is_empty() {
            "body".to_owned()
        } else {
            at.to_owned()
        }
    };
    match value {
        Value::String(text) if has_forbidden_control(text) => Some(name(at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| field_with_control(item, &format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let path = if at.is_empty() {
                key.clone()
            } else {
                format!("{at}.{key}")
            };
            if has_forbidden_control(key) {
                Some(path)
            } else {
                field_with_control(item, &path)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_and_queries_must_be_clean_text() {
        for (path, clean) in [
            ("/payment/42", true),
            ("/payment/caf%C3%A9", true),
            ("/payment/%FF", false),
            ("/payment/%00", false),
            ("/payment/a%0Ab", false),
        ] {
            assert_eq!(is_clean_identifier(path), clean, "{path}");
        }
        assert_eq!(check_query("correlatorId=abc&limit=1"), Ok(()));
        assert_eq!(check_query("correlatorId=%00"), Err(Refusal::QueryText));
        assert_eq!(check_query("%FF=1"), Err(Refusal::QueryText));
        let long = format!("id={}", "1,".repeat(MAX_QUERY_BYTES));
        assert_eq!(check_query(&long), Err(Refusal::QueryTooLong));
    }

    #[test]
    fn json_strings_may_not_hold_control_characters() {
        let refused = |v: Value| check_json_text(v.to_string().as_bytes());
        assert_eq!(refused(json!({"description": "two\nlines\tand\r"})), Ok(()));
        assert_eq!(
            refused(json!({"account": {"id": "a\u{0}"}})),
            Err(Refusal::ControlCharacter("account.id".into()))
        );
        assert_eq!(
            refused(json!({"items": [{"name": "ok"}, {"name": "\u{1b}"}]})),
            Err(Refusal::ControlCharacter("items[1].name".into()))
        );
        assert_eq!(
            refused(json!({"k\u{7f}": 1})),
            Err(Refusal::ControlCharacter("k\u{7f}".into()))
        );
        assert_eq!(check_json_text(b"not json \0"), Ok(()));
    }
}
