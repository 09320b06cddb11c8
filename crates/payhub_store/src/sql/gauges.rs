//! The gauge queries. Each is served by a partial index: the outbox's
//! `outbox_events_undispatched`, and the `*_due` indexes of rows with a check
//! scheduled, which every unknown outcome has until the gateway answers.

use sqlx::{AnyPool, Row};

use crate::error::StoreError;
use crate::gauges::StoreGauges;

/// Reads the gauges; the pool figures come from the pool itself.
pub(crate) async fn read(pool: &AnyPool) -> Result<StoreGauges, StoreError> {
    let outbox = sqlx::query(
        "SELECT COUNT(*) AS n, MIN(occurred_at) AS oldest \
         FROM outbox_events WHERE dispatched_at IS NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok(StoreGauges {
        outbox_backlog: outbox.try_get("n")?,
        outbox_oldest_micros: outbox.try_get("oldest")?,
        unknown_payments: unknown_per_gateway(pool, "gateway_payments").await?,
        unknown_refunds: unknown_per_gateway(pool, "gateway_refunds").await?,
        pool_size: pool.size(),
        pool_idle: pool.num_idle(),
    })
}

/// `table` is one of two constants above, never input.
async fn unknown_per_gateway(
    pool: &AnyPool,
    table: &'static str,
) -> Result<Vec<(String, i64)>, StoreError> {
    let sql = format!(
        "SELECT gateway, COUNT(*) AS n FROM {table} \
         WHERE next_check_at IS NOT NULL AND state = 'unknown' GROUP BY gateway"
    );
    let rows = sqlx::query(&sql).fetch_all(pool).await?;
    rows.iter()
        .map(|row| Ok((row.try_get("gateway")?, row.try_get("n")?)))
        .collect()
}
