//! Refunds as TMF676 resources. When a refund names a payment, the ledger's
//! refund rules apply (see `payhub_core::ledger::check_refund`).

use chrono::{DateTime, Utc};
use payhub_core::{EventKind, LedgerEvent, MerchantId, NewRefund, Refund, RefundId};
use payhub_store::{
    IdempotentResponse, InsertRefundError, ListFilter, Listed, Page, Store, StoreError,
};
use serde_json::{Map, Value};

use super::error::TmfError;
use super::list::Collection;
use super::resource::{Inserted, TmfResource};
use super::wire;

impl TmfResource for Refund {
    type New = NewRefund;
    type Id = RefundId;
    const COLLECTION: Collection = Collection {
        name: "refund",
        has_payment_ref: true,
    };

    fn parse(merchant: &MerchantId, body: Map<String, Value>) -> Result<NewRefund, TmfError> {
        wire::new_refund(merchant, body)
    }

    fn record(new: NewRefund, now: DateTime<Utc>) -> Self {
        Refund::record(new, now)
    }

    fn create_event(&self) -> LedgerEvent {
        LedgerEvent::new(
            self.merchant_id.clone(),
            EventKind::RefundCreate,
            self.id.get(),
            self.status,
            self.created_at,
        )
    }

    fn id_text(&self) -> String {
        self.id.to_string()
    }

    fn render(&self, base_url: &str) -> Value {
        wire::render_refund(self, base_url)
    }

    async fn insert(
        store: &dyn Store,
        refund: &Self,
        event: &LedgerEvent,
        kept: Option<&IdempotentResponse>,
    ) -> Result<Inserted, TmfError> {
        match store.insert_refund(refund, event, kept).await {
            Ok(()) => Ok(Inserted::Committed),
            Err(InsertRefundError::Store(StoreError::IdCollision)) => Ok(Inserted::IdTaken),
            Err(error) => Err(error.into()),
        }
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
