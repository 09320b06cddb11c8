//! How a gateway's report changes a gateway payment.
//!
//! A report can come from the call that started the payment, a notification,
//! a hosted-page step, a cancel or a check, in any order and more than once.
//! [`apply_report`] decides what the store writes, so that every path keeps
//! the same fields and a final payment never moves again (a late "declined"
//! after "succeeded" must not undo a paid payment).

use chrono::{DateTime, Utc};

use super::state::{GatewayState, RefundState};
use crate::status::Status;

/// The fields of a gateway payment that a report may change. `C` is the card
/// the gateway saw (the store's record of it; the core never looks inside).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayFields<C> {
    pub state: GatewayState,
    pub gw_ref: Option<String>,
    /// What the customer must do: a QR payload while waiting for a scan.
    pub action: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// When payhub must next ask the gateway; `None` when nothing is due.
    pub next_check_at: Option<DateTime<Utc>>,
    /// How many times payhub has asked so far.
    pub checks: i64,
    pub card: Option<C>,
}

/// What a gateway said, ready to apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report<C> {
    pub state: GatewayState,
    /// Set when `Some`; the gateway's reference is kept otherwise.
    pub gw_ref: Option<String>,
    /// Replaces the customer action (a new QR code, or none).
    pub action: Option<String>,
    /// The gateway's error code and message; the previous ones are kept when `None`.
    pub error: Option<(String, String)>,
    /// When to ask next (see [`super::CheckPolicy::next_check`]); cleared by a final state.
    pub next_check_at: Option<DateTime<Utc>>,
    /// Set when `Some`; the card already known is kept otherwise.
    pub card: Option<C>,
}

/// What applying a report does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReportApplied<C> {
    /// The payment was already final: nothing changes, not even the fields.
    AlreadyFinal,
    /// The new fields, and the ledger status the payment moves to (through
    /// [`crate::transition`]) when the new state is final.
    Changed {
        fields: GatewayFields<C>,
        payment_status: Option<Status>,
    },
}

/// Applies `report` to a gateway payment holding `current`.
///
/// - A final payment does not move ([`ReportApplied::AlreadyFinal`]).
/// - The state and the customer action are the report's.
/// - The reference, the error and the card are the report's when it has
///   them, the current ones otherwise: a later, terser report does not erase
///   what an earlier one said.
/// - A final state has no further check; the count of checks is kept (the
///   checker counts its own).
pub fn apply_report<C: Clone>(current: &GatewayFields<C>, report: &Report<C>) -> ReportApplied<C> {
    if current.state.is_final() {
        return ReportApplied::AlreadyFinal;
    }
    let (error_code, error_message) = match &report.error {
        Some((code, message)) => (Some(code.clone()), Some(message.clone())),
        None => (current.error_code.clone(), current.error_message.clone()),
    };
    let next_check_at = if report.state.is_final() {
        None
    } else {
        report.next_check_at
    };
    ReportApplied::Changed {
        fields: GatewayFields {
            state: report.state,
            gw_ref: report.gw_ref.clone().or_else(|| current.gw_ref.clone()),
            action: report.action.clone(),
            error_code,
            error_message,
            next_check_at,
            checks: current.checks,
            card: report.card.clone().or_else(|| current.card.clone()),
        },
        payment_status: report.state.payment_status(),
    }
}

/// The fields of a gateway refund that a report may change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundFields {
    pub state: RefundState,
    /// Set when `Some` in a report; the gateway's reference is kept otherwise.
    pub gw_ref: Option<String>,
    /// When payhub must next ask the gateway; `None` when nothing is due.
    pub next_check_at: Option<DateTime<Utc>>,
}

/// What applying a report to a gateway refund does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundReportApplied {
    /// The refund's outcome was already known: nothing changes.
    AlreadyFinal,
    /// The new fields, and the ledger status the refund moves to when the
    /// new state is final.
    Changed {
        fields: RefundFields,
        refund_status: Option<Status>,
    },
}

