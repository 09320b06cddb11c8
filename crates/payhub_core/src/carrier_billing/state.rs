//! The charging channels of carrier billing and the states of a transaction
//! from consent to settlement on the subscriber's bill, with the one table
//! of the changes a transaction may make ([`TelcoState::may_become`]).
//!
//! [`TelcoState::payment_status`] is the one place a telco state becomes a
//! ledger status, so every dialect sees the same payment the same way.

use crate::gateway::GatewayState;
use crate::Status;

/// How a carrier-billing transaction is charged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The amount is reserved on the bill, then committed or released.
    ReserveAndCommit,
    /// Charged to the bill at once.
    DirectDebit,
    /// Paid by card on the hosted card page.
    CreditCard,
    /// An in-app purchase, one item, charged to the bill at once.
    InAppPurchase,
}

impl Channel {
    /// Every channel. Each dialect numbers or names them its own way (the
    /// telco dialect's `channelId`); the core knows them by what they do.
    pub const ALL: [Channel; 4] = [
        Channel::ReserveAndCommit,
        Channel::DirectDebit,
        Channel::CreditCard,
        Channel::InAppPurchase,
    ];
}

/// What approving a consent books on the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Booking {
    /// Reserve the amount on the bill (then commit or release it).
    Reserve,
    /// Charge the bill at once.
    Charge,
    /// Nothing on the bill: the subscriber pays on the card page.
    Card,
}

impl Channel {
    /// What approving a consent on this channel books.
    pub fn booking(self) -> Booking {
        match self {
            Channel::ReserveAndCommit => Booking::Reserve,
            Channel::DirectDebit | Channel::InAppPurchase => Booking::Charge,
            Channel::CreditCard => Booking::Card,
        }
    }

    /// How many items a request on this channel may have (an in-app
    /// purchase is one item); `None` when any number.
    pub fn required_item_count(self) -> Option<usize> {
        (self == Channel::InAppPurchase).then_some(1)
    }
}

impl Booking {
    /// The state a booking the carrier accepted leaves the transaction in.
    pub fn booked_state(self) -> TelcoState {
        match self {
            Booking::Reserve => TelcoState::Reserved,
            Booking::Charge => TelcoState::Charged,
            Booking::Card => TelcoState::AwaitingCard,
        }
    }
}

/// Where a telco transaction stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TelcoState {
    /// Waiting for the subscriber's consent (SMS link and one-time code).
    ConsentRequested,
    /// Consented; the subscriber is paying on the card page (the card channel).
    AwaitingCard,
    /// The amount is reserved on the bill (reserve and commit), awaiting commit or release.
    Reserved,
    /// A reservation was committed: charged on the bill.
    Committed,
    /// Charged at once (direct debit, in-app purchase) or paid by card.
    Charged,
    /// A reservation was released by the service, or expired.
    Released,
    /// The subscriber declined consent.
    Rejected,
    /// The subscriber did not consent in time.
    Expired,
    /// The bill refused the charge (spending limit) or the card was declined.
    Failed,
    /// The consent SMS could not be sent (the SMS centre refused it or
    /// could not be reached): the subscriber was never asked, nothing was
    /// charged.
    SmsFailed,
}

