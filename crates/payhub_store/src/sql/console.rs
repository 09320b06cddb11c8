//! The SQL behind [`ConsoleStore`]: operators, their sessions, and the
//! console's reads across merchants.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, LedgerEvent, MerchantId, Payment, PaymentId, Refund, Status};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::codec::{
    event_from_row, from_micros, merchant_id, micros, payment_from_row, refund_from_row,
    EVENT_COLUMNS, PAYMENT_COLUMNS, REFUND_COLUMNS,
};
use super::deliveries::{delivery_from_row, DELIVERY_COLUMNS};
use super::filter::{bind_all, Bind};
use super::SqlStore;
use crate::console::{Operator, OperatorSession, PaymentSearch, VolumeRow};
use crate::error::StoreError;
use crate::records::{DeliveryRecord, Listed, Page};
use crate::traits::ConsoleStore;

const OPERATOR_COLUMNS: &str =
    "id, name, password_hash, merchant_id, failed_logins, locked_until, created_at";
const MICROS_PER_DAY: i64 = 86_400_000_000;

fn operator_from_row(row: &AnyRow) -> Result<Operator, StoreError> {
    let merchant: Option<String> = row.try_get("merchant_id")?;
    Ok(Operator {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        password_hash: row.try_get("password_hash")?,
        merchant_id: merchant.map(merchant_id).transpose()?,
        failed_logins: row.try_get("failed_logins")?,
        locked_until: from_micros(row.try_get("locked_until")?)?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

/// `$1, $2, …` for `count` values after `taken` binds.
fn placeholders(taken: usize, count: usize) -> String {
    (taken + 1..=taken + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `WHERE` clause of a payment search and its values, in order.
fn search_clause(search: &PaymentSearch) -> (String, Vec<Bind>) {
    let mut conditions: Vec<String> = Vec::new();
    let mut binds: Vec<Bind> = Vec::new();
    let mut push = |condition: &str, values: Vec<Bind>| {
        let mut text = condition.to_owned();
        for value in values {
            binds.push(value);
            text = text.replacen('?', &format!("${}", binds.len()), 1);
        }
        conditions.push(text);
    };
    if let Some(merchant) = &search.merchant {
        push(
            "merchant_id = ?",
            vec![Bind::Text(merchant.as_str().to_owned())],
        );
    }
    if let Some(id) = search.id {
        push("id = ?", vec![Bind::Int(id.get())]);
    }
    if let Some(account) = &search.account_id {
        push("account_id = ?", vec![Bind::Text(account.clone())]);
    }
    if let Some(status) = search.status {
        push("status = ?", vec![Bind::Text(status.as_str().to_owned())]);
    }
    if let Some(from) = search.created_from {
        push("created_at >= ?", vec![Bind::Int(micros(from))]);
    }
    if let Some(before) = search.created_before {
        push("created_at < ?", vec![Bind::Int(micros(before))]);
    }
    if let Some(reference) = &search.reference {
        push(
            "(correlator_id = ? OR id IN (SELECT resource_id FROM external_refs \
             WHERE reference = ? AND resource_kind = 'payment'))",
            vec![Bind::Text(reference.clone()), Bind::Text(reference.clone())],
        );
    }
    if conditions.is_empty() {
        return (String::new(), binds);
    }
    (format!("WHERE {}", conditions.join(" AND ")), binds)
}

/// The statuses the charts count as a success.
fn succeeded_statuses() -> String {
    [Status::Authorized, Status::Captured, Status::Done]
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn volume_from_row(row: &AnyRow) -> Result<VolumeRow, StoreError> {
    let day: i64 = row.try_get("day")?;
    Ok(VolumeRow {
        day: from_micros(day.saturating_mul(MICROS_PER_DAY))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        gateway: row.try_get("gateway")?,
        payments: row.try_get("payments")?,
        succeeded: row.try_get("succeeded")?,
    })
}

#[async_trait]
impl ConsoleStore for SqlStore {
    async fn insert_operator(&self, operator: &Operator) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        let done = sqlx::query(&format!(
            "INSERT INTO operators ({OPERATOR_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(operator.id.clone())
        .bind(operator.name.clone())
        .bind(operator.password_hash.clone())
        .bind(operator.merchant_id.as_ref().map(|m| m.as_str().to_owned()))
        .bind(operator.failed_logins)
        .bind(micros(operator.locked_until))
        .bind(micros(operator.created_at))
        .bind(micros(operator.created_at))
        .execute(&self.pool)
        .await;
        match done.map_err(StoreError::from) {
            Ok(_) => Ok(()),
            // The name is the only unique column a caller chooses.
            Err(StoreError::IdCollision) => Err(StoreError::DuplicateReference),
            Err(error) => Err(error),
        }
    }

    async fn list_operators(&self) -> Result<Vec<Operator>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators ORDER BY name"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(operator_from_row).collect()
    }

    async fn find_operator_by_name(&self, name: &str) -> Result<Option<Operator>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM operators WHERE name = $1"
        ))
        .bind(name.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(operator_from_row).transpose()
    }

    async fn record_login_failure(
        &self,
        operator_id: &str,
        max_failures: i64,
        lock_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let _turn = self.write_lock.acquire().await;
        // One statement, so concurrent failures on several nodes all count.
        let row = sqlx::query(
            "UPDATE operators SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END, \
             updated_at = $3 WHERE id = $4 RETURNING failed_logins",
        )
        .bind(max_failures)
        .bind(micros(lock_until))
        .bind(micros(now))
        .bind(operator_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(row.try_get("failed_logins")?),
            None => Ok(0),
        }
    }

    async fn clear_login_failures(
        &self,
        operator_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query(
            "UPDATE operators SET failed_logins = 0, locked_until = 0, updated_at = $1 WHERE id = $2",
        )
        .bind(micros(now))
        .bind(operator_id.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn insert_operator_session(&self, session: &OperatorSession) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query("DELETE FROM operator_sessions WHERE expires_at <= $1")
            .bind(micros(session.created_at))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO operator_sessions (token_hash, operator_id, csrf_token, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(session.token_hash.clone())
        .bind(session.operator_id.clone())
        .bind(session.csrf_token.clone())
        .bind(micros(session.expires_at))
        .bind(micros(session.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_operator_session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(OperatorSession, Operator)>, StoreError> {
        let row = sqlx::query(
            "SELECT s.token_hash, s.csrf_token, s.expires_at, s.created_at AS session_created_at, \
             o.id, o.name, o.password_hash, o.merchant_id, o.failed_logins, o.locked_until, o.created_at \
             FROM operator_sessions s JOIN operators o ON o.id = s.operator_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash.to_owned())
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let operator = operator_from_row(&row)?;
        let session = OperatorSession {
            token_hash: row.try_get("token_hash")?,
            operator_id: operator.id.clone(),
            csrf_token: row.try_get("csrf_token")?,
            expires_at: from_micros(row.try_get("expires_at")?)?,
            created_at: from_micros(row.try_get("session_created_at")?)?,
        };
        Ok(Some((session, operator)))
    }

    async fn delete_operator_session(&self, token_hash: &str) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        sqlx::query("DELETE FROM operator_sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn search_payments(
        &self,
        search: &PaymentSearch,
        page: Page,
    ) -> Result<Listed<Payment>, StoreError> {
        let (clause, binds) = search_clause(search);
        let sql = format!(
            "SELECT {PAYMENT_COLUMNS} FROM payments {clause} ORDER BY id DESC LIMIT {} OFFSET {}",
            page.limit.max(0),
            page.offset.max(0)
        );
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM payments {clause}");
        let total = bind_all(sqlx::query(&count_sql), &binds)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        let items = rows
            .iter()
            .map(payment_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Listed { items, total })
    }

    async fn list_refunds_of_payment(&self, payment: PaymentId) -> Result<Vec<Refund>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at, id"
        ))
        .bind(payment.get())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(refund_from_row).collect()
    }

    async fn list_events_of_resources(
        &self,
        resource_ids: &[i64],
    ) -> Result<Vec<LedgerEvent>, StoreError> {
        if resource_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM outbox_events WHERE resource_id IN ({}) ORDER BY occurred_at, id",
            placeholders(0, resource_ids.len())
        );
        let binds: Vec<Bind> = resource_ids.iter().copied().map(Bind::Int).collect();
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn list_deliveries_of_events(
        &self,
        event_ids: &[EventId],
    ) -> Result<Vec<DeliveryRecord>, StoreError> {
        if event_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM hub_deliveries WHERE event_id IN ({}) ORDER BY id",
            placeholders(0, event_ids.len())
        );
        let binds: Vec<Bind> = event_ids.iter().map(|id| Bind::Int(id.get())).collect();
        let rows = bind_all(sqlx::query(&sql), &binds)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(delivery_from_row).collect()
    }

    async fn payment_volume(
        &self,
        merchant: Option<&MerchantId>,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<VolumeRow>, StoreError> {
        let scope = if merchant.is_some() {
            " AND p.merchant_id = $3"
        } else {
            ""
        };
        // Integer division buckets microseconds into UTC days on both backends.
        let sql = format!(
            "SELECT p.created_at / {MICROS_PER_DAY} AS day, p.merchant_id, \
             COALESCE(g.gateway, CASE WHEN t.payment_id IS NULL THEN 'LEDGER' ELSE 'BILL' END) AS gateway, \
             COUNT(*) AS payments, \
             SUM(CASE WHEN p.status IN ({}) THEN 1 ELSE 0 END) AS succeeded \
             FROM payments p \
             LEFT JOIN gateway_payments g ON g.payment_id = p.id \
             LEFT JOIN telco_transactions t ON t.payment_id = p.id \
             WHERE p.created_at >= $1 AND p.created_at < $2{scope} \
             GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            succeeded_statuses()
        );
        let mut query = sqlx::query(&sql).bind(micros(since)).bind(micros(until));
        if let Some(merchant) = merchant {
            query = query.bind(merchant.as_str().to_owned());
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(volume_from_row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_binds_each_filter_once_in_order() {
        let search = PaymentSearch {
            account_id: Some("acct".into()),
            reference: Some("rrn-1".into()),
            ..PaymentSearch::default()
        };
        let (clause, binds) = search_clause(&search);
        assert_eq!(
            clause,
            "WHERE account_id = $1 AND (correlator_id = $2 OR id IN (SELECT resource_id FROM \
             external_refs WHERE reference = $3 AND resource_kind = 'payment'))"
        );
        assert_eq!(binds.len(), 3);
        assert_eq!(search_clause(&PaymentSearch::default()).0, "");
    }
}