/// Applies a gateway's word on a refund, the refund's counterpart of
/// [`apply_report`]: a final refund does not move (its `done` gives credit
/// back once, so a second report must not repeat it), the reference is kept
/// unless the report has one, and a final state has no further check.
pub fn apply_refund_report(current: &RefundFields, report: &RefundFields) -> RefundReportApplied {
    if current.state.is_final() {
        return RefundReportApplied::AlreadyFinal;
    }
    RefundReportApplied::Changed {
        fields: RefundFields {
            state: report.state,
            gw_ref: report.gw_ref.clone().or_else(|| current.gw_ref.clone()),
            next_check_at: if report.state.is_final() {
                None
            } else {
                report.next_check_at
            },
        },
        refund_status: report.state.refund_status(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use GatewayState::*;

    fn at(second: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, second)
            .single()
            .unwrap_or_else(|| unreachable!("a valid time"))
    }

    fn current(state: GatewayState) -> GatewayFields<&'static str> {
        GatewayFields {
            state,
            gw_ref: Some("ref-1".into()),
            action: Some("qr-1".into()),
            error_code: Some("E1".into()),
            error_message: Some("first".into()),
            next_check_at: Some(at(1)),
            checks: 3,
            card: Some("card-1"),
        }
    }

    fn bare(state: GatewayState) -> Report<&'static str> {
        Report {
            state,
            gw_ref: None,
            action: None,
            error: None,
            next_check_at: Some(at(9)),
            card: None,
        }
    }

    fn full(state: GatewayState) -> Report<&'static str> {
        Report {
            state,
            gw_ref: Some("ref-2".into()),
            action: Some("qr-2".into()),
            error: Some(("E2".into(), "second".into())),
            next_check_at: Some(at(9)),
            card: Some("card-2"),
        }
    }

    #[test]
    fn a_final_payment_does_not_move() {
        for from in GatewayState::ALL.into_iter().filter(|s| s.is_final()) {
            for to in GatewayState::ALL {
                assert_eq!(
                    apply_report(&current(from), &full(to)),
                    ReportApplied::AlreadyFinal,
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn an_open_payment_takes_the_state_and_moves_the_ledger_only_when_final() {
        for from in GatewayState::ALL.into_iter().filter(|s| !s.is_final()) {
            for to in GatewayState::ALL {
                let ReportApplied::Changed {
                    fields,
                    payment_status,
                } = apply_report(&current(from), &bare(to))
                else {
                    unreachable!("{from:?} is open")
                };
                assert_eq!(fields.state, to);
                assert_eq!(payment_status, to.payment_status(), "{from:?} -> {to:?}");
                let due = (!to.is_final()).then_some(at(9));
                assert_eq!(fields.next_check_at, due, "{from:?} -> {to:?}");
                assert_eq!(fields.checks, 3);
            }
        }
    }

    #[test]
    fn which_fields_are_kept_and_which_replaced() {
        type Row = (
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<&'static str>,
        );
        let s = |t: &str| Some(t.to_owned());
        let table: [(Report<&'static str>, Row); 2] = [
            // A terse report keeps the reference, error and card; the action goes.
            (
                bare(Unknown),
                (s("ref-1"), None, s("E1"), s("first"), Some("card-1")),
            ),
            // A full report replaces all of them.
            (
                full(Challenge),
                (s("ref-2"), s("qr-2"), s("E2"), s("second"), Some("card-2")),
            ),
        ];
        for (report, want) in table {
            let ReportApplied::Changed { fields, .. } =
                apply_report(&current(AwaitingCustomer), &report)
            else {
                unreachable!("awaiting_customer is open")
            };
            assert_eq!(
                (
                    fields.gw_ref,
                    fields.action,
                    fields.error_code,
                    fields.error_message,
                    fields.card
                ),
                want,
                "{report:?}"
            );
        }
    }

    #[test]
    fn a_refund_moves_once_and_keeps_its_reference() {
        use RefundState as R;
        let refund = |state, gw_ref: Option<&str>, due| RefundFields {
            state,
            gw_ref: gw_ref.map(str::to_owned),
            next_check_at: due,
        };
        let open = refund(R::Unknown, Some("r-1"), Some(at(1)));
        // (current, report, expected fields, expected ledger status)
        let table = [
            (
                open.clone(),
                refund(R::Unknown, None, Some(at(9))),
                Some((refund(R::Unknown, Some("r-1"), Some(at(9))), None)),
            ),
            (
                open.clone(),
                refund(R::Succeeded, Some("r-2"), Some(at(9))),
                Some((refund(R::Succeeded, Some("r-2"), None), Some(Status::Done))),
            ),
            (
                open,
                refund(R::Declined, None, None),
                Some((refund(R::Declined, Some("r-1"), None), Some(Status::Denied))),
            ),
            (
                refund(R::Succeeded, None, None),
                refund(R::Declined, None, None),
                None,
            ),
            (
                refund(R::Declined, None, None),
                refund(R::Succeeded, None, None),
                None,
            ),
        ];
        for (current, report, want) in table {
            let want = match want {
                Some((fields, refund_status)) => RefundReportApplied::Changed {
                    fields,
                    refund_status,
                },
                None => RefundReportApplied::AlreadyFinal,
            };
            assert_eq!(
                apply_refund_report(&current, &report),
                want,
                "{current:?} <- {report:?}"
            );
        }
    }
}
