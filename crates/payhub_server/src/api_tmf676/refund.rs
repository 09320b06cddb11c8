//! `/refund`: record, read and list refunds.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use payhub_core::{EventKind, LedgerEvent, Refund, RefundId};
use payhub_store::{InsertRefundError, StoreError};

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::list::{self, Collection};
use super::payment::ID_ATTEMPTS;
use super::query::{parse_list_query, select_fields};
use super::wire::{self, render_refund};
use crate::state::AppState;

const REFUNDS: Collection = Collection {
    name: "refund",
    has_payment_ref: true,
};

/// `POST /refund`: records a refund (201, `Location`). When it names a
/// payment, the ledger's refund rules apply (see `payhub_core::ledger`).
pub async fn create_refund(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TmfError> {
    let body = extract::body(body)?;
    let (state, merchant, body) = (&state, &merchant, &body);
    idempotent_create(state, merchant, &headers, uri.path(), body, |scope| async move {
        let new = wire::new_refund(&merchant.id, wire::parse_object(body)?)?;
        for _ in 0..ID_ATTEMPTS {
            let refund = Refund::record(new.clone(), Utc::now());
            let created = Created::new(
                wire::href(&state.settings.public_base_url, "refund", refund.id),
                &render_refund(&refund, &state.settings.public_base_url),
            );
            let event =
                LedgerEvent::new(merchant.id.clone(), EventKind::RefundCreate, refund.id.get(), refund.status, refund.created_at);
            let kept = scope.as_ref().map(|s| s.keep(created.saved()));
            match state.store.insert_refund(&refund, &event, kept.as_ref()).await {
                Ok(()) => {
                    tracing::info!(refund.id = %refund.id, payment.id = ?refund.payment_id.map(|p| p.get()), "refund recorded");
                    state.notify_outbox();
                    return Ok(created);
                }
                Err(InsertRefundError::Store(StoreError::IdCollision)) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::IdCollision.into())
    })
    .await
}

/// `GET /refund/{id}`: one refund of the caller's; 404 for any other id.
pub async fn get_refund(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, TmfError> {
    let not_found = || TmfError::NotFound(format!("no refund with id '{id}'"));
    let refund_id = id.parse::<RefundId>().map_err(|_| not_found())?;
    let refund = state
        .store
        .find_refund(&merchant.id, refund_id)
        .await?
        .ok_or_else(not_found)?;
    let params = parse_list_query(uri.query())?;
    let resource = select_fields(
        render_refund(&refund, &state.settings.public_base_url),
        &params.fields,
    );
    Ok(axum::Json(resource).into_response())
}

/// `GET /refund`: the caller's refunds, filtered and paged as TMF630 says.
pub async fn list_refunds(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    uri: Uri,
) -> Result<Response, TmfError> {
    let params = parse_list_query(uri.query())?;
    let base = &state.settings.public_base_url;
    list::list(
        params,
        REFUNDS,
        base,
        |filter, page| async move { state.store.list_refunds(&merchant.id, &filter, page).await },
        |r| render_refund(r, base),
    )
    .await
}
