//! TMF676's error envelope: TMF630's `Error`, which the operator endpoints
//! share, so it lives in [`crate::http::error`]; TMF676 code names it
//! `TmfError`.

pub use crate::http::error::ApiError as TmfError;
