//! The SQL behind [`ConnectorAccountStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::MerchantId;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::codec::{from_micros, merchant_id, micros};
use super::SqlStore;
use crate::connectors::{AccountHealth, ConnectorAccount, RoutingRules};
use crate::error::StoreError;
use crate::traits::ConnectorAccountStore;

const COLUMNS: &str = "id, merchant_id, connector, label, gateway_types, priority, weight, \
     min_amount_minor, max_amount_minor, currency, base_url, live, enabled, credentials, \
     credential_hints, credentials_version, failures, unhealthy_until, created_at, updated_at";

fn account_from_row(row: &AnyRow) -> Result<ConnectorAccount, StoreError> {
    let types: String = row.try_get("gateway_types")?;
    let unhealthy_until: Option<i64> = row.try_get("unhealthy_until")?;
    Ok(ConnectorAccount {
        id: row.try_get("id")?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        connector: row.try_get("connector")?,
        label: row.try_get("label")?,
        gateway_types: types
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        rules: RoutingRules {
            priority: row.try_get("priority")?,
            weight: row.try_get("weight")?,
            min_amount_minor: row.try_get("min_amount_minor")?,
            max_amount_minor: row.try_get("max_amount_minor")?,
            currency: row.try_get("currency")?,
        },
        base_url: row.try_get("base_url")?,
        live: row.try_get::<i64, _>("live")? != 0,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        sealed_credentials: row.try_get("credentials")?,
        credential_hints: row.try_get("credential_hints")?,
        credentials_version: row.try_get("credentials_version")?,
        health: AccountHealth {
            failures: row.try_get("failures")?,
            unhealthy_until: unhealthy_until.map(from_micros).transpose()?,
        },
        created_at: from_micros(row.try_get("created_at")?)?,
        updated_at: from_micros(row.try_get("updated_at")?)?,
    })
}

#[async_trait]
impl ConnectorAccountStore for SqlStore {
    async fn insert_connector_account(&self, account: &ConnectorAccount) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(&format!(
            "INSERT INTO connector_accounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        ))
        .bind(account.id.clone())
        .bind(account.merchant_id.as_str().to_owned())
        .bind(account.connector.clone())
        .bind(account.label.clone())
        .bind(account.gateway_types.join(","))
        .bind(account.rules.priority)
        .bind(account.rules.weight)
        .bind(account.rules.min_amount_minor)
        .bind(account.rules.max_amount_minor)
        .bind(account.rules.currency.clone())
        .bind(account.base_url.clone())
        .bind(i64::from(account.live))
        .bind(i64::from(account.enabled))
        .bind(account.sealed_credentials.clone())
        .bind(account.credential_hints.clone())
        .bind(account.credentials_version)
        .bind(account.health.failures)
        .bind(account.health.unhealthy_until.map(micros))
        .bind(micros(account.created_at))
        .bind(micros(account.updated_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_connector_account(
        &self,
        id: &str,
    ) -> Result<Option<ConnectorAccount>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM connector_accounts WHERE id = $1"
        ))
        .bind(id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn list_connector_accounts(
        &self,
        merchant: Option<&MerchantId>,
    ) -> Result<Vec<ConnectorAccount>, StoreError> {
        let order = "ORDER BY merchant_id, priority, created_at, id";
        let rows = match merchant {
            Some(merchant) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM connector_accounts WHERE merchant_id = $1 {order}"
                ))
                .bind(merchant.as_str().to_owned())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(&format!("SELECT {COLUMNS} FROM connector_accounts {order}"))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(account_from_row).collect()
    }

    async fn rotate_connector_credentials(
        &self,
        id: &str,
        sealed: &str,
        hints: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query(
            "UPDATE connector_accounts SET credentials = $1, credential_hints = $2, \
             credentials_version = credentials_version + 1, updated_at = $3 WHERE id = $4",
        )
        .bind(sealed.to_owned())
        .bind(hints.to_owned())
        .bind(micros(now))
        .bind(id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_connector_enabled(
        &self,
        id: &str,
        enabled: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query(
            "UPDATE connector_accounts SET enabled = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(i64::from(enabled))
        .bind(micros(now))
        .bind(id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_connector_health(
        &self,
        id: &str,
        health: AccountHealth,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "UPDATE connector_accounts SET failures = $1, unhealthy_until = $2 WHERE id = $3",
        )
        .bind(health.failures)
        .bind(health.unhealthy_until.map(micros))
        .bind(id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
