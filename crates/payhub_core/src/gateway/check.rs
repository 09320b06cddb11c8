//! Checking a payment whose outcome payhub does not know.
//!
//! A call to a gateway that gets no answer in time may or may not have acted
//! there, so its outcome is `unknown`, never `failed`: payhub asks the
//! gateway again, backing off, until it answers. [`CheckPolicy`] says when;
//! the functions below say what a call that failed means, per operation.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::state::{GatewayState, RefundState};

/// Why a call to a gateway gave no report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallFailure {
    /// No answer in time, or one that cannot be trusted: the gateway may or
    /// may not have acted.
    NoAnswer,
    /// The gateway refused the request; nothing happened there.
    Refused,
    /// The gateway has no such payment or refund.
    NotFound,
}

/// When payhub asks a gateway again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckPolicy {
    /// How long one call to a gateway may take.
    pub call_timeout: Duration,
    /// The delay before the first re-check; it doubles with each check.
    pub check_base: Duration,
    /// The longest delay between two checks.
    pub check_max: Duration,
}

impl CheckPolicy {
    /// When to ask the gateway again after `checks` checks that gave no
    /// final answer: `check_base × 2^checks`, at most `check_max`.
    pub fn retry_after(&self, checks: i64, now: DateTime<Utc>) -> DateTime<Utc> {
        let exponent = u32::try_from(checks.clamp(0, 20)).unwrap_or(20);
        let delay = self
            .check_base
            .saturating_mul(2_u32.saturating_pow(exponent))
            .min(self.check_max);
        now + chrono::Duration::from_std(delay).unwrap_or_default()
    }

    /// The first check of a freshly written row: after the call that follows
    /// has had its full time, so the checker never races it.
    pub fn first_check(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.call_timeout + self.check_base).unwrap_or_default()
    }

    /// When to check a payment that a report left in `state`: soon (backing
    /// off) when the outcome is unknown; when it should have expired (or
    /// soon, if that is past) while the customer or a challenge is awaited;
    /// never once final.
    pub fn next_check(
        &self,
        state: GatewayState,
        expires_at: DateTime<Utc>,
        checks: i64,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        match state {
            GatewayState::Unknown => Some(self.retry_after(checks, now)),
            GatewayState::AwaitingCustomer | GatewayState::Challenge => {
                Some(expires_at.max(self.retry_after(checks, now)))
            }
            _ => None,
        }
    }

    /// When to check a refund left in `state`: only while it is unknown.
    pub fn next_refund_check(
        &self,
        state: RefundState,
        checks: i64,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        (state == RefundState::Unknown).then(|| self.retry_after(checks, now))
    }
}

/// The error code and message payhub records for an outcome it decided itself.
pub type DecidedError = (&'static str, &'static str);

/// A step (a 3-D Secure answer, a card) whose call failed: whatever the
/// failure, the outcome is unknown until a check tells.
pub fn after_failed_step(_failure: CallFailure) -> GatewayState {
    GatewayState::Unknown
}

/// A check (query) whose call failed, on a payment in `current`: a gateway
/// that does not have the payment once the payment's time is over
/// (`past_expiry`) never will, so nothing was paid (`expired`). Before that,
/// "not found" may only mean the start is still on its way to the gateway
/// (its answer was lost, the request is slow): the payment stays as it was
/// and is asked about again. Any other failure leaves it as it was too.
pub fn after_failed_query(
    failure: CallFailure,
    current: GatewayState,
    past_expiry: bool,
) -> (GatewayState, Option<DecidedError>) {
    match failure {
        CallFailure::NotFound if past_expiry => (
            GatewayState::Expired,
            Some(("NOT_FOUND", "the gateway has no such payment")),
        ),
        CallFailure::NotFound | CallFailure::NoAnswer | CallFailure::Refused => (current, None),
    }
}

/// A cancel whose call failed: a gateway that never had the payment lets it
/// be canceled; otherwise the cancel did not happen (`None`) and the
/// payment's state is being checked.
pub fn after_failed_cancel(failure: CallFailure) -> Option<(GatewayState, DecidedError)> {
    match failure {
        CallFailure::NotFound => Some((
            GatewayState::Canceled,
            ("CANCELED", "canceled before the gateway had it"),
        )),
        CallFailure::NoAnswer | CallFailure::Refused => None,
    }
}

/// A refund whose call failed: refused or unknown at the gateway means it was
/// not made; no answer means it may have been, so it is checked.
pub fn after_failed_refund(failure: CallFailure) -> RefundState {
    match failure {
        CallFailure::Refused | CallFailure::NotFound => RefundState::Declined,
        CallFailure::NoAnswer => RefundState::Unknown,
    }
}

/// What a check's query said about a QR payment, as far as getting its
/// code back goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFound {
    /// The order exists and waits for its customer, and the answer carries
    /// no QR payload (a query answer never does).
    WaitingWithoutCode,
    /// The gateway has no such order (yet): the start never reached it, or
    /// (Alipay's precreate) no customer has scanned its code.
    NotFound,
    /// Anything else: paid, closed, a code in the answer, no answer.
    Other,
}

/// Whether a check repeats a QR payment's start, with the very parameters
/// of the first, to get its QR code back: only for a payment shown as a QR
/// code (`shows_qr`) whose start's answer never reached payhub (it holds no
/// customer action), before it expires, when the gateway has the order
/// waiting for its customer or does not have it.
///
/// Repeating is safe because the gateways take the merchant's order number
/// as the order's identity: the same number with the same parameters is the
/// same order (its code again, or the order made now if the first start
/// never arrived), never a second one, and the same number with other
/// parameters is refused (docs/gateways/*.md). A paid or closed order is
/// never re-created, and nothing is repeated past the payment's expiry.
pub fn repeat_start(
    shows_qr: bool,
    holds_action: bool,
    found: QueryFound,
    past_expiry: bool,
) -> bool {
    shows_qr
        && !holds_action
        && !past_expiry
        && matches!(found, QueryFound::WaitingWithoutCode | QueryFound::NotFound)
}

