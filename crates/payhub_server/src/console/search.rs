//! `GET /console/payments`: find payments of every dialect by id, merchant,
//! reference, account, state and creation date, a page at a time.
//!
//! A merchant-scoped operator's search is always confined to its merchant;
//! asking for another merchant finds nothing.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Days, NaiveDate, Utc};
use maud::{html, Markup};
use payhub_core::{MerchantId, Payment, PaymentId, Status};
use payhub_store::{Listed, Page, PaymentSearch};
use serde::{Deserialize, Serialize};

use super::error::ConsoleError;
use super::session::Signed;
use super::view;
use crate::state::AppState;

/// Payments per page.
pub const PAGE_SIZE: i64 = 25;

/// The search form, as the browser sends it (every field optional text).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct SearchForm {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub merchant: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub account: String,
    #[serde(default)]
    pub state: String,
    /// First day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// 1-based.
    #[serde(default)]
    pub page: String,
}

/// What the form asks for, or `None` when it can match nothing for this
/// operator (another merchant's data).
pub fn parse_search(
    form: &SearchForm,
    scope: Option<&MerchantId>,
) -> Result<Option<PaymentSearch>, String> {
    let text = |value: &str| {
        Some(value.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let id = text(&form.id)
        .map(|id| {
            id.parse::<PaymentId>()
                .map_err(|_| format!("'{id}' is not a payment id"))
        })
        .transpose()?;
    let asked = text(&form.merchant)
        .map(|m| MerchantId::parse(&m).ok_or_else(|| format!("'{m}' is not a merchant id")))
        .transpose()?;
    let merchant = match (scope, asked) {
        (Some(own), Some(asked)) if own != &asked => return Ok(None),
        (Some(own), _) => Some(own.clone()),
        (None, asked) => asked,
    };
    let status = text(&form.state)
        .map(|s| Status::parse(&s).map_err(|e| e.to_string()))
        .transpose()?;
    let created_from = text(&form.from).map(|d| day_start(&d, 0)).transpose()?;
    let created_before = text(&form.to).map(|d| day_start(&d, 1)).transpose()?;
    Ok(Some(PaymentSearch {
        merchant,
        id,
        reference: text(&form.reference),
        account_id: text(&form.account),
        status,
        created_from,
        created_before,
    }))
}

/// The start (UTC) of the day `text` names, `plus_days` later.
fn day_start(text: &str, plus_days: u64) -> Result<DateTime<Utc>, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.checked_add_days(Days::new(plus_days)))
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .ok_or_else(|| format!("'{text}' is not a date (YYYY-MM-DD)"))
}

/// The requested page, 1 when absent or unreadable.
fn page_number(form: &SearchForm) -> i64 {
    form.page
        .trim()
        .parse::<i64>()
        .unwrap_or(1)
        .clamp(1, 100_000)
}

/// `GET /console/payments`.
pub async fn search_payments(
    State(state): State<AppState>,
    signed: Signed,
    query: Result<Query<SearchForm>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    let Query(form) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let number = page_number(&form);
    let (found, error) = match parse_search(&form, signed.scope()) {
        Ok(Some(search)) => {
            let page = Page {
                offset: (number - 1) * PAGE_SIZE,
                limit: PAGE_SIZE,
            };
            (state.store.search_payments(&search, page).await?, None)
        }
        Ok(None) => (empty(), None),
        Err(message) => (empty(), Some(message)),
    };
    let content = html! {
        h1 { "Payments" }
        (search_form(&form, &signed))
        @if let Some(error) = &error {
            p.notice.error role="alert" { (error) }
        }
        (results(&found, &form, number))
    };
    Ok(Html(
        view::page("Payments", Some(&signed), content).into_string(),
    ))
}

fn empty() -> Listed<Payment> {
    Listed {
        items: Vec::new(),
        total: 0,
    }
}

