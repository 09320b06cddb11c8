//! The SQL behind [`TelcoStore`]: the telco payment service's catalogue and
//! transactions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{
    after_wrong_code, Channel, EventKind, LedgerEvent, MerchantId, Payment, PaymentId, TelcoState,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::codec::{corrupt, from_micros, merchant_id, micros, money};
use super::gateway_rows::claim_reference;
use super::ledger_writes::write_payments;
use super::tx::{lock_status, move_status};
use super::SqlStore;
use crate::error::{StoreError, UpdateStatusError};
use crate::records::{ExternalRef, TelcoProduct, TelcoTransaction, TelcoUpdate};
use crate::traits::TelcoStore;

/// Who holds a transaction (see [`TelcoStore::claim_telco_transaction`]).
struct Claim {
    holder: Option<String>,
    until: Option<DateTime<Utc>>,
}

impl Claim {
    /// A live claim other than `mine` holds the transaction: leave it alone.
    fn blocks(&self, mine: Option<&str>, now: DateTime<Utc>) -> bool {
        let live = self.until.is_some_and(|until| until > now);
        live && self.holder.as_deref() != mine
    }
}

const TRANSACTION_COLUMNS: &str = "payment_id, merchant_id, transaction_id, msisdn, channel_id, \
     is_deliverable, is_billing_required, language, basket, state, otp_hash, otp_attempts, \
     delivery_address, billing_address, carrier_ref, deadline, created_at";

/// The `channel_id` column's code of a channel. These are storage codes: they
/// were taken from seed 004's `channelId` when the table was made and are
/// kept as they are, so stored rows keep their meaning whatever a dialect
/// calls the channels (the telco dialect's own numbers are in
/// `api_telco::channel`).
fn channel_code(channel: Channel) -> i64 {
    match channel {
        Channel::ReserveAndCommit => 10,
        Channel::DirectDebit => 11,
        Channel::CreditCard => 40,
        Channel::InAppPurchase => 50,
    }
}

/// The channel of a stored `channel_id` code.
fn channel_of_code(code: i64) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| channel_code(*c) == code)
}

