//! The shape every TMF676 list shares: filters served by indexes where they
//! can be, the rest evaluated here, then paging headers and 200/206.
//!
//! Filters evaluated here read the rows the indexed filters leave in batches
//! of [`SCAN_BATCH`], keeping only the requested page, so a list's memory does
//! not grow with the documents' size or number; and at most
//! `list_max_scanned_rows` (a setting) are read that way: a broader list is
//! refused (`invalid_query`), naming the indexed attributes that narrow it.

use std::future::Future;

use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use payhub_core::PaymentId;
use payhub_store::{ListFilter, Listed, Page, StoreError};
use serde_json::Value;

use super::error::TmfError;
use super::query::{select_fields, Fields, Filter, ListParams, Op};
use super::render::json_response;
use super::resource::TmfResource;
use super::wire::href;

/// Rows read per batch when some filter is evaluated here.
const SCAN_BATCH: i64 = 100;

/// Which resource collection is being listed.
#[derive(Clone, Copy)]
pub struct Collection {
    /// The path segment and href collection name (`payment`, `refund`).
    pub name: &'static str,
    /// Whether `payment.id` is an indexed column (refunds).
    pub has_payment_ref: bool,
}

fn ids_from(values: &[String], parse: impl Fn(&str) -> Option<i64>) -> Vec<i64> {
    values.iter().filter_map(|v| parse(v)).collect()
}

/// An id in its canonical text form only, so that the index gives exactly the
/// answer the attribute comparison would (`0123` is not `123`).
fn canonical_id(text: &str) -> Option<i64> {
    text.parse::<PaymentId>()
        .ok()
        .filter(|id| id.to_string() == text)
        .map(PaymentId::get)
}

/// Moves the equality filters that columns serve into a store filter. Returns
/// it with `true` when every filter moved, so the store can page by itself.
pub fn pushdown(filters: &[Filter], collection: Collection, base_url: &str) -> (ListFilter, bool) {
    let mut store_filter = ListFilter::default();
    let mut all_moved = true;
    let href_prefix = href(base_url, collection.name, "");
    for filter in filters {
        if filter.op != Op::Eq {
            all_moved = false;
            continue;
        }
        match filter.path_text().as_str() {
            "id" => store_filter.ids = Some(ids_from(&filter.values, canonical_id)),
            "href" => {
                let ids = ids_from(&filter.values, |v| {
                    v.strip_prefix(&href_prefix).and_then(canonical_id)
                });
                store_filter.ids = Some(match store_filter.ids.take() {
                    Some(existing) => existing.into_iter().filter(|id| ids.contains(id)).collect(),
                    None => ids,
                });
            }
            "account.id" => store_filter.account_ids = Some(filter.values.clone()),
            "correlatorId" => store_filter.correlator_ids = Some(filter.values.clone()),
            "status" => store_filter.statuses = Some(filter.values.clone()),
            "payment.id" if collection.has_payment_ref => {
                store_filter.payment_ids = Some(ids_from(&filter.values, canonical_id));
            }
            _ => all_moved = false,
        }
    }
    (store_filter, all_moved)
}

/// Lists a collection: `fetch` reads a page from the store (newest first).
///
/// When the store served every filter and the whole resources are asked for,
/// the page is written straight as text ([`Rendering::write_json`]);
/// otherwise each resource is rendered as a tree, to be matched or cut down.
pub async fn list<T, Fetch, Fut>(
    params: ListParams,
    base_url: &str,
    max_scanned: i64,
    fetch: Fetch,
) -> Result<Response, TmfError>
where
    T: TmfResource,
    Fetch: Fn(ListFilter, Option<Page>) -> Fut,
    Fut: Future<Output = Result<Listed<T>, StoreError>>,
{
    let (store_filter, all_moved) = pushdown(&params.filters, T::COLLECTION, base_url);
    let page = Page {
        offset: params.offset,
        limit: params.limit,
    };
    let (resources, total) = if all_moved {
        let listed = fetch(store_filter, Some(page)).await?;
        if params.fields == Fields::All {
            return Ok(text_list_response(&listed, base_url));
        }
        (
            listed
                .items
                .iter()
                .map(|r| r.render(base_url))
                .collect::<Vec<_>>(),
            listed.total,
        )
    } else {
        let rows = Rows {
            fetch: &fetch,
            render: &|r: &T| r.render(base_url),
            id_of: &|r: &T| r.id_text().parse().ok(),
            max_scanned,
        };
        rows.scan(&params, page, store_filter).await?
    };
    let shown: Vec<Value> = resources
        .into_iter()
        .map(|r| select_fields(r, &params.fields))
        .collect();
    Ok(list_response(shown, total))
}

