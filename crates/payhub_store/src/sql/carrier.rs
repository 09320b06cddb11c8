//! The simulated carrier bill's books, the simulated SMS centre's messages
//! and the refunds credited on the bill: the SQL behind
//! [`CarrierStore`]. Kept in the database so that every node of a
//! cluster sees the same bill and the same messages.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{EventKind, LedgerEvent, MerchantId, PaymentId, Refund, RefundId, Status};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::codec::{corrupt, from_micros, merchant_id, micros};
use super::ledger_writes::write_refund;
use super::tx::{lock_status, move_status};
use super::SqlStore;
use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{
    BillRefund, CarrierAnswer, CarrierEntry, CarrierOp, IdempotentResponse, SandboxSms,
};
use crate::traits::CarrierStore;

/// Messages the simulated SMS centre keeps; the oldest go first.
const SMS_KEPT: i64 = 10_000;

const BILL_REFUND_COLUMNS: &str =
    "refund_id, payment_id, merchant_id, msisdn, amount_minor, carrier_ref, next_check_at, checks";

/// A subscriber's books: (reserved, charged) in minor units.
type Books = (i64, i64);

/// Reads a subscriber's books, creating them empty, locked for the rest of `tx`.
async fn lock_books(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    msisdn: &str,
    now: DateTime<Utc>,
) -> Result<Books, StoreError> {
    sqlx::query(
        "INSERT INTO carrier_subscribers (msisdn, reserved_minor, charged_minor, updated_at) \
         VALUES ($1, 0, 0, $2) ON CONFLICT (msisdn) DO NOTHING",
    )
    .bind(msisdn.to_owned())
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT reserved_minor, charged_minor FROM carrier_subscribers WHERE msisdn = $1{}",
        backend.for_update()
    ))
    .bind(msisdn.to_owned())
    .fetch_one(&mut **tx)
    .await?;
    Ok((
        row.try_get("reserved_minor")?,
        row.try_get("charged_minor")?,
    ))
}