fn search_form(form: &SearchForm, signed: &Signed) -> Markup {
    html! {
        form.search method="get" action="/console/payments" {
            label { "Payment id" input type="text" name="id" value=(form.id); }
            @if signed.scope().is_none() {
                label { "Merchant" input type="text" name="merchant" value=(form.merchant) placeholder="mer_…"; }
            }
            label { "Reference" input type="text" name="reference" value=(form.reference) placeholder="correlatorId, rrn, transactionId"; }
            label { "Account" input type="text" name="account" value=(form.account); }
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for status in Status::ALL {
                        option value=(status.as_str()) selected[form.state == status.as_str()] { (status.as_str()) }
                    }
                }
            }
            label { "Created from" input type="date" name="from" value=(form.from); }
            label { "Created to" input type="date" name="to" value=(form.to); }
            button type="submit" id="search" { "Search" }
        }
    }
}

fn results(found: &Listed<Payment>, form: &SearchForm, number: i64) -> Markup {
    let last_page = (found.total + PAGE_SIZE - 1) / PAGE_SIZE;
    html! {
        p.count { (found.total) " payment(s)" }
        table.results {
            thead { tr { th { "Payment" } th { "Created" } th { "Merchant" } th { "Account" } th { "Reference" } th { "Amount" } th { "State" } } }
            tbody {
                @for payment in &found.items {
                    tr {
                        td { a.payment href={ "/console/payments/" (payment.id) } { (payment.id) } }
                        td { (view::time(payment.created_at)) }
                        td { (payment.merchant_id.as_str()) }
                        td { (payment.account_id) }
                        td { (payment.correlator_id.as_deref().unwrap_or("—")) }
                        td { (view::money(payment.total_amount)) }
                        td.state { (payment.status.as_str()) }
                    }
                }
            }
        }
        div.pager {
            @if number > 1 {
                a rel="prev" href=(page_link(form, number - 1)) { "← Newer" }
            }
            @if number < last_page {
                a rel="next" href=(page_link(form, number + 1)) { "Older →" }
            }
        }
    }
}

fn page_link(form: &SearchForm, number: i64) -> String {
    let mut form = form.clone();
    form.page = number.to_string();
    let pairs = [
        ("id", &form.id),
        ("merchant", &form.merchant),
        ("reference", &form.reference),
        ("account", &form.account),
        ("state", &form.state),
        ("from", &form.from),
        ("to", &form.to),
        ("page", &form.page),
    ];
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    format!("/console/payments?{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merchant(text: &str) -> MerchantId {
        MerchantId::parse(text).unwrap_or_else(|| unreachable!("{text}"))
    }

    #[test]
    fn a_scoped_operator_cannot_widen_its_search() {
        let own = merchant("mer_00000000000000aa");
        let other = SearchForm {
            merchant: "mer_00000000000000bb".into(),
            ..SearchForm::default()
        };
        assert_eq!(parse_search(&other, Some(&own)), Ok(None));
        let any = parse_search(&SearchForm::default(), Some(&own));
        assert_eq!(any.ok().flatten().and_then(|s| s.merchant), Some(own));
    }

    #[test]
    fn dates_cover_whole_days_and_bad_input_is_named() {
        let form = SearchForm {
            from: "2026-11-01".into(),
            to: "2026-11-01".into(),
            ..SearchForm::default()
        };
        let search = parse_search(&form, None).ok().flatten().unwrap_or_default();
        assert_eq!(
            search.created_from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-01T00:00:00+00:00")
        );
        assert_eq!(
            search.created_before.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-02T00:00:00+00:00")
        );
        for (field, value) in [
            ("id", "x"),
            ("state", "paid"),
            ("from", "yesterday"),
            ("merchant", "bob"),
        ] {
            let mut form = SearchForm::default();
            match field {
                "id" => form.id = value.into(),
                "state" => form.state = value.into(),
                "from" => form.from = value.into(),
                _ => form.merchant = value.into(),
            }
            assert!(parse_search(&form, None).is_err(), "{field}={value}");
        }
    }
}
