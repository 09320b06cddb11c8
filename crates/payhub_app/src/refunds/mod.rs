//! Refunds, routed by how the payment they name was funded: the money goes
//! back the way it came.
//!
//! Every dialect that refunds calls [`create`]. It finds how the payment was
//! funded ([`route`], the one place that decides) and hands the refund to
//! that way's writer:
//!
//! - [`aps`]: an APS payment's card part through the card's gateway, its
//!   credit part back to the account's credit;
//! - [`gateway`]: through the payment's gateway (retail sales, card payments);
//! - [`bill`]: credited on the subscriber's phone bill;
//! - [`ledger`]: a plain ledger entry, when payhub moved no money itself.
//!
//! Each writer commits the refund, its create event, its own rows and the
//! caller's kept answer (the idempotent response, built by the dialect from
//! the refund) in one transaction, retrying with a fresh id while an id is
//! taken, and returns the refund as recorded. What then talks to a gateway or
//! the carrier runs after the answer, in the background; a refund whose
//! answer is lost stays pending, and its scheduled check settles it.

mod aps;
mod bill;
mod gateway;
mod ledger;
pub mod route;

use std::sync::Arc;

use payhub_core::{NewRefund, Refund};
use payhub_store::IdempotentResponse;

pub use route::Funding;

use crate::{AppError, Services};

/// The answer the caller keeps with a refund (its idempotent response, if
/// the request has a key), built from the refund as it is about to be
/// committed, so the refund and its answer commit together.
pub trait KeptAnswer: Fn(&Refund) -> Option<IdempotentResponse> + Send + Sync {}

impl<F: Fn(&Refund) -> Option<IdempotentResponse> + Send + Sync> KeptAnswer for F {}

/// Records a refund the way the money of its payment came in, and starts
/// giving that money back. Returns the refund as recorded: `done` when
/// nothing is left to do (a ledger entry, an APS refund wholly to credit),
/// otherwise `pendingAuthorization` until the gateway or the carrier answers.
///
/// `new` is the merchant's request, already parsed by the dialect; a payment
/// it names counts only when it is that merchant's. `kept` builds the answer
/// committed with the refund.
pub async fn create(
    services: &Arc<Services>,
    new: NewRefund,
    kept: impl KeptAnswer,
) -> Result<Refund, AppError> {
    match route::funding_of(services, &new).await? {
        Funding::Aps { payment, card } => {
            aps::create(services, new, &payment, card.as_ref(), &kept).await
        }
        Funding::Gateway(row) => gateway::create(services, new, &row, &kept).await,
        Funding::Bill(transaction) => bill::create(services, new, &transaction, &kept).await,
        Funding::Ledger => ledger::create(services, new, &kept).await,
    }
}
