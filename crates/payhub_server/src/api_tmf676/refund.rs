//! Refunds as TMF676 resources. When a refund names a payment, the ledger's
//! refund rules apply (see `payhub_core::ledger::check_refund`).

use chrono::{DateTime, Utc};
use payhub_core::{LedgerEvent, MerchantId, NewRefund, Refund, RefundId};
use payhub_store::{
    IdempotentResponse, InsertRefundError, ListFilter, Listed, Page, Store, StoreError,
};
use serde_json::{Map, Value};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::HeaderMap;
use axum::response::Response;
use payhub_store::{ApsPayment, BillRefund, GatewayPayment, TelcoTransaction};

use super::aps_refund;
use super::create::{idempotent_create, Created};
use super::error::TmfError;
use super::extract::{self, TmfMerchant};
use super::list::Collection;
use super::resource::{self, Inserted, TmfResource};
use super::wire;
use crate::api_retail::view as retail_view;
use crate::state::AppState;
use payhub_app::carrier_billing::bill_refund;
use payhub_app::gateways::flow::{self, RefundFlowError};

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
        Refund::create_event(self)
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

/// `POST /refund`. A refund of an APS payment gives each part back where it
/// came from (see [`aps_refund`]). A refund of a payment that went through a
/// gateway (a retail sale, a card payment) goes back through that gateway: it is
/// recorded as `pendingAuthorization` (the `201` answer, kept under the
/// idempotency key with it), then sent to the gateway; its outcome arrives as
/// a state change (`done` or `denied`) that hub listeners are told of. Any
/// other refund is a plain ledger entry.
pub async fn create_refund(
    State(state): State<AppState>,
    TmfMerchant(merchant): TmfMerchant,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, TmfError> {
    let body = extract::body(body)?;
    let gateway = match refunded_channel(&state, &merchant.id, &body).await? {
        Channel::Gateway(gateway) => gateway,
        Channel::Aps(aps) => {
            return aps_refund::create_aps_refund(
                &state,
                &merchant,
                &headers,
                uri.path(),
                &body,
                aps,
            )
            .await
        }
        Channel::Bill(transaction) => {
            return bill_refund(&state, &merchant, &headers, uri.path(), &body, transaction).await
        }
        Channel::Ledger => {
            return resource::create::<Refund>(
                State(state),
                TmfMerchant(merchant),
                headers,
                OriginalUri(uri),
                Ok(body),
            )
            .await
        }
    };
    let retail_sale = is_retail_sale(&state, &merchant.id, &gateway).await?;
    let (state, merchant, body) = (&state, &merchant, &body);
    let gateway = &gateway;
    idempotent_create(state, merchant, &headers, uri.path(), body, |scope| async move {
        let new = wire::new_refund(&merchant.id, wire::parse_object(body)?)?;
        let base = &state.settings.public_base_url;
        let answer = |refund: &Refund| {
            Created::new(
                wire::href(base, "refund", refund.id),
                &refund.render(base),
            )
        };
        // A refund of a retail sale is named in the retail dialect too, by
        // the rrn its webhook announces, so that `query` finds it.
        let retail_name = |refund: &Refund| {
            retail_sale.then(|| (crate::api_retail::DIALECT, retail_view::refund_rrn(refund)))
        };
        let refund = flow::record_refund(state, gateway, new, retail_name, |refund| {
            scope.as_ref().map(|s| s.keep(answer(refund).saved()))
        })
        .await
        .map_err(|error| match error {
            RefundFlowError::Rejected(rejection) => TmfError::RefundRejected(rejection),
            RefundFlowError::Store(error) => error.into(),
            RefundFlowError::DuplicateReference => TmfError::Conflict(
                "the refund's correlatorId is already the rrn of another sale or refund \
                 of the retail dialect"
                    .into(),
            ),
        })?;
        tracing::info!(refund.id = %refund.id, gateway = gateway.gateway.as_str(), "refund recorded; sending it to the gateway");
        let created = answer(&refund);
        let (state, gateway) = (state.clone(), gateway.clone());
        tokio::spawn(async move {
            // A failure here leaves the refund pending; its scheduled check settles it.
            if let Err(error) = flow::send_refund(&state, &gateway, refund).await {
                tracing::warn!(error.cause_chain = ?error, "cannot read back a refund sent to its gateway");
            }
        });
        Ok(created)
    })
    .await
}

/// Whether a gateway payment is a sale of the retail dialect.
async fn is_retail_sale(
    state: &AppState,
    merchant: &MerchantId,
    gateway: &GatewayPayment,
) -> Result<bool, TmfError> {
    Ok(state
        .store
        .find_payment(merchant, gateway.payment_id)
        .await?
        .is_some_and(|payment| {
            retail_view::RetailAttributes::from_document(payment.document.as_str()).is_some()
        }))
}

/// Where the money of the payment a refund names went, so the refund goes
/// back the same way.
enum Channel {
    /// An APS payment: its card part through the card's gateway, its credit
    /// part back to the account's credit.
    Aps(ApsPayment),
    /// Through a payment gateway (retail sales, card payments).
    Gateway(GatewayPayment),
    /// Onto the subscriber's phone bill (telco channels 10, 11 and 50).
    Bill(TelcoTransaction),
    /// Nowhere payhub handles: a ledger entry only.
    Ledger,
}

/// The channel of the payment a refund request names, when that payment is
/// the merchant's. A body that cannot be read is left to the plain path,
/// which answers its error.
async fn refunded_channel(
    state: &AppState,
    merchant: &MerchantId,
    body: &[u8],
) -> Result<Channel, TmfError> {
    let Some(payment_id) = wire::parse_object(body)
        .ok()
        .and_then(|object| wire::new_refund(merchant, object).ok())
        .and_then(|new| new.payment_id)
    else {
        return Ok(Channel::Ledger);
    };
    if let Some(aps) = state
        .store
        .find_aps_payment(payment_id)
        .await?
        .filter(|aps| &aps.merchant_id == merchant)
    {
        return Ok(Channel::Aps(aps));
    }
    if let Some(row) = state
        .store
        .find_gateway_payment(payment_id)
        .await?
        .filter(|row| &row.merchant_id == merchant)
    {
        return Ok(Channel::Gateway(row));
    }
    if let Some(transaction) = state
        .store
        .find_telco_transaction(payment_id)
        .await?
        .filter(|t| &t.merchant_id == merchant)
    {
        return Ok(Channel::Bill(transaction));
    }
    Ok(Channel::Ledger)
}

/// A refund of a payment charged on the subscriber's bill: recorded
/// `pendingAuthorization` under the ledger's rules with its scheduled check
/// (the `201` answer, kept with them), then credited on the bill and marked
/// `done`, by this node or, if it stops first, by the checker of any node
/// (see [`payhub_app::carrier_billing::bill_refund`]).
async fn bill_refund(
    state: &AppState,
    merchant: &payhub_store::Merchant,
    headers: &HeaderMap,
    path: &str,
    body: &[u8],
    transaction: TelcoTransaction,
) -> Result<Response, TmfError> {
    idempotent_create(state, merchant, headers, path, body, |scope| async move {
        let mut new = wire::new_refund(&merchant.id, wire::parse_object(body)?)?;
        new.status = Some(payhub_core::Status::PendingAuthorization);
        let base = &state.settings.public_base_url;
        for _ in 0..3 {
            let now = Utc::now();
            let refund = Refund::record(new.clone(), now);
            let created = Created::new(wire::href(base, "refund", refund.id), &refund.render(base));
            let kept = scope.as_ref().map(|s| s.keep(created.saved()));
            let row = BillRefund {
                refund_id: refund.id,
                payment_id: transaction.payment_id,
                merchant_id: refund.merchant_id.clone(),
                msisdn: transaction.msisdn.clone(),
                amount_minor: refund.total_amount.map_or(0, |m| m.amount_minor()),
                carrier_ref: None,
                next_check_at: Some(bill_refund::first_check(state, now)),
                checks: 0,
            };
            match state
                .store
                .insert_bill_refund(&refund, &refund.create_event(), &row, kept.as_ref())
                .await
            {
                Ok(()) => {}
                Err(InsertRefundError::Store(StoreError::IdCollision)) => continue,
                Err(error) => return Err(error.into()),
            }
            state.notify_outbox();
            let state = state.clone();
            tokio::spawn(async move { bill_refund::credit(&state, &row).await });
            return Ok(created);
        }
        Err(StoreError::IdCollision.into())
    })
    .await
}
