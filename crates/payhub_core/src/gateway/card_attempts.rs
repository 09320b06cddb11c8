//! Paying by card on the hosted page: how many cards a customer may try.
//!
//! A declined card does not end a payment while the customer may still try
//! another one: like a Stripe PaymentIntent that goes back to waiting for a
//! payment method, the payment stays pending, nothing is charged and nobody
//! is told it ended. The decline that uses the last attempt, or one that
//! comes after the payment's time ran out, ends it declined.
//!
//! Each attempt is claimed before the gateway is asked ([`CardAttempts::claim`]),
//! under the row's lock, so two submissions at once never both reach the
//! gateway and never together count past the limit.

use chrono::{DateTime, Utc};

use super::state::GatewayState;

/// The customer action stored for a card payment waiting for its card.
pub const CARD_ACTION: &str = "card";

/// How many cards a customer may try on one payment (at least one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CardAttempts {
    allowed: u32,
}

/// What a claim of a card attempt found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardClaim {
    /// The attempt may go to the gateway; it is this payment's `attempt`th (from 1).
    Granted { attempt: u32 },
    /// The payment is not waiting for a card (paid, ended, in a 3-D Secure
    /// step, or its outcome is being checked).
    NotWaiting,
    /// Another card of this payment is at the gateway right now.
    Busy,
    /// Every attempt was used (the last one's answer is not known yet).
    Exhausted,
}

impl CardAttempts {
    /// The default: three cards, as the settings document it.
    pub const DEFAULT: CardAttempts = CardAttempts { allowed: 3 };
    /// More than this many cards per payment is what card testing (trying
    /// stolen numbers on someone's checkout) looks like.
    pub const MAX: u32 = 10;

    /// `allowed` cards per payment; `None` outside 1 to [`Self::MAX`].
    pub fn new(allowed: u32) -> Option<CardAttempts> {
        (1..=Self::MAX)
            .contains(&allowed)
            .then_some(CardAttempts { allowed })
    }

    /// How many cards may be tried.
    pub fn allowed(self) -> u32 {
        self.allowed
    }

    /// Whether a card may go to the gateway now, for a payment in `state`
    /// whose customer action is `action`, after `used` attempts, with a
    /// claim on it held until `claimed_until` (a claim past its time belonged
    /// to a call that ended or a node that died).
    ///
    /// Refusals, in order: not waiting for a card, another card at the
    /// gateway, no attempt left.
    pub fn claim(
        self,
        state: GatewayState,
        action: Option<&str>,
        used: u32,
        claimed_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> CardClaim {
        if state != GatewayState::AwaitingCustomer || action != Some(CARD_ACTION) {
            CardClaim::NotWaiting
        } else if claimed_until.is_some_and(|until| until > now) {
            CardClaim::Busy
        } else if used >= self.allowed {
            CardClaim::Exhausted
        } else {
            CardClaim::Granted { attempt: used + 1 }
        }
    }

    /// What a declined card leaves the payment in: waiting for another card
    /// while `attempt` (the declined one's number, from 1) was not the last
    /// allowed and the payment has not expired; declined otherwise.
    ///
    /// The decision is about the attempt that was declined, not the latest
    /// count: an earlier attempt's decline never ends a payment whose later
    /// attempt is still at the gateway.
    pub fn after_decline(
        self,
        attempt: u32,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> GatewayState {
        if attempt < self.allowed && now < expires_at {
            GatewayState::AwaitingCustomer
        } else {
            GatewayState::Declined
        }
    }
}

impl Default for CardAttempts {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use GatewayState::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second)
            .single()
            .unwrap_or_else(|| unreachable!("a valid time"))
    }

    fn attempts(allowed: u32) -> CardAttempts {
        CardAttempts::new(allowed).unwrap_or_else(|| unreachable!("{allowed} is allowed"))
    }

    #[test]
    fn between_one_and_ten_cards_may_be_allowed() {
        assert_eq!(CardAttempts::new(0), None);
        assert_eq!(CardAttempts::new(1).map(CardAttempts::allowed), Some(1));
        assert_eq!(CardAttempts::new(10).map(CardAttempts::allowed), Some(10));
        assert_eq!(CardAttempts::new(11), None);
        assert_eq!(CardAttempts::default().allowed(), 3);
    }

    #[test]
    fn a_decline_with_attempts_and_time_left_keeps_the_payment_waiting() {
        let expires = at(30);
        // (allowed, attempt declined, now, what the payment becomes)
        let table = [
            (3, 1, at(0), AwaitingCustomer),
            (3, 2, at(0), AwaitingCustomer),
            (3, 3, at(0), Declined),
            // An earlier attempt's late decline while a later one is out.
            (3, 1, at(29), AwaitingCustomer),
            // Time is up: the decline ends it, attempts left or not.
            (3, 1, at(30), Declined),
            (3, 2, at(59), Declined),
            // One attempt: every decline is final, as before attempts existed.
            (1, 1, at(0), Declined),
            // A count the limit was lowered under still ends it.
            (2, 5, at(0), Declined),
            // A row from before attempts were counted (0) waits.
            (3, 0, at(0), AwaitingCustomer),
        ];
        for (allowed, attempt, now, want) in table {
            assert_eq!(
                attempts(allowed).after_decline(attempt, expires, now),
                want,
                "{allowed} allowed, attempt {attempt} at {now}"
            );
        }
    }

    #[test]
    fn an_attempt_is_granted_only_to_a_free_payment_waiting_for_a_card() {
        let card = Some(CARD_ACTION);
        let free = None;
        let live = Some(at(10));
        let lapsed = Some(at(5));
        let now = at(5);
        // (state, action, used, claimed until, claim)
        let table = [
            (
                AwaitingCustomer,
                card,
                0,
                free,
                CardClaim::Granted { attempt: 1 },
            ),
            (
                AwaitingCustomer,
                card,
                2,
                free,
                CardClaim::Granted { attempt: 3 },
            ),
            (
                AwaitingCustomer,
                card,
                2,
                lapsed,
                CardClaim::Granted { attempt: 3 },
            ),
            (AwaitingCustomer, card, 1, live, CardClaim::Busy),
            (AwaitingCustomer, card, 3, free, CardClaim::Exhausted),
            // Busy comes before exhausted: the last attempt is still out.
            (AwaitingCustomer, card, 3, live, CardClaim::Busy),
            (
                AwaitingCustomer,
                Some("weixin://qr"),
                0,
                free,
                CardClaim::NotWaiting,
            ),
            (AwaitingCustomer, None, 0, free, CardClaim::NotWaiting),
            (Challenge, Some("challenge"), 1, free, CardClaim::NotWaiting),
            (Unknown, card, 1, free, CardClaim::NotWaiting),
            (Succeeded, card, 1, free, CardClaim::NotWaiting),
            (Declined, card, 3, free, CardClaim::NotWaiting),
            (Expired, card, 0, free, CardClaim::NotWaiting),
            (Canceled, card, 0, free, CardClaim::NotWaiting),
        ];
        for (state, action, used, until, want) in table {
            assert_eq!(
                attempts(3).claim(state, action, used, until, now),
                want,
                "{state:?} {action:?} used {used} claimed until {until:?}"
            );
        }
    }
}
