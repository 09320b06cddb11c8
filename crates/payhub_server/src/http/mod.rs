//! What the HTTP endpoints share whatever their dialect: TMF630's error
//! envelope, merchant authentication by API key, and the time format of JSON
//! answers (amounts: `payhub_app::money_json`, since use cases write them into
//! documents too). Dialects and operator endpoints import from here; this
//! module imports no dialect.

pub mod error;
pub mod merchant;
pub mod time;

/// The largest request body the JSON endpoints read (256 KiB).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
