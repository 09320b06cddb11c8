//! Browser tests of the hosted payment page: a customer in headless Chromium,
//! driven over WebDriver (chromedriver), pays real retail sales (seed 003)
//! on a real payhub and lands back on the merchant's `returnUrl`.
//!
//! JavaScript is switched off in the browser, and every test starts by
//! proving it is (see [`driver::Browser::start`]): the page promises to
//! work as plain HTML forms with `<meta http-equiv="refresh">`, so these
//! tests hold it to that. The one exception,
//! `card::with_script_the_card_page_names_the_brand_as_the_number_is_typed`,
//! turns it on ([`driver::Browser::start_with_scripts`]) to check the card
//! page's only progressive enhancement runs under its CSP.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages
//! (`/usr/bin/chromium`, `/usr/bin/chromedriver`; `.ci/run` installs them).
//! Without them every test fails and says so; none is skipped.
//!
//! - [`driver`]: starts chromedriver on a free loopback port and a browser session.
//! - [`shop`]: the merchant's side: its web site (the `returnUrl`) and the
//!   retail API call that creates a sale.
//! - [`wallet`], [`card`]: the customer journeys.
//! - [`consent`]: a telco subscriber on the consent page (seed 004).
//! - [`console`]: an operator in the operator console.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

// The API tests' harness (`TestApp`); this binary uses only part of it.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;
// The helpers hold their answers against the OpenAPI documents.
#[path = "../api/conformance.rs"]
mod conformance;

mod card;
mod consent;
mod console;
mod driver;
mod shop;
mod wallet;
