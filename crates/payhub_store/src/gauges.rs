//! What the `/metrics` scrape reads from the database: a few counts that
//! indexes serve (see docs/METRICS.md), never a scan of the ledger.

/// The database's side of payhub's gauges, read at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreGauges {
    /// Outbox events not yet fanned out to deliveries.
    pub outbox_backlog: i64,
    /// When the oldest of them happened, in Unix microseconds.
    pub outbox_oldest_micros: Option<i64>,
    /// Gateway payments whose outcome is unknown, per gateway code.
    pub unknown_payments: Vec<(String, i64)>,
    /// Gateway refunds whose outcome is unknown, per gateway code.
    pub unknown_refunds: Vec<(String, i64)>,
    /// Connections the pool holds now, and how many of them are idle.
    pub pool_size: u32,
    pub pool_idle: usize,
}
