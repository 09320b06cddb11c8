//! Stripe as payhub's card acquirer (`VMPAY`, `UNIONPAY`), through the
//! PaymentIntents API (docs.stripe.com/api, version [`API_VERSION`]).
//!
//! - [`amount`]: payhub's minor units to Stripe's `amount` and back.
//! - [`client`]: authenticated, versioned, idempotent form-encoded calls.
//! - [`wire`]: Stripe's objects and what their states mean to payhub.
//! - [`webhook`]: `Stripe-Signature` verification.
//! - `connector`: the [`Connector`](super::Connector) operations.
//!
//! See `docs/gateways/stripe.md` for which operation serves which method.

pub mod amount;
pub mod client;
mod connector;
pub mod webhook;
pub mod wire;

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use payhub_core::{PaymentId, RefundId};
use secrecy::SecretString;
use url::Url;

use super::account::{AccountConfig, AccountError};
use super::GatewayKind;
use client::{Api, Form};

/// The connector's name in a connector account.
pub const NAME: &str = "stripe";

/// The Stripe API version every request pins (`Stripe-Version`), so that an
/// account's default version changing at Stripe changes nothing here.
pub const API_VERSION: &str = "2024-06-20";

/// The credentials a Stripe account is configured with, required first:
/// - `secret_key`: the account's secret API key, `sk_live_…` or `sk_test_…`
///   (a restricted key `rk_…` with PaymentIntents and Refunds write access
///   works too); sent as `Authorization: Bearer`.
/// - `webhook_secret`: the signing secret of the webhook endpoint registered
///   at Stripe for this account's notify URL, `whsec_…`; verifies
///   `Stripe-Signature`.
pub const CREDENTIALS: &[&str] = &["secret_key", "webhook_secret"];

/// The gateway types Stripe serves: card payments on payhub's card form.
pub const GATEWAY_TYPES: &[GatewayKind] = &[GatewayKind::Vmpay, GatewayKind::Unionpay];

/// How long Stripe keeps an idempotency key's first answer (24 hours, per
/// "Idempotent requests"), less a margin: past it, a replayed create would
/// create a second PaymentIntent, so payhub no longer replays.
const REPLAY_WINDOW: Duration = Duration::from_secs(23 * 3600);

/// A create whose answer was lost, kept so a query can replay it verbatim
/// under the same `Idempotency-Key`. It holds no card data (card numbers go
/// only in confirms, which are never kept).
struct PendingCreate {
    form: Form,
    customer: Option<CustomerStep>,
    sent_at: Instant,
}

/// How a start that saves its card gets its Customer: one named by a card
/// saved earlier, or a create under its own idempotency key (replayed with
/// the start, so a replay finds the same Customer and the same
/// PaymentIntent).
#[derive(Clone, Debug)]
enum CustomerStep {
    Existing(String),
    Create { form: Form, key: String },
}

/// Stripe behind the [`Connector`](super::Connector) trait, for one account.
pub struct StripeConnector {
    kind: GatewayKind,
    api: Api,
    webhook_secret: SecretString,
    /// Where Stripe sends the customer back after a 3-D Secure page.
    return_url: Url,
    pending: Mutex<HashMap<PaymentId, PendingCreate>>,
}

impl StripeConnector {
    /// The connector for gateway type `kind` of a Stripe `account`.
    pub fn from_account(
        kind: GatewayKind,
        account: &AccountConfig,
    ) -> Result<StripeConnector, AccountError> {
        AccountError::unless_served(NAME, GATEWAY_TYPES, kind)?;
        let secret_key = account.credential("secret_key")?;
        let webhook_secret = account.credential("webhook_secret")?;
        check_prefix("secret_key", secret_key, &["sk_", "rk_"])?;
        check_prefix("webhook_secret", webhook_secret, &["whsec_"])?;
        Ok(StripeConnector {
            kind,
            api: Api::new(&account.base_url, secret_key.clone(), account.http.clone()),
            webhook_secret: webhook_secret.clone(),
            return_url: account.notify_url.clone(),
            pending: Mutex::new(HashMap::new()),
        })
    }

    /// Where Stripe sends the customer back after the issuer's 3-D Secure
    /// page (`return_url` of the confirm). It defaults to the account's
    /// notify URL; the hosted page's own return address belongs here.
    pub fn with_return_url(mut self, return_url: Url) -> StripeConnector {
        self.return_url = return_url;
        self
    }

    fn remember_create(&self, payment_id: PaymentId, form: &Form, customer: Option<&CustomerStep>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.retain(|_, create| create.sent_at.elapsed() < REPLAY_WINDOW);
        pending.insert(
            payment_id,
            PendingCreate {
                form: form.clone(),
                customer: customer.cloned(),
                sent_at: Instant::now(),
            },
        );
    }