/// What a check that repeated a start to get the QR code back (see
/// [`repeat_start`]) records when the repeat gave no code: a repeat with no
/// answer leaves the payment unknown, so that it is checked again soon
/// rather than at its expiry (a payment waiting for its customer is checked
/// only then), and the code is asked for again; a repeat the gateway
/// refused keeps what the query said.
pub fn after_failed_repeat(failure: CallFailure, queried: GatewayState) -> GatewayState {
    match failure {
        CallFailure::NoAnswer => GatewayState::Unknown,
        CallFailure::Refused | CallFailure::NotFound => queried,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const FAILURES: [CallFailure; 3] = [
        CallFailure::NoAnswer,
        CallFailure::Refused,
        CallFailure::NotFound,
    ];

    fn policy() -> CheckPolicy {
        CheckPolicy {
            call_timeout: Duration::from_secs(10),
            check_base: Duration::from_secs(5),
            check_max: Duration::from_secs(300),
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_else(|| unreachable!("a valid time"))
            + chrono::Duration::seconds(seconds)
    }

    #[test]
    fn the_delay_doubles_up_to_the_maximum() {
        let table = [
            (-3, 5),
            (0, 5),
            (1, 10),
            (2, 20),
            (5, 160),
            (6, 300),
            (20, 300),
            (i64::MAX, 300),
        ];
        for (checks, delay) in table {
            assert_eq!(policy().retry_after(checks, at(0)), at(delay), "{checks}");
        }
        assert_eq!(policy().first_check(at(0)), at(15));
    }

    #[test]
    fn when_each_state_is_checked_next() {
        use GatewayState::*;
        let p = policy();
        let (soon, expiry) = (at(100 + 20), at(1000));
        let table = [
            (Unknown, Some(soon)),
            (AwaitingCustomer, Some(expiry)),
            (Challenge, Some(expiry)),
            (Succeeded, None),
            (Declined, None),
            (Expired, None),
            (Canceled, None),
        ];
        for (state, want) in table {
            assert_eq!(p.next_check(state, expiry, 2, at(100)), want, "{state:?}");
        }
        // An expiry already past gives way to the back-off.
        assert_eq!(
            p.next_check(AwaitingCustomer, at(0), 2, at(100)),
            Some(soon)
        );
        assert_eq!(
            p.next_refund_check(RefundState::Unknown, 0, at(0)),
            Some(at(5))
        );
        assert_eq!(p.next_refund_check(RefundState::Succeeded, 0, at(0)), None);
        assert_eq!(p.next_refund_check(RefundState::Declined, 0, at(0)), None);
    }

    #[test]
    fn what_a_failed_call_means_per_operation() {
        use GatewayState::*;
        for failure in FAILURES {
            assert_eq!(after_failed_step(failure), Unknown, "{failure:?}");
        }
        let table = [
            // (failure, query on a waiting payment, cancel, refund)
            (
                CallFailure::NoAnswer,
                (AwaitingCustomer, None),
                None,
                RefundState::Unknown,
            ),
            (
                CallFailure::Refused,
                (AwaitingCustomer, None),
                None,
                RefundState::Declined,
            ),
            (
                CallFailure::NotFound,
                (
                    Expired,
                    Some(("NOT_FOUND", "the gateway has no such payment")),
                ),
                Some((Canceled, ("CANCELED", "canceled before the gateway had it"))),
                RefundState::Declined,
            ),
        ];
        for (failure, query, cancel, refund) in table {
            assert_eq!(
                after_failed_query(failure, AwaitingCustomer, true),
                query,
                "{failure:?}"
            );
            assert_eq!(
                after_failed_query(failure, Unknown, false),
                (Unknown, None),
                "before expiry nothing is decided: {failure:?}"
            );
            assert_eq!(after_failed_cancel(failure), cancel, "{failure:?}");
            assert_eq!(after_failed_refund(failure), refund, "{failure:?}");
        }
    }

    #[test]
    fn a_qr_start_is_repeated_only_to_get_a_lost_code_back() {
        use QueryFound::*;
        // (shows QR, holds an action, query found, past expiry, repeat)
        let table = [
            (true, false, WaitingWithoutCode, false, true),
            (true, false, NotFound, false, true),
            (true, false, Other, false, false),
            (true, false, WaitingWithoutCode, true, false),
            (true, false, NotFound, true, false),
            (true, true, WaitingWithoutCode, false, false),
            (true, true, NotFound, false, false),
            (false, false, WaitingWithoutCode, false, false),
            (false, false, NotFound, false, false),
        ];
        for (shows_qr, holds_action, found, past_expiry, want) in table {
            assert_eq!(
                repeat_start(shows_qr, holds_action, found, past_expiry),
                want,
                "{shows_qr} {holds_action} {found:?} {past_expiry}"
            );
        }
    }

    #[test]
    fn a_repeat_without_answer_is_checked_again_soon() {
        use GatewayState::*;
        let table = [
            (CallFailure::NoAnswer, AwaitingCustomer, Unknown),
            (CallFailure::NoAnswer, Unknown, Unknown),
            (CallFailure::Refused, AwaitingCustomer, AwaitingCustomer),
            (CallFailure::NotFound, Unknown, Unknown),
            (CallFailure::Refused, Unknown, Unknown),
        ];
        for (failure, queried, want) in table {
            assert_eq!(
                after_failed_repeat(failure, queried),
                want,
                "{failure:?} {queried:?}"
            );
        }
    }
}
