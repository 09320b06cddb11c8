//! The SQL behind [`ApsStore`]: APS accounts, their credit and stored
//! payment methods, and how each APS payment was covered.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::credit::{self, Parts, Settlement, MAX_CREDIT_MINOR};
use payhub_core::{Currency, MerchantId, Money, PaymentId, RefundId};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::backend::Backend;
use super::codec::{corrupt, from_micros, merchant_id, micros};
use super::gateway_rows::{insert_gateway_payment_row, insert_gateway_refund_row};
use super::ledger_writes::{
    counting_refund_statuses, lock_payment, refunded_minor, write_payments, write_refund,
};
use super::SqlStore;
use crate::aps::{
    ApsAccount, ApsPayment, ApsPaymentMethod, ApsPlan, ApsRefund, ApsRefundPlan, ApsRefundWrite,
    ApsWrite, CreditError, CreditState, MethodKind,
};
use crate::error::{InsertRefundError, StoreError};
use crate::records::{CardRecord, GatewayPayment};
use crate::traits::ApsStore;

const ACCOUNT_COLUMNS: &str =
    "aps_id, merchant_id, account_id, currency, available_credit_minor, created_at";
const METHOD_COLUMNS: &str =
    "id, aps_id, kind, gateway, token, brand, first6, last4, created_at, gateway_token, connector_account";
const APS_PAYMENT_COLUMNS: &str = "payment_id, aps_id, merchant_id, credit_minor, method_minor, \
     credit_state, payment_method_id, save_method, notify_url, created_at";

