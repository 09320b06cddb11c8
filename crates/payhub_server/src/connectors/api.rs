//! `/operator/v1/connector-accounts`: the operator API for merchants'
//! connector accounts, the HTTP twin of `payhub connector …`.
//!
//! Operators authenticate with HTTP Basic: the name and password of an
//! operator account of the console (`payhub operator create`), with the
//! same lockout after wrong passwords. An operator confined to one merchant
//! sees and changes only that merchant's accounts; any other is "not found".
//! Errors use the TMF630 envelope like every operator endpoint
//! (docs/ERRORS.md). Credentials go in, never come out: every answer shows
//! their last four characters only.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use payhub_app::gateways::admin::{self, AdminError, NewAccount};
use payhub_core::MerchantId;
use payhub_store::{ConnectorAccount, Operator, RoutingRules};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;

use crate::auth::AuthError;
use crate::console::session::{authenticate, LoginOutcome};
use crate::edge;
use crate::http::error::ApiError;
use crate::http::merchant::ApiEdge;
use crate::state::AppState;

pub const BASE_PATH: &str = "/operator/v1/connector-accounts";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(BASE_PATH, get(list).post(add))
        .route(&format!("{BASE_PATH}/{{id}}"), get(show))
        .route(&format!("{BASE_PATH}/{{id}}/rotate"), post(rotate))
        .route(&format!("{BASE_PATH}/{{id}}/disable"), post(disable))
        .route(&format!("{BASE_PATH}/{{id}}/enable"), post(enable))
        .layer(axum::middleware::from_fn(edge::guard::<ApiEdge>))
        .layer(axum::middleware::from_fn(
            crate::rate_limit::per_address::<ApiEdge>,
        ))
}

/// The operator a request's HTTP Basic credentials name.
async fn operator(state: &AppState, headers: &HeaderMap) -> Result<Operator, ApiError> {
    let refused = ApiError::Unauthenticated(AuthError::Invalid);
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(AuthError::Missing))?
        .to_str()
        .map_err(|_| ApiError::Unauthenticated(AuthError::Malformed))?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or(ApiError::Unauthenticated(AuthError::Malformed))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::Unauthenticated(AuthError::Malformed));
    }
    let decoded = STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(ApiError::Unauthenticated(AuthError::Malformed))?;
    let (name, password) = decoded
        .split_once(':')
        .ok_or(ApiError::Unauthenticated(AuthError::Malformed))?;
    match authenticate(state, name, password.to_owned()).await {
        Ok(LoginOutcome::LoggedIn(operator)) => Ok(operator),
        Ok(LoginOutcome::Refused | LoginOutcome::Locked) => Err(refused),
        Err(error) => {
            tracing::warn!(%error, "operator authentication failed");
            Err(ApiError::Unavailable)
        }
    }
}

/// The account, when this operator may see it.
async fn visible(
    state: &AppState,
    operator: &Operator,
    id: &str,
) -> Result<ConnectorAccount, ApiError> {
    let account = admin::find(state.store.as_ref(), id)
        .await
        .map_err(admin_error)?;
    if operator
        .merchant_id
        .as_ref()
        .is_some_and(|scope| scope != &account.merchant_id)
    {
        return Err(ApiError::NotFound(format!("no connector account {id}")));
    }
    Ok(account)
}

#[derive(Deserialize)]
struct ListQuery {
    merchant: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let operator = operator(&state, &headers).await?;
    let asked = query
        .merchant
        .map(|id| {
            MerchantId::parse(&id)
                .ok_or_else(|| ApiError::InvalidQuery(format!("'{id}' is not a merchant id")))
        })
        .transpose()?;
    let merchant = match (&operator.merchant_id, asked) {
        (Some(scope), Some(asked)) if scope != &asked => return Ok(Json(json!([])).into_response()),
        (Some(scope), _) => Some(scope.clone()),
        (None, asked) => asked,
    };
    let accounts = state
        .store
        .list_connector_accounts(merchant.as_ref())
        .await
        .map_err(|_| ApiError::Unavailable)?;
    let views: Vec<_> = accounts.iter().map(admin::view).collect();
    Ok(Json(views).into_response())
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let operator = operator(&state, &headers).await?;
    Ok(Json(admin::view(&visible(&state, &operator, &id).await?)).into_response())
}

