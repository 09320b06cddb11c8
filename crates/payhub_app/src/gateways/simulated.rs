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
//! | card 4000 0000 0000 3220                  | 3-D Secure challenge; code `123456` approves, others decline |
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
use payhub_core::{GatewayState, Money, PaymentId, RefundId, RefundState};
use payhub_store::{SimulatorOrder, SimulatorRefund, SimulatorStore, StoreError};
use rand::{Rng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::connector::{
    Connector, GatewayError, GatewayReport, Notification, RefundReport, RefundRequest,
    StartRequest, Started, StoredMethod,
};
use super::{GatewayKind, PayMethod};
use crate::card::{CardBrand, CardInput};

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

/// Why the sandbox could not settle a payment.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("the gateway does not know this payment")]
    Unknown,
    #[error("the payment has already ended at the gateway")]
    AlreadyEnded,
    #[error("the gateway's books cannot be read or written")]
    Books(#[from] StoreError),
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

    /// Settles a payment as the customer (or issuer) would and notifies
    /// payhub, twice. Returns once both notifications were handled.
    pub async fn settle(
        &self,
        payment_id: PaymentId,
        outcome: SandboxOutcome,
    ) -> Result<(), SettleError> {
        let order = self
            .book(payment_id, |order| (settle_order(order, outcome), None))
            .await?
            .ok_or(SettleError::Unknown)??;
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

/// How a stored method fares when charged without the customer: the test
/// cards' rules, by the first six and last four digits kept with the token.
/// Returns the state, the gateway's code and whether the answer is lost (a timeout).
fn stored_decision(
    kind: GatewayKind,
    method: &StoredMethod,
) -> (GatewayState, (String, String), bool) {
    let approved = (
        GatewayState::Succeeded,
        ("SUCCESS".to_owned(), "approved".to_owned()),
        false,
    );
    let declined = |code: &str, message: &str| {
        (
            GatewayState::Declined,
            (code.to_owned(), message.to_owned()),
            false,
        )
    };
    if method.kind == "wallet" {
        return approved;
    }
    if kind.method() != PayMethod::Card {
        return declined(
            "METHOD_NOT_ACCEPTED",
            "this gateway does not charge stored cards",
        );
    }
    let first6 = method.first6.as_deref().unwrap_or_default();
    let last4 = method.last4.as_deref().unwrap_or_default();
    match (first6, last4) {
        ("400000", "0002") => declined("card_declined", "the card was declined"),
        ("400000", "9995") => declined("insufficient_funds", "insufficient funds"),
        ("400000", "3220") => declined(
            "authentication_required",
            "the issuer requires 3-D Secure, which needs the customer",
        ),
        ("400000", "0119") => (
            GatewayState::Succeeded,
            ("SUCCESS".to_owned(), "approved".to_owned()),
            true,
        ),
        _ => approved,
    }
}

/// Closes an order the customer did not pay before its expiry, as the
/// gateway would have at that moment.
fn close_if_expired(order: &mut SimulatorOrder, now: DateTime<Utc>) {
    if matches!(
        order.state,
        GatewayState::AwaitingCustomer | GatewayState::Challenge
    ) && now >= order.expires_at
    {
        order.state = GatewayState::Expired;
        order.code = Some((
            "ORDER_CLOSED".into(),
            "the customer did not pay in time".into(),
        ));
    }
}

/// Ends an open order as the sandbox asks; the order as it now stands.
fn settle_order(
    order: &mut SimulatorOrder,
    outcome: SandboxOutcome,
) -> Result<SimulatorOrder, SettleError> {
    if order.state.is_final() {
        return Err(SettleError::AlreadyEnded);
    }
    let (state, code) = match outcome {
        SandboxOutcome::Success => (GatewayState::Succeeded, ("SUCCESS", "paid")),
        SandboxOutcome::Decline => (
            GatewayState::Declined,
            ("DECLINED", "declined by the payer's bank"),
        ),
        SandboxOutcome::Expire => (
            GatewayState::Expired,
            ("ORDER_CLOSED", "the customer did not pay in time"),
        ),
    };
    order.state = state;
    order.code = Some((code.0.into(), code.1.into()));
    Ok(order.clone())
}

/// Takes a refund off what an order captured, when the order allows it:
/// like a real acquirer, the gateway refunds only a paid order, in its
/// currency, and never more than it captured and has not refunded yet (a
/// payment partly paid otherwise, APS credit, is refundable here only up to
/// its card part).
fn take_refund(order: &mut SimulatorOrder, amount: Money) -> Result<(), &'static str> {
    let paid =
        order.state == GatewayState::Succeeded && order.amount.currency() == amount.currency();
    let remaining = order.amount.amount_minor() - order.refunded_minor;
    if !paid {
        Err("only a paid payment can be refunded")
    } else if amount.amount_minor() > remaining {
        Err("the refund exceeds what this gateway captured and has not refunded")
    } else {
        order.refunded_minor += amount.amount_minor();
        Ok(())
    }
}

fn times_out(amount: Money) -> bool {
    amount.amount_minor() % 1000 == TIMEOUT_SUFFIX
}

#[async_trait]
impl Connector for SimulatedGateway {
    fn kind(&self) -> GatewayKind {
        self.kind
    }

    async fn start(&self, request: &StartRequest) -> Result<Started, GatewayError> {
        self.network_delay().await;
        if request.amount.amount_minor() % 1000 == DECLINE_SUFFIX {
            return Err(GatewayError::Rejected {
                code: "risk_declined".into(),
                message: "the gateway's risk check refused the payment".into(),
            });
        }
        let gw_ref = self.new_reference();
        let qr_content = match self.kind.method() {
            PayMethod::Card => None,
            PayMethod::WalletQr | PayMethod::FpsQr => Some(format!(
                "https://qr.sandbox.payhub.invalid/{}/{gw_ref}",
                self.kind.code().to_ascii_lowercase()
            )),
        };
        let order = SimulatorOrder {
            gateway: self.kind.code().to_owned(),
            payment_id: request.payment_id,
            gw_ref: gw_ref.clone(),
            amount: request.amount,
            state: GatewayState::AwaitingCustomer,
            qr_content: qr_content.clone(),
            expires_at: request.expires_at,
            code: None,
            refunded_minor: 0,
        };
        self.open_order(&order).await?;
        if times_out(request.amount) {
            return Err(GatewayError::Timeout);
        }
        Ok(match qr_content {
            Some(qr_content) => Started::Qr { gw_ref, qr_content },
            None => Started::CardForm { gw_ref },
        })
    }

    async fn pay_with_card(
        &self,
        payment_id: PaymentId,
        card: &CardInput,
    ) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        let (state, code, time_out) = self.card_decision(card);
        let report = self
            .with_order(payment_id, |order| {
                if order.state == GatewayState::AwaitingCustomer {
                    order.state = state;
                    order.code = code;
                }
                Self::report(order)
            })
            .await?;
        if time_out {
            return Err(GatewayError::Timeout);
        }
        Ok(report)
    }

    async fn charge_token(
        &self,
        request: &StartRequest,
        method: &StoredMethod,
    ) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        if request.amount.amount_minor() % 1000 == DECLINE_SUFFIX {
            return Err(GatewayError::Rejected {
                code: "risk_declined".into(),
                message: "the gateway's risk check refused the payment".into(),
            });
        }
        let (state, code, time_out) = stored_decision(self.kind, method);
        let order = SimulatorOrder {
            gateway: self.kind.code().to_owned(),
            payment_id: request.payment_id,
            gw_ref: self.new_reference(),
            amount: request.amount,
            state,
            qr_content: None,
            expires_at: request.expires_at,
            code: Some(code),
            refunded_minor: 0,
        };
        let report = Self::report(&order);
        self.open_order(&order).await?;
        if time_out || times_out(request.amount) {
            return Err(GatewayError::Timeout);
        }
        Ok(report)
    }

    async fn answer_challenge(
        &self,
        payment_id: PaymentId,
        code: &str,
    ) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment_id, |order| {
            if order.state == GatewayState::Challenge {
                if code.trim() == CHALLENGE_CODE {
                    order.state = GatewayState::Succeeded;
                    order.code = Some(("SUCCESS".into(), "approved after 3-D Secure".into()));
                } else {
                    order.state = GatewayState::Declined;
                    order.code = Some((
                        "authentication_failed".into(),
                        "3-D Secure authentication failed".into(),
                    ));
                }
            }
            Self::report(order)
        })
        .await
    }

    async fn query(&self, payment_id: PaymentId) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment_id, |order| Self::report(order))
            .await
    }

    async fn cancel(&self, payment_id: PaymentId) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment_id, |order| {
            if !order.state.is_final() {
                order.state = GatewayState::Canceled;
                order.code = Some(("CANCELED".into(), "canceled by the merchant".into()));
            }
            Self::report(order)
        })
        .await
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundReport, GatewayError> {
        self.network_delay().await;
        let booked = SimulatorRefund {
            gateway: self.kind.code().to_owned(),
            refund_id: request.refund_id,
            payment_id: request.payment_id,
            gw_ref: Some(self.new_reference()),
            state: RefundState::Succeeded,
        };
        // What was refunded and the refund are booked together.
        let refundable = self
            .book(request.payment_id, |order| {
                match take_refund(order, request.amount) {
                    Ok(()) => (Ok(()), Some(booked.clone())),
                    Err(message) => (Err(message), None),
                }
            })
            .await
            .map_err(|error| self.books_unreachable(&error))?
            .ok_or(GatewayError::NotFound)?;
        if let Err(message) = refundable {
            return Err(GatewayError::Rejected {
                code: "NOT_REFUNDABLE".into(),
                message: message.into(),
            });
        }
        if times_out(request.amount) {
            return Err(GatewayError::Timeout);
        }
        Ok(RefundReport {
            gw_ref: booked.gw_ref,
            state: booked.state,
        })
    }

    async fn query_refund(&self, refund_id: RefundId) -> Result<RefundReport, GatewayError> {
        self.network_delay().await;
        let booked = self
            .books
            .find_simulator_refund(self.kind.code(), refund_id)
            .await
            .map_err(|error| self.books_unreachable(&error))?
            .ok_or(GatewayError::NotFound)?;
        Ok(RefundReport {
            gw_ref: booked.gw_ref,
            state: booked.state,
        })
    }

    fn parse_notification(&self, body: &[u8]) -> Result<Notification, GatewayError> {
        let bad = |why: &str| GatewayError::BadNotification(why.to_owned());
        let parsed: NotificationBody =
            serde_json::from_slice(body).map_err(|e| bad(&e.to_string()))?;
        let expected = self.sign(&Self::signed_text(
            &parsed.out_trade_no,
            &parsed.gw_ref,
            &parsed.state,
        ));
        let matches: bool =
            subtle::ConstantTimeEq::ct_eq(expected.as_bytes(), parsed.signature.as_bytes()).into();
        if !matches {
            return Err(bad("signature does not match"));
        }
        let payment_id = parsed
            .out_trade_no
            .parse::<PaymentId>()
            .map_err(|_| bad("out_trade_no is not a payment id"))?;
        let state = GatewayState::parse(&parsed.state).ok_or_else(|| bad("unknown state"))?;
        Ok(Notification {
            payment_id,
            report: GatewayReport {
                gw_ref: Some(parsed.gw_ref),
                state,
                qr_content: None,
                code: parsed.code.zip(parsed.message),
            },
        })
    }
}
