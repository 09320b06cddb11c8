//! The status machine as the store applies it: legal changes are recorded with
//! their event, illegal ones are refused and change nothing.

use chrono::Utc;
use payhub_core::{MerchantId, PaymentId, Status};
use payhub_store::UpdateStatusError;
use serde_json::json;

use crate::both_backends;
use crate::helpers::kit_payment;

both_backends! {
    async fn transitions_follow_the_machine(app: TestApp) {
        let mut body = kit_payment();
        body["status"] = json!("pendingAuthorization");
        let created = app.create_payment(&body).await;
        let id: PaymentId = created["id"].as_str().unwrap().parse().unwrap();
        let merchant = MerchantId::parse(&app.merchant.merchant_id).unwrap();

        let authorized = app.store.update_payment_status(&merchant, id, Status::Authorized, Utc::now()).await.unwrap();
        assert_eq!(authorized.status, Status::Authorized);
        let refused = app.store.update_payment_status(&merchant, id, Status::PendingAuthorization, Utc::now()).await;
        assert!(matches!(refused, Err(UpdateStatusError::Transition(_))), "{refused:?}");
        let captured = app.store.update_payment_status(&merchant, id, Status::Captured, Utc::now()).await.unwrap();
        assert_eq!(captured.status, Status::Captured);

        let fetched: serde_json::Value = app.get(&format!("/payment/{id}")).await.json().await.unwrap();
        assert_eq!(fetched["status"], "captured");
        assert_ne!(fetched["statusDate"], created["statusDate"]);

        let foreign = MerchantId::generate();
        let missing = app.store.update_payment_status(&foreign, id, Status::Done, Utc::now()).await;
        assert!(matches!(missing, Err(UpdateStatusError::NotFound)));
    }
}
