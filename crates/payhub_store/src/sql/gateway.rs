//! The SQL behind [`GatewayStore`]: payments and refunds routed through a
//! gateway, with the ledger rows they move, and the seen signatures of
//! signed requests.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::gateway::{
    apply_refund_report, apply_report, CardAttempts, CardClaim, GatewayFields, RefundFields,
    RefundReportApplied, ReportApplied,
};
use payhub_core::{
    EventKind, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, RefundState,
};
use sqlx::{Any, Row, Transaction};

use super::aps::{return_credit_of_done_refund, settle_aps_payment};
use super::codec::micros;
use super::gateway_rows::{
    claim_reference, gateway_payment_from_row, gateway_refund_from_row, insert_gateway_payment_row,
    insert_gateway_refund_row, GATEWAY_PAYMENT_COLUMNS, GATEWAY_REFUND_COLUMNS,
};
use super::ledger_writes::{write_payments, write_refund};
use super::tx::{lock_status, move_status};
use super::SqlStore;
use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    CardRecord, ExternalRef, GatewayApplied, GatewayPayment, GatewayRefund, GatewayUpdate,
    IdempotentResponse,
};
use crate::traits::GatewayStore;

/// The fields of a stored gateway payment that a gateway's report may change.
fn report_fields(payment: &GatewayPayment) -> GatewayFields<CardRecord> {
    GatewayFields {
        state: payment.state,
        gw_ref: payment.gw_ref.clone(),
        action: payment.action.clone(),
        error_code: payment.gw_error_code.clone(),
        error_message: payment.gw_error_message.clone(),
        next_check_at: payment.next_check_at,
        checks: payment.checks,
        card: payment.card.clone(),
    }
}

#[async_trait]
impl GatewayStore for SqlStore {
    async fn insert_gateway_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        gateway: &GatewayPayment,
        reference: Option<&ExternalRef>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(reference) = reference {
            claim_reference(&mut tx, reference, payment.created_at).await?;
        }
        write_payments(&mut tx, &[(payment, event, None)]).await?;
        insert_gateway_payment_row(&mut tx, gateway).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_gateway_row(&self, gateway: &GatewayPayment) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_gateway_payment_row(&mut tx, gateway).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_gateway_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<GatewayPayment>, StoreError> {
        let sql =
            format!("SELECT {GATEWAY_PAYMENT_COLUMNS} FROM gateway_payments WHERE payment_id = $1");
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(gateway_payment_from_row).transpose()
    }

