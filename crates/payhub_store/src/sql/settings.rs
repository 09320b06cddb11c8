//! The SQL behind [`SettingsStore`]: cluster-wide settings, first writer wins.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::codec::micros;
use super::SqlStore;
use crate::error::StoreError;
use crate::traits::SettingsStore;

#[async_trait]
impl SettingsStore for SqlStore {
    async fn claim_cluster_setting(
        &self,
        name: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "INSERT INTO cluster_settings (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name.to_owned())
        .bind(value.to_owned())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT value FROM cluster_settings WHERE name = $1")
            .bind(name.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("value")?)
    }
}