/// The body of `POST /operator/v1/connector-accounts`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AddBody {
    merchant_id: String,
    connector: String,
    gateway_types: Vec<String>,
    base_url: Option<String>,
    #[serde(default)]
    live: bool,
    label: Option<String>,
    #[serde(default)]
    credentials: BTreeMap<String, String>,
    #[serde(default)]
    priority: i64,
    weight: Option<i64>,
    min_amount_minor: Option<i64>,
    max_amount_minor: Option<i64>,
    currency: Option<String>,
}

async fn add(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let operator = operator(&state, &headers).await?;
    let body: AddBody = parse(&body)?;
    let merchant_id = MerchantId::parse(&body.merchant_id)
        .filter(|id| {
            operator
                .merchant_id
                .as_ref()
                .is_none_or(|scope| scope == id)
        })
        .ok_or_else(|| ApiError::NotFound(format!("no merchant {}", body.merchant_id)))?;
    let new = NewAccount {
        merchant_id,
        connector: body.connector,
        label: body.label,
        gateway_types: body.gateway_types,
        base_url: body.base_url,
        live: body.live,
        credentials: secrets(body.credentials),
        rules: RoutingRules {
            priority: body.priority,
            weight: body.weight.unwrap_or(1),
            min_amount_minor: body.min_amount_minor,
            max_amount_minor: body.max_amount_minor,
            currency: body.currency,
        },
    };
    let types = state.gateways.accounts.connector_types();
    let account = admin::add_account(state.store.as_ref(), &state.master_key, types, new)
        .await
        .map_err(admin_error)?;
    state.gateways.accounts.forget(&account.merchant_id);
    tracing::info!(operator.id = %operator.id, connector.account = %account.id, "connector account added");
    Ok((StatusCode::CREATED, Json(admin::view(&account))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    credentials: BTreeMap<String, String>,
}

async fn rotate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let operator = operator(&state, &headers).await?;
    visible(&state, &operator, &id).await?;
    let body: RotateBody = parse(&body)?;
    let types = state.gateways.accounts.connector_types();
    let account = admin::rotate_credentials(
        state.store.as_ref(),
        &state.master_key,
        types,
        &id,
        secrets(body.credentials),
    )
    .await
    .map_err(admin_error)?;
    state.gateways.accounts.forget(&account.merchant_id);
    tracing::info!(operator.id = %operator.id, connector.account = %account.id, version = account.credentials_version, "connector credentials rotated");
    Ok(Json(admin::view(&account)).into_response())
}

async fn disable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_enabled(state, headers, id, false).await
}

async fn enable(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_enabled(state, headers, id, true).await
}

async fn set_enabled(
    state: AppState,
    headers: HeaderMap,
    id: String,
    enabled: bool,
) -> Result<Response, ApiError> {
    let operator = operator(&state, &headers).await?;
    visible(&state, &operator, &id).await?;
    let account = admin::set_enabled(state.store.as_ref(), &id, enabled)
        .await
        .map_err(admin_error)?;
    state.gateways.accounts.forget(&account.merchant_id);
    tracing::info!(operator.id = %operator.id, connector.account = %account.id, enabled, "connector account switched");
    Ok(Json(admin::view(&account)).into_response())
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::InvalidJson(error.to_string()))
}

fn secrets(given: BTreeMap<String, String>) -> BTreeMap<String, SecretString> {
    given
        .into_iter()
        .map(|(name, value)| (name, SecretString::from(value)))
        .collect()
}

/// Each refusal in the TMF630 envelope: the client's mistakes are 400s or
/// 404s naming what is wrong, a store failure a 503.
fn admin_error(error: AdminError) -> ApiError {
    match error {
        AdminError::NoAccount(_) | AdminError::NoMerchant(_) => {
            ApiError::NotFound(error.to_string())
        }
        AdminError::Store(error) => {
            tracing::warn!(error.cause_chain = ?error, "connector account store failure");
            ApiError::Unavailable
        }
        AdminError::UnknownConnector { .. }
        | AdminError::UnknownType(_)
        | AdminError::NotServed { .. }
        | AdminError::NoTypes
        | AdminError::MissingCredential { .. }
        | AdminError::UnknownCredential { .. }
        | AdminError::BadUrl(_)
        | AdminError::BadRule(_)
        | AdminError::Unusable(_) => ApiError::InvalidAttribute(error.to_string()),
    }
}
