//! The hosted payment page: what the customer sees at a sale's `paymentUrl`.
//!
//! Plain HTML forms, no third-party assets and no script required; the
//! page refreshes itself with `<meta http-equiv="refresh">` while it waits.
//!
//! - [`view`]: renders each page state (QR, card form, 3-D Secure, processing, result).
//! - [`i18n`]: every customer-facing string in `zh_hk`, `zh_cn` and `en`.
//! - [`qr`]: QR codes as inline SVG.
//! - [`layout`]: desktop or mobile, from the `User-Agent`.
//! - [`headers`]: the security headers of every page (CSP, no framing, no caching).

pub mod headers;
pub mod i18n;
pub mod layout;
pub mod qr;
pub mod refusal;
pub mod routes;
pub mod view;

pub use headers::with_page_headers;
pub use refusal::PageEdge;
pub use routes::{payment_path, payment_url, router};
