//! Claiming rows whose next check is due (gateway payments and refunds, bill
//! refunds): the one work-queue statement their checkers share, which moves
//! the next check to the lease's end so one node checks each row at a time.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::codec::micros;
use super::SqlStore;
use crate::error::StoreError;

impl SqlStore {
    /// Claims the rows of `table` whose check is due, hiding them until
    /// `lease_until`.
    pub(super) async fn claim_due_checks(
        &self,
        table: &str,
        key: &str,
        columns: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let _turn = self.write_lock.acquire().await;
        let sql = format!(
            "UPDATE {table} SET next_check_at = $1, checks = checks + 1, updated_at = $2 WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE next_check_at IS NOT NULL AND next_check_at <= $3 \
             ORDER BY next_check_at LIMIT $4{}) RETURNING {columns}",
            self.backend.skip_locked()
        );
        Ok(sqlx::query(&sql)
            .bind(micros(lease_until))
            .bind(micros(now))
            .bind(micros(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }
}
