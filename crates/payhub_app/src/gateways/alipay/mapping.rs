//! Alipay's trade states and error codes in payhub's terms.
//!
//! Trade states ("Trade status", Alipay global docs, In-store Payment):
//! `WAIT_BUYER_PAY` created and waiting for the customer; `TRADE_SUCCESS`
//! paid (and refundable, also after partial refunds); `TRADE_FINISHED` paid
//! and past its refund period; `TRADE_CLOSED` not paid in time, cancelled,
//! or fully refunded. A closed trade payhub did not cancel itself expired
//! (an unpaid one is the only one payhub can still be waiting on; a
//! refunded one is final in payhub already and ignores the report).

use payhub_core::{GatewayState, RefundState};

use super::super::connector::GatewayError;

/// A trade state (`trade_status`, `alipay_trans_status`) as payhub's state;
/// `None` for a state Alipay does not document.
pub fn trade_state(status: &str) -> Option<GatewayState> {
    Some(match status {
        "WAIT_BUYER_PAY" => GatewayState::AwaitingCustomer,
        "TRADE_SUCCESS" | "TRADE_FINISHED" => GatewayState::Succeeded,
        "TRADE_CLOSED" => GatewayState::Expired,
        _ => return None,
    })
}

/// Error codes meaning Alipay has no such trade (or refund).
const NOT_FOUND_CODES: &[&str] = &[
    "TRADE_NOT_EXIST",
    "TRANS_NOT_EXIST",
    "TRANS_NOT_FOUND",
    "PURCHASE_TRADE_NOT_EXIST",
    "NOT_FOUND",
];

/// Error codes after which the outcome is unknown: Alipay's own trouble, to
/// be asked again rather than taken as a refusal.
const UNKNOWN_OUTCOME_CODES: &[&str] = &["SYSTEM_ERROR", "UNKNOWN_ERROR", "QUERY_FAILED"];

/// A business or gateway error code as payhub's error.
pub fn error(code: &str, message: &str) -> GatewayError {
    if NOT_FOUND_CODES.contains(&code) {
        GatewayError::NotFound
    } else if UNKNOWN_OUTCOME_CODES.contains(&code) {
        GatewayError::Timeout
    } else {
        GatewayError::Rejected {
            code: code.to_owned(),
            message: message.to_owned(),
        }
    }
}

/// `refund_result_code` of `alipay.acquire.refund.query` (`SUCCESS`,
/// `FAILED`, `CANCELED`, `PROCESSING`); anything else stays unknown.
pub fn refund_state(code: &str) -> RefundState {
    match code {
        "SUCCESS" => RefundState::Succeeded,
        "FAILED" | "CANCELED" => RefundState::Declined,
        _ => RefundState::Unknown,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn trade_states_map_onto_payhubs() {
        let table = [
            ("WAIT_BUYER_PAY", Some(GatewayState::AwaitingCustomer)),
            ("TRADE_SUCCESS", Some(GatewayState::Succeeded)),
            ("TRADE_FINISHED", Some(GatewayState::Succeeded)),
            ("TRADE_CLOSED", Some(GatewayState::Expired)),
            ("TRADE_PENDING", None),
            ("trade_success", None),
            ("", None),
        ];
        for (status, state) in table {
            assert_eq!(trade_state(status), state, "{status}");
        }
    }

    #[test]
    fn error_codes_map_onto_payhubs_errors() {
        let rejected = |code: &str| GatewayError::Rejected {
            code: code.into(),
            message: "m".into(),
        };
        let table = [
            ("TRADE_NOT_EXIST", GatewayError::NotFound),
            ("TRANS_NOT_EXIST", GatewayError::NotFound),
            ("TRANS_NOT_FOUND", GatewayError::NotFound),
            ("PURCHASE_TRADE_NOT_EXIST", GatewayError::NotFound),
            ("NOT_FOUND", GatewayError::NotFound),
            ("SYSTEM_ERROR", GatewayError::Timeout),
            ("UNKNOWN_ERROR", GatewayError::Timeout),
            ("QUERY_FAILED", GatewayError::Timeout),
            ("ILLEGAL_SIGN", rejected("ILLEGAL_SIGN")),
            ("ILLEGAL_PARTNER", rejected("ILLEGAL_PARTNER")),
            ("TRADE_HAS_SUCCESS", rejected("TRADE_HAS_SUCCESS")),
            ("REFUND_AMT_RESTRICTION", rejected("REFUND_AMT_RESTRICTION")),
            ("CURRENCY_NOT_SUPPORT", rejected("CURRENCY_NOT_SUPPORT")),
        ];
        for (code, expected) in table {
            assert_eq!(error(code, "m"), expected, "{code}");
        }
    }

    #[test]
    fn refund_results_map_onto_refund_states() {
        let table = [
            ("SUCCESS", RefundState::Succeeded),
            ("FAILED", RefundState::Declined),
            ("CANCELED", RefundState::Declined),
            ("PROCESSING", RefundState::Unknown),
            ("", RefundState::Unknown),
        ];
        for (code, state) in table {
            assert_eq!(refund_state(code), state, "{code}");
        }
    }
}
