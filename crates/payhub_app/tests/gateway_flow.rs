//! The gateway flow as a use case, without HTTP: a real SQLite store, the
//! simulated gateways and `Services` built as the server builds them.
//!
//! These pin the rules the API tests can only see from outside: an unknown
//! outcome stays unknown (never failed) until the checker learns it, and a
//! notification the gateway repeats changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::Utc;
use payhub_app::callback_policy::CallbackPolicy;
use payhub_app::carrier_billing::CarrierBilling;
use payhub_app::gateways::flow::{self, NewGatewayPayment, StartOutcome};
use payhub_app::gateways::simulated::{NotificationSink, SandboxOutcome};
use payhub_app::gateways::{GatewayKind, Gateways};
use payhub_app::hooks::Hooks;
use payhub_app::lang::Lang;
use payhub_app::secrets::MasterKey;
use payhub_app::settings::{
    CarrierBillingSettings, GatewaySettings, HubSettings, ServiceSettings, WebhookSchedule,
};
use payhub_app::Services;
use payhub_core::{
    Currency, Document, GatewayState, MerchantId, Money, NewPayment, Origin, Payment, Status,
};
use payhub_store::{Merchant, Store};
use tokio::sync::Notify;

/// Services over a fresh SQLite database in `dir`, with calls timing out
/// after 300 ms and a first check right after.
async fn services(dir: &tempfile::TempDir) -> Arc<Services> {
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("flow.db").display());
    let store: Arc<dyn Store> = payhub_store::connect(&url, 4).await.unwrap();
    let gateways = GatewaySettings {
        qr_expiry: Duration::from_secs(600),
        call_timeout: Duration::from_millis(300),
        check_base: Duration::from_millis(10),
        check_max: Duration::from_millis(50),
        simulated_latency: Duration::ZERO,
        card_attempts: payhub_core::gateway::CardAttempts::default(),
        breaker: payhub_core::gateway::routing::Breaker::default(),
    };
    let key = base64::engine::general_purpose::STANDARD.encode([7_u8; 32]);
    let services = Arc::new(Services {
        store: store.clone(),
        gateways: Arc::new(Gateways::simulated(Duration::ZERO, store.clone())),
        carrier_billing: Arc::new(CarrierBilling::simulated(
            store.clone(),
            100_000,
            Duration::ZERO,
            gateways.call_timeout,
        )),
        master_key: Arc::new(MasterKey::from_base64(&key).unwrap()),
        config: Arc::new(ServiceSettings {
            public_base_url: "http://127.0.0.1:1".into(),
            gateways,
            hub: HubSettings::default(),
            carrier_billing: CarrierBillingSettings {
                consent_ttl: Duration::from_secs(600),
                reservation_ttl: Duration::from_secs(600),
            },
            merchant_webhooks: WebhookSchedule {
                interval: Duration::from_secs(1),
                attempts: 1,
            },
            callback_policy: Arc::new(CallbackPolicy::parse("").unwrap()),
            idempotency_retention: Duration::from_secs(3600),
            signature_retention: Duration::from_secs(600),
        }),
        hooks: Hooks::default(),
        outbox_written: Arc::new(Notify::new()),
    });
    // The simulators notify through the same function a gateway's HTTP
    // notification reaches.
    let target = services.clone();
    let sink: NotificationSink = Arc::new(move |kind, body| {
        let services = target.clone();
        Box::pin(async move {
            let _ = flow::receive_notification(&services, kind, &Default::default(), &body).await;
        })
    });
    services.gateways.connect_simulators(sink);
    services
}

async fn merchant(store: &dyn Store) -> MerchantId {
    let id = MerchantId::generate();
    store
        .insert_merchant(&Merchant {
            id: id.clone(),
            name: "flow".into(),
            api_key_hash: "0".repeat(64),
            retail_api_key: format!("rk{}", id.as_str()),
            gateways: vec!["WXPAY".into()],
            retail_signature: "hmac-sha1".into(),
            created_at: Utc::now(),
        })
        .await
        .unwrap();
    id
}

