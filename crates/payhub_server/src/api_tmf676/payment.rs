//! Payments as TMF676 resources.

use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, MerchantId, NewPayment, Payment, PaymentId};
use payhub_store::{IdempotentResponse, ListFilter, Listed, Page, Store, StoreError};
use serde_json::{Map, Value};

use super::error::TmfError;
use super::list::Collection;
use super::render::Rendering;
use super::resource::{Creatable, TmfResource};
use super::wire;

impl TmfResource for Payment {
    type Id = PaymentId;
    const COLLECTION: Collection = Collection {
        name: "payment",
        has_payment_ref: false,
    };

    fn id_text(&self) -> String {
        self.id.to_string()
    }

    fn rendering<'a>(&'a self, base_url: &str) -> Rendering<'a> {
        Rendering::payment(self, base_url)
    }

    async fn find(
        store: &dyn Store,
        merchant: &MerchantId,
        id: PaymentId,
    ) -> Result<Option<Self>, StoreError> {
        store.find_payment(merchant, id).await
    }

    async fn list(
        store: &dyn Store,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Self>, StoreError> {
        store.list_payments(merchant, filter, page).await
    }
}

impl Creatable for Payment {
    type New = NewPayment;

    fn parse(merchant: &MerchantId, body: Map<String, Value>) -> Result<NewPayment, TmfError> {
        wire::new_payment(merchant, body)
    }

    fn record(new: NewPayment, now: DateTime<Utc>) -> Self {
        Payment::record(new, now)
    }

    fn create_event(&self) -> LedgerEvent {
        Payment::create_event(self)
    }

    async fn insert(
        store: &dyn Store,
        payment: &Self,
        event: &LedgerEvent,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError> {
        store.insert_payment(payment, event, kept).await
    }
}
