//! Which of a merchant's connector accounts a new payment goes to, and when
//! an account that stops answering is avoided (a circuit breaker).
//!
//! Only new payments are routed: a payment already sent to an account stays
//! with it for every later call, so a payment whose outcome is unknown is
//! never sent to a second gateway (that could charge twice).

use chrono::{DateTime, Duration, Utc};

use crate::Money;

/// One account a payment could go to, as the routing rule sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate<'a> {
    /// Lower is tried first.
    pub priority: i64,
    /// Share among the healthy accounts of one priority (an A/B split).
    pub weight: i64,
    pub min_amount_minor: Option<i64>,
    pub max_amount_minor: Option<i64>,
    /// The only currency it takes; `None` for any.
    pub currency: Option<&'a str>,
    pub enabled: bool,
    pub health: Health,
}

/// The circuit breaker's state of one account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// Consecutive calls that got no answer.
    pub failures: i64,
    /// Until when new payments avoid the account.
    pub unhealthy_until: Option<DateTime<Utc>>,
}

impl Health {
    pub fn is_healthy(&self, now: DateTime<Utc>) -> bool {
        self.unhealthy_until.is_none_or(|until| until <= now)
    }
}

impl Candidate<'_> {
    /// Whether the account's rules take this amount.
    fn takes(&self, amount: Money) -> bool {
        let minor = amount.amount_minor();
        self.enabled
            && self.min_amount_minor.is_none_or(|min| minor >= min)
            && self.max_amount_minor.is_none_or(|max| minor <= max)
            && self
                .currency
                .is_none_or(|code| code == amount.currency().code())
    }
}

/// The index of the account a new payment of `amount` goes to, or `None`
/// when no account's rules take it.
///
/// Among the accounts whose rules take the amount, the healthy ones of the
/// lowest priority share the payments by weight; `split_key` (the payment's
/// id) picks one, so the same payment always picks the same account and a
/// split of many payments follows the weights. When every account that
/// takes the amount is unhealthy, the one that becomes healthy soonest is
/// tried: a payment is not refused only because its gateways were slow a
/// moment ago.
pub fn choose(
    candidates: &[Candidate<'_>],
    amount: Money,
    now: DateTime<Utc>,
    split_key: u64,
) -> Option<usize> {
    let taking: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].takes(amount))
        .collect();
    let healthy: Vec<usize> = taking
        .iter()
        .copied()
        .filter(|&i| candidates[i].health.is_healthy(now))
        .collect();
    let Some(best) = healthy.iter().map(|&i| candidates[i].priority).min() else {
        return taking
            .into_iter()
            .min_by_key(|&i| (candidates[i].health.unhealthy_until, candidates[i].priority));
    };
    let group: Vec<usize> = healthy
        .into_iter()
        .filter(|&i| candidates[i].priority == best)
        .collect();
    let weight = |i: usize| u64::try_from(candidates[i].weight.max(1)).unwrap_or(1);
    let total: u64 = group.iter().map(|&i| weight(i)).sum();
    let mut point = split_key % total.max(1);
    for &i in &group {
        if point < weight(i) {
            return Some(i);
        }
        point -= weight(i);
    }
    group.last().copied()
}

/// When an account is avoided: after `threshold` consecutive calls without
/// an answer it is unhealthy for `cooldown`; after that the next payment
/// tries it again, and one more failure makes it unhealthy again at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Breaker {
    pub threshold: i64,
    pub cooldown: Duration,
}

impl Default for Breaker {
    fn default() -> Self {
        Breaker {
            threshold: 5,
            cooldown: Duration::seconds(30),
        }
    }
}

impl Breaker {
    /// The account's health after a call that did (`answered`) or did not get
    /// an answer; `None` when it does not change (nothing to write).
    pub fn after_call(&self, health: Health, answered: bool, now: DateTime<Utc>) -> Option<Health> {
        if answered {
            return (health != Health::default()).then_some(Health::default());
        }
        let failures = health.failures.saturating_add(1);
        let unhealthy_until = if failures >= self.threshold {
            Some(now + self.cooldown)
        } else {
            health.unhealthy_until
        };
        Some(Health {
            failures,
            unhealthy_until,
        })
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken fixture"
)]
mod tests {
    use super::*;
    use crate::Currency;

