//! A telco transaction's life, whoever moves it: the service's request, the
//! subscriber on the consent page, the service's commit or release, the
//! card gateway, and the deadline worker.
//!
//! Every change is one [`Store::apply_telco_update`](payhub_store::Store)
//! from the state the change was decided in; if someone else moved the
//! transaction first, the change is not made. Whoever calls the carrier
//! claims the transaction first
//! ([`Store::claim_telco_transaction`](payhub_store::Store)), on any node:
//! only the claim's holder calls, and other changes wait for its answer, so
//! the bill is never charged twice for one transaction.

use chrono::{DateTime, Utc};
use payhub_core::carrier_billing::basket::{self, Priced, PricingError, Wanted};
use payhub_core::carrier_billing::{
    after_card, after_settle, attempts_left, Booking, CarrierAnswer, Deadline,
};
use payhub_core::{Document, Money, NewPayment, Payment, TelcoState};
use payhub_store::{
    ExternalRef, GatewayPayment, Merchant, StoreError, TelcoProduct, TelcoTransaction, TelcoUpdate,
};
use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::basket::{Basket, BasketJson};
use super::channel;
use super::request::PaymentRequest;
use super::result::TelcoError;
use super::DIALECT;
use crate::api_tmf676::wire::{carrier_payment_method_type, money_json};
use crate::state::AppState;
use payhub_app::carrier_billing::carrier::CarrierError;
use payhub_app::carrier_billing::sms::Sms;
use payhub_app::gateways::flow::start_for_existing;
use payhub_app::gateways::GatewayKind;
use payhub_app::lang::Lang;
use payhub_app::Services;

pub use payhub_core::MAX_OTP_ATTEMPTS;
/// The card gateway of channel 40.
const CARD_GATEWAY: GatewayKind = GatewayKind::Vmpay;

fn otp_hash(code: &str) -> String {
    hex::encode(Sha256::digest(code.as_bytes()))
}

/// The consent page's address, sent to the subscriber.
pub fn consent_url(state: &AppState, payment_id: i64) -> String {
    format!(
        "{}/consent/{payment_id}/{}",
        state.settings.public_base_url,
        state.master_key.consent_token(payment_id)
    )
}

/// Prices the request from the service's catalogue (the rules are the
/// core's: every product known, one currency).
pub fn price(request: &PaymentRequest, catalogue: &[TelcoProduct]) -> Result<Basket, TelcoError> {
    let wanted = request.items.iter().map(|w| Wanted {
        id: &w.id,
        count: w.count,
        is_removable: w.is_removable,
    });
    let lookup = |id: &str| {
        catalogue
            .iter()
            .find(|p| p.product_id == id)
            .map(|p| Priced {
                name: &p.name,
                unit_price: p.unit_price,
            })
    };
    basket::price(wanted, lookup).map_err(|error| match error {
        PricingError::UnknownProduct(id) => TelcoError::UnknownProduct(id),
        mixed @ PricingError::MixedCurrencies { .. } => {
            TelcoError::InvalidItemList(mixed.to_string())
        }
    })
}

/// The TMF676 view of a telco payment (see docs/TELCO.md).
fn document(request: &PaymentRequest, basket: &Basket, total: Money) -> Document {
    let items: Vec<Value> = basket
        .items
        .iter()
        .map(|i| {
            json!({"id": i.id, "name": i.name, "count": i.count, "unitPriceMinor": i.unit_price_minor,
                   "isRemovable": i.is_removable, "removed": i.removed})
        })
        .collect();
    let names = basket.kept_names();
    let mut document = Map::new();
    document.insert("@type".into(), json!("Payment"));
    document.insert("correlatorId".into(), json!(request.transaction_id));
    document.insert("description".into(), json!(names.join(", ")));
    document.insert("account".into(), json!({"id": request.msisdn}));
    document.insert(
        "channel".into(),
        json!({"id": channel::id(request.channel).to_string()}),
    );
    document.insert(
        "paymentMethod".into(),
        json!({"@type": carrier_payment_method_type(request.channel)}),
    );
    document.insert("totalAmount".into(), money_json(total));
    document.insert(
        "telco".into(),
        json!({
            "transactionId": request.transaction_id,
            "msisdn": request.msisdn,
            "channelId": channel::id(request.channel),
            "paymentMethod": "reserve",
            "isDeliverable": request.is_deliverable,
            "isBillingRequired": request.is_billing_required,
            "language": request.language,
            "itemList": items,
            "additionalParameters": request.additional_parameters,
        }),
    );
    Document::new(Value::Object(document).to_string())
}