fn account_from_row(row: &AnyRow) -> Result<ApsAccount, StoreError> {
    let currency: String = row.try_get("currency")?;
    Ok(ApsAccount {
        aps_id: row.try_get("aps_id")?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        account_id: row.try_get("account_id")?,
        currency: Currency::parse(&currency).map_err(corrupt)?,
        available_credit_minor: row.try_get("available_credit_minor")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn method_from_row(row: &AnyRow) -> Result<ApsPaymentMethod, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(ApsPaymentMethod {
        id: row.try_get("id")?,
        aps_id: row.try_get("aps_id")?,
        kind: MethodKind::parse(&kind).ok_or_else(|| corrupt(format!("method kind {kind}")))?,
        gateway: row.try_get("gateway")?,
        token: row.try_get("token")?,
        gateway_token: row.try_get("gateway_token")?,
        connector_account: row.try_get("connector_account")?,
        brand: row.try_get("brand")?,
        first6: row.try_get("first6")?,
        last4: row.try_get("last4")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

fn aps_payment_from_row(row: &AnyRow) -> Result<ApsPayment, StoreError> {
    let state: String = row.try_get("credit_state")?;
    Ok(ApsPayment {
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        aps_id: row.try_get("aps_id")?,
        merchant_id: merchant_id(row.try_get("merchant_id")?)?,
        credit_minor: row.try_get("credit_minor")?,
        method_minor: row.try_get("method_minor")?,
        credit_state: CreditState::parse(&state)
            .ok_or_else(|| corrupt(format!("credit state {state}")))?,
        payment_method_id: row.try_get("payment_method_id")?,
        save_method: row.try_get::<i64, _>("save_method")? != 0,
        notify_url: row.try_get("notify_url")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

const APS_REFUND_COLUMNS: &str =
    "refund_id, payment_id, aps_id, card_minor, credit_minor, created_at";

fn aps_refund_from_row(row: &AnyRow) -> Result<ApsRefund, StoreError> {
    Ok(ApsRefund {
        refund_id: RefundId::from_i64(row.try_get("refund_id")?)
            .ok_or_else(|| corrupt("refund id"))?,
        payment_id: PaymentId::from_i64(row.try_get("payment_id")?)
            .ok_or_else(|| corrupt("payment id"))?,
        aps_id: row.try_get("aps_id")?,
        card_minor: row.try_get("card_minor")?,
        credit_minor: row.try_get("credit_minor")?,
        created_at: from_micros(row.try_get("created_at")?)?,
    })
}

/// What an APS payment paid from each part.
fn paid_parts(aps: &ApsPayment) -> Parts {
    Parts {
        card_minor: aps.method_minor,
        credit_minor: aps.credit_minor,
    }
}

/// What refunds have given back (or are giving back) of each part of an APS
/// payment whose payment row `tx` holds locked: the parts of the refunds
/// that still count (pending or done). A refund's credit part is returned
/// only when the refund is done, so a refund whose card part was denied
/// gave back neither part. A refund from before the split has no
/// `aps_refunds` row and went to the card alone.
async fn refunded_parts(
    tx: &mut Transaction<'static, Any>,
    payment_id: PaymentId,
) -> Result<Parts, StoreError> {
    let counted_total = refunded_minor(tx, payment_id).await?;
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(a.credit_minor), 0) AS BIGINT) AS credit_counted \
         FROM aps_refunds a JOIN refunds r ON r.id = a.refund_id \
         WHERE a.payment_id = $1 AND r.status IN ({})",
        counting_refund_statuses()
    );
    let row = sqlx::query(&sql)
        .bind(payment_id.get())
        .fetch_one(&mut **tx)
        .await?;
    let credit_counted: i64 = row.try_get("credit_counted")?;
    Ok(Parts {
        card_minor: counted_total.saturating_sub(credit_counted).max(0),
        credit_minor: credit_counted,
    })
}

/// Decides and writes an APS refund inside `tx` (see
/// [`ApsStore::insert_aps_refund`]). The inner `Err` is the ledger's refusal.
async fn write_aps_refund(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    merchant: &MerchantId,
    payment_id: PaymentId,
    requested: Money,
    plan: ApsRefundPlan<'_>,
) -> Result<ApsRefundWrite, InsertRefundError> {
    use payhub_core::RefundRejection::PaymentNotFound;
    let Some(payment) = lock_payment(tx, backend, merchant, payment_id).await? else {
        return Err(PaymentNotFound(payment_id).into());
    };
    payhub_core::ledger::check_refundable(&payment, Some(requested))?;
    let row = sqlx::query(&format!(
        "SELECT {APS_PAYMENT_COLUMNS} FROM aps_payments WHERE payment_id = $1"
    ))
    .bind(payment_id.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(aps) = row.as_ref().map(aps_payment_from_row).transpose()? else {
        return Err(
            StoreError::Invariant(format!("payment {payment_id} is not an APS payment")).into(),
        );
    };
    let refunded = refunded_parts(tx, payment_id).await?;
    let split = credit::split_refund(requested, paid_parts(&aps), refunded)?;
    let write = plan(split);
    write_refund(tx, &write.refund, &write.event, write.kept.as_ref()).await??;
    let row = &write.aps;
    sqlx::query(&format!(
        "INSERT INTO aps_refunds ({APS_REFUND_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    ))
    .bind(row.refund_id.get())
    .bind(row.payment_id.get())
    .bind(row.aps_id.clone())
    .bind(row.card_minor)
    .bind(row.credit_minor)
    .bind(micros(row.created_at))
    .bind(micros(row.created_at))
    .execute(&mut **tx)
    .await?;
    if let Some(gateway) = &write.gateway {
        insert_gateway_refund_row(tx, gateway, row.created_at).await?;
    }
    // With no card part the refund is done now, and so is its credit part;
    // otherwise the credit part waits for the card part's success
    // (`return_credit_of_done_refund`), so that a denied card part gives back
    // nothing.
    if row.credit_minor > 0 && row.card_minor == 0 {
        return_credit(tx, &aps.aps_id, row.credit_minor, row.created_at).await?;
    }
    Ok(write)
}

/// Gives back the credit part of an APS refund whose card part its gateway
/// has just refunded, inside the transaction that moves the refund to
/// `done` (which happens once: a gateway refund's final state never moves).
/// Nothing for refunds of other payments, or without a credit part.
pub(super) async fn return_credit_of_done_refund(
    tx: &mut Transaction<'static, Any>,
    refund_id: RefundId,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {APS_REFUND_COLUMNS} FROM aps_refunds WHERE refund_id = $1"
    ))
    .bind(refund_id.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(refund) = row.as_ref().map(aps_refund_from_row).transpose()? else {
        return Ok(());
    };
    if refund.card_minor > 0 && refund.credit_minor > 0 {
        return_credit(tx, &refund.aps_id, refund.credit_minor, now).await?;
    }
    Ok(())
}

/// Adds `credit_minor` back to an account's credit inside `tx`.
async fn return_credit(
    tx: &mut Transaction<'static, Any>,
    aps_id: &str,
    credit_minor: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let updated = sqlx::query(
        "UPDATE aps_accounts SET available_credit_minor = available_credit_minor + $1, updated_at = $2 \
         WHERE aps_id = $3",
    )
    .bind(credit_minor)
    .bind(micros(now))
    .bind(aps_id.to_owned())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(corrupt(format!("no APS account {aps_id}")));
    }
    Ok(())
}

async fn insert_method_row(
    tx: &mut Transaction<'static, Any>,
    method: &ApsPaymentMethod,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO aps_payment_methods ({METHOD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(method.id)
    .bind(method.aps_id.clone())
    .bind(method.kind.as_str())
    .bind(method.gateway.clone())
    .bind(method.token.clone())
    .bind(method.brand.clone())
    .bind(method.first6.clone())
    .bind(method.last4.clone())
    .bind(micros(method.created_at))
    .bind(method.gateway_token.clone())
    .bind(method.connector_account.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What an APS payment's final gateway state does to its account, inside the
/// transaction that records that state, as [`credit::settle`] decides: a
/// failure gives the spent credit back, a success saves the hosted page's
/// card as a payment method. Payments of other dialects have no APS row and
/// are left alone.
pub(super) async fn settle_aps_payment(
    tx: &mut Transaction<'static, Any>,
    gateway: &GatewayPayment,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if !gateway.state.is_final() {
        return Ok(());
    }
    let row = sqlx::query(&format!(
        "SELECT {APS_PAYMENT_COLUMNS} FROM aps_payments WHERE payment_id = $1"
    ))
    .bind(gateway.payment_id.get())
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let aps = aps_payment_from_row(&row)?;
    let settlement = credit::settle(
        gateway.state,
        aps.credit_state,
        aps.save_method,
        gateway.card_chargeable_later(),
    );
    match (settlement, gateway.card.as_ref()) {
        (Settlement::SaveCard, Some(card)) => save_card(tx, &aps, gateway, card, now).await,
        (Settlement::ReturnCredit, _) => give_credit_back(tx, &aps, now).await,
        (Settlement::Nothing | Settlement::SaveCard, _) => Ok(()),
    }
}

/// Saves the card a succeeded hosted-page payment saw as the account's
/// payment method, with the gateway's own reference of it and the connector
/// account that holds it, and links it to the payment.
async fn save_card(
    tx: &mut Transaction<'static, Any>,
    aps: &ApsPayment,
    gateway: &GatewayPayment,
    card: &CardRecord,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let method = ApsPaymentMethod {
        id: payhub_core::ids::generate_id(now),
        aps_id: aps.aps_id.clone(),
        kind: MethodKind::Card,
        gateway: gateway.gateway.clone(),
        token: card.token.clone(),
        gateway_token: card.gateway_token.clone(),
        connector_account: gateway.connector_account.clone(),
        brand: Some(card.brand.clone()),
        first6: Some(card.first6.clone()),
        last4: Some(card.last4.clone()),
        created_at: now,
    };
    insert_method_row(tx, &method).await?;
    sqlx::query(
        "UPDATE aps_payments SET payment_method_id = $1, save_method = 0, updated_at = $2 WHERE payment_id = $3",
    )
    .bind(method.id)
    .bind(micros(now))
    .bind(aps.payment_id.get())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives a failed payment's held credit back to its account. The
/// `credit_state = 'held'` guard is the lock that makes it happen once, even
/// if the row read before was stale: only the update that turns `held` into
/// `returned` adds the credit.
async fn give_credit_back(
    tx: &mut Transaction<'static, Any>,
    aps: &ApsPayment,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let returned = sqlx::query(
        "UPDATE aps_payments SET credit_state = 'returned', updated_at = $1 \
         WHERE payment_id = $2 AND credit_state = 'held'",
    )
    .bind(micros(now))
    .bind(aps.payment_id.get())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if returned == 1 {
        sqlx::query(
            "UPDATE aps_accounts SET available_credit_minor = available_credit_minor + $1, updated_at = $2 \
             WHERE aps_id = $3",
        )
        .bind(aps.credit_minor)
        .bind(micros(now))
        .bind(aps.aps_id.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[async_trait]
impl ApsStore for SqlStore {
    async fn insert_aps_account(&self, account: &ApsAccount) -> Result<(), StoreError> {
        if !(0..=MAX_CREDIT_MINOR).contains(&account.available_credit_minor) {
            return Err(StoreError::Invariant(
                "an account's credit must be 0 to the maximum".into(),
            ));
        }
        let _turn = self.write_lock.acquire().await;
        sqlx::query(&format!(
            "INSERT INTO aps_accounts ({ACCOUNT_COLUMNS}, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(account.aps_id.clone())
        .bind(account.merchant_id.as_str().to_owned())
        .bind(account.account_id.clone())
        .bind(account.currency.code().to_owned())
        .bind(account.available_credit_minor)
        .bind(micros(account.created_at))
        .bind(micros(account.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_aps_account(&self, aps_id: &str) -> Result<Option<ApsAccount>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM aps_accounts WHERE aps_id = $1"
        ))
        .bind(aps_id.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account_from_row).transpose()
    }

    async fn add_aps_credit(
        &self,
        aps_id: &str,
        amount_minor: i64,
        now: DateTime<Utc>,
    ) -> Result<ApsAccount, CreditError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM aps_accounts WHERE aps_id = $1{}",
            self.backend.for_update()
        ))
        .bind(aps_id.to_owned())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(row) = row else {
            return Err(CreditError::NotFound);
        };
        let mut account = account_from_row(&row)?;
        let balance = credit::add_credit(account.available_credit_minor, amount_minor)
            .ok_or(CreditError::Overflow)?;
        sqlx::query(
            "UPDATE aps_accounts SET available_credit_minor = $1, updated_at = $2 WHERE aps_id = $3",
        )
        .bind(balance)
        .bind(micros(now))
        .bind(aps_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        account.available_credit_minor = balance;
        Ok(account)
    }

    async fn insert_aps_payment_method(&self, method: &ApsPaymentMethod) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        insert_method_row(&mut tx, method).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_aps_payment_methods(
        &self,
        aps_id: &str,
    ) -> Result<Vec<ApsPaymentMethod>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {METHOD_COLUMNS} FROM aps_payment_methods WHERE aps_id = $1 ORDER BY id"
        ))
        .bind(aps_id.to_owned())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(method_from_row).collect()
    }

    async fn find_aps_payment_method(
        &self,
        id: i64,
    ) -> Result<Option<ApsPaymentMethod>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {METHOD_COLUMNS} FROM aps_payment_methods WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(method_from_row).transpose()
    }

    async fn insert_aps_payment(
        &self,
        aps_id: &str,
        plan: ApsPlan<'_>,
    ) -> Result<ApsWrite, StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        // The account stays locked until commit (FOR UPDATE on PostgreSQL; the
        // immediate transaction on SQLite), so no other payment spends the
        // credit between this read and the debit.
        let row = sqlx::query(&format!(
            "SELECT available_credit_minor FROM aps_accounts WHERE aps_id = $1{}",
            self.backend.for_update()
        ))
        .bind(aps_id.to_owned())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::Invariant(format!("no APS account {aps_id}")));
        };
        let available: i64 = row.try_get("available_credit_minor")?;
        let write = plan(available)?;
        if write.aps.credit_minor > 0 {
            // Conditional: a debit the balance cannot cover changes nothing.
            let debited = sqlx::query(
                "UPDATE aps_accounts SET available_credit_minor = available_credit_minor - $1, updated_at = $2 \
                 WHERE aps_id = $3 AND available_credit_minor >= $4",
            )
            .bind(write.aps.credit_minor)
            .bind(micros(write.payment.created_at))
            .bind(aps_id.to_owned())
            .bind(write.aps.credit_minor)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if debited != 1 {
                return Err(StoreError::Invariant(
                    "an APS plan spent more credit than the account holds".into(),
                ));
            }
        }
        write_payments(
            &mut tx,
            &[(&write.payment, &write.event, write.kept.as_ref())],
        )
        .await?;
        if let Some(gateway) = &write.gateway {
            insert_gateway_payment_row(&mut tx, gateway).await?;
        }
        let aps = &write.aps;
        sqlx::query(&format!(
            "INSERT INTO aps_payments ({APS_PAYMENT_COLUMNS}, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(aps.payment_id.get())
        .bind(aps.aps_id.clone())
        .bind(aps.merchant_id.as_str().to_owned())
        .bind(aps.credit_minor)
        .bind(aps.method_minor)
        .bind(aps.credit_state.as_str())
        .bind(aps.payment_method_id)
        .bind(i64::from(aps.save_method))
        .bind(aps.notify_url.clone())
        .bind(micros(aps.created_at))
        .bind(micros(aps.created_at))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(write)
    }

    async fn find_aps_payment(
        &self,
        payment_id: PaymentId,
    ) -> Result<Option<ApsPayment>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APS_PAYMENT_COLUMNS} FROM aps_payments WHERE payment_id = $1"
        ))
        .bind(payment_id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(aps_payment_from_row).transpose()
    }

    async fn insert_aps_refund(
        &self,
        merchant: &MerchantId,
        payment_id: PaymentId,
        requested: Money,
        plan: ApsRefundPlan<'_>,
    ) -> Result<ApsRefundWrite, InsertRefundError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let write =
            write_aps_refund(&mut tx, self.backend, merchant, payment_id, requested, plan).await?;
        tx.commit().await?;
        Ok(write)
    }

    async fn find_aps_refund(&self, refund_id: RefundId) -> Result<Option<ApsRefund>, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {APS_REFUND_COLUMNS} FROM aps_refunds WHERE refund_id = $1"
        ))
        .bind(refund_id.get())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(aps_refund_from_row).transpose()
    }

    async fn list_aps_payments(
        &self,
        aps_id: &str,
        payment_ids: &[i64],
    ) -> Result<Vec<ApsPayment>, StoreError> {
        if payment_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (0..payment_ids.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT {APS_PAYMENT_COLUMNS} FROM aps_payments WHERE aps_id = $1 AND payment_id IN ({}) ORDER BY payment_id",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(aps_id.to_owned());
        for id in payment_ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(aps_payment_from_row).collect()
    }
}