/// A WeChat Pay QR payment of `minor` HKD cents.
fn qr_payment(merchant: &MerchantId, minor: i64) -> NewGatewayPayment {
    let hkd = Currency::parse("HKD").unwrap();
    NewGatewayPayment {
        payment: NewPayment {
            merchant_id: merchant.clone(),
            account_id: "store-1".into(),
            correlator_id: None,
            total_amount: Some(Money::from_minor(minor, hkd).unwrap()),
            amount_decimals: None,
            status: None,
            payment_date: None,
            document: Document::new("{}".into()),
            origin: Origin::new("test"),
        },
        gateway: GatewayKind::Wxpay,
        lang: Lang::En,
        subject: None,
        return_url: None,
        webhook_url: None,
        fail_url: None,
        reference: None,
    }
}

async fn ledger_status(services: &Services, payment: &Payment) -> Status {
    services
        .store
        .find_payment(&payment.merchant_id, payment.id)
        .await
        .unwrap()
        .unwrap()
        .status
}

async fn gateway_state(services: &Services, payment: &Payment) -> GatewayState {
    services
        .store
        .find_gateway_payment(payment.id)
        .await
        .unwrap()
        .unwrap()
        .state
}

#[tokio::test]
async fn a_start_that_times_out_stays_unknown_until_the_checker_asks() {
    let dir = tempfile::tempdir().unwrap();
    let services = services(&dir).await;
    let merchant = merchant(services.store.as_ref()).await;
    // Amounts ending in 408: the simulator does not answer the start in
    // time, but acts on it (the order is open at the gateway).
    let (payment, outcome) = flow::start_payment(&services, qr_payment(&merchant, 10_408))
        .await
        .unwrap();
    assert!(matches!(outcome, StartOutcome::TimedOut), "{outcome:?}");
    assert_eq!(
        gateway_state(&services, &payment).await,
        GatewayState::Unknown
    );
    assert_eq!(
        ledger_status(&services, &payment).await,
        Status::PendingAuthorization,
        "an unknown outcome is never a failure"
    );
    // Once its first check is due, the checker asks and learns the order is open.
    let mut state = GatewayState::Unknown;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        flow::run_checks(&services).await;
        state = gateway_state(&services, &payment).await;
        if state != GatewayState::Unknown {
            break;
        }
    }
    assert_eq!(state, GatewayState::AwaitingCustomer);
    assert_eq!(
        ledger_status(&services, &payment).await,
        Status::PendingAuthorization
    );
    services.gateways.disconnect_simulators();
}

#[tokio::test]
async fn a_paid_payment_stays_paid_whatever_the_gateway_repeats() {
    let dir = tempfile::tempdir().unwrap();
    let services = services(&dir).await;
    let merchant = merchant(services.store.as_ref()).await;
    let (payment, outcome) = flow::start_payment(&services, qr_payment(&merchant, 2_500))
        .await
        .unwrap();
    assert!(matches!(outcome, StartOutcome::Ready), "{outcome:?}");
    let simulator = services.gateways.simulator(GatewayKind::Wxpay).unwrap();
    // The simulator notifies twice, as gateways deliver at least once.
    simulator
        .end_payment(payment.id, SandboxOutcome::Success)
        .await
        .unwrap();
    assert_eq!(
        gateway_state(&services, &payment).await,
        GatewayState::Succeeded
    );
    assert_eq!(ledger_status(&services, &payment).await, Status::Captured);
    // A later report of another outcome (a check, a stale notification) does
    // not move a final payment.
    assert!(simulator
        .end_payment(payment.id, SandboxOutcome::Decline)
        .await
        .is_err());
    flow::run_checks(&services).await;
    assert_eq!(
        gateway_state(&services, &payment).await,
        GatewayState::Succeeded
    );
    assert_eq!(ledger_status(&services, &payment).await, Status::Captured);
    let events = services
        .store
        .claim_undispatched_events(Utc::now(), Utc::now(), 100)
        .await
        .unwrap();
    let captured = events
        .iter()
        .filter(|claimed| claimed.event.resource_id == payment.id.get())
        .filter(|claimed| claimed.event.status == Status::Captured)
        .count();
    assert_eq!(captured, 1, "one state change, one event: {events:?}");
    services.gateways.disconnect_simulators();
}
