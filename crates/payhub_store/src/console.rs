//! The operator console's storage: operator accounts, their sessions, and the
//! cross-merchant reads the console's search, timeline and charts need.
//!
//! The records only; the trait is [`ConsoleStore`](crate::traits::ConsoleStore).
//! Every read takes an optional merchant: `Some` confines it to that merchant (a
//! merchant-scoped operator), `None` reads every merchant's rows.

use chrono::{DateTime, Utc};
use payhub_core::{MerchantId, PaymentId, Status};

/// An operator of the web console.
#[derive(Clone, Debug, PartialEq)]
pub struct Operator {
    /// `op_<16 hex>`.
    pub id: String,
    /// The login name, unique.
    pub name: String,
    /// Argon2id in PHC string format; the password itself is never stored.
    pub password_hash: String,
    /// The one merchant this operator may see; `None` for every merchant.
    pub merchant_id: Option<MerchantId>,
    /// Consecutive failed logins since the last successful one.
    pub failed_logins: i64,
    /// No login is accepted before this time (after too many failures).
    pub locked_until: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// A logged-in browser session.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorSession {
    /// SHA-256 (hex) of the token the cookie carries.
    pub token_hash: String,
    pub operator_id: String,
    /// What every console form must post back (checked on every POST).
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What the console's payment search filters on; every `Some` must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PaymentSearch {
    /// Confines the search to one merchant (scoped operators always set it).
    pub merchant: Option<MerchantId>,
    pub id: Option<PaymentId>,
    /// The payment's `correlatorId`, or a dialect reference (retail `rrn`,
    /// telco `transactionId`, …) that names it.
    pub reference: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<Status>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_before: Option<DateTime<Utc>>,
}

/// Payments of one day, one merchant and one gateway type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeRow {
    /// The day's start (UTC).
    pub day: DateTime<Utc>,
    pub merchant_id: MerchantId,
    /// The gateway code (`WXPAY`, …), `BILL` for a telco payment on the phone
    /// bill, `LEDGER` for a payment recorded without either.
    pub gateway: String,
    /// Payments created that day.
    pub payments: i64,
    /// Of those, the ones now `authorized`, `captured` or `done`.
    pub succeeded: i64,
}
