//! Payment gateways: the connector interface, the simulated gateways, and the
//! flow that drives a payment through one.
//!
//! - [`kind`]: the gateways by name, and how each is paid (QR or card).
//! - [`connector`]: the trait a real integration implements.
//! - [`account`]: what a merchant's connector account gives a connector;
//!   [`admin`]: adding, rotating and disabling accounts.
//! - [`routing`]: merchants' connector accounts, which one a payment goes
//!   to, and the circuit breaker.
//! - [`simulated`]: simulated gateways behind that trait (sandbox).
//! - [`alipay`], [`stripe`], [`wechatpay`]: the real connectors, each to its
//!   gateway's public API (docs/gateways/).
//! - [`flow`]: starting, settling, checking, canceling and refunding; the only
//!   code that turns a gateway's word into ledger changes.

pub mod account;
pub mod admin;
pub mod alipay;
pub mod connector;
pub mod flow;
pub mod kind;
pub mod routing;
pub mod simulated;
pub mod stripe;
pub mod wechatpay;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use connector::Connector;
pub use kind::{GatewayKind, PayMethod};
use payhub_store::SimulatorStore;
use simulated::{NotificationSink, SimulatedGateway};

/// The real connectors a connector account may name (the simulated one is
/// always there: an account of connector `simulated` uses the sandbox's
/// simulator of its type). docs/GATEWAYS.md describes each.
pub fn connector_types() -> Vec<routing::ConnectorType> {
    vec![
        routing::ConnectorType {
            name: alipay::NAME,
            credentials: alipay::CREDENTIALS,
            // The partner id; which keys it needs depends on its sign type,
            // which building the connector checks.
            required: 1,
            serves: alipay::GATEWAY_TYPES,
            build: |kind, account| {
                let connector = alipay::AlipayConnector::from_account(kind, account)?;
                Ok(Arc::new(connector))
            },
        },
        routing::ConnectorType {
            name: stripe::NAME,
            credentials: stripe::CREDENTIALS,
            required: stripe::CREDENTIALS.len(),
            serves: stripe::GATEWAY_TYPES,
            build: |kind, account| {
                let connector = stripe::StripeConnector::from_account(kind, account)?;
                Ok(Arc::new(connector))
            },
        },
        routing::ConnectorType {
            name: wechatpay::NAME,
            credentials: wechatpay::CREDENTIALS,
            required: wechatpay::CREDENTIALS.len(),
            serves: wechatpay::GATEWAY_TYPES,
            build: |kind, account| {
                let connector = wechatpay::WechatPayConnector::from_account(kind, account)?;
                Ok(Arc::new(connector))
            },
        },
    ]
}

/// The connectors payhub routes to: merchants' connector accounts, and the
/// simulated gateways (one per kind) of the sandbox.
pub struct Gateways {
    simulators: HashMap<GatewayKind, Arc<SimulatedGateway>>,
    /// Merchants' connector accounts (see [`routing`]).
    pub accounts: routing::AccountConnectors,
}

impl Gateways {
    /// The sandbox with no real connector: every payment of a merchant without
    /// accounts goes to a simulated gateway, keeping its books in `books` so
    /// that every node shares one sandbox.
    pub fn simulated(max_latency: Duration, books: Arc<dyn SimulatorStore>) -> Gateways {
        Gateways::new(max_latency, books, Vec::new(), true)
    }

    /// The gateways of a node: the connector types it can build accounts
    /// of, and whether it runs the sandbox (simulators serve merchants
    /// without accounts) or production (they are refused).
    pub fn new(
        max_latency: Duration,
        books: Arc<dyn SimulatorStore>,
        types: Vec<routing::ConnectorType>,
        sandbox: bool,
    ) -> Gateways {
        let simulators = GatewayKind::ALL
            .into_iter()
            .map(|kind| {
                let simulator = Arc::new(SimulatedGateway::new(kind, max_latency, books.clone()));
                (kind, simulator)
            })
            .collect();
        Gateways {
            simulators,
            accounts: routing::AccountConnectors::new(types, sandbox),
        }
    }

    /// The simulator behind a kind: the sandbox's connector, and what the
    /// sandbox endpoints settle payments on.
    pub fn simulator(&self, kind: GatewayKind) -> Option<Arc<SimulatedGateway>> {
        self.simulators.get(&kind).cloned()
    }

    /// Points every simulator's notifications at payhub.
    pub fn connect_simulators(&self, sink: NotificationSink) {
        for simulator in self.simulators.values() {
            simulator.connect(Some(sink.clone()));
        }
    }

    /// Disconnects the simulators (at shutdown).
    pub fn disconnect_simulators(&self) {
        for simulator in self.simulators.values() {
            simulator.connect(None);
        }
    }
}
