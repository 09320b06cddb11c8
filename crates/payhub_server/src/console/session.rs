//! Logging in and staying logged in.
//!
//! - Passwords are checked against an Argon2id hash (the `argon2` crate's
//!   defaults: 19 MiB, 2 passes), off the async threads.
//! - A session is a random 256-bit token in an `HttpOnly`, `SameSite=Strict`
//!   cookie (`Secure` when the public base URL is https); the database keeps
//!   only its SHA-256 and an expiry, so every node knows every session.
//! - Every console form carries the session's CSRF token, and
//!   [`CheckedForm`] refuses a POST without it. The login form, which has no
//!   session yet, is protected by a double-submit cookie instead.
//! - After [`MAX_FAILED_LOGINS`] wrong passwords in a row an account refuses
//!   every login for [`LOCKOUT`]; the count lives in the database, so it holds
//!   across nodes. An unknown name costs the same hashing as a known one.

use std::collections::HashMap;
use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::header::{COOKIE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Response};
use chrono::{Duration, Utc};
use maud::html;
use payhub_core::MerchantId;
use payhub_store::{Operator, OperatorSession};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::ConsoleError;
use super::view;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "payhub_console";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "payhub_console_login";
/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::hours(8);
/// Wrong passwords in a row before an account is locked for [`LOCKOUT`].
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account refuses logins, even with the right password.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// How long a login form stays usable.
const LOGIN_FORM_TTL_S: i64 = 3600;

/// A logged-in operator, from the session cookie.
pub struct Signed {
    pub operator: Operator,
    pub session: OperatorSession,
}

impl Signed {
    /// The merchant this operator is confined to; `None` sees every merchant.
    pub fn scope(&self) -> Option<&MerchantId> {
        self.operator.merchant_id.as_ref()
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ConsoleError> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ConsoleError::LoginRequired)?;
        let found = state
            .store
            .find_operator_session(&hash_token(&token), Utc::now())
            .await?;
        let (session, operator) = found.ok_or(ConsoleError::LoginRequired)?;
        tracing::Span::current().record(
            "merchant.id",
            operator.merchant_id.as_ref().map_or("*", |m| m.as_str()),
        );
        Ok(Signed { operator, session })
    }
}

