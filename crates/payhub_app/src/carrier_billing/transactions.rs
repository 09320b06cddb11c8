//! A new carrier-billing transaction: recorded in the ledger pending the
//! subscriber's consent, and the subscriber texted the link and code in
//! the request's language; a text that cannot be sent ends it
//! `sms_failed`.

use chrono::Utc;
use payhub_core::carrier_billing::basket::Basket;
use payhub_core::{
    Channel, Document, MerchantId, Money, NewPayment, Payment, PaymentId, TelcoState,
};
use payhub_store::{with_fresh_ids, ExternalRef, StoreError, TelcoTransaction};
use rand::Rng;

use super::basket::BasketJson;
use super::changes::{apply, otp_hash, update};
use super::sms::text::{consent_message, SmsLanguage};
use super::sms::{Sms, SmsError};
use crate::{AppError, Services};

/// Where the subscriber gives consent: the address of the dialect's consent
/// page for a payment (the dialect owns the page and its links).
pub type ConsentLink = fn(&Services, PaymentId) -> String;

/// A priced request, as the dialect read it.
pub struct NewTransaction {
    pub merchant_id: MerchantId,
    /// The dialect's name: the namespace of its references (`transactionId`)
    /// in the ledger, and the payment's origin.
    pub dialect: &'static str,
    pub transaction_id: String,
    pub msisdn: String,
    pub channel: Channel,
    pub is_deliverable: bool,
    pub is_billing_required: bool,
    pub language: Option<String>,
    pub basket: Basket,
    pub total: Money,
    /// The payment's document, in the dialect's shape.
    pub document: Document,
    pub consent_link: ConsentLink,
}

/// Records a request (pending consent) and texts the subscriber the link
/// and code. A `transactionId` the service already sent is
/// [`AppError::DuplicateReference`].
pub async fn create(
    state: &Services,
    request: NewTransaction,
) -> Result<TelcoTransaction, AppError> {
    if state
        .store
        .find_external_ref(
            &request.merchant_id,
            request.dialect,
            &request.transaction_id,
        )
        .await?
        .is_some()
    {
        return Err(AppError::DuplicateReference(request.transaction_id));
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000));
    let now = Utc::now();
    let deadline = now
        + chrono::Duration::from_std(state.config.carrier_billing.consent_ttl).unwrap_or_default();
    let total = request.total;
    let new = NewPayment {
        merchant_id: request.merchant_id.clone(),
        account_id: request.msisdn.clone(),
        correlator_id: Some(request.transaction_id.clone()),
        total_amount: Some(total),
        amount_decimals: None,
        status: Some(payhub_core::Status::PendingAuthorization),
        payment_date: None,
        document: request.document.clone(),
        origin: payhub_core::Origin::new(request.dialect),
    };
    let (new, request_ref, code_ref) = (&new, &request, &code);
    let transaction = with_fresh_ids(|| async move {
        let (payment, event) = Payment::record_with_event(new.clone(), now);
        let transaction = TelcoTransaction {
            payment_id: payment.id,
            merchant_id: request_ref.merchant_id.clone(),
            transaction_id: request_ref.transaction_id.clone(),
            msisdn: request_ref.msisdn.clone(),
            channel: request_ref.channel,
            is_deliverable: request_ref.is_deliverable,
            is_billing_required: request_ref.is_billing_required,
            language: request_ref.language.clone(),
            basket: request_ref.basket.to_json(),
            state: TelcoState::ConsentRequested,
            otp_hash: otp_hash(code_ref),
            otp_attempts: 0,
            delivery_address: None,
            billing_address: None,
            carrier_ref: None,
            deadline: Some(deadline),
            created_at: now,
        };
        let reference = ExternalRef {
            merchant_id: request_ref.merchant_id.clone(),
            dialect: request_ref.dialect.to_owned(),
            reference: request_ref.transaction_id.clone(),
            resource_kind: "payment".into(),
            resource_id: payment.id.get(),
        };
        state
            .store
            .insert_telco_transaction(&payment, &event, &transaction, &reference)
            .await
            .map(|()| transaction)
    })
    .await
    .map_err(|error| match error {
        StoreError::DuplicateReference => {
            AppError::DuplicateReference(request.transaction_id.clone())
        }
        error => error.into(),
    })?;
    state.notify_outbox();
    let link = (request.consent_link)(state, transaction.payment_id);
    let language = SmsLanguage::of(transaction.language.as_deref());
    let sms = Sms {
        merchant_id: request.merchant_id,
        msisdn: transaction.msisdn.clone(),
        transaction_id: transaction.transaction_id.clone(),
        text: consent_message(
            language,
            &code,
            &total.to_decimal().to_string(),
            total.currency().code(),
            &link,
        ),
        link,
        code,
        sent_at: now,
    };
    match state.carrier_billing.sms.send(&sms).await {
        Ok(()) => Ok(transaction),
        Err(error) => sms_failed(state, transaction, &error).await,
    }
}

/// The consent SMS was not sent: the subscriber cannot consent, so the
/// transaction ends `sms_failed` (nothing was booked on the bill) and the
/// service is told so in the answer.
async fn sms_failed(
    state: &Services,
    transaction: TelcoTransaction,
    error: &SmsError,
) -> Result<TelcoTransaction, AppError> {
    tracing::error!(payment.id = %transaction.payment_id, %error, "cannot send the consent SMS");
    let failed = apply(
        state,
        &transaction,
        update(TelcoState::ConsentRequested, TelcoState::SmsFailed),
    )
    .await?;
    // Someone moved it first (it cannot have been approved without the code).
    Ok(failed.unwrap_or(transaction))
}
