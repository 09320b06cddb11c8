//! The states of a payment and of a refund at their gateway.
//!
//! [`GatewayState::payment_status`] is the only place that turns a gateway's
//! word into a ledger status, and only final states do. `Unknown` (the
//! gateway did not answer) never becomes `failed`: payhub asks the gateway
//! again until it knows.

use crate::status::Outcome;

/// The progress of a payment at its gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayState {
    /// The payment exists at the gateway; the customer has not paid yet
    /// (a QR code to scan, a card form to fill in).
    AwaitingCustomer,
    /// The card issuer asked for a 3-D Secure step.
    Challenge,
    /// payhub asked and got no answer (a timeout): the outcome is not known yet.
    Unknown,
    /// Paid.
    Succeeded,
    /// Refused by the gateway or the issuer.
    Declined,
    /// The customer did not pay in time.
    Expired,
    /// Canceled before it was paid.
    Canceled,
}

impl GatewayState {
    /// Every state.
    pub const ALL: [GatewayState; 7] = [
        GatewayState::AwaitingCustomer,
        GatewayState::Challenge,
        GatewayState::Unknown,
        GatewayState::Succeeded,
        GatewayState::Declined,
        GatewayState::Expired,
        GatewayState::Canceled,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayState::AwaitingCustomer => "awaiting_customer",
            GatewayState::Challenge => "challenge",
            GatewayState::Unknown => "unknown",
            GatewayState::Succeeded => "succeeded",
            GatewayState::Declined => "declined",
            GatewayState::Expired => "expired",
            GatewayState::Canceled => "canceled",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<GatewayState> {
        GatewayState::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the gateway's word is final; a final state never changes again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            GatewayState::Succeeded
                | GatewayState::Declined
                | GatewayState::Expired
                | GatewayState::Canceled
        )
    }

    /// The ledger status a final state gives the payment; `None` while open.
    pub fn payment_status(self) -> Option<crate::Status> {
        use crate::Status;
        match self {
            GatewayState::Succeeded => Some(Status::Captured),
            GatewayState::Declined => Some(Status::Denied),
            GatewayState::Expired => Some(Status::Failed),
            GatewayState::Canceled => Some(Status::Canceled),
            GatewayState::AwaitingCustomer | GatewayState::Challenge | GatewayState::Unknown => {
                None
            }
        }
    }
}

impl GatewayState {
    /// What the state means for the money: the outcome of the ledger status
    /// it gives, `Pending` while the gateway's word is not final.
    pub fn outcome(self) -> Outcome {
        self.payment_status()
            .map_or(Outcome::Pending, crate::Status::outcome)
    }
}

/// The progress of a refund at its gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefundState {
    /// Sent; no answer yet, or the answer was lost.
    Unknown,
    /// The money went back.
    Succeeded,
    /// The gateway refused the refund.
    Declined,
}

impl RefundState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Unknown => "unknown",
            RefundState::Succeeded => "succeeded",
            RefundState::Declined => "declined",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<RefundState> {
        [
            RefundState::Unknown,
            RefundState::Succeeded,
            RefundState::Declined,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// Whether the gateway's word is final; only `Unknown` may still change.
    pub fn is_final(self) -> bool {
        self != RefundState::Unknown
    }

    /// The ledger status a final state gives the refund; `None` while unknown.
    pub fn refund_status(self) -> Option<crate::Status> {
        match self {
            RefundState::Succeeded => Some(crate::Status::Done),
            RefundState::Declined => Some(crate::Status::Denied),
            RefundState::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{transition, Status};

    #[test]
    fn names_round_trip() {
        for state in GatewayState::ALL {
            assert_eq!(GatewayState::parse(state.as_str()), Some(state));
        }
        for state in [
            RefundState::Unknown,
            RefundState::Succeeded,
            RefundState::Declined,
        ] {
            assert_eq!(RefundState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn only_final_states_set_a_status_and_each_is_reachable_from_pending() {
        for state in GatewayState::ALL {
            assert_eq!(
                state.is_final(),
                state.payment_status().is_some(),
                "{state:?}"
            );
            if let Some(status) = state.payment_status() {
                assert!(transition(Status::PendingAuthorization, status).is_ok());
            }
        }
        assert_eq!(GatewayState::Unknown.payment_status(), None);
    }

    #[test]
    fn only_a_succeeded_payment_is_paid() {
        use GatewayState::*;
        let table = [
            (AwaitingCustomer, Outcome::Pending),
            (Challenge, Outcome::Pending),
            (Unknown, Outcome::Pending),
            (Succeeded, Outcome::Succeeded),
            (Declined, Outcome::Failed),
            (Expired, Outcome::Failed),
            (Canceled, Outcome::Failed),
        ];
        assert_eq!(table.len(), GatewayState::ALL.len());
        for (state, outcome) in table {
            assert_eq!(state.outcome(), outcome, "{state:?}");
        }
    }
}