/// A console form from a logged-in operator whose CSRF token matched.
pub struct CheckedForm<T> {
    pub signed: Signed,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for CheckedForm<T> {
    type Rejection = ConsoleError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ConsoleError> {
        let (mut parts, body) = request.into_parts();
        let signed = Signed::from_request_parts(&mut parts, state).await?;
        let request = Request::from_parts(parts, body);
        let fields = form_fields(request, state).await?;
        let posted = fields.get("csrf").map(String::as_str).unwrap_or_default();
        if !same_secret(posted, &signed.session.csrf_token) {
            tracing::warn!(operator.id = %signed.operator.id, "console form refused: CSRF token mismatch");
            return Err(ConsoleError::CsrfRejected);
        }
        let form = serde_json::to_value(&fields)
            .and_then(serde_json::from_value)
            .map_err(|e| ConsoleError::BadRequest(format!("unreadable form: {e}")))?;
        Ok(CheckedForm { signed, form })
    }
}

/// A form body as name → value (the last value of a repeated name).
async fn form_fields(
    request: Request,
    state: &AppState,
) -> Result<HashMap<String, String>, ConsoleError> {
    let body = Bytes::from_request(request, state)
        .await
        .map_err(|_| ConsoleError::BadRequest("unreadable form".into()))?;
    Ok(url::form_urlencoded::parse(&body).into_owned().collect())
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(presented: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// The value of cookie `name`, from any `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// SHA-256 of a session token, hex: what the database keeps.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 256 random bits, hex.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// An Argon2id hash of `password` in PHC string format.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// Whether `password` matches `hash`; an unreadable hash matches nothing.
pub fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password is known for, checked when the name is unknown so
/// that an unknown name takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token()).unwrap_or_default())
}

/// Checks a password on a blocking thread (Argon2 takes tens of milliseconds).
async fn check_password(hash: Option<String>, password: String) -> bool {
    let checked = tokio::task::spawn_blocking(move || {
        let hash = hash.unwrap_or_else(|| decoy_hash().to_owned());
        password_matches(&hash, &password)
    })
    .await;
    checked.unwrap_or(false)
}

/// A `Set-Cookie` value scoped to the console.
fn set_cookie(state: &AppState, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if state.settings.public_base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}")
}

fn login_page(status: StatusCode, nonce: &str, error: Option<&str>) -> Response {
    let content = html! {
        form.login method="post" action="/console/login" {
            h1 { "Operator login" }
            @if let Some(error) = error {
                p.notice.error role="alert" { (error) }
            }
            input type="hidden" name="login_nonce" value=(nonce);
            label { "Name" input type="text" name="name" autocomplete="username" required; }
            label { "Password" input type="password" name="password" autocomplete="current-password" required; }
            button type="submit" id="login" { "Log in" }
        }
    };
    (
        status,
        Html(view::page("Log in", None, content).into_string()),
    )
        .into_response()
}

/// Renders the login form with a fresh double-submit nonce.
fn fresh_login_page(state: &AppState, status: StatusCode, error: Option<&str>) -> Response {
    let nonce = random_token();
    let cookie = set_cookie(state, LOGIN_COOKIE, &nonce, LOGIN_FORM_TTL_S);
    let mut response = login_page(status, &nonce, error);
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// `GET /console/login`.
pub async fn show_login(State(state): State<AppState>) -> Response {
    fresh_login_page(&state, StatusCode::OK, None)
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    login_nonce: String,
}

/// What a login attempt came to.
pub(crate) enum LoginOutcome {
    LoggedIn(Operator),
    Refused,
    Locked,
}

/// `POST /console/login`.
pub async fn log_in(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ConsoleError> {
    let from_cookie = cookie(request.headers(), LOGIN_COOKIE).unwrap_or_default();
    let fields = form_fields(request, &state).await?;
    let form: LoginForm = serde_json::to_value(&fields)
        .and_then(serde_json::from_value)
        .map_err(|_| ConsoleError::BadRequest("unreadable login form".into()))?;
    if !same_secret(&form.login_nonce, &from_cookie) {
        return Ok(fresh_login_page(
            &state,
            StatusCode::FORBIDDEN,
            Some("This login form has expired; please try again."),
        ));
    }
    match authenticate(&state, &form.name, form.password).await? {
        LoginOutcome::LoggedIn(operator) => start_session(&state, &operator).await,
        LoginOutcome::Refused => Ok(fresh_login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("Wrong name or password."),
        )),
        LoginOutcome::Locked => Ok(fresh_login_page(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many wrong passwords: this account is locked for a while."),
        )),
    }
}

/// Checks an operator's name and password, counting a wrong one towards
/// the account's lockout (the console's login and the operator API's HTTP
/// Basic both come here).
pub(crate) async fn authenticate(
    state: &AppState,
    name: &str,
    password: String,
) -> Result<LoginOutcome, ConsoleError> {
    let now = Utc::now();
    let operator = state.store.find_operator_by_name(name).await?;
    let Some(operator) = operator else {
        check_password(None, password).await;
        return Ok(LoginOutcome::Refused);
    };
    if operator.locked_until > now {
        tracing::warn!(operator.id = %operator.id, "console login refused: account locked");
        return Ok(LoginOutcome::Locked);
    }
    if !check_password(Some(operator.password_hash.clone()), password).await {
        let failures = state
            .store
            .record_login_failure(&operator.id, MAX_FAILED_LOGINS, now + LOCKOUT, now)
            .await?;
        tracing::warn!(operator.id = %operator.id, failures, "console login refused: wrong password");
        return Ok(LoginOutcome::Refused);
    }
    state.store.clear_login_failures(&operator.id, now).await?;
    Ok(LoginOutcome::LoggedIn(operator))
}

async fn start_session(state: &AppState, operator: &Operator) -> Result<Response, ConsoleError> {
    let token = random_token();
    let now = Utc::now();
    let session = OperatorSession {
        token_hash: hash_token(&token),
        operator_id: operator.id.clone(),
        csrf_token: random_token(),
        expires_at: now + SESSION_TTL,
        created_at: now,
    };
    state.store.insert_operator_session(&session).await?;
    tracing::info!(operator.id = %operator.id, "console login");
    Ok((
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (LOCATION, "/console/payments".to_owned()),
            (
                SET_COOKIE,
                set_cookie(state, SESSION_COOKIE, &token, SESSION_TTL.num_seconds()),
            ),
            (SET_COOKIE, set_cookie(state, LOGIN_COOKIE, "", 0)),
        ]),
    )
        .into_response())
}

/// `POST /console/logout`: ends the session everywhere (it is deleted).
pub async fn log_out(
    State(state): State<AppState>,
    checked: CheckedForm<HashMap<String, String>>,
) -> Result<Response, ConsoleError> {
    state
        .store
        .delete_operator_session(&checked.signed.session.token_hash)
        .await?;
    Ok((
        StatusCode::SEE_OTHER,
        AppendHeaders([
            (LOCATION, "/console/login".to_owned()),
            (SET_COOKIE, set_cookie(&state, SESSION_COOKIE, "", 0)),
        ]),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_only_its_own_hash() {
        let hash = hash_password("correct horse").unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches(&hash, "correct horse"));
        assert!(!password_matches(&hash, "correct horsf"));
        assert!(!password_matches("not a hash", "correct horse"));
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "payhub_console_login=a; payhub_console=b"
                .parse()
                .unwrap_or_else(|_| unreachable!()),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("b"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE).as_deref(), Some("a"));
        assert_eq!(cookie(&headers, "other"), None);
    }

    #[test]
    fn an_empty_secret_never_matches() {
        assert!(!same_secret("", ""));
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
    }
}
