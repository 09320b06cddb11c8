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

/// What a status means to someone waiting for the money: the one bucketing
/// every dialect shows (APS `SUCCESS`/`IN_PROGRESS`/`FAILED`, retail
/// `gwRefStatus` 01/05/02, the hosted page's paid or not, and whether a
/// payment's end is notified), so that no dialect buckets on its own.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Outcome {
    /// The money moved: captured, or done.
    Succeeded,
    /// Still open: it may yet succeed or fail.
    Pending,
    /// It ended without the money moving: failed, canceled or denied.
    Failed,
}

impl Outcome {
    /// Whether the outcome is decided; a decided payment is worth a notification.
    pub fn is_decided(self) -> bool {
        self != Outcome::Pending
    }
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

    /// What this status means for the money (see [`Outcome`]).
    ///
    /// `captured` is a success although a refund may still move it to
    /// `done`: the customer has paid, which is what every dialect reports.
    pub fn outcome(self) -> Outcome {
        match self {
            Status::Captured | Status::Done => Outcome::Succeeded,
            Status::PendingAuthorization | Status::Authorized => Outcome::Pending,
            Status::Failed | Status::Canceled | Status::Denied => Outcome::Failed,
        }
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
    fn every_status_has_the_outcome_the_dialects_show() {
        use Status::*;
        let table = [
            (PendingAuthorization, Outcome::Pending),
            (Authorized, Outcome::Pending),
            (Captured, Outcome::Succeeded),
            (Failed, Outcome::Failed),
            (Canceled, Outcome::Failed),
            (Denied, Outcome::Failed),
            (Done, Outcome::Succeeded),
        ];
        assert_eq!(table.len(), Status::ALL.len());
        for (status, outcome) in table {
            assert_eq!(status.outcome(), outcome, "{status}");
        }
    }

    #[test]
    fn a_decided_outcome_is_a_terminal_status_or_captured() {
        // The hub notifies a payment's end exactly for these statuses.
        for status in Status::ALL {
            assert_eq!(
                status.outcome().is_decided(),
                status.is_terminal() || status == Status::Captured,
                "{status}"
            );
        }
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
