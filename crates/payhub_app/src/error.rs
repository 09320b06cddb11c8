//! The one error vocabulary of payhub's use cases.
//!
//! Every use case a dialect calls answers `Result<_, AppError>`, so each
//! dialect maps failures to its own envelope in ONE exhaustive `match`
//! (api_retail/error.rs, api_telco/result.rs, api_aps/error.rs,
//! http/error.rs, the consent page and the gateway notification endpoint).
//! A new variant then fails to compile in every dialect until each has
//! decided its answer, instead of falling into a silent catch-all.
//!
//! The variants name outcomes in domain terms, never in HTTP terms, and
//! carry what a dialect's answer shows (the reference, the state reached).
//! A logic failure (a transition the rules refuse mid-update) is a
//! [`StoreError::Invariant`], never [`StoreError::Corrupt`]: the stored data
//! is fine, the caller is wrong.

use payhub_core::{GatewayState, PaymentId, RefundRejection, TelcoState};
use payhub_store::{InsertRefundError, StoreError, UpdateStatusError};

use crate::gateways::connector::GatewayError;
use crate::gateways::GatewayKind;

/// What a use case can answer instead of doing what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The gateway has no such payment (a notification or a sandbox
    /// request about a payment it never saw), by id when the request named one.
    #[error("the gateway does not know this payment")]
    UnknownPayment(Option<PaymentId>),
    /// The dialect's reference (a retail `rrn`, a telco `transactionId`)
    /// is already used by the merchant; nothing was written.
    #[error("the reference {0} is already used")]
    DuplicateReference(String),
    /// The ledger's refund rules refused the refund.
    #[error(transparent)]
    RefundRejected(#[from] RefundRejection),
    /// The payment had already ended at its gateway (in this state), so it
    /// cannot be canceled or ended again.
    #[error("the payment has already ended ({})", .0.as_str())]
    AlreadyEnded(GatewayState),
    /// A commit (`commit = true`) or release asked of a transaction that is
    /// not reserved.
    #[error("the transaction is {state:?}, not reserved")]
    NotReserved { state: TelcoState, commit: bool },
    /// Another step holds the claim: a commit or release of a telco
    /// transaction, or another card of the same payment at its gateway (the
    /// hosted page only logs that one, so the message names the telco case
    /// the dialects answer with).
    #[error("another commit or release of this transaction is under way")]
    Busy,
    /// The payment or request is not waiting for this customer step (a
    /// card, a challenge answer, a consent).
    #[error("the payment is not waiting for this step")]
    NotWaiting,
    /// The subscriber's consent code is wrong; this many attempts are left.
    #[error("the code is wrong; {0} attempts left")]
    WrongCode(i64),
    /// The subscriber's consent form cannot be taken; the message says why,
    /// in words shown to the subscriber.
    #[error("{0}")]
    ConsentInvalid(String),
    /// No connector is configured for the gateway the payment asks for.
    #[error("no connector for gateway {0}")]
    NoConnector(GatewayKind),
    /// The gateway did not answer (or no connector can ask it): the outcome
    /// is unknown and the checker will find it out.
    #[error("the gateway did not answer; the payment's state is being checked")]
    GatewayUnavailable,
    /// The carrier did not answer; nothing changed here, and asking again is safe.
    #[error("the carrier did not answer")]
    CarrierUnavailable,
    /// A gateway notification that does not verify or cannot be read.
    #[error(transparent)]
    BadNotification(#[from] GatewayError),
    /// The store failed, or refused a change the rules forbid (a bug).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A refund of a payment funded in parts (APS: credit and card) must
    /// say how much, to be split between the parts.
    #[error("a refund of a payment funded in parts needs an amount")]
    AmountRequired,
}

impl From<UpdateStatusError> for AppError {
    /// A status change that was not recorded is a store failure to every
    /// dialect: a refused transition or a vanished row mid-update is the
    /// caller's logic error, so an [`StoreError::Invariant`], not corruption.
    fn from(error: UpdateStatusError) -> Self {
        AppError::Store(match error {
            UpdateStatusError::Store(store) => store,
            UpdateStatusError::Transition(refused) => StoreError::Invariant(refused.to_string()),
            UpdateStatusError::NotFound => {
                StoreError::Invariant("the payment vanished during a status change".into())
            }
        })
    }
}

impl AppError {
    /// One value of every variant, for the dialects' mapping tables: a test
    /// that walks this list pins the answer to each.
    #[doc(hidden)]
    pub fn examples() -> Vec<AppError> {
        vec![
            AppError::UnknownPayment(PaymentId::from_i64(819613055)),
            AppError::DuplicateReference("R-1".into()),
            AppError::RefundRejected(RefundRejection::CurrencyMismatch {
                payment: "EUR".into(),
                refund: "USD".into(),
            }),
            AppError::AlreadyEnded(GatewayState::Succeeded),
            AppError::NotReserved {
                state: TelcoState::Committed,
                commit: true,
            },
            AppError::Busy,
            AppError::NotWaiting,
            AppError::WrongCode(2),
            AppError::ConsentInvalid("choose Approve or Decline".into()),
            AppError::NoConnector(GatewayKind::Vmpay),
            AppError::GatewayUnavailable,
            AppError::CarrierUnavailable,
            AppError::BadNotification(GatewayError::BadNotification("bad signature".into())),
            AppError::Store(StoreError::WriterStopped),
            AppError::AmountRequired,
        ]
    }
}

impl From<InsertRefundError> for AppError {
    fn from(error: InsertRefundError) -> Self {
        match error {
            InsertRefundError::Rejected(rejection) => AppError::RefundRejected(rejection),
            InsertRefundError::Store(error) => AppError::Store(error),
        }
    }
}

impl payhub_store::IdTaken for AppError {
    /// Only the store's id collision: the writer records afresh.
    fn id_taken(&self) -> bool {
        matches!(self, AppError::Store(StoreError::IdCollision))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of a variant; exhaustive, so a new variant must be
    /// numbered here, and then given an example, before tests pass.
    fn variant(error: &AppError) -> usize {
        match error {
            AppError::UnknownPayment(_) => 0,
            AppError::DuplicateReference(_) => 1,
            AppError::RefundRejected(_) => 2,
            AppError::AlreadyEnded(_) => 3,
            AppError::NotReserved { .. } => 4,
            AppError::Busy => 5,
            AppError::NotWaiting => 6,
            AppError::WrongCode(_) => 7,
            AppError::ConsentInvalid(_) => 8,
            AppError::NoConnector(_) => 9,
            AppError::GatewayUnavailable => 10,
            AppError::CarrierUnavailable => 11,
            AppError::BadNotification(_) => 12,
            AppError::Store(_) => 13,
            AppError::AmountRequired => 14,
        }
    }

    #[test]
    fn examples_name_every_variant_once_in_order() {
        let order: Vec<usize> = AppError::examples().iter().map(variant).collect();
        assert_eq!(order, (0..15).collect::<Vec<_>>());
    }

    #[test]
    fn a_refused_status_change_is_an_invariant_not_corruption() {
        let error = AppError::from(UpdateStatusError::NotFound);
        assert!(matches!(error, AppError::Store(StoreError::Invariant(_))));
    }
}
