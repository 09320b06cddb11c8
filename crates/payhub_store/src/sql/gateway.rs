//! Gateway payments and refunds, dialect references, seen signatures and the
//! delivery log: the SQL behind the gateway half of [`Store`](crate::Store).

use chrono::{DateTime, Utc};
use payhub_core::{
    EventKind, GatewayState, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId,
    RefundState,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{
    corrupt, delivery_kind, from_micros, lock_status, merchant_id, micros, move_status,
    write_payments, write_refund, SqlStore, MERCHANT_COLUMNS,
};
use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    CardRecord, DeliveryAttempt, DeliveryFilter, DeliveryRecord, ExternalRef, GatewayApplied,
    GatewayPayment, GatewayRefund, GatewayUpdate, IdempotentResponse, Merchant,
};

const GATEWAY_PAYMENT_COLUMNS: &str =
    "payment_id, merchant_id, gateway, gw_ref, state, action, gw_error_code, gw_error_message, \
     expires_at, next_check_at, checks, lang, return_url, webhook_url, card_token, card_brand, \
     card_first6, card_last4, created_at, fail_url";
const GATEWAY_REFUND_COLUMNS: &str =
    "refund_id, payment_id, merchant_id, gateway, gw_ref, state, next_check_at, checks";
pub(super) const DELIVERY_COLUMNS: &str =
    "id, event_id, merchant_id, kind, callback, state, attempts, \
     next_attempt_at, last_status, last_error, last_response, created_at, body";

fn optional_time(value: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    value.map(from_micros).transpose()
}

