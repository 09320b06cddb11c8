//! Extractors shared by the TMF676 handlers, rejecting in TMF's error format.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;

use super::error::TmfError;

pub use crate::http::merchant::{ApiEdge as TmfEdge, BearerMerchant as TmfMerchant};

/// The request body, or the TMF error for one that could not be read.
pub fn body(result: Result<Bytes, BytesRejection>) -> Result<Bytes, TmfError> {
    result.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            TmfError::PayloadTooLarge(super::MAX_BODY_BYTES)
        } else {
            TmfError::InvalidJson(rejection.body_text())
        }
    })
}