impl TelcoState {
    pub const ALL: [TelcoState; 10] = [
        TelcoState::ConsentRequested,
        TelcoState::AwaitingCard,
        TelcoState::Reserved,
        TelcoState::Committed,
        TelcoState::Charged,
        TelcoState::Released,
        TelcoState::Rejected,
        TelcoState::Expired,
        TelcoState::Failed,
        TelcoState::SmsFailed,
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
            TelcoState::SmsFailed => "sms_failed",
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

    /// Whether a transaction in this state may change to `to`: the whole
    /// state machine of carrier billing, in one table.
    ///
    /// - consent_requested → reserved, charged, awaiting_card (approved by
    ///   channel), failed (the bill refused), rejected (declined, or too many
    ///   wrong codes), expired (no answer in time), sms_failed (the consent
    ///   SMS could not be sent)
    /// - reserved → committed, released (by the service or its deadline),
    ///   failed (the commit went over the spending limit)
    /// - awaiting_card → charged, failed (the card gateway's end)
    /// - every state may stay as it is (a claim, a wrong code counted, a
    ///   deadline cleared); final states change nothing else.
    pub fn may_become(self, to: TelcoState) -> bool {
        use TelcoState::*;
        if self == to {
            return true;
        }
        match self {
            ConsentRequested => matches!(
                to,
                Reserved | Charged | AwaitingCard | Failed | Rejected | Expired | SmsFailed
            ),
            Reserved => matches!(to, Committed | Released | Failed),
            AwaitingCard => matches!(to, Charged | Failed),
            Committed | Charged | Released | Rejected | Expired | Failed | SmsFailed => false,
        }
    }

    /// The ledger status a change from this state to `to` moves the payment
    /// to; `None` when the ledger keeps its status. A card payment's status
    /// is its gateway's: leaving `awaiting_card` follows the gateway and
    /// does not move the ledger (the gateway already did). A reservation
    /// the carrier then refuses to commit was authorized, not denied: its
    /// payment fails (`authorized → failed`, which the ledger allows).
    pub fn ledger_move(self, to: TelcoState) -> Option<Status> {
        match (self, to) {
            (TelcoState::AwaitingCard, _) => None,
            (TelcoState::Reserved, TelcoState::Failed) => Some(Status::Failed),
            _ => to.payment_status(),
        }
    }

    /// What a transaction's deadline does when it passes in this state.
    pub fn on_deadline(self) -> Deadline {
        match self {
            TelcoState::ConsentRequested => Deadline::Expire,
            TelcoState::Reserved => Deadline::Release,
            _ => Deadline::Clear,
        }
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
            // payhub could not ask the subscriber: its own failure, not a refusal.
            TelcoState::SmsFailed => Some(Status::Failed),
        }
    }
}

/// What a passed deadline does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Deadline {
    /// A consent nobody gave expires.
    Expire,
    /// A reservation nobody committed is released at the carrier.
    Release,
    /// A deadline left on a state that has none is cleared.
    Clear,
}

/// What the carrier answered to a commit or a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CarrierAnswer {
    /// Done as asked.
    Done,
    /// The carrier holds no such reservation.
    UnknownReservation,
    /// The commit would go over the subscriber's spending limit.
    LimitExceeded,
    /// The carrier refused the commit for another reason (a blocked line,
    /// an unknown subscriber, a request it would not take).
    Refused,
    /// No answer: the outcome is unknown.
    Unavailable,
}

/// The state a reservation moves to after a commit (`commit`) or release
/// and the carrier's answer; `None` when nothing is decided (no answer:
/// ask again). A release always ends released; a commit the carrier does
/// not know charged nothing, so it is released too.
pub fn after_settle(commit: bool, answer: CarrierAnswer) -> Option<TelcoState> {
    match (commit, answer) {
        (_, CarrierAnswer::Unavailable) => None,
        (true, CarrierAnswer::Done) => Some(TelcoState::Committed),
        (true, CarrierAnswer::UnknownReservation) => Some(TelcoState::Released),
        (true, CarrierAnswer::LimitExceeded | CarrierAnswer::Refused) => Some(TelcoState::Failed),
        (false, _) => Some(TelcoState::Released),
    }
}

