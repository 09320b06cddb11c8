//! The TMF676 dialect (`/tmf-api/paymentManagement/v4`): the official
//! conformance kit's sequence (seed 000), payments and refunds, the status
//! machine as TMF676 shows it, TMF630 filtering, hub listeners, authentication
//! and `Idempotency-Key`. The other dialects' files test their own wire and
//! their TMF676 view of the same payments.

mod auth;
mod filtering;
mod hub;
mod idempotency;
mod payments;
mod refunds;
mod seed_000;
mod statuses;