/// Records a request (pending consent) and texts the subscriber the link and code.
pub async fn create(
    state: &AppState,
    merchant: &Merchant,
    request: PaymentRequest,
) -> Result<TelcoTransaction, TelcoError> {
    let catalogue = state.store.list_telco_products(&merchant.id).await?;
    let basket = price(&request, &catalogue)?;
    let total = basket.total().map_err(|e| {
        TelcoError::InvalidItemList(format!("the basket's total cannot be computed: {e}"))
    })?;
    if state
        .store
        .find_external_ref(&merchant.id, DIALECT, &request.transaction_id)
        .await?
        .is_some()
    {
        return Err(TelcoError::DuplicateTransaction(request.transaction_id));
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let now = Utc::now();
    let deadline =
        now + chrono::Duration::from_std(state.settings.telco.consent_ttl).unwrap_or_default();
    let new = NewPayment {
        merchant_id: merchant.id.clone(),
        account_id: request.msisdn.clone(),
        correlator_id: Some(request.transaction_id.clone()),
        total_amount: Some(total),
        status: Some(payhub_core::Status::PendingAuthorization),
        payment_date: None,
        document: document(&request, &basket, total),
        origin: payhub_core::Origin::new(DIALECT),
    };
    let mut attempt = 0;
    let transaction = loop {
        let (payment, event) = Payment::record_with_event(new.clone(), now);
        let transaction = TelcoTransaction {
            payment_id: payment.id,
            merchant_id: merchant.id.clone(),
            transaction_id: request.transaction_id.clone(),
            msisdn: request.msisdn.clone(),
            channel: request.channel,
            is_deliverable: request.is_deliverable,
            is_billing_required: request.is_billing_required,
            language: request.language.clone(),
            basket: basket.to_json(),
            state: TelcoState::ConsentRequested,
            otp_hash: otp_hash(&code),
            otp_attempts: 0,
            delivery_address: None,
            billing_address: None,
            carrier_ref: None,
            deadline: Some(deadline),
            created_at: now,
        };
        let reference = ExternalRef {
            merchant_id: merchant.id.clone(),
            dialect: DIALECT.to_owned(),
            reference: request.transaction_id.clone(),
            resource_kind: "payment".into(),
            resource_id: payment.id.get(),
        };
        match state
            .store
            .insert_telco_transaction(&payment, &event, &transaction, &reference)
            .await
        {
            Ok(()) => break transaction,
            Err(StoreError::DuplicateReference) => {
                return Err(TelcoError::DuplicateTransaction(request.transaction_id))
            }
            Err(StoreError::IdCollision) if attempt < 3 => attempt += 1,
            Err(error) => return Err(error.into()),
        }
    };
    state.notify_outbox();
    let link = consent_url(state, transaction.payment_id.get());
    let sent = state.carrier_billing.sms.send(Sms {
        merchant_id: merchant.id.clone(),
        msisdn: transaction.msisdn.clone(),
        transaction_id: transaction.transaction_id.clone(),
        text: format!(
            "Your code is {code}. Review and approve your payment of {} {}: {link}",
            total.to_decimal(),
            total.currency().code()
        ),
        link,
        code,
        sent_at: now,
    });
    if let Err(error) = sent.await {
        // The request stands; the subscriber can ask the service for a new one.
        tracing::error!(payment.id = %transaction.payment_id, error.cause_chain = ?error, "cannot send the consent SMS");
    }
    Ok(transaction)
}

/// What the subscriber sent from the consent page.
#[derive(Clone, Debug, Default)]
pub struct ConsentForm {
    pub otp: String,
    pub removed: Vec<String>,
    pub delivery_address: Option<String>,
    pub billing_address: Option<String>,
}

/// Why a consent was not taken.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error("this request no longer waits for consent")]
    NotWaiting,
    #[error("the code is wrong; {0} attempts left")]
    WrongCode(i64),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A store failure while applying an update, as the store's error.
fn stored(error: payhub_store::UpdateStatusError) -> StoreError {
    match error {
        payhub_store::UpdateStatusError::Store(error) => error,
        other => StoreError::Corrupt(other.to_string()),
    }
}

async fn apply(
    state: &Services,
    transaction: &TelcoTransaction,
    update: TelcoUpdate,
) -> Result<Option<TelcoTransaction>, StoreError> {
    let applied = state
        .store
        .apply_telco_update(transaction.payment_id, &update, Utc::now())
        .await
        .map_err(stored)?;
    if applied.is_some() {
        state.notify_outbox();
    }
    Ok(applied)
}

fn update(from: TelcoState, to: TelcoState) -> TelcoUpdate {
    TelcoUpdate {
        from,
        to,
        basket: None,
        total: None,
        otp_attempts: None,
        delivery_address: None,
        billing_address: None,
        carrier_ref: None,
        deadline: None,
        claim: None,
    }
}

/// A fresh claim on a transaction and how long it holds: longer than a
/// carrier call may take, so it outlives the call it covers.
fn new_claim(state: &Services) -> (String, DateTime<Utc>) {
    let token = hex::encode(rand::thread_rng().gen::<[u8; 16]>());
    let hold = state.config.gateways.call_timeout.saturating_mul(3);
    (
        token,
        Utc::now() + chrono::Duration::from_std(hold).unwrap_or_default(),
    )
}

/// Gives a claim back without changing anything else (the carrier did
/// not answer, so nothing is decided): the transaction stays in `state`
/// with its deadline.
async fn drop_claim(state: &Services, transaction: &TelcoTransaction, claim: String) {
    let mut change = update(transaction.state, transaction.state);
    change.deadline = transaction.deadline;
    change.claim = Some(claim);
    if let Err(error) = apply(state, transaction, change).await {
        // It lapses by itself.
        tracing::warn!(payment.id = %transaction.payment_id, error.cause_chain = ?error, "cannot give a telco claim back");
    }
}

/// The carrier's key of a transaction's reservation or charge.
fn booking_key(transaction: &TelcoTransaction) -> String {
    transaction.payment_id.get().to_string()
}

/// Counts a wrong code where the count is kept, so that codes arriving
/// together are each counted; the last allowed one rejects the consent.
async fn count_wrong_code(
    state: &AppState,
    transaction: &TelcoTransaction,
) -> Result<TelcoTransaction, ConsentError> {
    let counted = state
        .store
        .record_wrong_telco_code(transaction.payment_id, Utc::now())
        .await
        .map_err(stored)?
        .ok_or(ConsentError::NotWaiting)?;
    if counted.state != TelcoState::ConsentRequested {
        state.notify_outbox();
    }
    Err(ConsentError::WrongCode(attempts_left(counted.otp_attempts)))
}

/// The subscriber approves: checks the code and the form, then charges,
/// reserves, or sends the subscriber to the card page, by channel. Returns
/// the transaction as it now stands (and, for a card payment, where to go).
pub async fn approve(
    state: &AppState,
    transaction: &TelcoTransaction,
    form: ConsentForm,
) -> Result<TelcoTransaction, ConsentError> {
    if transaction.state != TelcoState::ConsentRequested
        || transaction.deadline.is_some_and(|d| d <= Utc::now())
    {
        return Err(ConsentError::NotWaiting);
    }
    let code_matches = {
        use subtle::ConstantTimeEq;
        bool::from(
            otp_hash(form.otp.trim())
                .as_bytes()
                .ct_eq(transaction.otp_hash.as_bytes()),
        )
    };
    if !code_matches {
        return count_wrong_code(state, transaction).await;
    }
    let mut basket = Basket::from_json(&transaction.basket)
        .ok_or_else(|| StoreError::Corrupt("telco basket".into()))?;
    basket
        .remove(&form.removed)
        .map_err(|e| ConsentError::Invalid(e.to_string()))?;
    let delivery_address = form.delivery_address.filter(|a| !a.trim().is_empty());
    let billing_address = form.billing_address.filter(|a| !a.trim().is_empty());
    if transaction.is_deliverable && delivery_address.is_none() {
        return Err(ConsentError::Invalid("enter a delivery address".into()));
    }
    if transaction.is_billing_required && billing_address.is_none() {
        return Err(ConsentError::Invalid(
            "enter a billing or e-bill address".into(),
        ));
    }
    let total = basket
        .total()
        .map_err(|e| ConsentError::Invalid(e.to_string()))?;
    let payment = state
        .store
        .find_payment(&transaction.merchant_id, transaction.payment_id)
        .await?
        .ok_or_else(|| StoreError::Corrupt("telco payment missing".into()))?;
    let new_total = (payment.total_amount != Some(total)).then(|| {
        let mut document: Value =
            serde_json::from_str(payment.document.as_str()).unwrap_or(Value::Null);
        rewrite_document(&mut document, &basket, total);
        (total, Document::new(document.to_string()))
    });
    let mut change = update(TelcoState::ConsentRequested, TelcoState::ConsentRequested);
    change.basket = Some(basket.to_json());
    change.total = new_total;
    change.delivery_address = delivery_address;
    change.billing_address = billing_address;
    let (claim, until) = new_claim(state);
    let Some(claimed) = state
        .store
        .claim_telco_transaction(
            transaction.payment_id,
            TelcoState::ConsentRequested,
            &claim,
            until,
            Utc::now(),
        )
        .await?
    else {
        // Another approval, a decline or the deadline got there first.
        return Err(ConsentError::NotWaiting);
    };
    let (to, carrier_ref) = match book_on_bill(state, &claimed, total.amount_minor()).await {
        Ok(booked) => booked,
        Err(CarrierError::Unavailable) => {
            drop_claim(state, &claimed, claim).await;
            return Err(ConsentError::Invalid(
                "the carrier did not answer; please try again".into(),
            ));
        }
        Err(error) => {
            tracing::info!(payment.id = %transaction.payment_id, %error, "carrier refused the charge");
            (TelcoState::Failed, None)
        }
    };
    change.to = to;
    change.carrier_ref = carrier_ref.clone();
    change.claim = Some(claim);
    change.deadline = match to {
        TelcoState::Reserved => Some(
            Utc::now()
                + chrono::Duration::from_std(state.settings.telco.reservation_ttl)
                    .unwrap_or_default(),
        ),
        _ => None,
    };
    let Some(updated) = apply(state, transaction, change).await? else {
        // The claim lapsed and someone moved it meanwhile: unless that was
        // this same booking recorded, take it back.
        let now = state
            .store
            .find_telco_transaction(transaction.payment_id)
            .await?;
        if now.and_then(|t| t.carrier_ref) != carrier_ref {
            undo_booking(
                state,
                &claimed,
                to,
                carrier_ref.as_deref(),
                total.amount_minor(),
            )
            .await;
        }
        return Err(ConsentError::NotWaiting);
    };
    if to == TelcoState::AwaitingCard {
        let payment = state
            .store
            .find_payment(&transaction.merchant_id, transaction.payment_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("telco payment missing".into()))?;
        // The card page speaks zh_hk, zh_cn and en; a telco subscriber gets English.
        if let Err(error) =
            start_for_existing(state, &payment, CARD_GATEWAY, Lang::En, None, None).await
        {
            tracing::error!(payment.id = %transaction.payment_id, %error, "cannot start the card payment");
            return Err(ConsentError::Store(StoreError::Corrupt(error.to_string())));
        }
    }
    Ok(updated)
}

/// Reserves or charges the approved amount, as the channel says (a card
/// payment books nothing here): the state it leads to and the booking.
async fn book_on_bill(
    state: &AppState,
    transaction: &TelcoTransaction,
    amount: i64,
) -> Result<(TelcoState, Option<String>), CarrierError> {
    let carrier = &state.carrier_billing.carrier;
    let key = booking_key(transaction);
    let booking = transaction.channel.booking();
    let booked = match booking {
        Booking::Reserve => carrier.reserve(&key, &transaction.msisdn, amount).await?,
        Booking::Charge => carrier.charge(&key, &transaction.msisdn, amount).await?,
        Booking::Card => return Ok((booking.booked_state(), None)),
    };
    Ok((booking.booked_state(), Some(booked)))
}

/// Takes back a booking whose state change lost: releases the reservation,
/// or credits the charge back.
async fn undo_booking(
    state: &AppState,
    transaction: &TelcoTransaction,
    to: TelcoState,
    reference: Option<&str>,
    amount: i64,
) {
    let carrier = &state.carrier_billing.carrier;
    let undone = match (to, reference) {
        (TelcoState::Reserved, Some(reference)) => carrier.release(reference).await,
        (TelcoState::Charged, Some(_)) => {
            let key = format!("void:{}", transaction.payment_id.get());
            carrier
                .credit(&key, &transaction.msisdn, amount)
                .await
                .map(|_| ())
        }
        _ => Ok(()),
    };
    if let Err(error) = undone {
        tracing::error!(payment.id = %transaction.payment_id, %error, "cannot take back a booking whose state change lost");
    }
}

/// Rewrites the TMF document after the subscriber removed items.
fn rewrite_document(document: &mut Value, basket: &Basket, total: Money) {
    document["totalAmount"] = money_json(total);
    let names: Vec<&str> = basket
        .items
        .iter()
        .filter(|i| !i.removed)
        .map(|i| i.name.as_str())
        .collect();
    document["description"] = json!(names.join(", "));
    if let Some(items) = document
        .get_mut("telco")
        .and_then(|t| t.get_mut("itemList"))
        .and_then(Value::as_array_mut)
    {
        for item in items.iter_mut() {
            let removed = basket
                .items
                .iter()
                .any(|b| b.removed && item["id"] == json!(b.id));
            item["removed"] = json!(removed);
        }
    }
}

/// The subscriber declines.
pub async fn decline(
    state: &AppState,
    transaction: &TelcoTransaction,
) -> Result<TelcoTransaction, ConsentError> {
    apply(
        state,
        transaction,
        update(TelcoState::ConsentRequested, TelcoState::Rejected),
    )
    .await?
    .ok_or(ConsentError::NotWaiting)
}

/// Why a commit or release was not done.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("the transaction is {0:?}, not reserved")]
    NotReserved(TelcoState),
    /// Another commit or release of it is under way.
    #[error("another commit or release of this transaction is under way")]
    Busy,
    /// The carrier did not answer; nothing changed here, and asking again is safe.
    #[error("the carrier did not answer")]
    CarrierUnavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The service commits (`commit = true`) or releases a reservation. The
/// transaction is claimed first, so one commit or release calls the carrier.
pub async fn settle(
    state: &Services,
    transaction: &TelcoTransaction,
    commit: bool,
) -> Result<TelcoTransaction, SettleError> {
    if transaction.state != TelcoState::Reserved {
        return Err(SettleError::NotReserved(transaction.state));
    }
    let (claim, until) = new_claim(state);
    let Some(claimed) = state
        .store
        .claim_telco_transaction(
            transaction.payment_id,
            TelcoState::Reserved,
            &claim,
            until,
            Utc::now(),
        )
        .await?
    else {
        return Err(
            match state
                .store
                .find_telco_transaction(transaction.payment_id)
                .await?
            {
                Some(current) if current.state == TelcoState::Reserved => SettleError::Busy,
                Some(current) => SettleError::NotReserved(current.state),
                None => SettleError::NotReserved(transaction.state),
            },
        );
    };
    let reference = claimed.carrier_ref.clone().unwrap_or_default();
    let carrier = &state.carrier_billing.carrier;
    let answer = if commit {
        carrier.commit(&reference).await
    } else {
        carrier.release(&reference).await
    };
    let answer = match answer {
        Ok(()) => CarrierAnswer::Done,
        Err(CarrierError::UnknownReservation) => CarrierAnswer::UnknownReservation,
        Err(CarrierError::LimitExceeded { .. }) => CarrierAnswer::LimitExceeded,
        Err(CarrierError::Unavailable) => CarrierAnswer::Unavailable,
    };
    let Some(to) = after_settle(commit, answer) else {
        drop_claim(state, &claimed, claim).await;
        return Err(SettleError::CarrierUnavailable);
    };
    let mut change = update(TelcoState::Reserved, to);
    change.claim = Some(claim);
    apply(state, &claimed, change)
        .await?
        .ok_or(SettleError::NotReserved(transaction.state))
}

/// A telco card payment follows its gateway's end.
pub async fn follow_gateway(state: &Services, row: &GatewayPayment) {
    let transaction = match state.store.find_telco_transaction(row.payment_id).await {
        Ok(Some(t)) if t.state == TelcoState::AwaitingCard => t,
        Ok(_) => return,
        Err(error) => {
            tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot read a telco transaction");
            return;
        }
    };
    let to = after_card(row.state);
    if let Err(error) = apply(state, &transaction, update(TelcoState::AwaitingCard, to)).await {
        tracing::warn!(payment.id = %row.payment_id, error.cause_chain = ?error, "cannot record a telco card outcome");
    }
}

/// Expires consents nobody gave and releases reservations nobody committed.
/// Returns how many it handled.
pub async fn run_deadlines(state: &Services) -> usize {
    let now: DateTime<Utc> = Utc::now();
    let overdue = match state.store.list_overdue_telco_transactions(now, 32).await {
        Ok(rows) => rows,
        Err(error) => {
            tracing::warn!(error.cause_chain = ?error, "cannot read overdue telco transactions");
            return 0;
        }
    };
    let count = overdue.len();
    for transaction in overdue {
        let result = match transaction.state.on_deadline() {
            Deadline::Expire => apply(
                state,
                &transaction,
                update(TelcoState::ConsentRequested, TelcoState::Expired),
            )
            .await
            .map(|_| ()),
            Deadline::Release => {
                tracing::info!(payment.id = %transaction.payment_id, "reservation not committed in time; releasing");
                settle(state, &transaction, false)
                    .await
                    .map(|_| ())
                    .or_else(|e| match e {
                        // Settled meanwhile, or being settled: nothing to do now.
                        SettleError::NotReserved(_) | SettleError::Busy => Ok(()),
                        // Asked again on the next pass.
                        SettleError::CarrierUnavailable => Ok(()),
                        SettleError::Store(e) => Err(e),
                    })
            }
            // A deadline left on a state that has none: clear it.
            Deadline::Clear => apply(
                state,
                &transaction,
                update(transaction.state, transaction.state),
            )
            .await
            .map(|_| ()),
        };
        if let Err(error) = result {
            tracing::warn!(payment.id = %transaction.payment_id, error.cause_chain = ?error, "cannot handle a telco deadline");
        }
    }
    count
}
