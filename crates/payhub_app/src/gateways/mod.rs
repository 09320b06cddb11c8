//! Payment gateways: the connector interface, the simulated gateways, and the
//! flow that drives a payment through one.
//!
//! - [`kind`]: the gateways by name, and how each is paid (QR or card).
//! - [`connector`]: the trait a real integration implements.
//! - [`account`]: what a merchant's connector account gives a connector.
//! - [`simulated`]: simulated gateways behind that trait (sandbox).
//! - [`flow`]: starting, settling, checking, canceling and refunding; the only
//!   code that turns a gateway's word into ledger changes.

pub mod account;
pub mod connector;
pub mod flow;
pub mod kind;
pub mod simulated;
pub mod stripe;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub use connector::Connector;
pub use kind::{GatewayKind, PayMethod};
use payhub_store::SimulatorStore;
use simulated::{NotificationSink, SimulatedGateway};

/// The connectors payhub routes to, one per gateway kind.
pub struct Gateways {
    connectors: HashMap<GatewayKind, Arc<dyn Connector>>,
    simulators: HashMap<GatewayKind, Arc<SimulatedGateway>>,
}

impl Gateways {
    /// Every gateway simulated (this machine reaches no real one), keeping
    /// their books in `books` so that every node shares one sandbox.
    pub fn simulated(max_latency: Duration, books: Arc<dyn SimulatorStore>) -> Gateways {
        let mut connectors: HashMap<GatewayKind, Arc<dyn Connector>> = HashMap::new();
        let mut simulators = HashMap::new();
        for kind in GatewayKind::ALL {
            let simulator = Arc::new(SimulatedGateway::new(kind, max_latency, books.clone()));
            connectors.insert(kind, simulator.clone());
            simulators.insert(kind, simulator);
        }
        Gateways {
            connectors,
            simulators,
        }
    }

    pub fn connector(&self, kind: GatewayKind) -> Option<Arc<dyn Connector>> {
        self.connectors.get(&kind).cloned()
    }

    /// The simulator behind a kind, for the sandbox endpoints.
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
