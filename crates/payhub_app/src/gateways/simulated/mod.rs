//! Simulated gateways: what payhub talks to where it cannot reach a real one.
//!
//! Each behaves like the gateway it stands for, through the same
//! [`Connector`] trait: a QR payment waits for the customer to scan and
//! closes at its expiry; a card payment is approved, declined or challenged
//! according to the test card numbers below; answers come after a random
//! delay; some calls time out on purpose; and every notification is sent
//! twice, as real gateways deliver at least once.
//!
//! The simulator keeps its books (orders, what was captured and refunded,
//! refunds) in the database, through the store's [`SimulatorStore`]: like a
//! real gateway, it answers alike whichever payhub node asks, and forgets
//! nothing when payhub restarts. Only a payment it was never asked to start
//! is reported as not found, which payhub treats as never paid. A failure to
//! read or write those books is a gateway that does not answer (a timeout:
//! the outcome is unknown, never a failure).
//!
//! | Trigger                                   | Behaviour                                                  |
//! |-------------------------------------------|------------------------------------------------------------|
//! | card 4242 4242 4242 4242, 5555 5555 5555 4444, 6200 0000 0000 0005 | approved               |
//! | card 4000 0000 0000 0002                  | declined (`card_declined`)                                 |
//! | card 4000 0000 0000 9995                  | declined (`insufficient_funds`)                            |
//! | card 4000 0000 0000 3220                  | 3-D Secure challenge; code `123456` approves, others decline (`authentication_failed`) |
//!
//! A declined card (or a failed challenge) declines that attempt; the order
//! itself stays open for another card, as a real card gateway keeps a
//! payment waiting for another payment method. payhub counts the attempts
//! and cancels the order when a decline ends the payment.
//! | card 4000 0000 0000 0119                  | times out, then is approved (a query finds it paid)        |
//! | amount whose minor units end in `408`     | the start (or refund) times out; the gateway acted anyway  |
//! | amount whose minor units end in `402`     | the start is refused (`risk_declined`)                     |
//!
//! A stored card charged by its token (`charge_token`, no customer present)
//! follows the same test cards, recognised by the first six and last four
//! digits kept with the token (so it works after a restart too): 0002 and
//! 9995 are declined, 0119 times out and is approved, and 3220 (which needs
//! the customer for 3-D Secure) is declined with `authentication_required`.
//! A stored wallet token is approved. The amount rules (`402`, `408`) apply.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use payhub_core::{GatewayState, Money, PaymentId, RefundState};
use payhub_store::{SimulatorOrder, SimulatorRefund, SimulatorStore, StoreError};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::connector::{
    Connector, GatewayError, GatewayRef, GatewayReport, Notification, RefundRef, RefundReport,
    RefundRequest, StartRequest, Started, StoredMethod,
};
use super::{GatewayKind, PayMethod};
use crate::card::{CardBrand, CardInput};
use crate::AppError;

/// The 3-D Secure code the simulated issuers accept.
pub const CHALLENGE_CODE: &str = "123456";
/// Amounts whose minor units end in this time out at the gateway.
const TIMEOUT_SUFFIX: i64 = 408;
/// Amounts whose minor units end in this are refused at the start (a risk check).
const DECLINE_SUFFIX: i64 = 402;

/// Where a simulated gateway POSTs its notifications (in-process).
pub type NotificationSink =
    Arc<dyn Fn(GatewayKind, Vec<u8>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// How a sandbox request settles a payment, as the customer or issuer would.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxOutcome {
    Success,
    Decline,
    Expire,
}

/// A simulated gateway of one kind.
pub struct SimulatedGateway {
    kind: GatewayKind,
    max_latency: Duration,
    /// The gateway's books, shared by every payhub node.
    books: Arc<dyn SimulatorStore>,
    /// Signs notifications so that only this simulator's are accepted.
    notification_key: [u8; 32],
    sink: Mutex<Option<NotificationSink>>,
}

#[derive(Serialize, Deserialize)]
struct NotificationBody {
    out_trade_no: String,
    gw_ref: String,
    state: String,
    code: Option<String>,
    message: Option<String>,
    signature: String,
}

impl SimulatedGateway {
    pub fn new(kind: GatewayKind, max_latency: Duration, books: Arc<dyn SimulatorStore>) -> Self {
        let mut notification_key = [0_u8; 32];
        rand::thread_rng().fill_bytes(&mut notification_key);
        Self {
            kind,
            max_latency,
            books,
            notification_key,
            sink: Mutex::new(None),
        }
    }

    /// Connects the simulator to payhub's notification endpoint.
    pub fn connect(&self, sink: Option<NotificationSink>) {
        *self.sink.lock().unwrap_or_else(|p| p.into_inner()) = sink;
    }