fn transaction_from_row(row: &AnyRow) -> Result<TelcoTransaction, StoreError> {
    let channel_id: i64 = row.try_get("channel_id")?;
    let state: String = row.try_get("state")?;
    Ok(TelcoTransaction {
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("telco payment id"))?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        transaction_id: row.try_get("transaction_id")?,
        msisdn: row.try_get("msisdn")?,
        channel: channel_of_code(channel_id)
            .ok_or_else(|| corrupt(format!("telco channel {channel_id}")))?,
        is_deliverable: row.try_get::<i64, _>("is_deliverable")? != 0,
        is_billing_required: row.try_get::<i64, _>("is_billing_required")? != 0,
        language: row.try_get("language")?,
        basket: row.try_get("basket")?,
        state: TelcoState::parse(&state).ok_or_else(|| corrupt(format!("telco state {state}")))?,
        otp_hash: row.try_get("otp_hash")?,
        otp_attempts: row.try_get("otp_attempts")?,
        delivery_address: row.try_get("delivery_address")?,
        billing_address: row.try_get("billing_address")?,
        carrier_ref: row.try_get("carrier_ref")?,
        deadline: row
            .try_get::<Option<i64>, _>("deadline")?
            .map(from_micros)
            .transpose()?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn product_from_row(row: &AnyRow) -> Result<TelcoProduct, StoreError> {
    Ok(TelcoProduct {
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        product_id: row.try_get("product_id")?,
        name: row.try_get("name")?,
        unit_price: money(
            Some(row.try_get("unit_price_minor")?),
            Some(row.try_get("currency")?),
        )?
        .ok_or_else(|| corrupt("product price"))?,
    })
}

impl SqlStore {
    /// Reads a transaction and who holds it, locked for the rest of `tx`.
    async fn lock_telco_transaction(
        &self,
        tx: &mut Transaction<'static, Any>,
        payment_id: PaymentId,
    ) -> Result<(TelcoTransaction, Claim), UpdateStatusError> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS}, claim, claimed_until FROM telco_transactions \
             WHERE payment_id = $1{}",
            self.backend.for_update()
        );
        let Some(row) = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_optional(&mut **tx)
            .await?
        else {
            return Err(UpdateStatusError::NotFound);
        };
        let claim = Claim {
            holder: row.try_get("claim").map_err(StoreError::from)?,
            until: row
                .try_get::<Option<i64>, _>("claimed_until")
                .map_err(StoreError::from)?
                .map(from_micros)
                .transpose()?,
        };
        Ok((transaction_from_row(&row)?, claim))
    }

    /// Applies `update` to the locked `current`: the payment's total and
    /// status (with its event), then the telco row, whose claim it clears.
    async fn apply_telco_change(
        &self,
        tx: &mut Transaction<'static, Any>,
        current: TelcoTransaction,
        update: &TelcoUpdate,
        now: DateTime<Utc>,
    ) -> Result<TelcoTransaction, UpdateStatusError> {
        let payment_id = current.payment_id;
        let from = lock_status(
            tx,
            self.backend,
            "payments",
            &current.merchant_id,
            payment_id.get(),
        )
        .await?
        .ok_or(UpdateStatusError::NotFound)?;
        if let Some((total, document)) = &update.total {
            sqlx::query(
                "UPDATE payments SET amount_minor = $1, currency = $2, document = $3, updated_at = $4 \
                 WHERE id = $5",
            )
            .bind(total.amount_minor())
            .bind(total.currency().code().to_owned())
            .bind(document.as_str().to_owned())
            .bind(micros(now))
            .bind(payment_id.get())
            .execute(&mut **tx)
            .await?;
        }
        // How the ledger follows is the core's rule (a card payment's status
        // is its gateway's, so leaving `AwaitingCard` does not move it; a
        // refused commit fails the authorized payment).
        if let Some(to) = current
            .state
            .ledger_move(update.to)
            .filter(|to| *to != from)
        {
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
        sqlx::query(
            "UPDATE telco_transactions SET state = $1, basket = $2, otp_attempts = $3, \
             delivery_address = $4, billing_address = $5, carrier_ref = $6, deadline = $7, updated_at = $8, \
             claim = NULL, claimed_until = NULL WHERE payment_id = $9",
        )
        .bind(update.to.as_str())
        .bind(update.basket.clone().unwrap_or(current.basket))
        .bind(update.otp_attempts.unwrap_or(current.otp_attempts))
        .bind(update.delivery_address.clone().or(current.delivery_address))
        .bind(update.billing_address.clone().or(current.billing_address))
        .bind(update.carrier_ref.clone().or(current.carrier_ref))
        .bind(update.deadline.map(micros))
        .bind(micros(now))
        .bind(payment_id.get())
        .execute(&mut **tx)
        .await?;
        let sql =
            format!("SELECT {TRANSACTION_COLUMNS} FROM telco_transactions WHERE payment_id = $1");
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_one(&mut **tx)
            .await?;
        Ok(transaction_from_row(&row)?)
    }
}

