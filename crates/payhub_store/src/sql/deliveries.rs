//! The SQL behind [`DeliveryStore`]: webhook deliveries, their claims,
//! outcomes and attempts, and the operator's reads and resends of them.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, MerchantId, SubscriptionId};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::batch::values_list;
use super::codec::{corrupt, delivery_kind, from_micros, merchant_id, micros};
use super::fan_out_writes::{FanOutWrite, Lease};
use super::row_values::Kind::{Int, Text};
use super::row_values::{Columns, Value};
use super::statements::{id_of, insert_many, StatementTx};
use super::SqlStore;
use crate::error::StoreError;
use crate::records::{Delivery, DeliveryAttempt, DeliveryFilter, DeliveryOutcome, DeliveryRecord};
use crate::traits::DeliveryStore;

pub(super) const DELIVERY_COLUMNS: &str =
    "id, event_id, merchant_id, kind, callback, state, attempts, \
     next_attempt_at, last_status, last_error, last_response, created_at, body";

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

/// Outcomes recorded by one statement: a delivery round's (512) in two.
const OUTCOMES_PER_STATEMENT: usize = 256;

/// One attempt in a delivery's history.
const ATTEMPT_ROW: Columns = Columns {
    table: "delivery_attempts",
    names: &[
        "id",
        "delivery_id",
        "attempted_at",
        "status_code",
        "error",
        "response",
    ],
    kinds: &[Int, Int, Int, Int, Text, Text],
};

/// Gives each still pending delivery of `outcomes` its outcome, in one
/// statement, and returns the ids of those it changed. Only a pending
/// delivery takes an outcome: one given up meanwhile (its listener
/// removed) stays given up.
async fn record_outcomes(
    tx: &mut impl StatementTx,
    outcomes: &[(i64, DeliveryOutcome)],
    now: DateTime<Utc>,
) -> Result<HashSet<i64>, StoreError> {
    let (anonymous, _) = tx.placeholders();
    let mut values: Vec<Value<'_>> = Vec::with_capacity(outcomes.len() * 6 + 1);
    for (delivery, outcome) in outcomes {
        let (state, next_attempt_at) = match (outcome.delivered, outcome.retry_at) {
            (true, _) => ("delivered", now),
            (false, Some(retry_at)) => ("pending", retry_at),
            (false, None) => ("dead", now),
        };
        values.extend([
            Value::Int(Some(*delivery)),
            Value::Text(Some(state)),
            Value::Int(Some(micros(next_attempt_at))),
            Value::Int(outcome.status_code),
            Value::Text(outcome.error.as_deref()),
            Value::Text(outcome.response.as_deref()),
        ]);
    }
    values.push(Value::Int(Some(micros(now))));
    let updated_at = if anonymous {
        "?".to_owned()
    } else {
        format!("${}", values.len())
    };
    // The outcomes as a table (`v`), joined to the deliveries: SQLite
    // (3.33 and later) and PostgreSQL both take `UPDATE … FROM`, and a
    // named `WITH` is how both name a `VALUES` list's columns. Its names
    // differ from the table's so that `RETURNING id` is the delivery's.
    let sql = format!(
        "WITH v (delivery, new_state, due, status, failure, answer) AS (VALUES {}) \
         UPDATE hub_deliveries SET state = v.new_state, attempts = attempts + 1, next_attempt_at = v.due, \
         last_status = v.status, last_error = v.failure, last_response = v.answer, updated_at = {updated_at} \
         FROM v WHERE hub_deliveries.id = v.delivery AND hub_deliveries.state = 'pending' RETURNING id",
        values_list(outcomes.len(), 6, anonymous)
    );
    let recorded = tx.fetch(&sql, &values, id_of).await?;
    Ok(recorded.into_iter().collect())
}

/// Claims up to `limit` pending deliveries that are due, hiding them from
/// other workers until `lease_until`.
struct ClaimDeliveries(Lease);

impl FanOutWrite for ClaimDeliveries {
    type Output = Vec<Delivery>;

    async fn run(&self, tx: &mut impl StatementTx) -> Result<Self::Output, StoreError> {
        let sql = format!(
            "UPDATE hub_deliveries SET next_attempt_at = $1, updated_at = $2 WHERE id IN (SELECT id FROM hub_deliveries \
             WHERE state = 'pending' AND next_attempt_at <= $3 ORDER BY next_attempt_at LIMIT $4{}) \
             RETURNING id, event_id, subscription_id, merchant_id, callback, attempts, kind, body",
            self.0.skip_locked
        );
        let values = self.0.values();
        tx.fetch(&sql, &values, |row| {
            Ok(Delivery {
                id: row.int("id")?,
                event_id: EventId::from_i64(row.int("event_id")?)
                    .ok_or_else(|| corrupt("event id"))?,
                // Subscription id 0 marks a merchant webhook.
                subscription_id: SubscriptionId::from_i64(row.int("subscription_id")?),
                merchant_id: merchant_id(row.text("merchant_id")?)?,
                callback: row.text("callback")?,
                attempts: row.int("attempts")?,
                kind: delivery_kind(row)?,
                body: row.opt_text("body")?,
            })
        })
        .await
    }
}

/// Records a delivery round's outcomes, each with its attempt.
struct RecordOutcomes {
    outcomes: Vec<(i64, DeliveryOutcome)>,
    now: DateTime<Utc>,
}

impl FanOutWrite for RecordOutcomes {
    type Output = ();

    async fn run(&self, tx: &mut impl StatementTx) -> Result<(), StoreError> {
        let now = self.now;
        for chunk in self.outcomes.chunks(OUTCOMES_PER_STATEMENT) {
            let recorded = record_outcomes(tx, chunk, now).await?;
            // Each outcome taken is also an attempt in the delivery's history.
            let attempts: Vec<Value<'_>> = chunk
                .iter()
                .filter(|(delivery, _)| recorded.contains(delivery))
                .flat_map(|(delivery, outcome)| {
                    [
                        Value::Int(Some(payhub_core::ids::generate_id(now))),
                        Value::Int(Some(*delivery)),
                        Value::Int(Some(micros(now))),
                        Value::Int(outcome.status_code),
                        Value::Text(outcome.error.as_deref()),
                        Value::Text(outcome.response.as_deref()),
                    ]
                })
                .collect();
            insert_many(tx, &ATTEMPT_ROW, &attempts, "").await?;
        }
        Ok(())
    }
}

#[async_trait]
impl DeliveryStore for SqlStore {
    async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        self.write_fan_out(ClaimDeliveries(self.lease(now, lease_until, limit)))
            .await
    }

    async fn record_delivery_outcomes(
        &self,
        outcomes: &[(i64, DeliveryOutcome)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if outcomes.is_empty() {
            return Ok(());
        }
        let _turn = self.write_lock.acquire().await;
        self.write_fan_out(RecordOutcomes {
            outcomes: outcomes.to_vec(),
            now,
        })
        .await
    }

    async fn list_deliveries(
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

    async fn list_delivery_attempts(
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

    async fn resend_delivery(
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