/// A page of whole resources as one JSON array, written as text.
fn text_list_response<T: TmfResource>(listed: &Listed<T>, base_url: &str) -> Response {
    let mut body = Vec::with_capacity(listed.items.len().saturating_mul(1024) + 2);
    body.push(b'[');
    for (at, item) in listed.items.iter().enumerate() {
        if at > 0 {
            body.push(b',');
        }
        item.rendering(base_url).write_json(&mut body);
    }
    body.push(b']');
    let count = i64::try_from(listed.items.len()).unwrap_or(i64::MAX);
    paged(json_response(StatusCode::OK, body), count, listed.total)
}

/// Evaluates the filters the store cannot serve over the rows it narrowed
/// down, a batch at a time (each batch starts below the last one's smallest
/// id, so rows added meanwhile are neither skipped nor counted twice), and
/// returns the requested page of the matches with their number.
struct Rows<'a, Fetch, Render, IdOf> {
    fetch: &'a Fetch,
    render: &'a Render,
    id_of: &'a IdOf,
    max_scanned: i64,
}

impl<Fetch, Render, IdOf> Rows<'_, Fetch, Render, IdOf> {
    async fn scan<T, Fut>(
        &self,
        params: &ListParams,
        page: Page,
        mut filter: ListFilter,
    ) -> Result<(Vec<Value>, i64), TmfError>
    where
        Fetch: Fn(ListFilter, Option<Page>) -> Fut,
        Fut: Future<Output = Result<Listed<T>, StoreError>>,
        Render: Fn(&T) -> Value,
        IdOf: Fn(&T) -> Option<i64>,
    {
        let (fetch, render, id_of, max_scanned) =
            (self.fetch, self.render, self.id_of, self.max_scanned);
        let batch = Page {
            offset: 0,
            limit: SCAN_BATCH,
        };
        let mut shown = Vec::new();
        let mut matched: i64 = 0;
        let mut first = true;
        loop {
            let listed = fetch(filter.clone(), Some(batch)).await?;
            if first && listed.total > max_scanned {
                return Err(TmfError::InvalidQuery(format!(
                "this filter would have to read {} stored resources, more than the {max_scanned} \
                 a list may read: narrow it with an indexed attribute (id, href, account.id, \
                 correlatorId, status, payment.id for refunds)",
                listed.total
            )));
            }
            first = false;
            for item in &listed.items {
                let resource = render(item);
                if !params.filters.iter().all(|f| f.matches(&resource)) {
                    continue;
                }
                if matched >= page.offset && matched < page.offset.saturating_add(page.limit) {
                    shown.push(resource);
                }
                matched += 1;
            }
            let full = i64::try_from(listed.items.len()).unwrap_or(i64::MAX) == SCAN_BATCH;
            match listed.items.last().and_then(id_of) {
                Some(last) if full => filter.before_id = Some(last),
                _ => return Ok((shown, matched)),
            }
        }
    }
}

fn list_response(items: Vec<Value>, total: i64) -> Response {
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
    paged(
        (StatusCode::OK, axum::Json(Value::Array(items))).into_response(),
        count,
        total,
    )
}

/// Sets a list's status (206 when the page holds fewer than all the matches)
/// and its count headers.
fn paged(mut response: Response, count: i64, total: i64) -> Response {
    if count < total {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("x-total-count"),
        HeaderValue::from(total),
    );
    headers.insert(
        HeaderName::from_static("x-result-count"),
        HeaderValue::from(count),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_tmf676::query::parse_list_query;

    const PAYMENTS: Collection = Collection {
        name: "payment",
        has_payment_ref: false,
    };

    fn push(raw: &str) -> (ListFilter, bool) {
        let params = parse_list_query(Some(raw)).unwrap_or_else(|e| unreachable!("{e}"));
        pushdown(&params.filters, PAYMENTS, "http://h")
    }

    #[test]
    fn indexed_equalities_move_to_the_store() {
        let (f, all) = push("account.id=a,b&status=captured&id=12");
        assert!(all);
        assert_eq!(f.account_ids, Some(vec!["a".into(), "b".into()]));
        assert_eq!(f.statuses, Some(vec!["captured".into()]));
        assert_eq!(f.ids, Some(vec![12]));
    }

    #[test]
    fn hrefs_become_ids_and_foreign_hrefs_match_nothing() {
        let (f, all) = push("href=http://h/tmf-api/paymentManagement/v4/payment/42");
        assert!(all);
        assert_eq!(f.ids, Some(vec![42]));
        let (f, _) = push("href=http://other/tmf-api/paymentManagement/v4/payment/42");
        assert!(f.matches_nothing());
        let (f, _) = push("id=0042");
        assert!(f.matches_nothing());
    }

    #[test]
    fn other_filters_stay_here() {
        assert!(!push("name=x").1);
        assert!(!push("account.id.gt=a").1);
        assert!(
            !push("payment.id=1").1,
            "payments have no payment reference column"
        );
    }
}