#[async_trait]
impl TelcoStore for SqlStore {
    async fn upsert_telco_product(
        &self,
        product: &TelcoProduct,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO telco_products (merchant_id, product_id, name, unit_price_minor, currency, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (merchant_id, product_id) DO UPDATE SET \
             name = excluded.name, unit_price_minor = excluded.unit_price_minor, \
             currency = excluded.currency, updated_at = excluded.updated_at",
        )
        .bind(product.merchant_id.as_str().to_owned())
        .bind(product.product_id.clone())
        .bind(product.name.clone())
        .bind(product.unit_price.amount_minor())
        .bind(product.unit_price.currency().code().to_owned())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_telco_products(
        &self,
        merchant: &MerchantId,
    ) -> Result<Vec<TelcoProduct>, StoreError> {
        let rows = sqlx::query(
            "SELECT merchant_id, product_id, name, unit_price_minor, currency FROM telco_products \
             WHERE merchant_id = $1 ORDER BY product_id",
        )
        .bind(merchant.as_str().to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(product_from_row).collect()
    }

    async fn insert_telco_transaction(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        transaction: &TelcoTransaction,
        reference: &ExternalRef,
    ) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        claim_reference(&mut tx, reference, payment.created_at).await?;
        write_payments(&mut tx, &[(payment, event, None)]).await?;
        let sql = format!(
            "INSERT INTO telco_transactions ({TRANSACTION_COLUMNS}, updated_at) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"
        );
        sqlx::query(&sql)
            .bind(transaction.payment_id.get())
            .bind(transaction.merchant_id.as_str().to_owned())
            .bind(transaction.transaction_id.clone())
            .bind(transaction.msisdn.clone())
            .bind(channel_code(transaction.channel))
            .bind(i64::from(transaction.is_deliverable))
            .bind(i64::from(transaction.is_billing_required))
            .bind(transaction.language.clone())
            .bind(transaction.basket.clone())
            .bind(transaction.state.as_str())
            .bind(transaction.otp_hash.clone())
            .bind(transaction.otp_attempts)
            .bind(transaction.delivery_address.clone())
            .bind(transaction.billing_address.clone())
            .bind(transaction.carrier_ref.clone())
            .bind(transaction.deadline.map(micros))
            .bind(micros(transaction.created_at))
            .bind(micros(transaction.created_at))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_telco_transaction(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<TelcoTransaction>, StoreError> {
        let sql =
            format!("SELECT {TRANSACTION_COLUMNS} FROM telco_transactions WHERE payment_id = $1");
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(transaction_from_row).transpose()
    }

    async fn apply_telco_update(
        &self,
        payment_id: PaymentId,
        update: &TelcoUpdate,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let (current, claim) = self.lock_telco_transaction(&mut tx, payment_id).await?;
        // A change the carrier-billing table forbids is not applied, as one
        // from a state the transaction has left is not: either way the
        // caller's picture of the transaction is out of date.
        if current.state != update.from
            || !current.state.may_become(update.to)
            || claim.blocks(update.claim.as_deref(), now)
        {
            return Ok(None);
        }
        let updated = self
            .apply_telco_change(&mut tx, current, update, now)
            .await?;
        tx.commit().await?;
        Ok(Some(updated))
    }

    async fn record_wrong_telco_code(
        &self,
        payment_id: PaymentId,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let (current, claim) = self.lock_telco_transaction(&mut tx, payment_id).await?;
        if current.state != TelcoState::ConsentRequested || claim.blocks(None, now) {
            return Ok(None);
        }
        let (attempts, to) = after_wrong_code(current.otp_attempts);
        let update = TelcoUpdate {
            from: TelcoState::ConsentRequested,
            to,
            basket: None,
            total: None,
            otp_attempts: Some(attempts),
            delivery_address: None,
            billing_address: None,
            carrier_ref: None,
            deadline: (to == TelcoState::ConsentRequested)
                .then_some(current.deadline)
                .flatten(),
            claim: None,
        };
        let updated = self
            .apply_telco_change(&mut tx, current, &update, now)
            .await?;
        tx.commit().await?;
        Ok(Some(updated))
    }

    async fn claim_telco_transaction(
        &self,
        payment_id: PaymentId,
        from: TelcoState,
        claim: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<TelcoTransaction>, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE telco_transactions SET claim = $1, claimed_until = $2, updated_at = $3 \
             WHERE payment_id = $4 AND state = $5 AND (claimed_until IS NULL OR claimed_until <= $6)",
        )
        .bind(claim.to_owned())
        .bind(micros(until))
        .bind(micros(now))
        .bind(payment_id.get())
        .bind(from.as_str())
        .bind(micros(now))
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(None);
        }
        let sql =
            format!("SELECT {TRANSACTION_COLUMNS} FROM telco_transactions WHERE payment_id = $1");
        let row = sqlx::query(&sql)
            .bind(payment_id.get())
            .fetch_one(&mut *tx)
            .await?;
        let transaction = transaction_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(transaction))
    }

    async fn list_overdue_telco_transactions(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TelcoTransaction>, StoreError> {
        let sql = format!(
            "SELECT {TRANSACTION_COLUMNS} FROM telco_transactions WHERE deadline IS NOT NULL \
             AND deadline <= $1 ORDER BY deadline LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(transaction_from_row).collect()
    }

    async fn set_telco_callback_url(
        &self,
        merchant: &MerchantId,
        url: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let done = sqlx::query("UPDATE merchants SET telco_callback_url = $1 WHERE id = $2")
            .bind(url.map(str::to_owned))
            .bind(merchant.as_str().to_owned())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn telco_callback_url(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT telco_callback_url FROM merchants WHERE id = $1")
            .bind(merchant.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get("telco_callback_url")?,
            None => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_has_one_storage_code_that_reads_back() {
        let codes: Vec<i64> = Channel::ALL.into_iter().map(channel_code).collect();
        assert_eq!(codes, [10, 11, 40, 50], "stored codes never change");
        for channel in Channel::ALL {
            assert_eq!(channel_of_code(channel_code(channel)), Some(channel));
        }
        assert_eq!(channel_of_code(12), None);
    }
}
