//! What the HTTP endpoints share whatever their dialect: TMF630's error
//! envelope, merchant authentication by API key, and the amount and time
//! formats of JSON answers. Dialects and operator endpoints import from here; this
//! module imports no dialect.

pub mod error;
pub mod merchant;
pub mod money;
pub mod time;

/// The largest request body the JSON endpoints read (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
