//! `/payment`: record, read and list payments.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use payhub_core::{EventKind, LedgerEvent, Payment, PaymentId};
use payhub_store::StoreError;

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::list::{self, Collection};
use super::query::{parse_list_query, select_fields};
use super::wire::{self, render_payment};
use crate::state::AppState;

const PAYMENTS: Collection = Collection {
    name: "payment",
    has_payment_ref: false,
};

/// How many fresh ids to draw before giving up on a (vanishingly rare) collision.
pub(super) const ID_ATTEMPTS: usize = 3;

/// `POST /payment`: records a payment (201, `Location`).
pub async fn create_payment(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TmfError> {
    let body = extract::body(body)?;
    let (state, merchant, body) = (&state, &merchant, &body);
    idempotent_create(state, merchant, &headers, uri.path(), body, |scope| async move {
        let new = wire::new_payment(&merchant.id, wire::parse_object(body)?)?;
        for _ in 0..ID_ATTEMPTS {
            let payment = Payment::record(new.clone(), Utc::now());
            let created = Created::new(
                wire::href(&state.settings.public_base_url, "payment", payment.id),
                &render_payment(&payment, &state.settings.public_base_url),
            );
            let event = LedgerEvent::new(
                merchant.id.clone(),
                EventKind::PaymentCreate,
                payment.id.get(),
                payment.status,
                payment.created_at,
            );
            let kept = scope.as_ref().map(|s| s.keep(created.saved()));
            match state.store.insert_payment(&payment, &event, kept.as_ref()).await {
                Ok(()) => {
                    tracing::info!(payment.id = %payment.id, payment.status = %payment.status, "payment recorded");
                    state.notify_outbox();
                    return Ok(created);
                }
                Err(StoreError::IdCollision) => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(StoreError::IdCollision.into())
    })
    .await
}

/// `GET /payment/{id}`: one payment of the caller's; 404 for any other id.
pub async fn get_payment(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, TmfError> {
    let not_found = || TmfError::NotFound(format!("no payment with id '{id}'"));
    let payment_id = id.parse::<PaymentId>().map_err(|_| not_found())?;
    let payment = state
        .store
        .find_payment(&merchant.id, payment_id)
        .await?
        .ok_or_else(not_found)?;
    let params = parse_list_query(uri.query())?;
    let resource = select_fields(
        render_payment(&payment, &state.settings.public_base_url),
        &params.fields,
    );
    Ok(axum::Json(resource).into_response())
}

/// `GET /payment`: the caller's payments, filtered and paged as TMF630 says.
pub async fn list_payments(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    uri: Uri,
) -> Result<Response, TmfError> {
    let params = parse_list_query(uri.query())?;
    let base = &state.settings.public_base_url;
    list::list(
        params,
        PAYMENTS,
        base,
        |filter, page| async move { state.store.list_payments(&merchant.id, &filter, page).await },
        |p| render_payment(p, base),
    )
    .await
}
