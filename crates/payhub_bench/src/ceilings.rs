//! The storage cases: the raw engine's ceiling and payhub's store path, for
//! the same rows, transaction size and concurrency, measured one beside the
//! other so that both see the machine in the same state.

use std::sync::Arc;
use std::time::Duration;

use payhub_core::MerchantId;
use payhub_store::Store;

use crate::db::BenchDb;
use crate::figures::StorageCase;
use crate::{raw_postgres, raw_sqlite, storage};

/// Rows per transaction of the batched cases.
pub const BATCH: usize = 1000;

/// Where the raw engine writes: its own database, made by payhub's
/// migrations, with a merchant for the rows' foreign key.
pub struct RawTarget<'a> {
    pub db: &'a BenchDb,
    pub merchant: MerchantId,
}

impl RawTarget<'_> {
    async fn one_row(
        &self,
        backend: &str,
        concurrency: usize,
        duration: Duration,
    ) -> anyhow::Result<f64> {
        if backend == "sqlite" {
            let (path, merchant) = (self.db.sqlite_path(), self.merchant.clone());
            tokio::task::spawn_blocking(move || {
                raw_sqlite::one_row_per_transaction(&path, &merchant, concurrency, duration)
            })
            .await?
        } else {
            raw_postgres::one_row_per_transaction(
                &self.db.url,
                &self.merchant,
                concurrency,
                duration,
            )
            .await
        }
    }

    async fn batched(&self, backend: &str, rows: usize) -> anyhow::Result<f64> {
        if backend == "sqlite" {
            let (path, merchant) = (self.db.sqlite_path(), self.merchant.clone());
            tokio::task::spawn_blocking(move || {
                raw_sqlite::batched(&path, &merchant, rows, BATCH, account)
            })
            .await?
        } else {
            raw_postgres::batched(&self.db.url, &self.merchant, rows, BATCH, account).await
        }
    }
}

/// The account of the n-th seeded row: 1,000 accounts (the list case filters on them).
pub fn account(n: usize) -> String {
    format!("acct-{}", n % crate::ACCOUNTS)
}

/// One row per transaction at each concurrency (`duration` for each of the
/// two), then `rows` rows in
/// transactions of [`BATCH`] from one writer. payhub's batched rows are the
/// payments the read cases find afterwards.
pub async fn measure(
    backend: &str,
    raw: &RawTarget<'_>,
    store: Arc<dyn Store>,
    merchant: &MerchantId,
    concurrency: &[usize],
    duration: Duration,
    rows: usize,
) -> anyhow::Result<Vec<StorageCase>> {
    let mut cases = Vec::new();
    // One row per transaction is bound by the disk's flush latency, which on a
    // shared machine drifts from second to second; measuring in the order
    // raw, payhub, payhub, raw (half the time each) cancels a steady drift
    // instead of handing it to whichever runs first.
    let half = duration / 2;
    for &c in concurrency {
        let raw_first = raw.one_row(backend, c, half).await?;
        let payhub_first =
            storage::one_row_per_transaction(store.clone(), merchant, c, half).await?;
        let payhub_second =
            storage::one_row_per_transaction(store.clone(), merchant, c, half).await?;
        let raw_second = raw.one_row(backend, c, half).await?;
        let raw_rows_per_s = (raw_first + raw_second) / 2.0;
        let payhub_rows_per_s = (payhub_first + payhub_second) / 2.0;
        eprintln!(
            "storage, 1 row/tx, c={c}: raw engine {raw_rows_per_s:.0} rows/s, payhub {payhub_rows_per_s:.0} rows/s"
        );
        cases.push(StorageCase {
            rows_per_transaction: 1,
            concurrency: c,
            raw_rows_per_s,
            payhub_rows_per_s,
        });
    }
    let raw_rows_per_s = raw.batched(backend, rows).await?;
    let payhub_rows_per_s =
        storage::batched(store.as_ref(), merchant, rows, BATCH, 1000, account).await?;
    eprintln!(
        "storage, {BATCH} rows/tx ({rows} rows): raw engine {raw_rows_per_s:.0} rows/s, payhub {payhub_rows_per_s:.0} rows/s"
    );
    cases.push(StorageCase {
        rows_per_transaction: BATCH,
        concurrency: 1,
        raw_rows_per_s,
        payhub_rows_per_s,
    });
    Ok(cases)
}
