//! WeChat Pay's states and error codes in payhub's terms.
//!
//! Followed: WeChat Pay global APIv3 "Query Order" (`trade_state`), "Query
//! Single Refund" (`status`, with `ABNORMAL` added 2023-06) and the error
//! code tables of those pages and of "Order Placement" / "Close Order"
//! (HTTP status plus `{"code","message"}`).

use payhub_core::{GatewayState, RefundState};

use crate::gateways::connector::GatewayError;

/// A payment's `trade_state`.
pub fn payment_state(trade_state: &str) -> GatewayState {
    match trade_state {
        // Paid; REFUND means paid and then (partly) refunded.
        "SUCCESS" | "REFUND" => GatewayState::Succeeded,
        // Not paid yet; USERPAYING is the customer entering a password.
        "NOTPAY" | "USERPAYING" => GatewayState::AwaitingCustomer,
        // Closed (by payhub, or by WeChat Pay after time_expire) or revoked:
        // never paid and cannot be paid any more.
        "CLOSED" | "REVOKED" => GatewayState::Canceled,
        // The payment failed (the bank refused it, for one).
        "PAYERROR" => GatewayState::Declined,
        // A state this connector does not know: ask again later.
        _ => GatewayState::Unknown,
    }
}

/// A refund's `status`.
pub fn refund_state(status: &str) -> RefundState {
    match status {
        "SUCCESS" => RefundState::Succeeded,
        "CLOSED" => RefundState::Declined,
        // PROCESSING is on its way. ABNORMAL is a refund the customer's bank
        // account refused: the merchant resolves it on the merchant platform
        // (refunding elsewhere), so it is not final for payhub either.
        "PROCESSING" | "ABNORMAL" => RefundState::Unknown,
        _ => RefundState::Unknown,
    }
}

/// An error answer (`status`, `code`, `message`) as payhub's error.
///
/// Any 5xx and the codes that mean "try again with the same parameters"
/// leave the outcome unknown; "no such order" is [`GatewayError::NotFound`];
/// every other code is WeChat Pay refusing the request, with nothing done.
pub fn error(status: u16, code: &str, message: &str) -> GatewayError {
    if status >= 500 {
        return GatewayError::Timeout;
    }
    match code {
        "SYSTEMERROR" | "SYSTEM_ERROR" | "BANKERROR" | "FREQUENCY_LIMITED" => GatewayError::Timeout,
        "ORDER_NOT_EXIST" | "ORDERNOTEXIST" | "RESOURCE_NOT_EXISTS" | "NOT_FOUND" => {
            GatewayError::NotFound
        }
        _ if status == 404 => GatewayError::NotFound,
        _ => GatewayError::Rejected {
            code: code.to_owned(),
            message: message.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_trade_state_has_one_meaning() {
        let table = [
            ("SUCCESS", GatewayState::Succeeded),
            ("REFUND", GatewayState::Succeeded),
            ("NOTPAY", GatewayState::AwaitingCustomer),
            ("USERPAYING", GatewayState::AwaitingCustomer),
            ("CLOSED", GatewayState::Canceled),
            ("REVOKED", GatewayState::Canceled),
            ("PAYERROR", GatewayState::Declined),
            ("SOMETHING_NEW", GatewayState::Unknown),
        ];
        for (trade_state, state) in table {
            assert_eq!(payment_state(trade_state), state, "{trade_state}");
        }
    }

    #[test]
    fn every_refund_status_has_one_meaning() {
        let table = [
            ("SUCCESS", RefundState::Succeeded),
            ("CLOSED", RefundState::Declined),
            ("PROCESSING", RefundState::Unknown),
            ("ABNORMAL", RefundState::Unknown),
            ("SOMETHING_NEW", RefundState::Unknown),
        ];
        for (status, state) in table {
            assert_eq!(refund_state(status), state, "{status}");
        }
    }

    #[test]
    fn error_codes_map_to_unknown_not_found_or_refused() {
        let rejected = |code: &str| GatewayError::Rejected {
            code: code.into(),
            message: "m".into(),
        };
        let table = [
            (500, "SYSTEM_ERROR", GatewayError::Timeout),
            (500, "SYSTEMERROR", GatewayError::Timeout),
            (502, "", GatewayError::Timeout),
            (503, "ANYTHING", GatewayError::Timeout),
            (400, "SYSTEMERROR", GatewayError::Timeout),
            (403, "BANKERROR", GatewayError::Timeout),
            (429, "FREQUENCY_LIMITED", GatewayError::Timeout),
            (404, "ORDER_NOT_EXIST", GatewayError::NotFound),
            (404, "ORDERNOTEXIST", GatewayError::NotFound),
            (404, "RESOURCE_NOT_EXISTS", GatewayError::NotFound),
            (404, "SOMETHING", GatewayError::NotFound),
            (403, "ORDERPAID", rejected("ORDERPAID")),
            (400, "ORDERCLOSED", rejected("ORDERCLOSED")),
            (400, "ORDER_CLOSED", rejected("ORDER_CLOSED")),
            (403, "OUT_TRADE_NO_USED", rejected("OUT_TRADE_NO_USED")),
            (400, "INVALID_REQUEST", rejected("INVALID_REQUEST")),
            (400, "PARAM_ERROR", rejected("PARAM_ERROR")),
            (401, "SIGN_ERROR", rejected("SIGN_ERROR")),
            (403, "NO_AUTH", rejected("NO_AUTH")),
            (
                400,
                "APPID_MCHID_NOT_MATCH",
                rejected("APPID_MCHID_NOT_MATCH"),
            ),
            (403, "NOT_ENOUGH", rejected("NOT_ENOUGH")),
        ];
        for (status, code, expected) in table {
            assert_eq!(error(status, code, "m"), expected, "{status} {code}");
        }
    }
}
