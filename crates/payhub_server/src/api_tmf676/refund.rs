//! Refunds as TMF676 resources. A refund is recorded by the use case
//! [`payhub_app::refunds::create`], which routes it back the way its
//! payment was funded; when it names a payment, the ledger's refund rules
//! apply (see `payhub_core::ledger::check_refund`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use payhub_app::refunds;
use payhub_core::{MerchantId, Refund, RefundId};
use payhub_store::{ListFilter, Listed, Page, Store, StoreError};

use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::list::Collection;
use super::render::Rendering;
use super::resource::TmfResource;
use super::wire;
use crate::state::AppState;

impl TmfResource for Refund {
    type Id = RefundId;
    const COLLECTION: Collection = Collection {
        name: "refund",
        has_payment_ref: true,
    };

    fn id_text(&self) -> String {
        self.id.to_string()
    }

    fn rendering<'a>(&'a self, base_url: &str) -> Rendering<'a> {
        Rendering::refund(self, base_url)
    }

    async fn find(
        store: &dyn Store,
        merchant: &MerchantId,
        id: RefundId,
    ) -> Result<Option<Self>, StoreError> {
        store.find_refund(merchant, id).await
    }

    async fn list(
        store: &dyn Store,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Self>, StoreError> {
        store.list_refunds(merchant, filter, page).await
    }
}

/// `POST /refund`. The money goes back the way it came
/// ([`payhub_app::refunds`]): an APS payment's card part through its gateway
/// and its credit part to the account, a gateway payment (a retail sale, a
/// card payment) through its gateway, a payment on the phone bill onto the
/// bill; any other refund is a plain ledger entry. A refund the gateway or
/// the carrier still has to make is answered `pendingAuthorization` (the
/// `201` answer, kept under the idempotency key with the refund); its
/// outcome arrives as a state change (`done` or `denied`) that hub
/// listeners are told of.
pub async fn create_refund(
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
            let new = wire::new_refund(&merchant.id, wire::parse_object(body)?)?;
            let base = &state.settings.public_base_url;
            let answer = |refund: &Refund| {
                Created::new(
                    wire::href(base, "refund", refund.id),
                    &wire::render_refund(refund, base),
                )
            };
            let kept = |refund: &Refund| scope.as_ref().map(|s| s.keep(answer(refund).saved()));
            let refund = refunds::create(&state.services, new, kept)
                .await
                .map_err(TmfError::from)?;
            Ok(answer(&refund))
        },
    )
    .await
}
