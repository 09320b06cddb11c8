//! The SQL behind [`LedgerStore`]: payments and refunds. Creates go through
//! group commit; status changes move through the status machine with their
//! event in the same transaction.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use payhub_core::{
    EventKind, LedgerEvent, MerchantId, Payment, PaymentId, Refund, RefundId, Status,
};
use sqlx::any::AnyRow;

use super::batch::{id_list, IDS_PER_STATEMENT};
use super::codec::{Decoded, PAYMENT_COLUMNS, REFUND_COLUMNS};
use super::group_commit::Job;
use super::ledger_writes::{write_payments, PaymentWrite};
use super::tx::{lock_status, move_status};
use super::SqlStore;
use crate::error::{InsertRefundError, StoreError, UpdateStatusError};
use crate::records::{IdempotentResponse, ListFilter, Listed, Page};
use crate::traits::LedgerStore;

impl SqlStore {
    /// The merchant's row of `table` with this id, decoded as `T`; on SQLite
    /// read on this thread (`sqlite_reads`), on PostgreSQL on a shared
    /// tokio-postgres client (`postgres_reads`).
    async fn find_decoded<T: Decoded>(
        &self,
        table: &str,
        columns: &str,
        merchant: &MerchantId,
        id: i64,
    ) -> Result<Option<T>, StoreError> {
        if let Some(readers) = &self.sqlite_readers {
            return readers.find(table, columns, merchant.as_str(), id, |row| T::decode(row));
        }
        if let Some(readers) = &self.postgres_readers {
            return readers
                .find((table, columns), merchant.as_str(), id, |row| {
                    T::decode(row)
                })
                .await;
        }
        let sql = format!("SELECT {columns} FROM {table} WHERE id = $1 AND merchant_id = $2");
        let row: Option<AnyRow> = sqlx::query(&sql)
            .bind(id)
            .bind(merchant.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(|row| T::decode(row)).transpose()
    }

    /// The rows of `table` with these (merchant, id) keys that exist, in no
    /// particular order: one statement per [`IDS_PER_STATEMENT`] keys, so
    /// that a batch of outbox events reads its resources in a round trip or
    /// two instead of one each. A row whose id is asked under another
    /// merchant is left out.
    async fn find_many_decoded<T: Decoded>(
        &self,
        table: &str,
        columns: &str,
        keys: &[(&MerchantId, i64)],
        key_of: impl Fn(&T) -> (&str, i64),
    ) -> Result<Vec<T>, StoreError> {
        let asked: HashSet<(&str, i64)> = keys.iter().map(|(m, id)| (m.as_str(), *id)).collect();
        let mut ids: Vec<i64> = asked.iter().map(|(_, id)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut found = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let placeholders = id_list(self.backend, chunk.len());
            let sql = format!("SELECT {columns} FROM {table} WHERE id IN ({placeholders})");
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&self.pool).await? {
                let decoded = T::decode(&row)?;
                if asked.contains(&key_of(&decoded)) {
                    found.push(decoded);
                }
            }
        }
        Ok(found)
    }

    /// Locks a payment or refund row, moves it through the status machine and
    /// writes the change with its event. Returns nothing: callers re-read.
    async fn update_status(
        &self,
        table: &str,
        kind: EventKind,
        merchant: &MerchantId,
        id: i64,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<(), UpdateStatusError> {
        let (_turn, mut tx) = self.begin_write().await?;
        let from = lock_status(&mut tx, self.backend, table, merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)?;
        move_status(&mut tx, table, kind, merchant, id, from, to, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl LedgerStore for SqlStore {
    async fn insert_payment(
        &self,
        payment: &Payment,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), StoreError> {
        let job = Job::Payment {
            payment: payment.clone(),
            event: event.clone(),
            kept: idempotent.cloned(),
        };
        match self.committer.submit(job).await {
            Ok(()) => Ok(()),
            Err(InsertRefundError::Store(error)) => Err(error),
            Err(InsertRefundError::Rejected(rejection)) => Err(StoreError::Corrupt(format!(
                "a payment was refused as a refund: {rejection}"
            ))),
        }
    }

    async fn insert_payments(&self, payments: &[(Payment, LedgerEvent)]) -> Result<(), StoreError> {
        let writes: Vec<PaymentWrite<'_>> = payments.iter().map(|(p, e)| (p, e, None)).collect();
        let (_turn, mut tx) = self.begin_write().await?;
        write_payments(&mut tx, &writes).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn find_payment(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
    ) -> Result<Option<Payment>, StoreError> {
        self.find_decoded("payments", PAYMENT_COLUMNS, merchant, id.get())
            .await
    }

    async fn find_payments(
        &self,
        keys: &[(&MerchantId, PaymentId)],
    ) -> Result<Vec<Payment>, StoreError> {
        let keys: Vec<_> = keys.iter().map(|(m, id)| (*m, id.get())).collect();
        self.find_many_decoded("payments", PAYMENT_COLUMNS, &keys, |p: &Payment| {
            (p.merchant_id.as_str(), p.id.get())
        })
        .await
    }

    async fn list_payments(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Payment>, StoreError> {
        self.list_decoded("payments", PAYMENT_COLUMNS, merchant, filter, page)
            .await
    }

    async fn update_payment_status(
        &self,
        merchant: &MerchantId,
        id: PaymentId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Payment, UpdateStatusError> {
        self.update_status(
            "payments",
            EventKind::PaymentStateChange,
            merchant,
            id.get(),
            to,
            now,
        )
        .await?;
        self.find_payment(merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)
    }

    async fn insert_refund(
        &self,
        refund: &Refund,
        event: &LedgerEvent,
        idempotent: Option<&IdempotentResponse>,
    ) -> Result<(), InsertRefundError> {
        let job = Job::Refund {
            refund: refund.clone(),
            event: event.clone(),
            kept: idempotent.cloned(),
        };
        self.committer.submit(job).await
    }

    async fn find_refund(
        &self,
        merchant: &MerchantId,
        id: RefundId,
    ) -> Result<Option<Refund>, StoreError> {
        self.find_decoded("refunds", REFUND_COLUMNS, merchant, id.get())
            .await
    }

    async fn find_refunds(
        &self,
        keys: &[(&MerchantId, RefundId)],
    ) -> Result<Vec<Refund>, StoreError> {
        let keys: Vec<_> = keys.iter().map(|(m, id)| (*m, id.get())).collect();
        self.find_many_decoded("refunds", REFUND_COLUMNS, &keys, |r: &Refund| {
            (r.merchant_id.as_str(), r.id.get())
        })
        .await
    }

    async fn list_refunds(
        &self,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<Listed<Refund>, StoreError> {
        self.list_decoded("refunds", REFUND_COLUMNS, merchant, filter, page)
            .await
    }

    async fn update_refund_status(
        &self,
        merchant: &MerchantId,
        id: RefundId,
        to: Status,
        now: DateTime<Utc>,
    ) -> Result<Refund, UpdateStatusError> {
        self.update_status(
            "refunds",
            EventKind::RefundStateChange,
            merchant,
            id.get(),
            to,
            now,
        )
        .await?;
        self.find_refund(merchant, id)
            .await?
            .ok_or(UpdateStatusError::NotFound)
    }
}
