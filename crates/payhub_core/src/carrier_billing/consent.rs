//! The subscriber's consent: the one-time code and how many wrong codes a
//! consent survives.

use super::state::TelcoState;

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

/// Wrong codes a consent still survives after `attempts` of them, as the
/// consent page tells the subscriber.
pub fn attempts_left(attempts: i64) -> i64 {
    MAX_OTP_ATTEMPTS.saturating_sub(attempts).max(0)
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
    fn attempts_left_count_down_to_zero() {
        let table = [(0, 5), (1, 4), (4, 1), (5, 0), (9, 0), (i64::MIN, i64::MAX)];
        for (attempts, left) in table {
            assert_eq!(attempts_left(attempts), left, "{attempts}");
        }
    }
}
