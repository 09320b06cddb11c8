//! What a simulated gateway decides about its orders: pure functions over
//! an order and what was asked of it.

use super::*;

/// How a stored method fares when charged without the customer: the test
/// cards' rules, by the first six and last four digits kept with the token.
/// Returns the state, the gateway's code and whether the answer is lost (a timeout).
pub(super) fn stored_decision(
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

/// The answer to a card that was declined (by its issuer, or in its 3-D
/// Secure step): the attempt is declined, with its reason, while the order
/// itself stays open for another card, as a real card gateway keeps a
/// payment waiting for another payment method. payhub decides when declines
/// end the payment, and then cancels it here.
pub(super) fn declined_attempt(order: &SimulatorOrder) -> GatewayReport {
    GatewayReport {
        saved_method: None,
        gw_ref: Some(order.gw_ref.clone()),
        state: GatewayState::Declined,
        qr_content: order.qr_content.clone(),
        code: order.code.clone(),
    }
}

/// Closes an order the customer did not pay before its expiry, as the
/// gateway would have at that moment.
pub(super) fn close_if_expired(order: &mut SimulatorOrder, now: DateTime<Utc>) {
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
pub(super) fn end_order(
    order: &mut SimulatorOrder,
    outcome: SandboxOutcome,
) -> Result<SimulatorOrder, AppError> {
    if order.state.is_final() {
        return Err(AppError::AlreadyEnded(order.state));
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
pub(super) fn take_refund(order: &mut SimulatorOrder, amount: Money) -> Result<(), &'static str> {
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

pub(super) fn times_out(amount: Money) -> bool {
    amount.amount_minor() % 1000 == TIMEOUT_SUFFIX
}
