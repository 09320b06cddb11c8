//! The SQL behind [`OutboxStore`]: ledger events written in the same
//! transaction as their change, and their claim and dispatch into deliveries.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventId, LedgerEvent, Origin};
use sqlx::{Any, Row, Transaction};

use super::codec::{event_from_row, micros, EVENT_COLUMNS};
use super::fan_out_writes::{FanOutWrite, Lease};
use super::ledger_writes::bind_value;
use super::row_values::Kind::{Int, Text};
use super::row_values::{event_values, Columns, Value, EVENT_ROW};
use super::statements::{insert_many, placeholder_list, StatementTx};
use super::{gauges, SqlStore};
use crate::error::StoreError;
use crate::records::{ClaimedEvent, DeliveryKind, FanOut};
use crate::traits::OutboxStore;
/// Writes the event of a status move, with the origin of the payment it
/// concerns (for a refund, of the payment it refunds) read in the same
/// statement, so the dispatcher knows which dialect answers for it without
/// reading anything else. Creates write their events with the origin at
/// hand, through `ledger_writes`.
pub(super) async fn insert_move_event(
    tx: &mut Transaction<'static, Any>,
    event: &LedgerEvent,
) -> Result<(), sqlx::Error> {
    // Every column but the last (`origin`) is bound; see `row_values`.
    let values = event_values(event, None);
    let (bound, _origin) = values.split_at(EVENT_ROW.names.len() - 1);
    let placeholders: Vec<String> = (1..=bound.len()).map(|n| format!("${n}")).collect();
    let resource = &placeholders[3];
    let origin = if event.kind.is_refund() {
        format!(
            "(SELECT p.origin FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.id = {resource})"
        )
    } else {
        format!("(SELECT origin FROM payments WHERE id = {resource})")
    };
    let sql = format!(
        "INSERT INTO {} ({}) VALUES ({}, {origin})",
        EVENT_ROW.table,
        EVENT_ROW.list(),
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for value in bound {
        query = bind_value(query, value);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// A new delivery: pending, not yet attempted, due now.
const DELIVERY_ROW: Columns = Columns {
    table: "hub_deliveries",
    names: &[
        "id",
        "event_id",
        "subscription_id",
        "merchant_id",
        "callback",
        "state",
        "attempts",
        "next_attempt_at",
        "created_at",
        "updated_at",
        "kind",
        "body",
    ],
    kinds: &[
        Int, Int, Int, Text, Text, Text, Int, Int, Int, Int, Text, Text,
    ],
};

/// The values of a new delivery of `event` to `subscription` (0: the
/// event's merchant webhook), in [`DELIVERY_ROW`]'s order.
fn new_delivery<'a>(
    (now, event, subscription): (DateTime<Utc>, EventId, i64),
    (merchant, callback): (&'a str, &'a str),
    kind: DeliveryKind,
    body: Option<&'a str>,
) -> [Value<'a>; 12] {
    let at = Value::Int(Some(micros(now)));
    [
        Value::Int(Some(payhub_core::ids::generate_id(now))),
        Value::Int(Some(event.get())),
        Value::Int(Some(subscription)),
        Value::Text(Some(merchant)),
        Value::Text(Some(callback)),
        Value::Text(Some("pending")),
        Value::Int(Some(0)),
        at,
        at,
        at,
        Value::Text(Some(kind.as_str())),
        Value::Text(body),
    ]
}

/// Claims up to `limit` events not yet dispatched whose lease has run out,
/// hiding them from other dispatchers until `lease_until`.
struct ClaimEvents(Lease);

impl FanOutWrite for ClaimEvents {
    type Output = Vec<ClaimedEvent>;

    async fn run(&self, tx: &mut impl StatementTx) -> Result<Self::Output, StoreError> {
        let sql = format!(
            "UPDATE outbox_events SET lease_until = $1, updated_at = $2 WHERE id IN (SELECT id FROM outbox_events \
             WHERE dispatched_at IS NULL AND lease_until <= $3 ORDER BY id LIMIT $4{}) RETURNING {EVENT_COLUMNS}, origin",
            self.0.skip_locked
        );
        let values = self.0.values();
        let mut events = tx
            .fetch(&sql, &values, |row| {
                Ok(ClaimedEvent {
                    event: event_from_row(row)?,
                    origin: row.opt_text("origin")?.as_deref().map(Origin::new),
                })
            })
            .await?;
        events.sort_by_key(|e| e.event.id);
        Ok(events)
    }
}

/// Writes a round's deliveries and marks its events dispatched.
struct CompleteDispatch {
    fan_out: Vec<FanOut>,
    now: DateTime<Utc>,
}

impl FanOutWrite for CompleteDispatch {
    type Output = ();

    async fn run(&self, tx: &mut impl StatementTx) -> Result<(), StoreError> {
        let now = self.now;
        let mut deliveries: Vec<Value<'_>> = Vec::new();
        for FanOut {
            event,
            subscriptions,
            listener_body,
            webhooks,
        } in &self.fan_out
        {
            for webhook in webhooks {
                // Subscription id 0 marks the event's one merchant webhook.
                deliveries.extend(new_delivery(
                    (now, *event, 0),
                    (webhook.merchant_id.as_str(), &webhook.url),
                    webhook.kind,
                    Some(&webhook.body),
                ));
            }
            for subscription in subscriptions {
                deliveries.extend(new_delivery(
                    (now, *event, subscription.id.get()),
                    (subscription.merchant_id.as_str(), &subscription.callback),
                    DeliveryKind::TmfHub,
                    listener_body.as_deref(),
                ));
            }
        }
        // A round's deliveries in a few statements, not one each; an event
        // dispatched twice (its lease ran out midway) adds none twice.
        insert_many(
            tx,
            &DELIVERY_ROW,
            &deliveries,
            " ON CONFLICT (event_id, subscription_id) DO NOTHING",
        )
        .await?;
        // One statement marks the whole batch dispatched.
        let (anonymous, _) = tx.placeholders();
        let at = Value::Int(Some(micros(now)));
        for chunk in self.fan_out.chunks(500) {
            let sql = format!(
                "UPDATE outbox_events SET dispatched_at = {}, updated_at = {} WHERE id IN ({})",
                placeholder_list(anonymous, 0, 1),
                placeholder_list(anonymous, 1, 1),
                placeholder_list(anonymous, 2, chunk.len())
            );
            let mut values = vec![at, at];
            values.extend(chunk.iter().map(|f| Value::Int(Some(f.event.get()))));
            tx.execute(&sql, &values).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn claim_undispatched_events(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedEvent>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        self.write_fan_out(ClaimEvents(self.lease(now, lease_until, limit)))
            .await
    }

    async fn complete_dispatch(
        &self,
        fan_out: &[FanOut],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _turn = self.write_lock.acquire().await;
        self.write_fan_out(CompleteDispatch {
            fan_out: fan_out.to_vec(),
            now,
        })
        .await
    }

    async fn find_event(&self, id: EventId) -> Result<Option<LedgerEvent>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM outbox_events WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn count_undelivered(&self) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM outbox_events WHERE dispatched_at IS NULL) \
             + (SELECT COUNT(*) FROM hub_deliveries WHERE state = 'pending') AS n",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get("n")?)
    }

    async fn read_gauges(&self) -> Result<crate::StoreGauges, StoreError> {
        gauges::read(&self.pool).await
    }
}
