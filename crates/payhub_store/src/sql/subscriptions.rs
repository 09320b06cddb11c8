//! The SQL behind [`SubscriptionStore`]: hub listeners.

use async_trait::async_trait;
use payhub_core::{MerchantId, SubscriptionId};

use super::codec::{micros, subscription_from_row};
use super::SqlStore;
use crate::error::StoreError;
use crate::records::Subscription;
use crate::traits::SubscriptionStore;

#[async_trait]
impl SubscriptionStore for SqlStore {
    async fn insert_subscription(&self, subscription: &Subscription) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO hub_subscriptions (id, merchant_id, callback, query, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(subscription.id.get())
        .bind(subscription.merchant_id.as_str().to_owned())
        .bind(subscription.callback.clone())
        .bind(subscription.query.clone())
        .bind(micros(subscription.created_at))
        .bind(micros(subscription.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_subscription(
        &self,
        merchant: &MerchantId,
        id: SubscriptionId,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let deleted =
            sqlx::query("DELETE FROM hub_subscriptions WHERE id = $1 AND merchant_id = $2")
                .bind(id.get())
                .bind(merchant.as_str().to_owned())
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
        // A removed listener gets nothing more, not even retries of earlier events.
        sqlx::query(
            "UPDATE hub_deliveries SET state = 'dead', last_error = 'listener removed' \
             WHERE subscription_id = $1 AND merchant_id = $2 AND state = 'pending'",
        )
        .bind(id.get())
        .bind(merchant.as_str().to_owned())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    async fn list_subscriptions(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<Subscription>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, merchant_id, callback, query, created_at FROM hub_subscriptions WHERE merchant_id = $1 ORDER BY id",
        )
        .bind(merchant.as_str().to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(subscription_from_row).collect()
    }
}