async fn write_books(
    tx: &mut Transaction<'static, Any>,
    msisdn: &str,
    (reserved, charged): Books,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE carrier_subscribers SET reserved_minor = $1, charged_minor = $2, updated_at = $3 \
         WHERE msisdn = $4",
    )
    .bind(reserved)
    .bind(charged)
    .bind(micros(now))
    .bind(msisdn.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The reference of an earlier booking under the same key, if any.
async fn booked_before(
    tx: &mut Transaction<'static, Any>,
    kind: &str,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT reference FROM carrier_entries WHERE kind = $1 AND op_key = $2")
        .bind(kind.to_owned())
        .bind(key.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    Ok(match row {
        Some(row) => Some(row.try_get("reference")?),
        None => None,
    })
}

/// One new booking.
struct Entry<'a> {
    reference: &'a str,
    kind: &'a str,
    key: &'a str,
    msisdn: &'a str,
    amount_minor: i64,
    state: &'a str,
}

async fn insert_entry(
    tx: &mut Transaction<'static, Any>,
    entry: &Entry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO carrier_entries (reference, kind, op_key, msisdn, amount_minor, state, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(entry.reference.to_owned())
    .bind(entry.kind.to_owned())
    .bind(entry.key.to_owned())
    .bind(entry.msisdn.to_owned())
    .bind(entry.amount_minor)
    .bind(entry.state.to_owned())
    .bind(micros(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What the limit leaves: the limit less what is reserved and charged.
fn available(limit: i64, (reserved, charged): Books) -> i64 {
    limit
        .saturating_sub(reserved)
        .saturating_sub(charged)
        .max(0)
}

fn bill_refund_from_row(row: &AnyRow) -> Result<BillRefund, StoreError> {
    Ok(BillRefund {
        refund_id: RefundId::from_i64(row.try_get("refund_id")?)
            .ok_or_else(|| corrupt("bill refund id"))?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("bill refund payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        msisdn: row.try_get("msisdn")?,
        amount_minor: row.try_get("amount_minor")?,
        carrier_ref: row.try_get("carrier_ref")?,
        next_check_at: row
            .try_get::<Option<i64>, _>("next_check_at")?
            .map(from_micros)
            .transpose()?,
        checks: row.try_get("checks")?,
    })
}

impl SqlStore {
    /// A reservation or charge: within the limit, once per key.
    async fn book_hold(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &Entry<'_>,
        limit: i64,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError> {
        let (reserved, charged) = lock_books(tx, self.backend, entry.msisdn, now).await?;
        if let Some(earlier) = booked_before(tx, entry.kind, entry.key).await? {
            return Ok(CarrierAnswer::Booked(earlier));
        }
        let available = available(limit, (reserved, charged));
        if entry.amount_minor > available {
            return Ok(CarrierAnswer::LimitExceeded {
                available,
                requested: entry.amount_minor,
            });
        }
        let books = if entry.kind == "reservation" {
            (reserved.saturating_add(entry.amount_minor), charged)
        } else {
            (reserved, charged.saturating_add(entry.amount_minor))
        };
        write_books(tx, entry.msisdn, books, now).await?;
        insert_entry(tx, entry, now).await?;
        Ok(CarrierAnswer::Booked(entry.reference.to_owned()))
    }

    /// Commits or releases an open reservation; doing it again answers the same.
    async fn end_reservation(
        &self,
        tx: &mut Transaction<'static, Any>,
        reference: &str,
        commit: bool,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError> {
        let row = sqlx::query(
            "SELECT msisdn, amount_minor, state FROM carrier_entries \
             WHERE reference = $1 AND kind = 'reservation'",
        )
        .bind(reference.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Ok(CarrierAnswer::UnknownReservation);
        };
        let msisdn: String = row.try_get("msisdn")?;
        let amount: i64 = row.try_get("amount_minor")?;
        // Lock the books first, so two settlements of one reservation queue up.
        let (reserved, charged) = lock_books(tx, self.backend, &msisdn, now).await?;
        let state: String = sqlx::query("SELECT state FROM carrier_entries WHERE reference = $1")
            .bind(reference.to_owned())
            .fetch_one(&mut **tx)
            .await?
            .try_get("state")?;
        let (done, to) = if commit {
            ("committed", "committed")
        } else {
            ("released", "released")
        };
        if state == done {
            return Ok(CarrierAnswer::Booked(reference.to_owned()));
        }
        if state != "open" {
            return Ok(CarrierAnswer::UnknownReservation);
        }
        let reserved = reserved.saturating_sub(amount).max(0);
        let charged = if commit {
            charged.saturating_add(amount)
        } else {
            charged
        };
        write_books(tx, &msisdn, (reserved, charged), now).await?;
        sqlx::query("UPDATE carrier_entries SET state = $1, updated_at = $2 WHERE reference = $3")
            .bind(to.to_owned())
            .bind(micros(now))
            .bind(reference.to_owned())
            .execute(&mut **tx)
            .await?;
        Ok(CarrierAnswer::Booked(reference.to_owned()))
    }

    /// A credit back on the bill, once per key.
    async fn book_credit(
        &self,
        tx: &mut Transaction<'static, Any>,
        entry: &Entry<'_>,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError> {
        let (reserved, charged) = lock_books(tx, self.backend, entry.msisdn, now).await?;
        if let Some(earlier) = booked_before(tx, entry.kind, entry.key).await? {
            return Ok(CarrierAnswer::Booked(earlier));
        }
        let charged = charged.saturating_sub(entry.amount_minor).max(0);
        write_books(tx, entry.msisdn, (reserved, charged), now).await?;
        insert_entry(tx, entry, now).await?;
        Ok(CarrierAnswer::Booked(entry.reference.to_owned()))
    }
}

#[async_trait]
impl CarrierStore for SqlStore {
    async fn book_carrier(
        &self,
        op: &CarrierOp,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<CarrierAnswer, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let answer = match op {
            CarrierOp::Reserve {
                key,
                msisdn,
                amount_minor,
                limit_minor,
            } => {
                let entry = Entry {
                    reference,
                    kind: "reservation",
                    key,
                    msisdn,
                    amount_minor: *amount_minor,
                    state: "open",
                };
                self.book_hold(&mut tx, &entry, *limit_minor, now).await?
            }
            CarrierOp::Charge {
                key,
                msisdn,
                amount_minor,
                limit_minor,
            } => {
                let entry = Entry {
                    reference,
                    kind: "charge",
                    key,
                    msisdn,
                    amount_minor: *amount_minor,
                    state: "done",
                };
                self.book_hold(&mut tx, &entry, *limit_minor, now).await?
            }
            CarrierOp::Commit { reference } => {
                self.end_reservation(&mut tx, reference, true, now).await?
            }
            CarrierOp::Release { reference } => {
                self.end_reservation(&mut tx, reference, false, now).await?
            }
            CarrierOp::Credit {
                key,
                msisdn,
                amount_minor,
            } => {
                let entry = Entry {
                    reference,
                    kind: "credit",
                    key,
                    msisdn,
                    amount_minor: *amount_minor,
                    state: "done",
                };
                self.book_credit(&mut tx, &entry, now).await?
            }
        };
        tx.commit().await?;
        Ok(answer)
    }

    async fn carrier_booking(&self, key: &str) -> Result<Option<CarrierEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT reference, kind, state, amount_minor FROM carrier_entries \
             WHERE op_key = $1 AND kind IN ('reservation', 'charge')",
        )
        .bind(key.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(CarrierEntry {
                reference: row.try_get("reference")?,
                kind: row.try_get("kind")?,
                state: row.try_get("state")?,
                amount_minor: row.try_get("amount_minor")?,
            })
        })
        .transpose()
    }

    async fn carrier_charged(&self, msisdn: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT charged_minor FROM carrier_subscribers WHERE msisdn = $1")
            .bind(msisdn.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("charged_minor")?,
            None => 0,
        })
    }

    async fn insert_sandbox_sms(&self, sms: &SandboxSms) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sandbox_sms (merchant_id, msisdn, transaction_id, text, link, code, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(sms.merchant_id.as_str().to_owned())
        .bind(sms.msisdn.clone())
        .bind(sms.transaction_id.clone())
        .bind(sms.text.clone())
        .bind(sms.link.clone())
        .bind(sms.code.clone())
        .bind(micros(sms.sent_at))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sandbox_sms WHERE id <= (SELECT MAX(id) FROM sandbox_sms) - $1")
            .bind(SMS_KEPT)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_sandbox_sms(
        &self,
        merchant: &MerchantId,
        msisdn: &str,
    ) -> Result<Vec<SandboxSms>, StoreError> {
        let rows = sqlx::query(
            "SELECT merchant_id, msisdn, transaction_id, text, link, code, sent_at FROM sandbox_sms \
             WHERE merchant_id = $1 AND msisdn = $2 ORDER BY id DESC",
        )
        .bind(merchant.as_str().to_owned())
        .bind(msisdn.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SandboxSms {
                    merchant_id: merchant_id(row.try_get("merchant_id")?)?,
                    msisdn: row.try_get("msisdn")?,
                    transaction_id: row.try_get("transaction_id")?,
                    text: row.try_get("text")?,
                    link: row.try_get("link")?,
                    code: row.try_get("code")?,
                    sent_at: from_micros(row.try_get("sent_at")?)?,
                })
            })
            .collect()
    }

    async fn insert_bill_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        row: &BillRefund,
        kept: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        let (_turn, mut tx) = self.begin_write().await?;
        write_refund(&mut tx, refund, event, kept).await??;
        sqlx::query(&format!(
            "INSERT INTO telco_bill_refunds ({BILL_REFUND_COLUMNS}, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)"
        ))
        .bind(row.refund_id.get())
        .bind(row.payment_id.get())
        .bind(row.merchant_id.as_str().to_owned())
        .bind(row.msisdn.clone())
        .bind(row.amount_minor)
        .bind(row.carrier_ref.clone())
        .bind(row.next_check_at.map(micros))
        .bind(row.checks)
        .bind(micros(refund.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_due_bill_refunds(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<BillRefund>, StoreError> {
        let rows = self
            .claim_due_checks(
                "telco_bill_refunds",
                "refund_id",
                BILL_REFUND_COLUMNS,
                now,
                lease_until,
                limit,
            )
            .await?;
        rows.iter().map(bill_refund_from_row).collect()
    }

    async fn complete_bill_refund(
        &self,
        refund_id: RefundId,
        carrier_ref: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT merchant_id, state FROM telco_bill_refunds WHERE refund_id = $1{}",
            self.backend.for_update()
        ))
        .bind(refund_id.get())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(UpdateStatusError::NotFound)?;
        let state: String = row.try_get("state").map_err(StoreError::from)?;
        if state != "pending" {
            return Ok(false);
        }
        let merchant = merchant_id(row.try_get("merchant_id").map_err(StoreError::from)?)?;
        let from = lock_status(&mut tx, self.backend, "refunds", &merchant, refund_id.get())
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
        move_status(
            &mut tx,
            "refunds",
            EventKind::RefundStateChange,
            &merchant,
            refund_id.get(),
            from,
            Status::Done,
            now,
        )
        .await?;
        sqlx::query(
            "UPDATE telco_bill_refunds SET state = 'credited', carrier_ref = $1, next_check_at = NULL, \
             updated_at = $2 WHERE refund_id = $3",
        )
        .bind(carrier_ref.to_owned())
        .bind(micros(now))
        .bind(refund_id.get())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
