//! The telco payment service's vocabulary: its charging channels and the
//! states of a transaction from consent to settlement on the subscriber's bill.
//!
//! [`TelcoState::payment_status`] is the one place a telco state becomes a
//! ledger status, so every dialect sees the same payment the same way.

use crate::Status;

/// How a telco transaction is charged (seed 004's `channelId`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// 10: the amount is reserved on the bill, then committed or released.
    ReserveAndCommit,
    /// 11: charged to the bill at once.
    DirectDebit,
    /// 40: paid by card on the hosted card page.
    CreditCard,
    /// 50: an in-app purchase, one item, charged to the bill at once.
    InAppPurchase,
}

impl Channel {
    pub const ALL: [Channel; 4] = [
        Channel::ReserveAndCommit,
        Channel::DirectDebit,
        Channel::CreditCard,
        Channel::InAppPurchase,
    ];

    /// The channel of a `channelId`.
    pub fn from_id(id: i64) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Seed 004's `channelId`.
    pub fn id(self) -> i64 {
        match self {
            Channel::ReserveAndCommit => 10,
            Channel::DirectDebit => 11,
            Channel::CreditCard => 40,
            Channel::InAppPurchase => 50,
        }
    }

    /// The TMF676 `paymentMethod.@type` of a payment on this channel.
    pub fn payment_method_type(self) -> &'static str {
        match self {
            Channel::ReserveAndCommit => "CarrierBillingReservation",
            Channel::DirectDebit => "CarrierBillingDirectDebit",
            Channel::CreditCard => "BankCard",
            Channel::InAppPurchase => "InAppPurchase",
        }
    }
}

/// Where a telco transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TelcoState {
    /// Waiting for the subscriber's consent (SMS link and one-time code).
    ConsentRequested,
    /// Consented; the subscriber is paying on the card page (channel 40).
    AwaitingCard,
    /// The amount is reserved on the bill (channel 10), awaiting commit or release.
    Reserved,
    /// A reservation was committed: charged on the bill.
    Committed,
    /// Charged at once (channels 11 and 50) or paid by card (40).
    Charged,
    /// A reservation was released by the service, or expired.
    Released,
    /// The subscriber declined consent.
    Rejected,
    /// The subscriber did not consent in time.
    Expired,
    /// The bill refused the charge (spending limit) or the card was declined.
    Failed,
}

impl TelcoState {
    pub const ALL: [TelcoState; 9] = [
        TelcoState::ConsentRequested,
        TelcoState::AwaitingCard,
        TelcoState::Reserved,
        TelcoState::Committed,
        TelcoState::Charged,
        TelcoState::Released,
        TelcoState::Rejected,
        TelcoState::Expired,
        TelcoState::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TelcoState::ConsentRequested => "consent_requested",
            TelcoState::AwaitingCard => "awaiting_card",
            TelcoState::Reserved => "reserved",
            TelcoState::Committed => "committed",
            TelcoState::Charged => "charged",
            TelcoState::Released => "released",
            TelcoState::Rejected => "rejected",
            TelcoState::Expired => "expired",
            TelcoState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<TelcoState> {
        TelcoState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// No further change is possible.
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            TelcoState::ConsentRequested | TelcoState::AwaitingCard | TelcoState::Reserved
        )
    }

    /// The ledger status this state means; `None` where the ledger keeps
    /// what it has (a card payment's status is its gateway's business).
    pub fn payment_status(self) -> Option<Status> {
        match self {
            TelcoState::ConsentRequested => Some(Status::PendingAuthorization),
            TelcoState::AwaitingCard => None,
            TelcoState::Reserved => Some(Status::Authorized),
            TelcoState::Committed | TelcoState::Charged => Some(Status::Captured),
            TelcoState::Released | TelcoState::Rejected | TelcoState::Expired => {
                Some(Status::Canceled)
            }
            TelcoState::Failed => Some(Status::Denied),
        }
    }
}

/// Wrong one-time codes a consent survives; the one that reaches this
/// number rejects it.
pub const MAX_OTP_ATTEMPTS: i64 = 5;

/// Counts one more wrong code on a consent that has seen
/// `attempts_before`: the new count and the state it leaves the consent in.
/// The store applies it to the count it holds locked, so wrong codes that
/// arrive together are each counted.
pub fn after_wrong_code(attempts_before: i64) -> (i64, TelcoState) {
    let attempts = attempts_before.saturating_add(1);
    let state = if attempts >= MAX_OTP_ATTEMPTS {
        TelcoState::Rejected
    } else {
        TelcoState::ConsentRequested
    };
    (attempts, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fifth_wrong_code_rejects_the_consent() {
        use TelcoState::*;
        let table = [
            (0, (1, ConsentRequested)),
            (3, (4, ConsentRequested)),
            (4, (5, Rejected)),
            (7, (8, Rejected)),
            (i64::MAX, (i64::MAX, Rejected)),
        ];
        for (before, expected) in table {
            assert_eq!(
                after_wrong_code(before),
                expected,
                "after {before} wrong codes"
            );
        }
    }

    #[test]
    fn channels_and_states_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::from_id(channel.id()), Some(channel));
        }
        assert_eq!(Channel::from_id(12), None);
        for state in TelcoState::ALL {
            assert_eq!(TelcoState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn every_state_change_is_a_legal_ledger_transition() {
        use TelcoState::*;
        let steps = [
            (ConsentRequested, Reserved),
            (ConsentRequested, Charged),
            (ConsentRequested, Rejected),
            (ConsentRequested, Expired),
            (ConsentRequested, Failed),
            (Reserved, Committed),
            (Reserved, Released),
        ];
        for (from, to) in steps {
            let (Some(a), Some(b)) = (from.payment_status(), to.payment_status()) else {
                unreachable!("both have a ledger status")
            };
            assert!(crate::transition(a, b).is_ok(), "{from:?} -> {to:?}");
        }
    }
}