/// The state a card payment (awaiting its card) moves to when its gateway
/// payment ends in `gateway`: charged when paid, failed otherwise.
pub fn after_card(gateway: GatewayState) -> TelcoState {
    if gateway == GatewayState::Succeeded {
        TelcoState::Charged
    } else {
        TelcoState::Failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
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
            (ConsentRequested, SmsFailed),
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

    #[test]
    fn the_table_is_exactly_as_documented() {
        use TelcoState::*;
        let legal = [
            (ConsentRequested, Reserved),
            (ConsentRequested, Charged),
            (ConsentRequested, AwaitingCard),
            (ConsentRequested, Failed),
            (ConsentRequested, Rejected),
            (ConsentRequested, Expired),
            (ConsentRequested, SmsFailed),
            (Reserved, Committed),
            (Reserved, Released),
            (Reserved, Failed),
            (AwaitingCard, Charged),
            (AwaitingCard, Failed),
        ];
        for from in TelcoState::ALL {
            for to in TelcoState::ALL {
                assert_eq!(
                    from.may_become(to),
                    from == to || legal.contains(&(from, to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
        for (from, to) in legal {
            assert!(!from.is_final(), "{from:?} is open");
            // The ledger always follows (or keeps its status while a card
            // pays): every move the table allows is one the ledger allows.
            if let (Some(a), Some(b)) = (from.payment_status(), from.ledger_move(to)) {
                assert!(
                    crate::transition(a, b).is_ok(),
                    "{from:?} -> {to:?}: {a} -> {b}"
                );
            }
        }
    }

    #[test]
    fn leaving_awaiting_card_never_moves_the_ledger() {
        use TelcoState::*;
        for from in TelcoState::ALL {
            for to in TelcoState::ALL {
                let want = match (from, to) {
                    (AwaitingCard, _) => None,
                    (Reserved, Failed) => Some(Status::Failed),
                    _ => to.payment_status(),
                };
                assert_eq!(from.ledger_move(to), want, "{from:?} -> {to:?}");
            }
        }
        assert_eq!(AwaitingCard.ledger_move(Charged), None);
        assert_eq!(
            ConsentRequested.ledger_move(Charged),
            Some(Status::Captured)
        );
    }

    #[test]
    fn each_channel_books_what_it_says() {
        use TelcoState::*;
        let table = [
            (Channel::ReserveAndCommit, Booking::Reserve, Reserved, None),
            (Channel::DirectDebit, Booking::Charge, Charged, None),
            (Channel::CreditCard, Booking::Card, AwaitingCard, None),
            (Channel::InAppPurchase, Booking::Charge, Charged, Some(1)),
        ];
        for (channel, booking, state, items) in table {
            assert_eq!(channel.booking(), booking, "{channel:?}");
            assert_eq!(booking.booked_state(), state, "{channel:?}");
            assert!(ConsentRequested.may_become(state));
            assert_eq!(channel.required_item_count(), items, "{channel:?}");
        }
    }

    #[test]
    fn settling_a_reservation() {
        use CarrierAnswer::*;
        use TelcoState::*;
        let table = [
            (true, Done, Some(Committed)),
            (true, UnknownReservation, Some(Released)),
            (true, LimitExceeded, Some(Failed)),
            (true, Refused, Some(Failed)),
            (true, Unavailable, None),
            (false, Done, Some(Released)),
            (false, UnknownReservation, Some(Released)),
            (false, LimitExceeded, Some(Released)),
            (false, Refused, Some(Released)),
            (false, Unavailable, None),
        ];
        for (commit, answer, want) in table {
            assert_eq!(after_settle(commit, answer), want, "{commit} {answer:?}");
            if let Some(to) = want {
                assert!(Reserved.may_become(to));
            }
        }
    }

    #[test]
    fn a_card_payment_follows_its_gateway_and_deadlines_act_by_state() {
        for gateway in GatewayState::ALL {
            let want = if gateway == GatewayState::Succeeded {
                TelcoState::Charged
            } else {
                TelcoState::Failed
            };
            assert_eq!(after_card(gateway), want, "{gateway:?}");
        }
        for state in TelcoState::ALL {
            let want = match state {
                TelcoState::ConsentRequested => Deadline::Expire,
                TelcoState::Reserved => Deadline::Release,
                _ => Deadline::Clear,
            };
            assert_eq!(state.on_deadline(), want, "{state:?}");
        }
    }
}
