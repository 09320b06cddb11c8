//! Status moves inside a caller's transaction: the one place a stored
//! status changes after creation.

use chrono::{DateTime, Utc};
use payhub_core::{transition, EventKind, LedgerEvent, MerchantId, Status};
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::codec::{corrupt, micros};
use super::outbox::insert_move_event;
use crate::error::{StoreError, UpdateStatusError};

/// Reads (and on PostgreSQL locks) the status of a merchant's payment or
/// refund inside `tx`; `None` when it has none with that id.
pub(super) async fn lock_status(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    table: &str,
    merchant: &MerchantId,
    id: i64,
) -> Result<Option<Status>, StoreError> {
    let select = format!(
        "SELECT status FROM {table} WHERE id = $1 AND merchant_id = $2{}",
        backend.for_update()
    );
    let row = sqlx::query(&select)
        .bind(id)
        .bind(merchant.as_str().to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|row| Status::parse(&row.try_get::<String, _>("status")?).map_err(corrupt))
        .transpose()
}

/// Moves a payment or refund from `from` to `to` inside `tx`, if the status
/// machine allows it, with its state-change event in the outbox. The one
/// place a stored status changes after creation.
#[expect(
    clippy::too_many_arguments,
    reason = "one row's identity, its move and the time: all needed, none derivable"
)]
pub(super) async fn move_status(
    tx: &mut Transaction<'static, Any>,
    table: &str,
    kind: EventKind,
    merchant: &MerchantId,
    id: i64,
    from: Status,
    to: Status,
    now: DateTime<Utc>,
) -> Result<Status, UpdateStatusError> {
    let to = transition(from, to)?;
    let update =
        format!("UPDATE {table} SET status = $1, status_date = $2, updated_at = $3 WHERE id = $4");
    sqlx::query(&update)
        .bind(to.as_str())
        .bind(micros(now))
        .bind(micros(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
    let event = LedgerEvent::new(merchant.clone(), kind, id, to, now);
    insert_move_event(tx, &event).await?;
    Ok(to)
}
