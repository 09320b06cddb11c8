//! The SQL behind [`SimulatorStore`]: the simulated gateways' orders and refunds.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{GatewayState, PaymentId, RefundId, RefundState};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::codec::{corrupt, from_micros, micros, money};
use super::SqlStore;
use crate::error::StoreError;
use crate::simulator::{OrderChange, SimulatorOrder, SimulatorRefund};
use crate::traits::SimulatorStore;

const ORDER_COLUMNS: &str = "gateway, payment_id, gw_ref, amount_minor, currency, state, \
     qr_content, expires_at, code, message, refunded_minor";
const REFUND_COLUMNS: &str = "gateway, refund_id, payment_id, gw_ref, state";

fn order_from_row(row: &AnyRow) -> Result<SimulatorOrder, StoreError> {
    let state: String = row.try_get("state")?;
    let code: Option<String> = row.try_get("code")?;
    let message: Option<String> = row.try_get("message")?;
    Ok(SimulatorOrder {
        gateway: row.try_get("gateway")?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("simulator order payment id"))?,
        gw_ref: row.try_get("gw_ref")?,
        amount: money(row.try_get("amount_minor")?, row.try_get("currency")?)?
            .ok_or_else(|| corrupt("simulator order amount"))?,
        state: GatewayState::parse(&state)
            .ok_or_else(|| corrupt(format!("simulator order state {state}")))?,
        qr_content: row.try_get("qr_content")?,
        expires_at: from_micros(row.try_get("expires_at")?)?,
        code: code.zip(message),
        refunded_minor: row.try_get("refunded_minor")?,
    })
}

fn refund_from_row(row: &AnyRow) -> Result<SimulatorRefund, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(SimulatorRefund {
        gateway: row.try_get("gateway")?,
        refund_id: RefundId::from_i64(row.try_get("refund_id")?)
            .ok_or_else(|| corrupt("simulator refund id"))?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("simulator refund payment id"))?,
        gw_ref: row.try_get("gw_ref")?,
        state: RefundState::parse(&state)
            .ok_or_else(|| corrupt(format!("simulator refund state {state}")))?,
    })
}

async fn update_order(
    tx: &mut Transaction<'static, Any>,
    order: &SimulatorOrder,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (code, message) = order.code.clone().unzip();
    sqlx::query(
        "UPDATE simulator_orders SET gw_ref = $1, amount_minor = $2, currency = $3, state = $4, \
         qr_content = $5, expires_at = $6, code = $7, message = $8, refunded_minor = $9, \
         updated_at = $10 WHERE gateway = $11 AND payment_id = $12",
    )
    .bind(order.gw_ref.clone())
    .bind(order.amount.amount_minor())
    .bind(order.amount.currency().code().to_owned())
    .bind(order.state.as_str())
    .bind(order.qr_content.clone())
    .bind(micros(order.expires_at))
    .bind(code)
    .bind(message)
    .bind(order.refunded_minor)
    .bind(micros(now))
    .bind(order.gateway.clone())
    .bind(order.payment_id.get())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Books a refund; one booked before under the same refund id is replaced
/// (payhub sent it again), as a gateway keyed by refund number does.
async fn put_refund(
    tx: &mut Transaction<'static, Any>,
    refund: &SimulatorRefund,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM simulator_refunds WHERE gateway = $1 AND refund_id = $2")
        .bind(refund.gateway.clone())
        .bind(refund.refund_id.get())
        .execute(&mut **tx)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO simulator_refunds ({REFUND_COLUMNS}, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(refund.gateway.clone())
    .bind(refund.refund_id.get())
    .bind(refund.payment_id.get())
    .bind(refund.gw_ref.clone())
    .bind(refund.state.as_str())
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl SimulatorStore for SqlStore {
    async fn put_simulator_order(
        &self,
        order: &SimulatorOrder,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query("DELETE FROM simulator_orders WHERE gateway = $1 AND payment_id = $2")
            .bind(order.gateway.clone())
            .bind(order.payment_id.get())
            .execute(&mut *tx)
            .await?;
        let (code, message) = order.code.clone().unzip();
        sqlx::query(&format!(
            "INSERT INTO simulator_orders ({ORDER_COLUMNS}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ))
        .bind(order.gateway.clone())
        .bind(order.payment_id.get())
        .bind(order.gw_ref.clone())
        .bind(order.amount.amount_minor())
        .bind(order.amount.currency().code().to_owned())
        .bind(order.state.as_str())
        .bind(order.qr_content.clone())
        .bind(micros(order.expires_at))
        .bind(code)
        .bind(message)
        .bind(order.refunded_minor)
        .bind(micros(now))
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn change_simulator_order(
        &self,
        gateway: &str,
        payment_id: PaymentId,
        now: DateTime<Utc>,
        change: &mut OrderChange<'_>,
    ) -> Result<Option<SimulatorOrder>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM simulator_orders WHERE gateway = $1 AND payment_id = $2{}",
            self.backend.for_update()
        ))
        .bind(gateway.to_owned())
        .bind(payment_id.get())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let before = order_from_row(&row)?;
        let mut order = before.clone();
        let refund = change(&mut order);
        if order != before {
            update_order(&mut tx, &order, now).await?;
        }
        if let Some(refund) = &refund {
            put_refund(&mut tx, refund, now).await?;
        }
        tx.commit().await?;
        Ok(Some(order))
    }

    async fn find_simulator_refund(
        &self,
        gateway: &str,
        refund_id: RefundId,
    ) -> Result<Option<SimulatorRefund>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM simulator_refunds WHERE gateway = $1 AND refund_id = $2"
        ))
        .bind(gateway.to_owned())
        .bind(refund_id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(refund_from_row).transpose()
    }
}
