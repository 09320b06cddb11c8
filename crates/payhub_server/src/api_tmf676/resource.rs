//! The handlers payments and refunds share, written once over [`TmfResource`].
//!
//! Both are read the same way and listed the same way; only their rendering
//! and storage calls differ, and those are the trait's methods. A payment is
//! recorded here as a plain ledger entry ([`create`] over [`Creatable`]:
//! parse, give an id, render, insert with the create event and the
//! idempotent response, retry on an id collision); a refund is not, as its
//! money goes back the way the payment's came (`refund::create_refund`).

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, MerchantId};
use payhub_store::{
    with_fresh_ids, IdempotentResponse, ListFilter, Listed, Page, Store, StoreError,
};
use serde_json::{Map, Value};

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::list::{self, Collection};
use super::query::{parse_list_query, select_fields, Fields};
use super::render::{json_response, Rendering};
use super::wire;
use crate::state::AppState;

/// A TMF676 resource kept in the ledger (payment or refund), as it is read:
/// found, listed and rendered.
pub trait TmfResource: Sized + Send + Sync {
    type Id: FromStr + Send;
    const COLLECTION: Collection;

    fn id_text(&self) -> String;
    /// What the resource shows, ready to be laid out as a tree or as text.
    fn rendering<'a>(&'a self, base_url: &str) -> Rendering<'a>;
    /// The resource as TMF676 shows it, as a tree.
    fn render(&self, base_url: &str) -> Value {
        self.rendering(base_url).value()
    }
    fn find(
        store: &dyn Store,
        merchant: &MerchantId,
        id: Self::Id,
    ) -> impl std::future::Future<Output = Result<Option<Self>, StoreError>> + Send;
    fn list(
        store: &dyn Store,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> impl std::future::Future<Output = Result<Listed<Self>, StoreError>> + Send;
}

/// A resource [`create`] records as a plain ledger entry. Refunds are not
/// one: they are routed by how their payment was funded
/// (`payhub_app::refunds`).
pub trait Creatable: TmfResource {
    /// What a create request becomes before it gets an id.
    type New: Clone + Send + Sync;

    fn parse(merchant: &MerchantId, body: Map<String, Value>) -> Result<Self::New, TmfError>;
    fn record(new: Self::New, now: DateTime<Utc>) -> Self;
    fn create_event(&self) -> LedgerEvent;
    fn insert(
        store: &dyn Store,
        resource: &Self,
        event: &LedgerEvent,
        kept: Option<&IdempotentResponse>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

/// `POST /{collection}`: records a resource (201, `Location`).
pub async fn create<T: Creatable>(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TmfError> {
    let body = extract::body(body)?;
    let (state, merchant, body) = (&state, &merchant, &body);
    idempotent_create(
        state,
        merchant,
        &headers,
        uri.path(),
        body,
        |scope| async move {
            let new = T::parse(&merchant.id, wire::parse_object(body)?)?;
            let base = &state.settings.public_base_url;
            let (new, scope) = (&new, &scope);
            let (resource, created) = with_fresh_ids(|| async move {
                let resource = T::record(new.clone(), Utc::now());
                let created = Created::new(
                    wire::href(base, T::COLLECTION.name, resource.id_text()),
                    &resource.render(base),
                );
                let kept = scope.as_ref().map(|s| s.keep(created.saved()));
                T::insert(
                    state.store.as_ref(),
                    &resource,
                    &resource.create_event(),
                    kept.as_ref(),
                )
                .await
                .map(|()| (resource, created))
            })
            .await?;
            tracing::info!(resource = T::COLLECTION.name, id = %resource.id_text(), "recorded");
            state.notify_outbox();
            Ok(created)
        },
    )
    .await
}

/// `GET /{collection}/{id}`: one resource of the caller's; 404 for any other id.
pub async fn get<T: TmfResource>(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, TmfError> {
    let not_found = || TmfError::NotFound(format!("no {} with id '{id}'", T::COLLECTION.name));
    let parsed = id.parse::<T::Id>().map_err(|_| not_found())?;
    let resource = T::find(state.store.as_ref(), &merchant.id, parsed)
        .await?
        .ok_or_else(not_found)?;
    let params = parse_list_query(uri.query())?;
    let rendering = resource.rendering(&state.settings.public_base_url);
    if params.fields == Fields::All {
        let mut body = Vec::with_capacity(1024);
        rendering.write_json(&mut body);
        return Ok(json_response(StatusCode::OK, body));
    }
    let rendered = select_fields(rendering.value(), &params.fields);
    Ok(axum::Json(rendered).into_response())
}

/// `GET /{collection}`: the caller's resources, filtered and paged as TMF630 says.
pub async fn list<T: TmfResource>(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    uri: Uri,
) -> Result<Response, TmfError> {
    let params = parse_list_query(uri.query())?;
    let base = &state.settings.public_base_url;
    let store = state.store.as_ref();
    let merchant_id = &merchant.id;
    list::list::<T, _, _>(
        params,
        base,
        state.settings.list_max_scanned_rows,
        |filter, page| async move { T::list(store, merchant_id, &filter, page).await },
    )
    .await
}
