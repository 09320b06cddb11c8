//! The SQL behind [`MerchantStore`]: merchant accounts and their settings.

use async_trait::async_trait;
use chrono::Utc;
use payhub_core::MerchantId;

use super::codec::{merchant_from_row, micros, MERCHANT_COLUMNS};
use super::SqlStore;
use crate::error::StoreError;
use crate::records::Merchant;
use crate::traits::MerchantStore;

impl SqlStore {
    async fn find_merchant_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE {column} = $1");
        let row = sqlx::query(&sql)
            .bind(value.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }
}

#[async_trait]
impl MerchantStore for SqlStore {
    async fn insert_merchant(&self, merchant: &Merchant) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO merchants (id, name, api_key_hash, retail_api_key, gateways, retail_signature, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(merchant.id.as_str().to_owned())
        .bind(merchant.name.clone())
        .bind(merchant.api_key_hash.clone())
        .bind(merchant.retail_api_key.clone())
        .bind(merchant.gateways.join(","))
        .bind(merchant.retail_signature.clone())
        .bind(micros(merchant.created_at))
        .bind(micros(merchant.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_merchants(&self) -> Result<Vec<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants ORDER BY created_at, id");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        rows.iter().map(merchant_from_row).collect()
    }

    async fn find_merchant_by_api_key_hash(
        &self,
        api_key_hash: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE api_key_hash = $1");
        let row = sqlx::query(&sql)
            .bind(api_key_hash.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(merchant_from_row).transpose()
    }

    async fn find_merchant(&self, id: &MerchantId) -> Result<Option<Merchant>, StoreError> {
        self.find_merchant_where("id", id.as_str()).await
    }

    async fn find_merchant_by_retail_api_key(
        &self,
        retail_api_key: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        self.find_merchant_where("retail_api_key", retail_api_key)
            .await
    }

    async fn update_merchant_gateways(
        &self,
        id: &MerchantId,
        gateways: &[String],
        retail_signature: &str,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query(
            "UPDATE merchants SET gateways = $1, retail_signature = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(gateways.join(","))
        .bind(retail_signature.to_owned())
        .bind(micros(Utc::now()))
        .bind(id.as_str().to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}