    async fn find_external_ref(
        &self,
        merchant: &MerchantId,
        dialect: &str,
        reference: &str,
    ) -> Result<Option<ExternalRef>, StoreError> {
        let row = sqlx::query(
            "SELECT resource_kind, resource_id FROM external_refs \
             WHERE merchant_id = $1 AND dialect = $2 AND reference = $3",
        )
        .bind(merchant.as_str().to_owned())
        .bind(dialect.to_owned())
        .bind(reference.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(ExternalRef {
                merchant_id: merchant.clone(),
                dialect: dialect.to_owned(),
                reference: reference.to_owned(),
                resource_kind: row.try_get("resource_kind")?,
                resource_id: row.try_get("resource_id")?,
            })
        })
        .transpose()
    }

    async fn apply_gateway_update(
        &self,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let applied = self
            .apply_update_in(&mut tx, payment_id, update, now)
            .await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn claim_card_attempt(
        &self,
        payment_id: PaymentId,
        attempts: CardAttempts,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<CardClaim, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let Some(current) = self.lock_gateway_payment(&mut tx, payment_id).await? else {
            return Ok(CardClaim::NotWaiting);
        };
        // Whether a card may go now is the core's decision; the store only writes it.
        let used = u32::try_from(current.card_attempts).unwrap_or(u32::MAX);
        let decided = attempts.claim(
            current.state,
            current.action.as_deref(),
            used,
            current.card_claimed_until,
            now,
        );
        let CardClaim::Granted { attempt } = decided else {
            return Ok(decided);
        };
        sqlx::query(
            "UPDATE gateway_payments SET card_attempts = $1, card_claim = $2, card_claimed_until = $3, \
             next_check_at = $4, updated_at = $5 WHERE payment_id = $6",
        )
        .bind(i64::from(attempt))
        .bind(claim.to_owned())
        .bind(micros(until))
        .bind(micros(until))
        .bind(micros(now))
        .bind(payment_id.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(decided)
    }

    async fn apply_card_attempt(
        &self,
        payment_id: PaymentId,
        claim: &str,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        // A claim that lapsed and was taken by another attempt stays that one's.
        sqlx::query(
            "UPDATE gateway_payments SET card_claim = NULL, card_claimed_until = NULL \
             WHERE payment_id = $1 AND card_claim = $2",
        )
        .bind(payment_id.get())
        .bind(claim.to_owned())
        .execute(&mut *tx)
        .await?;
        let applied = self
            .apply_update_in(&mut tx, payment_id, update, now)
            .await?;
        tx.commit().await?;
        Ok(applied)
    }

    async fn claim_due_gateway_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayPayment>, StoreError> {
        let rows = self
            .claim_due_checks(
                "gateway_payments",
                "payment_id",
                GATEWAY_PAYMENT_COLUMNS,
                now,
                lease_until,
                limit,
            )
            .await?;
        rows.iter().map(gateway_payment_from_row).collect()
    }

    async fn insert_gateway_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        gateway: &GatewayRefund,
        reference: Option<&ExternalRef>,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        let (_turn, mut tx) = self.begin_write().await?;
        if let Some(reference) = reference {
            claim_reference(&mut tx, reference, refund.created_at).await?;
        }
        write_refund(&mut tx, refund, event, kept).await??;
        insert_gateway_refund_row(&mut tx, gateway, refund.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_gateway_refund(
        &self,
        refund_id: RefundId,
    ) -> Result<Option<GatewayRefund>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {GATEWAY_REFUND_COLUMNS} FROM gateway_refunds WHERE refund_id = $1"
        ))
        .bind(refund_id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(gateway_refund_from_row).transpose()
    }

    async fn apply_refund_update(
        &self,
        refund_id: RefundId,
        state: RefundState,
        gw_ref: Option<&str>,
        next_check_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {GATEWAY_REFUND_COLUMNS} FROM gateway_refunds WHERE refund_id = $1{}",
            self.backend.for_update()
        ))
        .bind(refund_id.get())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(UpdateStatusError::NotFound);
        };
        let current = gateway_refund_from_row(&row)?;
        let report = RefundFields {
            state,
            gw_ref: gw_ref.map(str::to_owned),
            next_check_at,
        };
        let current_fields = RefundFields {
            state: current.state,
            gw_ref: current.gw_ref.clone(),
            next_check_at: current.next_check_at,
        };
        let (fields, refund_status) = match apply_refund_report(&current_fields, &report) {
            RefundReportApplied::AlreadyFinal => return Ok(false),
            RefundReportApplied::Changed {
                fields,
                refund_status,
            } => (fields, refund_status),
        };
        if let Some(to) = refund_status {
            let from = lock_status(
                &mut tx,
                self.backend,
                "refunds",
                &current.merchant_id,
                refund_id.get(),
            )
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
            move_status(
                &mut tx,
                "refunds",
                EventKind::RefundStateChange,
                &current.merchant_id,
                refund_id.get(),
                from,
                to,
                now,
            )
            .await?;
            if to == payhub_core::Status::Done {
                return_credit_of_done_refund(&mut tx, refund_id, now).await?;
            }
        }
        sqlx::query(
            "UPDATE gateway_refunds SET state = $1, gw_ref = $2, next_check_at = $3, updated_at = $4 \
             WHERE refund_id = $5",
        )
        .bind(fields.state.as_str())
        .bind(fields.gw_ref)
        .bind(fields.next_check_at.map(micros))
        .bind(micros(now))
        .bind(refund_id.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn claim_due_refund_checks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<GatewayRefund>, StoreError> {
        let rows = self
            .claim_due_checks(
                "gateway_refunds",
                "refund_id",
                GATEWAY_REFUND_COLUMNS,
                now,
                lease_until,
                limit,
            )
            .await?;
        rows.iter().map(gateway_refund_from_row).collect()
    }

    async fn remember_signature(
        &self,
        api_key: &str,
        signature: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let inserted = sqlx::query(
            "INSERT INTO seen_signatures (api_key, signature, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (api_key, signature) DO NOTHING",
        )
        .bind(api_key.to_owned())
        .bind(signature.to_owned())
        .bind(micros(now))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    async fn purge_seen_signatures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query("DELETE FROM seen_signatures WHERE seen_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}

impl SqlStore {
    /// Reads a gateway payment, locking its row until `tx` ends (`FOR UPDATE`
    /// on PostgreSQL; SQLite's write transaction holds the database).
    async fn lock_gateway_payment(
        &self,
        tx: &mut Transaction<'static, Any>,
        payment_id: PaymentId,
    ) -> Result<Option<GatewayPayment>, StoreError> {
        let sql = format!(
            "SELECT {GATEWAY_PAYMENT_COLUMNS} FROM gateway_payments WHERE payment_id = $1{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(gateway_payment_from_row).transpose()
    }

    /// Applies a gateway's report inside `tx`: the core decides what changes
    /// ([`apply_report`]); a final state moves the payment's status with its
    /// event, and settles an APS payment, in the same transaction.
    async fn apply_update_in(
        &self,
        tx: &mut Transaction<'static, Any>,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError> {
        let current = self
            .lock_gateway_payment(tx, payment_id)
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
        // What changes is the core's decision; the store only writes it.
        let (fields, payment_status) = match apply_report(&report_fields(&current), update) {
            ReportApplied::AlreadyFinal => return Ok(GatewayApplied::AlreadyFinal(current)),
            ReportApplied::Changed {
                fields,
                payment_status,
            } => (fields, payment_status),
        };
        if let Some(to) = payment_status {
            let from = lock_status(
                tx,
                self.backend,
                "payments",
                &current.merchant_id,
                payment_id.get(),
            )
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
            move_status(
                tx,
                "payments",
                EventKind::PaymentStateChange,
                &current.merchant_id,
                payment_id.get(),
                from,
                to,
                now,
            )
            .await?;
        }
        let card = fields.card.as_ref();
        sqlx::query(
            "UPDATE gateway_payments SET state = $1, gw_ref = $2, action = $3, gw_error_code = $4, \
             gw_error_message = $5, next_check_at = $6, checks = $7, card_token = $8, card_brand = $9, \
             card_first6 = $10, card_last4 = $11, card_gateway_token = $12, updated_at = $13 \
             WHERE payment_id = $14",
        )
        .bind(fields.state.as_str())
        .bind(fields.gw_ref.clone())
        .bind(fields.action.clone())
        .bind(fields.error_code.clone())
        .bind(fields.error_message.clone())
        .bind(fields.next_check_at.map(micros))
        .bind(fields.checks)
        .bind(card.map(|c| c.token.clone()))
        .bind(card.map(|c| c.brand.clone()))
        .bind(card.map(|c| c.first6.clone()))
        .bind(card.map(|c| c.last4.clone()))
        .bind(card.and_then(|c| c.gateway_token.clone()))
        .bind(micros(now))
        .bind(payment_id.get())
        .execute(&mut **tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {GATEWAY_PAYMENT_COLUMNS} FROM gateway_payments WHERE payment_id = $1"
        ))
        .bind(payment_id.get())
        .fetch_one(&mut **tx)
        .await?;
        let updated = gateway_payment_from_row(&row)?;
        // An APS payment's credit is given back, or its card saved, with the change.
        settle_aps_payment(tx, &updated, now).await?;
        Ok(GatewayApplied::Changed(updated))
    }
}
