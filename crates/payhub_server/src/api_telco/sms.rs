//! Text messages to subscribers. This machine reaches no SMS centre, so the
//! simulated one keeps what it "sent" in memory, where the sandbox endpoint
//! `GET /sandbox/v1/sms?msisdn=…` lists it (with the one-time code) for the
//! service that caused it.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use payhub_core::MerchantId;

/// Messages kept at most; the oldest go first.
const KEPT: usize = 10_000;

/// One message as sent.
#[derive(Clone, Debug)]
pub struct Sms {
    pub merchant_id: MerchantId,
    pub msisdn: String,
    pub transaction_id: String,
    pub text: String,
    pub link: String,
    pub code: String,
    pub sent_at: DateTime<Utc>,
}

/// The simulated SMS centre.
#[derive(Default)]
pub struct SmsCenter {
    sent: Mutex<Vec<Sms>>,
}

impl SmsCenter {
    pub fn send(&self, sms: Sms) {
        tracing::info!(
            msisdn = sms.msisdn.as_str(),
            transaction.id = sms.transaction_id.as_str(),
            "consent SMS sent (simulated)"
        );
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if sent.len() >= KEPT {
            sent.remove(0);
        }
        sent.push(sms);
    }

    /// What a merchant's transactions sent to a number, newest first.
    pub fn sent_to(&self, merchant: &MerchantId, msisdn: &str) -> Vec<Sms> {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.iter()
            .rev()
            .filter(|s| &s.merchant_id == merchant && s.msisdn == msisdn)
            .cloned()
            .collect()
    }
}
