//! Text messages to subscribers. This machine reaches no SMS centre, so the
//! simulated one keeps what it "sent" in the database (`sandbox_sms`, the
//! newest 10000), where the sandbox endpoint `GET /sandbox/v1/sms?msisdn=…`
//! lists it (with the one-time code) for the service that caused it, on
//! whichever node is asked.

use std::sync::Arc;

use payhub_core::MerchantId;
pub use payhub_store::SandboxSms as Sms;
use payhub_store::{Store, StoreError};

/// The simulated SMS centre.
pub struct SmsCenter {
    store: Arc<dyn Store>,
}

impl SmsCenter {
    pub fn new(store: Arc<dyn Store>) -> SmsCenter {
        SmsCenter { store }
    }

    pub async fn send(&self, sms: Sms) -> Result<(), StoreError> {
        tracing::info!(
            msisdn = sms.msisdn.as_str(),
            transaction.id = sms.transaction_id.as_str(),
            "consent SMS sent (simulated)"
        );
        self.store.insert_sandbox_sms(&sms).await
    }

    /// What a merchant's transactions sent to a number, newest first.
    pub async fn sent_to(
        &self,
        merchant: &MerchantId,
        msisdn: &str,
    ) -> Result<Vec<Sms>, StoreError> {
        self.store.list_sandbox_sms(merchant, msisdn).await
    }
}
