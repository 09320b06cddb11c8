//! The settings the use cases read. The server's settings tree builds them
//! from its file, environment and flags (`payhub_server::config`).

use std::sync::Arc;
use std::time::Duration;

use payhub_core::gateway::routing::Breaker;
use payhub_core::gateway::{CardAttempts, CheckPolicy};

use crate::callback_policy::CallbackPolicy;

/// What the use cases and workers need to know.
#[derive(Clone, Debug)]
pub struct ServiceSettings {
    /// The address customers and listeners reach payhub at (links in pages,
    /// events and SMS).
    pub public_base_url: String,
    pub gateways: GatewaySettings,
    pub hub: HubSettings,
    pub carrier_billing: CarrierBillingSettings,
    /// The schedule of merchant webhooks acknowledged with `{"errorCode":"0"}`
    /// (seed 003: a fixed interval and a number of attempts).
    pub merchant_webhooks: WebhookSchedule,
    /// Which callback addresses deliveries may reach.
    pub callback_policy: Arc<CallbackPolicy>,
    /// How long a completed idempotency key is kept.
    pub idempotency_retention: Duration,
    /// How long a seen request signature is kept (twice the timestamp window).
    pub signature_retention: Duration,
}

/// How payhub talks to gateways.
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// How long a QR (wallet, FPS) or card payment waits for the customer.
    pub qr_expiry: Duration,
    /// How long one gateway call may take before its outcome counts as unknown.
    pub call_timeout: Duration,
    /// The delay before asking again about an unknown outcome; doubles per check.
    pub check_base: Duration,
    /// The longest delay between two checks.
    pub check_max: Duration,
    /// The simulated gateways answer after a random delay up to this.
    pub simulated_latency: Duration,
    /// How many cards a customer may try on one payment on the hosted card
    /// page; a decline before the last keeps the payment waiting.
    pub card_attempts: CardAttempts,
    /// When a connector account that stops answering is avoided, and for
    /// how long (docs/GATEWAYS.md, "The circuit breaker").
    pub breaker: Breaker,
}

impl GatewaySettings {
    /// When payhub asks a gateway (or the carrier) again about an unknown
    /// outcome: the core's rule, with these settings.
    pub fn check_policy(&self) -> CheckPolicy {
        CheckPolicy {
            call_timeout: self.call_timeout,
            check_base: self.check_base,
            check_max: self.check_max,
        }
    }
}

/// How long a carrier-billing transaction waits for its next step.
#[derive(Clone, Debug)]
pub struct CarrierBillingSettings {
    /// How long the subscriber has to consent.
    pub consent_ttl: Duration,
    /// How long a reservation waits for its commit before it is released.
    pub reservation_ttl: Duration,
}

/// How hub notifications are retried.
#[derive(Clone, Debug)]
pub struct HubSettings {
    /// The delay before the second attempt; each later delay doubles it.
    pub retry_base: Duration,
    /// The longest delay between two attempts.
    pub retry_max: Duration,
    /// Attempts before a delivery is given up (marked dead).
    pub max_attempts: u32,
    /// How long one attempt may take.
    pub request_timeout: Duration,
    /// How often the workers look for work when nothing woke them.
    pub poll_interval: Duration,
}

impl Default for HubSettings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(3600),
            max_attempts: 15,
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// A fixed retry schedule.
#[derive(Clone, Copy, Debug)]
pub struct WebhookSchedule {
    /// The delay between two attempts.
    pub interval: Duration,
    /// Attempts before giving up.
    pub attempts: u32,
}
