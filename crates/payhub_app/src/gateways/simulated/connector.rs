//! A simulated gateway behind the [`Connector`] trait, as payhub calls it.

use super::*;

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
        payment: &GatewayRef,
        card: &CardInput,
        _return_url: Option<&url::Url>,
    ) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        let (state, code, time_out) = self.card_decision(card);
        let report = self
            .with_order(payment.payment_id, |order| {
                if order.state != GatewayState::AwaitingCustomer {
                    return Self::report(order);
                }
                order.code = code;
                if state == GatewayState::Declined {
                    // The card is declined; the order waits for another.
                    return declined_attempt(order);
                }
                order.state = state;
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
        payment: &GatewayRef,
        code: &str,
    ) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment.payment_id, |order| {
            if order.state != GatewayState::Challenge {
                return Self::report(order);
            }
            if code.trim() == CHALLENGE_CODE {
                order.state = GatewayState::Succeeded;
                order.code = Some(("SUCCESS".into(), "approved after 3-D Secure".into()));
                return Self::report(order);
            }
            // The card failed its 3-D Secure step; the order waits for another.
            order.state = GatewayState::AwaitingCustomer;
            order.code = Some((
                "authentication_failed".into(),
                "3-D Secure authentication failed".into(),
            ));
            declined_attempt(order)
        })
        .await
    }

    async fn query(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment.payment_id, |order| Self::report(order))
            .await
    }

    async fn cancel(&self, payment: &GatewayRef) -> Result<GatewayReport, GatewayError> {
        self.network_delay().await;
        self.with_order(payment.payment_id, |order| {
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
            payment_id: request.payment.payment_id,
            gw_ref: Some(self.new_reference()),
            state: RefundState::Succeeded,
        };
        // What was refunded and the refund are booked together.
        let refundable = self
            .book(request.payment.payment_id, |order| {
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

    async fn query_refund(&self, refund: &RefundRef) -> Result<RefundReport, GatewayError> {
        self.network_delay().await;
        let booked = self
            .books
            .find_simulator_refund(self.kind.code(), refund.refund_id)
            .await
            .map_err(|error| self.books_unreachable(&error))?
            .ok_or(GatewayError::NotFound)?;
        Ok(RefundReport {
            gw_ref: booked.gw_ref,
            state: booked.state,
        })
    }

    fn parse_notification(
        &self,
        _headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> Result<Notification, GatewayError> {
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
                saved_method: None,
                gw_ref: Some(parsed.gw_ref),
                state,
                qr_content: None,
                code: parsed.code.zip(parsed.message),
            },
        })
    }
}