fn gateway_payment_from_row(row: &AnyRow) -> Result<GatewayPayment, StoreError> {
    let state: String = row.try_get("state")?;
    let card_token: Option<String> = row.try_get("card_token")?;
    let card = match card_token {
        Some(token) => Some(CardRecord {
            token,
            brand: row
                .try_get::<Option<String>, _>("card_brand")?
                .unwrap_or_default(),
            first6: row
                .try_get::<Option<String>, _>("card_first6")?
                .unwrap_or_default(),
            last4: row
                .try_get::<Option<String>, _>("card_last4")?
                .unwrap_or_default(),
        }),
        None => None,
    };
    Ok(GatewayPayment {
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        gateway: row.try_get("gateway")?,
        gw_ref: row.try_get("gw_ref")?,
        state: GatewayState::parse(&state)
            .ok_or_else(|| corrupt(format!("gateway state {state}")))?,
        action: row.try_get("action")?,
        gw_error_code: row.try_get("gw_error_code")?,
        gw_error_message: row.try_get("gw_error_message")?,
        expires_at: from_micros(row.try_get("expires_at")?)?,
        next_check_at: optional_time(row.try_get("next_check_at")?)?,
        checks: row.try_get("checks")?,
        lang: row.try_get("lang")?,
        return_url: row.try_get("return_url")?,
        webhook_url: row.try_get("webhook_url")?,
        fail_url: row.try_get("fail_url")?,
        card,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn gateway_refund_from_row(row: &AnyRow) -> Result<GatewayRefund, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(GatewayRefund {
        refund_id: RefundId::from_i64(row.try_get("refund_id")?)
            .ok_or_else(|| corrupt("refund id"))?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        gateway: row.try_get("gateway")?,
        gw_ref: row.try_get("gw_ref")?,
        state: RefundState::parse(&state)
            .ok_or_else(|| corrupt(format!("refund state {state}")))?,
        next_check_at: optional_time(row.try_get("next_check_at")?)?,
        checks: row.try_get("checks")?,
    })
}

pub(super) fn delivery_from_row(row: &AnyRow) -> Result<DeliveryRecord, StoreError> {
    Ok(DeliveryRecord {
        id: row.try_get("id")?,
        event_id: payhub_core::EventId::from_i64(row.try_get("event_id")?)
            .ok_or_else(|| corrupt("event id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        kind: delivery_kind(row)?,
        url: row.try_get("callback")?,
        state: row.try_get("state")?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: from_micros(row.try_get("next_attempt_at")?)?,
        last_status: row.try_get("last_status")?,
        last_error: row.try_get("last_error")?,
        last_response: row.try_get("last_response")?,
        created_at: from_micros(row.try_get("created_at")?)?,
        body: row.try_get("body")?,
    })
}

/// Fails with [`StoreError::DuplicateReference`] when the reference is taken,
/// otherwise writes it. Two racing writers on PostgreSQL both pass the check;
/// the primary key then refuses one (an id collision to the caller, whose
/// retry finds the reference taken).
pub(super) async fn claim_reference(
    tx: &mut Transaction<'static, Any>,
    reference: &ExternalRef,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let taken = sqlx::query(
        "SELECT 1 AS taken FROM external_refs WHERE merchant_id = $1 AND dialect = $2 AND reference = $3",
    )
    .bind(reference.merchant_id.as_str().to_owned())
    .bind(reference.dialect.clone())
    .bind(reference.reference.clone())
    .fetch_optional(&mut **tx)
    .await?;
    if taken.is_some() {
        return Err(StoreError::DuplicateReference);
    }
    sqlx::query(
        "INSERT INTO external_refs (merchant_id, dialect, reference, resource_kind, resource_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(reference.merchant_id.as_str().to_owned())
    .bind(reference.dialect.clone())
    .bind(reference.reference.clone())
    .bind(reference.resource_kind.clone())
    .bind(reference.resource_id)
    .bind(micros(now))
    .execute(&mut **tx)
    .await
    .map_err(|error| {
        // A concurrent request claimed it between the check and the insert.
        if error
            .as_database_error()
            .is_some_and(|e| e.is_unique_violation())
        {
            StoreError::DuplicateReference
        } else {
            error.into()
        }
    })?;
    Ok(())
}

/// Writes a gateway payment's row inside `tx`.
pub(super) async fn insert_gateway_row(
    tx: &mut Transaction<'static, Any>,
    gateway: &GatewayPayment,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO gateway_payments ({GATEWAY_PAYMENT_COLUMNS}, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    );
    let card = gateway.card.as_ref();
    sqlx::query(&sql)
        .bind(gateway.payment_id.get())
        .bind(gateway.merchant_id.as_str().to_owned())
        .bind(gateway.gateway.clone())
        .bind(gateway.gw_ref.clone())
        .bind(gateway.state.as_str())
        .bind(gateway.action.clone())
        .bind(gateway.gw_error_code.clone())
        .bind(gateway.gw_error_message.clone())
        .bind(micros(gateway.expires_at))
        .bind(gateway.next_check_at.map(micros))
        .bind(gateway.checks)
        .bind(gateway.lang.clone())
        .bind(gateway.return_url.clone())
        .bind(gateway.webhook_url.clone())
        .bind(card.map(|c| c.token.clone()))
        .bind(card.map(|c| c.brand.clone()))
        .bind(card.map(|c| c.first6.clone()))
        .bind(card.map(|c| c.last4.clone()))
        .bind(micros(gateway.created_at))
        .bind(gateway.fail_url.clone())
        .bind(micros(gateway.created_at))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl SqlStore {
    pub(super) async fn find_merchant_where(
        &self,
        column: &str,
        value: &str,
    ) -> Result<Option<Merchant>, StoreError> {
        let sql = format!("SELECT {MERCHANT_COLUMNS} FROM merchants WHERE {column} = $1");
        let row = sqlx::query(&sql)
            .bind(value.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(super::merchant_from_row).transpose()
    }

    pub(super) async fn set_merchant_gateways(
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

    pub(super) async fn write_gateway_payment(
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
        insert_gateway_row(&mut tx, gateway).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn write_gateway_row(
        &self,
        gateway: &GatewayPayment,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_gateway_row(&mut tx, gateway).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn read_gateway_payment(
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

    pub(super) async fn read_external_ref(
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

    pub(super) async fn write_gateway_update(
        &self,
        payment_id: PaymentId,
        update: &GatewayUpdate,
        now: DateTime<Utc>,
    ) -> Result<GatewayApplied, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let sql = format!(
            "SELECT {GATEWAY_PAYMENT_COLUMNS} FROM gateway_payments WHERE payment_id = $1{}",
            self.backend.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(UpdateStatusError::NotFound);
        };
        let current = gateway_payment_from_row(&row)?;
        if current.state.is_final() {
            return Ok(GatewayApplied::AlreadyFinal(current));
        }
        if let Some(to) = update.state.payment_status() {
            let from = lock_status(
                &mut tx,
                self.backend,
                "payments",
                &current.merchant_id,
                payment_id.get(),
            )
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
            move_status(
                &mut tx,
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
        let (error_code, error_message) = match &update.error {
            Some((code, message)) => (Some(code.clone()), Some(message.clone())),
            None => (
                current.gw_error_code.clone(),
                current.gw_error_message.clone(),
            ),
        };
        let card = update.card.as_ref().or(current.card.as_ref());
        let next_check_at = if update.state.is_final() {
            None
        } else {
            update.next_check_at
        };
        sqlx::query(
            "UPDATE gateway_payments SET state = $1, gw_ref = $2, action = $3, gw_error_code = $4, \
             gw_error_message = $5, next_check_at = $6, checks = $7, card_token = $8, card_brand = $9, \
             card_first6 = $10, card_last4 = $11, updated_at = $12 WHERE payment_id = $13",
        )
        .bind(update.state.as_str())
        .bind(update.gw_ref.clone().or(current.gw_ref.clone()))
        .bind(update.action.clone())
        .bind(error_code)
        .bind(error_message)
        .bind(next_check_at.map(micros))
        .bind(current.checks)
        .bind(card.map(|c| c.token.clone()))
        .bind(card.map(|c| c.brand.clone()))
        .bind(card.map(|c| c.first6.clone()))
        .bind(card.map(|c| c.last4.clone()))
        .bind(micros(now))
        .bind(payment_id.get())
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(&format!(
            "SELECT {GATEWAY_PAYMENT_COLUMNS} FROM gateway_payments WHERE payment_id = $1"
        ))
        .bind(payment_id.get())
        .fetch_one(&mut *tx)
        .await?;
        let updated = gateway_payment_from_row(&row)?;
        // An APS payment's credit is given back, or its card saved, with the change.
        super::aps::settle_aps_payment(&mut tx, &updated, now).await?;
        tx.commit().await?;
        Ok(GatewayApplied::Changed(updated))
    }

    pub(super) async fn claim_due_checks(
        &self,
        table: &str,
        key: &str,
        columns: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let sql = format!(
            "UPDATE {table} SET next_check_at = $1, checks = checks + 1, updated_at = $2 WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE next_check_at IS NOT NULL AND next_check_at <= $3 \
             ORDER BY next_check_at LIMIT $4{}) RETURNING {columns}",
            self.backend.skip_locked()
        );
        Ok(sqlx::query(&sql)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub(super) async fn claim_due_payment_checks(
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

    pub(super) async fn claim_due_refunds(
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

    pub(super) async fn write_gateway_refund(
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
        write_refund(&mut tx, self.backend, refund, event, kept).await??;
        insert_gateway_refund_row(&mut tx, gateway, refund.created_at).await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn read_gateway_refund(
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

    pub(super) async fn write_refund_update(
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
        if current.state != RefundState::Unknown {
            return Ok(false);
        }
        if let Some(to) = state.refund_status() {
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
                super::aps::return_credit_of_done_refund(&mut tx, refund_id, now).await?;
            }
        }
        let next_check_at = if state == RefundState::Unknown {
            next_check_at
        } else {
            None
        };
        sqlx::query(
            "UPDATE gateway_refunds SET state = $1, gw_ref = $2, next_check_at = $3, updated_at = $4 \
             WHERE refund_id = $5",
        )
        .bind(state.as_str())
        .bind(gw_ref.map(str::to_owned).or(current.gw_ref))
        .bind(next_check_at.map(micros))
        .bind(micros(now))
        .bind(refund_id.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn note_signature(
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

    pub(super) async fn forget_signatures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query("DELETE FROM seen_signatures WHERE seen_at < $1")
            .bind(micros(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    pub(super) async fn read_deliveries(
        &self,
        filter: &DeliveryFilter,
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        enum Bind {
            Int(i64),
            Text(String),
        }
        let mut conditions: Vec<String> = Vec::new();
        let mut binds = Vec::new();
        // Adds a condition whose `?`s take `values`, in order.
        let mut push = |template: &str, values: Vec<Bind>| {
            let mut condition = String::new();
            let mut parts = template.split('?');
            condition.push_str(parts.next().unwrap_or_default());
            for (part, value) in parts.zip(values) {
                binds.push(value);
                condition.push_str(&format!("${}{part}", binds.len()));
            }
            conditions.push(condition);
        };
        if let Some(merchant) = &filter.merchant {
            push(
                "merchant_id = ?",
                vec![Bind::Text(merchant.as_str().to_owned())],
            );
        }
        if let Some(payment) = filter.payment_id {
            push(
                "event_id IN (SELECT id FROM outbox_events WHERE resource_id = ? \
                 OR resource_id IN (SELECT id FROM refunds WHERE payment_id = ?))",
                vec![Bind::Int(payment), Bind::Int(payment)],
            );
        }
        if let Some(state) = &filter.state {
            push("state = ?", vec![Bind::Text(state.clone())]);
        }
        if let Some(from) = filter.created_from {
            push("created_at >= ?", vec![Bind::Int(micros(from))]);
        }
        if let Some(before) = filter.created_before {
            push("created_at < ?", vec![Bind::Int(micros(before))]);
        }
        if let Some(before_id) = filter.before_id {
            push("id < ?", vec![Bind::Int(before_id)]);
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM hub_deliveries {where_clause} ORDER BY id DESC LIMIT {}",
            filter.limit.max(1)
        );
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = match bind {
                Bind::Int(v) => query.bind(v),
                Bind::Text(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(delivery_from_row).collect()
    }

    pub(super) async fn read_delivery_attempts(
        &self,
        delivery_id: i64,
    ) -> Result<Vec<DeliveryAttempt>, StoreError> {
        let rows = sqlx::query(
            "SELECT attempted_at, status_code, error, response FROM delivery_attempts \
             WHERE delivery_id = $1 ORDER BY id",
        )
        .bind(delivery_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(DeliveryAttempt {
                    attempted_at: from_micros(row.try_get("attempted_at")?)?,
                    status_code: row.try_get("status_code")?,
                    error: row.try_get("error")?,
                    response: row.try_get("response")?,
                })
            })
            .collect()
    }

    pub(super) async fn requeue_delivery(
        &self,
        merchant: Option<&MerchantId>,
        delivery_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query(
            "UPDATE hub_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, updated_at = $2 \
             WHERE id = $3 AND ($4 = '' OR merchant_id = $4)",
        )
        .bind(micros(now))
        .bind(micros(now))
        .bind(delivery_id)
        .bind(merchant.map(|m| m.as_str().to_owned()).unwrap_or_default())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Writes the gateway row of a refund about to be sent to its payment's
/// gateway, inside the transaction that records the refund.
pub(super) async fn insert_gateway_refund_row(
    tx: &mut Transaction<'static, Any>,
    gateway: &GatewayRefund,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(&format!(
        "INSERT INTO gateway_refunds ({GATEWAY_REFUND_COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    ))
    .bind(gateway.refund_id.get())
    .bind(gateway.payment_id.get())
    .bind(gateway.merchant_id.as_str().to_owned())
    .bind(gateway.gateway.clone())
    .bind(gateway.gw_ref.clone())
    .bind(gateway.state.as_str())
    .bind(gateway.next_check_at.map(micros))
    .bind(gateway.checks)
    .bind(micros(now))
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