    async fn network_delay(&self) {
        if self.max_latency.is_zero() {
            return;
        }
        let millis = u64::try_from(self.max_latency.as_millis()).unwrap_or(u64::MAX);
        let delay = rand::thread_rng().gen_range(0..=millis);
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    fn new_reference(&self) -> String {
        let mut bytes = [0_u8; 10];
        rand::thread_rng().fill_bytes(&mut bytes);
        format!(
            "{}{}",
            self.kind.code().to_ascii_lowercase(),
            hex::encode(bytes)
        )
    }

    /// Applies `change` to an order in the books, after closing it if it
    /// expired unpaid, and books the refund it may return, all under the
    /// order's lock. `None` when the gateway has no such order.
    async fn book<T: Send>(
        &self,
        payment_id: PaymentId,
        change: impl FnOnce(&mut SimulatorOrder) -> (T, Option<SimulatorRefund>) + Send,
    ) -> Result<Option<T>, StoreError> {
        let now = Utc::now();
        let mut change = Some(change);
        let mut outcome = None;
        self.books
            .change_simulator_order(self.kind.code(), payment_id, now, &mut |order| {
                close_if_expired(order, now);
                let change = change.take()?;
                let (value, refund) = change(order);
                outcome = Some(value);
                refund
            })
            .await?;
        Ok(outcome)
    }

    /// Applies `change` to an order in the books (see [`Self::book`]), as the
    /// connector's operations do: an order the gateway does not have is
    /// [`GatewayError::NotFound`], books it cannot reach a timeout.
    async fn with_order<T: Send>(
        &self,
        payment_id: PaymentId,
        change: impl FnOnce(&mut SimulatorOrder) -> T + Send,
    ) -> Result<T, GatewayError> {
        self.book(payment_id, |order| (change(order), None))
            .await
            .map_err(|error| self.books_unreachable(&error))?
            .ok_or(GatewayError::NotFound)
    }

    /// Books a new order (replacing one payhub started before for the same payment).
    async fn open_order(&self, order: &SimulatorOrder) -> Result<(), GatewayError> {
        self.books
            .put_simulator_order(order, Utc::now())
            .await
            .map_err(|error| self.books_unreachable(&error))
    }

    /// A gateway whose books fail gives no answer: the outcome is unknown.
    fn books_unreachable(&self, error: &StoreError) -> GatewayError {
        tracing::warn!(gateway = self.kind.code(), error.cause_chain = ?error, "the simulated gateway cannot reach its books");
        GatewayError::Timeout
    }

    fn report(order: &SimulatorOrder) -> GatewayReport {
        GatewayReport {
            saved_method: None,
            gw_ref: Some(order.gw_ref.clone()),
            state: order.state,
            qr_content: order.qr_content.clone(),
            code: order.code.clone(),
        }
    }

    fn sign(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.notification_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(text.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    fn signed_text(out_trade_no: &str, gw_ref: &str, state: &str) -> String {
        format!("{out_trade_no}|{gw_ref}|{state}")
    }

    /// Ends a payment as the customer (or issuer) would and notifies
    /// payhub, twice. Returns once both notifications were handled.
    /// Answers [`AppError::UnknownPayment`] for a payment the books lack
    /// and [`AppError::AlreadyEnded`] for one that has ended.
    pub async fn end_payment(
        &self,
        payment_id: PaymentId,
        outcome: SandboxOutcome,
    ) -> Result<(), AppError> {
        let order = self
            .book(payment_id, |order| (end_order(order, outcome), None))
            .await?
            .ok_or(AppError::UnknownPayment(Some(payment_id)))??;
        self.notify(payment_id, &order).await;
        Ok(())
    }

    async fn notify(&self, payment_id: PaymentId, order: &SimulatorOrder) {
        let sink = self.sink.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(sink) = sink else {
            return;
        };
        let out_trade_no = payment_id.to_string();
        let state = order.state.as_str().to_owned();
        let body = NotificationBody {
            signature: self.sign(&Self::signed_text(&out_trade_no, &order.gw_ref, &state)),
            out_trade_no,
            gw_ref: order.gw_ref.clone(),
            state,
            code: order.code.as_ref().map(|c| c.0.clone()),
            message: order.code.as_ref().map(|c| c.1.clone()),
        };
        let Ok(bytes) = serde_json::to_vec(&body) else {
            return;
        };
        // At least once, like the real ones: the same notification twice.
        for _ in 0..2 {
            sink(self.kind, bytes.clone()).await;
        }
    }

    fn card_decision(&self, card: &CardInput) -> (GatewayState, Option<(String, String)>, bool) {
        let accepted_brand = match self.kind {
            GatewayKind::Unionpay => card.number.brand() == CardBrand::UnionPay,
            _ => matches!(card.number.brand(), CardBrand::Visa | CardBrand::Mastercard),
        };
        if !accepted_brand {
            return (
                GatewayState::Declined,
                Some((
                    "BRAND_NOT_ACCEPTED".into(),
                    format!("{} cards are not accepted here", card.number.brand().name()),
                )),
                false,
            );
        }
        match card.number.digits() {
            "4000000000000002" => (
                GatewayState::Declined,
                Some(("card_declined".into(), "the card was declined".into())),
                false,
            ),
            "4000000000009995" => (
                GatewayState::Declined,
                Some(("insufficient_funds".into(), "insufficient funds".into())),
                false,
            ),
            "4000000000003220" => (GatewayState::Challenge, None, false),
            "4000000000000119" => (
                GatewayState::Succeeded,
                Some(("SUCCESS".into(), "approved".into())),
                true,
            ),
            _ => (
                GatewayState::Succeeded,
                Some(("SUCCESS".into(), "approved".into())),
                false,
            ),
        }
    }
}

mod books;
mod connector;

use books::*;
