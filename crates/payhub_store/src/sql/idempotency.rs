//! The SQL behind [`IdempotencyStore`]: idempotency keys, their claims and
//! kept answers, including the answer kept inside the work's own transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::MerchantId;
use sqlx::Row;

use super::codec::{corrupt, micros};
use super::ledger_writes::keep_response;
use super::SqlStore;
use crate::error::StoreError;
use crate::records::{IdempotencyBegin, IdempotentResponse, SavedResponse};
use crate::traits::IdempotencyStore;

#[async_trait]
impl IdempotencyStore for SqlStore {
    async fn begin_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        fingerprint: &str,
        claim: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<IdempotencyBegin, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (merchant_id, idempotency_key, fingerprint, state, created_at, updated_at, claim) \
             VALUES ($1, $2, $3, 'processing', $4, $5, $6) ON CONFLICT (merchant_id, idempotency_key) DO NOTHING",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(fingerprint.to_owned())
        .bind(micros(now))
        .bind(micros(now))
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(IdempotencyBegin::Proceed);
        }
        let row = sqlx::query(
            "SELECT fingerprint, state, response_status, response_location, response_body, updated_at \
             FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        // Deleted between our insert and select (abandoned or purged): treat as in progress; the client retries.
        let Some(row) = row else {
            return Ok(IdempotencyBegin::InProgress);
        };
        if row.try_get::<String, _>("fingerprint")? != fingerprint {
            return Ok(IdempotencyBegin::Mismatch);
        }
        if row.try_get::<String, _>("state")? == "done" {
            let status: i64 = row
                .try_get::<Option<i64>, _>("response_status")?
                .unwrap_or(500);
            return Ok(IdempotencyBegin::Replay(SavedResponse {
                status: u16::try_from(status).map_err(corrupt)?,
                location: row.try_get("response_location")?,
                body: row
                    .try_get::<Option<String>, _>("response_body")?
                    .unwrap_or_default(),
            }));
        }
        let updated_at: i64 = row.try_get("updated_at")?;
        if updated_at >= micros(stale_before) {
            return Ok(IdempotencyBegin::InProgress);
        }
        // The first request died without answering; take the key over, once.
        let taken = sqlx::query(
            "UPDATE idempotency_keys SET updated_at = $1, claim = $5 WHERE merchant_id = $2 \
             AND idempotency_key = $3 AND state = 'processing' AND updated_at = $4",
        )
        .bind(micros(now))
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(updated_at)
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(if taken.rows_affected() == 1 {
            IdempotencyBegin::Proceed
        } else {
            IdempotencyBegin::InProgress
        })
    }

    async fn renew_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let renewed = sqlx::query(
            "UPDATE idempotency_keys SET updated_at = $1 WHERE merchant_id = $2 \
             AND idempotency_key = $3 AND state = 'processing' AND claim = $4",
        )
        .bind(micros(now))
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(renewed.rows_affected() == 1)
    }

    async fn complete_idempotent(
        &self,
        saved: &IdempotentResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        keep_response(&mut tx, saved, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn abandon_idempotent(
        &self,
        merchant: &MerchantId,
        key: &str,
        claim: &str,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE merchant_id = $1 AND idempotency_key = $2 \
             AND state = 'processing' AND claim = $3",
        )
        .bind(merchant.as_str().to_owned())
        .bind(key.to_owned())
        .bind(claim.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn purge_idempotency_keys(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let result = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected())
    }
}