    fn hkd(minor: i64) -> Money {
        Money::from_minor(minor, Currency::parse("HKD").unwrap()).unwrap()
    }

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + second, 0).unwrap()
    }

    fn account(priority: i64, weight: i64) -> Candidate<'static> {
        Candidate {
            priority,
            weight,
            min_amount_minor: None,
            max_amount_minor: None,
            currency: None,
            enabled: true,
            health: Health::default(),
        }
    }

    fn unhealthy(mut candidate: Candidate<'static>, until: i64) -> Candidate<'static> {
        candidate.health = Health {
            failures: 5,
            unhealthy_until: Some(at(until)),
        };
        candidate
    }

    #[test]
    fn the_lowest_priority_that_takes_the_payment_wins() {
        let small_only = Candidate {
            max_amount_minor: Some(10_000),
            ..account(0, 1)
        };
        let usd_only = Candidate {
            currency: Some("USD"),
            ..account(0, 1)
        };
        let off = Candidate {
            enabled: false,
            ..account(0, 1)
        };
        let big_only = Candidate {
            min_amount_minor: Some(10_001),
            ..account(1, 1)
        };
        let table: Vec<(&str, Vec<Candidate>, i64, Option<usize>)> = vec![
            (
                "first priority",
                vec![account(2, 1), account(1, 1)],
                100,
                Some(1),
            ),
            (
                "amount within the range",
                vec![small_only.clone(), big_only.clone()],
                10_000,
                Some(0),
            ),
            (
                "amount over the range goes on",
                vec![small_only.clone(), big_only.clone()],
                10_001,
                Some(1),
            ),
            (
                "another currency goes on",
                vec![usd_only.clone(), account(5, 1)],
                100,
                Some(1),
            ),
            (
                "a disabled account is skipped",
                vec![off.clone(), account(5, 1)],
                100,
                Some(1),
            ),
            ("nothing takes it", vec![usd_only, off], 100, None),
            ("no accounts", vec![], 100, None),
        ];
        for (name, candidates, minor, expected) in table {
            assert_eq!(
                choose(&candidates, hkd(minor), at(0), 7),
                expected,
                "{name}"
            );
        }
    }

    #[test]
    fn an_unhealthy_account_is_avoided_until_its_cooldown_ends() {
        let candidates = vec![unhealthy(account(0, 1), 30), account(1, 1)];
        assert_eq!(choose(&candidates, hkd(100), at(10), 0), Some(1));
        assert_eq!(
            choose(&candidates, hkd(100), at(30), 0),
            Some(0),
            "cooldown over"
        );
        let all_down = vec![unhealthy(account(0, 1), 50), unhealthy(account(1, 1), 20)];
        assert_eq!(
            choose(&all_down, hkd(100), at(10), 0),
            Some(1),
            "the one healthy soonest is tried"
        );
    }

    #[test]
    fn a_split_follows_the_weights_and_is_stable_per_payment() {
        let candidates = vec![account(0, 80), account(0, 20), account(1, 100)];
        let mut counts = [0_u32; 3];
        for key in 0..1000_u64 {
            let chosen = choose(&candidates, hkd(100), at(0), key).unwrap();
            counts[chosen] += 1;
            assert_eq!(choose(&candidates, hkd(100), at(0), key), Some(chosen));
        }
        assert_eq!(counts, [800, 200, 0]);
    }

    #[test]
    fn the_breaker_opens_after_the_threshold_and_closes_on_an_answer() {
        let breaker = Breaker {
            threshold: 3,
            cooldown: Duration::seconds(30),
        };
        let mut health = Health::default();
        assert_eq!(
            breaker.after_call(health, true, at(0)),
            None,
            "nothing to write"
        );
        for _ in 0..2 {
            health = breaker.after_call(health, false, at(0)).unwrap();
            assert!(health.is_healthy(at(0)));
        }
        health = breaker.after_call(health, false, at(5)).unwrap();
        assert_eq!(health.unhealthy_until, Some(at(35)));
        assert!(!health.is_healthy(at(34)));
        assert!(health.is_healthy(at(35)));
        let again = breaker.after_call(health, false, at(40)).unwrap();
        assert_eq!(
            again.unhealthy_until,
            Some(at(70)),
            "one more failure reopens it"
        );
        assert_eq!(
            breaker.after_call(again, true, at(41)),
            Some(Health::default())
        );
    }
}