    fn forget_create(&self, payment_id: PaymentId) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.remove(&payment_id);
    }

    /// The create to replay for `payment_id`, while its key is still Stripe's.
    fn replayable_create(&self, payment_id: PaymentId) -> Option<(Form, Option<CustomerStep>)> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .get(&payment_id)
            .filter(|create| create.sent_at.elapsed() < REPLAY_WINDOW)
            .map(|create| (create.form.clone(), create.customer.clone()))
    }
}

/// The `Idempotency-Key` of a payment's PaymentIntent create: the same for
/// every retry of it, and never another payment's.
pub fn payment_key(payment_id: PaymentId) -> String {
    format!("payhub-payment-{payment_id}")
}

/// The `Idempotency-Key` of the Customer made for payhub's customer
/// `customer_ref` (an APS account): the same Customer for every start of it
/// within Stripe's 24 hours.
pub fn customer_key(customer_ref: &str) -> String {
    format!("payhub-customer-{customer_ref}")
}

/// The `Idempotency-Key` of a refund's create.
pub fn refund_key(refund_id: RefundId) -> String {
    format!("payhub-refund-{refund_id}")
}

fn check_prefix(
    name: &'static str,
    value: &SecretString,
    prefixes: &[&str],
) -> Result<(), AccountError> {
    let text = secrecy::ExposeSecret::expose_secret(value);
    if prefixes.iter().any(|prefix| text.starts_with(prefix)) && text.len() > 8 {
        Ok(())
    } else {
        Err(AccountError::Invalid {
            name,
            why: format!("expected a key starting with {}", prefixes.join(" or ")),
        })
    }
}

impl fmt::Debug for StripeConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StripeConnector")
            .field("kind", &self.kind)
            .field("secret_key", &"[redacted]")
            .field("webhook_secret", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn account(credentials: &[(&str, &str)]) -> AccountConfig {
        AccountConfig {
            account_id: "ca_test".into(),
            base_url: Url::parse("http://127.0.0.1:9/").unwrap(),
            notify_url: Url::parse("http://127.0.0.1:9/notify").unwrap(),
            live: false,
            credentials: credentials
                .iter()
                .map(|(k, v)| ((*k).to_owned(), SecretString::from((*v).to_owned())))
                .collect::<BTreeMap<_, _>>(),
            http: reqwest::Client::new(),
        }
    }

    const GOOD: &[(&str, &str)] = &[
        ("secret_key", "sk_test_0123456789"),
        ("webhook_secret", "whsec_0123456789"),
    ];

    #[test]
    fn builds_for_card_types_only() {
        for kind in GATEWAY_TYPES {
            assert!(StripeConnector::from_account(*kind, &account(GOOD)).is_ok());
        }
        assert_eq!(
            StripeConnector::from_account(GatewayKind::Wxpay, &account(GOOD)).err(),
            Some(AccountError::Unsupported {
                connector: NAME,
                kind: "WXPAY"
            })
        );
    }

    #[test]
    fn refuses_missing_or_malformed_credentials() {
        let build = |creds: &[(&str, &str)]| {
            StripeConnector::from_account(GatewayKind::Vmpay, &account(creds)).err()
        };
        assert_eq!(
            build(&[("webhook_secret", "whsec_0123456789")]),
            Some(AccountError::Missing("secret_key"))
        );
        assert_eq!(
            build(&[("secret_key", "sk_test_0123456789")]),
            Some(AccountError::Missing("webhook_secret"))
        );
        assert!(matches!(
            build(&[
                ("secret_key", "pk_test_0123456789"),
                ("webhook_secret", "whsec_0123456789")
            ]),
            Some(AccountError::Invalid {
                name: "secret_key",
                ..
            })
        ));
        assert!(matches!(
            build(&[
                ("secret_key", "sk_test_0123456789"),
                ("webhook_secret", "0123456789")
            ]),
            Some(AccountError::Invalid {
                name: "webhook_secret",
                ..
            })
        ));
    }

    #[test]
    fn debug_shows_no_secret() {
        let connector = StripeConnector::from_account(GatewayKind::Vmpay, &account(GOOD)).unwrap();
        let printed = format!("{connector:?}");
        assert!(!printed.contains("sk_test_0123456789"), "{printed}");
        assert!(!printed.contains("whsec_0123456789"), "{printed}");
    }

    #[test]
    fn idempotency_keys_are_stable_per_payment_and_refund() {
        let id = PaymentId::from_i64(42).unwrap();
        assert_eq!(payment_key(id), payment_key(id));
        assert_eq!(payment_key(id), "payhub-payment-42");
        assert_eq!(
            refund_key(RefundId::from_i64(42).unwrap()),
            "payhub-refund-42"
        );
    }
}
