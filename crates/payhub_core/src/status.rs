//! The status machine shared by payments and refunds in every dialect.
//!
//! Status names are TMF676's. Every change of status goes through [`transition`],
//! which refuses the illegal ones; storage only ever writes what it returns.

use std::fmt;

/// The life-cycle status of a payment or refund.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Status {
    /// Waiting for the gateway or the customer.
    PendingAuthorization,
    /// Funds reserved, not yet taken.
    Authorized,
    /// Funds taken.
    Captured,
    /// The attempt failed (technical or gateway error).
    Failed,
    /// Stopped by the merchant or the customer before completion.
    Canceled,
    /// Refused by the gateway or issuer.
    Denied,
    /// Finished; for a refund, the money went back.
    Done,
}

/// A status change the machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot change status from {from} to {to}")]
pub struct TransitionError {
    pub from: Status,
    pub to: Status,
}

/// Text that is not one of TMF676's status names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a status (expected one of pendingAuthorization, authorized, captured, failed, canceled, denied, done)")]
pub struct UnknownStatus(pub String);

impl Status {
    /// Every status, in life-cycle order.
    pub const ALL: [Status; 7] = [
        Status::PendingAuthorization,
        Status::Authorized,
        Status::Captured,
        Status::Failed,
        Status::Canceled,
        Status::Denied,
        Status::Done,
    ];

    /// The TMF676 name, also used in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::PendingAuthorization => "pendingAuthorization",
            Status::Authorized => "authorized",
            Status::Captured => "captured",
            Status::Failed => "failed",
            Status::Canceled => "canceled",
            Status::Denied => "denied",
            Status::Done => "done",
        }
    }

    /// Parses a TMF676 status name (exact spelling).
    pub fn parse(text: &str) -> Result<Status, UnknownStatus> {
        Status::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownStatus(text.to_owned()))
    }

    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Failed | Status::Canceled | Status::Denied | Status::Done
        )
    }

    /// Whether a refund in this status still holds part of its payment's amount.
    /// Failed, denied and canceled refunds gave nothing back, so they do not count.
    pub fn counts_against_refundable(self) -> bool {
        !matches!(self, Status::Failed | Status::Canceled | Status::Denied)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides whether `from` may become `to`; the only gate for status changes.
///
/// - pendingAuthorization → authorized, captured, failed, denied, canceled, done
/// - authorized → captured, failed, canceled
/// - captured → done
/// - failed, canceled, denied and done are terminal.
pub fn transition(from: Status, to: Status) -> Result<Status, TransitionError> {
    use Status::*;
    let allowed = match from {
        PendingAuthorization => matches!(
            to,
            Authorized | Captured | Failed | Denied | Canceled | Done
        ),
        Authorized => matches!(to, Captured | Failed | Canceled),
        Captured => matches!(to, Done),
        Failed | Canceled | Denied | Done => false,
    };
    if allowed {
        Ok(to)
    } else {
        Err(TransitionError { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Ok(s));
        }
        assert!(Status::parse("Captured").is_err());
    }

    #[test]
    fn terminal_statuses_never_change() {
        for from in Status::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in Status::ALL {
                assert!(transition(from, to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn the_table_is_exactly_as_documented() {
        use Status::*;
        let legal = [
            (PendingAuthorization, Authorized),
            (PendingAuthorization, Captured),
            (PendingAuthorization, Failed),
            (PendingAuthorization, Denied),
            (PendingAuthorization, Canceled),
            (PendingAuthorization, Done),
            (Authorized, Captured),
            (Authorized, Failed),
            (Authorized, Canceled),
            (Captured, Done),
        ];
        for from in Status::ALL {
            for to in Status::ALL {
                assert_eq!(
                    transition(from, to).is_ok(),
                    legal.contains(&(from, to)),
                    "{from} -> {to}"
                );
            }
        }
    }
}
