//! TMF630 query parameters: attribute selection, filtering and paging.
//!
//! - `fields=a,b` keeps those first-level attributes (`id` and `href` always
//!   come back); `fields=none` keeps only `id` and `href`.
//! - Any other parameter filters: `attr=value` is equality, dot paths reach into
//!   objects (and into every element of an array), `a=x,y` means x OR y, several
//!   parameters combine with AND. Operators are `.gt .gte .lt .lte .eq` as
//!   suffixes (`totalAmount.value.gt=10`) or as URL-encoded `> >= < <=`
//!   (`statusDate%3E=2024-01-01`). They compare numbers as exact decimals and
//!   date-times as instants; a date-time may be quoted.
//! - `offset` and `limit` page the result.
//!
//! A `+` in a value is kept as `+` (not a space) so that date-time offsets such
//! as `+08:00` survive being sent unencoded.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, Utc};
use percent_encoding::percent_decode_str;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::error::TmfError;
use super::wire::parse_time;

/// The most items one page returns, when `limit` asks for more or is absent.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// The longest query string (or hub `query`) accepted, in bytes: far above
/// any real filter, and small enough that parsing and matching stay cheap.
pub const MAX_QUERY_BYTES: usize = 8192;

/// The most values one filter may list (`id=a,b,…`): each is one comparison,
/// and one SQL placeholder when the filter is indexed.
pub const MAX_FILTER_VALUES: usize = 100;

/// Parameters that are not attribute filters.
const RESERVED: [&str; 6] = ["fields", "offset", "limit", "sort", "depth", "expand"];

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

/// One filter: an attribute path, an operator, and values any of which may match.
#[derive(Clone, Debug, PartialEq)]
pub struct Filter {
    pub path: Vec<String>,
    pub op: Op,
    pub values: Vec<String>,
}

/// Which attributes a response keeps.
#[derive(Clone, Debug, PartialEq)]
pub enum Fields {
    All,
    /// `fields=none`: only `id` and `href`.
    None,
    Only(Vec<String>),
}

/// A list request's parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct ListParams {
    pub fields: Fields,
    pub offset: i64,
    pub limit: i64,
    pub filters: Vec<Filter>,
}

fn decode(text: &str) -> Result<String, TmfError> {
    percent_decode_str(text)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| TmfError::InvalidQuery(format!("'{text}' is not valid UTF-8 once decoded")))
}

/// Splits one `key<op>value` pair, with the operator in any of its spellings.
fn split_pair(raw: &str) -> Result<(String, Op, String), TmfError> {
    let malformed = || TmfError::InvalidQuery(format!("malformed query parameter '{raw}'"));
    let (mut key, mut op, value) = match raw.split_once('=') {
        Some((raw_key, raw_value)) => {
            let key = decode(raw_key)?;
            let value = decode(raw_value)?;
            if let Some(k) = key.strip_suffix('>') {
                (k.to_owned(), Op::Gte, value)
            } else if let Some(k) = key.strip_suffix('<') {
                (k.to_owned(), Op::Lte, value)
            } else if key.contains(['<', '>']) {
                // An operator inside a key that also has '=' is ambiguous; refuse rather than guess.
                return Err(malformed());
            } else {
                (key, Op::Eq, value)
            }
        }
        None => {
            let decoded = decode(raw)?;
            let pos = decoded.find(['<', '>', '=']).ok_or_else(malformed)?;
            let (key, rest) = decoded.split_at(pos);
            let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
                (Op::Gte, v)
            } else if let Some(v) = rest.strip_prefix("<=") {
                (Op::Lte, v)
            } else if let Some(v) = rest.strip_prefix('>') {
                (Op::Gt, v)
            } else if let Some(v) = rest.strip_prefix('<') {
                (Op::Lt, v)
            } else {
                (Op::Eq, rest.trim_start_matches('='))
            };
            (key.to_owned(), op, value.to_owned())
        }
    };
    if op == Op::Eq {
        for (suffix, suffix_op) in [
            (".gte", Op::Gte),
            (".gt", Op::Gt),
            (".lte", Op::Lte),
            (".lt", Op::Lt),
            (".eq", Op::Eq),
        ] {
            if let Some(k) = key.strip_suffix(suffix) {
                key = k.to_owned();
                op = suffix_op;
                break;
            }
        }
    }
    if key.is_empty() {
        return Err(malformed());
    }
    Ok((key, op, value))
}

fn unquote(value: &str) -> &str {
    let v = value.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(quote).and_then(|s| s.strip_suffix(quote)) {
            return inner;
        }
    }
    v
}

fn filter_of(key: &str, op: Op, value: &str) -> Result<Filter, TmfError> {
    let values: Vec<String> = value.split(',').map(|v| unquote(v).to_owned()).collect();
    if values.len() > MAX_FILTER_VALUES {
        return Err(TmfError::InvalidQuery(format!(
            "'{key}' lists {} values; a filter may list at most {MAX_FILTER_VALUES}",
            values.len()
        )));
    }
    Ok(Filter {
        path: key.split('.').map(str::to_owned).collect(),
        op,
        values,
    })
}

/// Refuses a query string longer than [`MAX_QUERY_BYTES`].
fn check_length(raw: &str) -> Result<(), TmfError> {
    if raw.len() > MAX_QUERY_BYTES {
        return Err(TmfError::InvalidQuery(format!(
            "the query is {} bytes long; at most {MAX_QUERY_BYTES} are accepted",
            raw.len()
        )));
    }
    Ok(())
}

fn non_negative(name: &str, value: &str) -> Result<i64, TmfError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| {
            TmfError::InvalidQuery(format!(
                "'{name}' must be a non-negative integer, got '{value}'"
            ))
        })
}

/// Parses the query string of a list request.
pub fn parse_list_query(raw: Option<&str>) -> Result<ListParams, TmfError> {
    let mut params = ListParams {
        fields: Fields::All,
        offset: 0,
        limit: MAX_PAGE_SIZE,
        filters: Vec::new(),
    };
    check_length(raw.unwrap_or(""))?;
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, op, value) = split_pair(pair)?;
        match key.as_str() {
            "fields" => params.fields = parse_fields(&value),
            "offset" => params.offset = non_negative("offset", &value)?,
            "limit" => params.limit = non_negative("limit", &value)?.min(MAX_PAGE_SIZE),
            k if RESERVED.contains(&k) => {}
            _ => params.filters.push(filter_of(&key, op, &value)?),
        }
    }
    Ok(params)
}

/// Parses a hub subscription's `query` (`eventType=X&event.payment.status=y`).
pub fn parse_filters(raw: &str) -> Result<Vec<Filter>, TmfError> {
    check_length(raw)?;
    raw.trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| split_pair(pair).and_then(|(key, op, value)| filter_of(&key, op, &value)))
        .collect()
}

fn parse_fields(value: &str) -> Fields {
    let names: Vec<String> = value
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if names.iter().any(|n| n == "none") {
        Fields::None
    } else {
        Fields::Only(names)
    }
}

/// Keeps the selected first-level attributes of a resource.
pub fn select_fields(resource: Value, fields: &Fields) -> Value {
    let Value::Object(map) = resource else {
        return resource;
    };
    if *fields == Fields::All {
        return Value::Object(map);
    }
    let keep = |name: &str| match fields {
        Fields::All => true,
        Fields::None => name == "id" || name == "href",
        Fields::Only(names) => name == "id" || name == "href" || names.iter().any(|n| n == name),
    };
    Value::Object(
        map.into_iter()
            .filter(|(k, _)| keep(k))
            .collect::<Map<_, _>>(),
    )
}

fn collect<'a>(value: &'a Value, path: &[String], out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, path, out)),
        Value::Object(map) => match path.split_first() {
            Some((head, rest)) => {
                if let Some(child) = map.get(head) {
                    collect(child, rest, out);
                }
            }
            None => out.push(value),
        },
        _ if path.is_empty() => out.push(value),
        _ => {}
    }
}

fn decimal(text: &str) -> Option<Decimal> {
    if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    }
}

/// A date-time, or a bare date read as its first instant in UTC.
fn instant(text: &str) -> Option<DateTime<Utc>> {
    parse_time(text).or_else(|| {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc())
    })
}

fn ordering(actual: &Value, wanted: &str) -> Option<Ordering> {
    match actual {
        Value::Number(n) => Some(decimal(&n.to_string())?.cmp(&decimal(wanted)?)),
        Value::String(s) => match (instant(s), instant(wanted)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => Some(decimal(s)?.cmp(&decimal(wanted)?)),
        },
        _ => None,
    }
}

fn compare(actual: &Value, op: Op, wanted: &str) -> bool {
    if op == Op::Eq {
        return match actual {
            Value::String(s) if s == wanted => true,
            Value::Bool(b) => b.to_string() == wanted,
            Value::Null | Value::Array(_) | Value::Object(_) => false,
            _ => ordering(actual, wanted) == Some(Ordering::Equal),
        };
    }
    match ordering(actual, wanted) {
        Some(Ordering::Greater) => matches!(op, Op::Gt | Op::Gte),
        Some(Ordering::Equal) => matches!(op, Op::Gte | Op::Lte),
        Some(Ordering::Less) => matches!(op, Op::Lt | Op::Lte),
        None => false,
    }
}

impl Filter {
    /// Whether some value at the path compares true with some filter value.
    /// An attribute the resource does not have matches nothing.
    pub fn matches(&self, resource: &Value) -> bool {
        let mut found = Vec::new();
        collect(resource, &self.path, &mut found);
        found.iter().any(|actual| {
            self.values
                .iter()
                .any(|wanted| compare(actual, self.op, wanted))
        })
    }

    /// The path as written, e.g. `account.id`.
    pub fn path_text(&self) -> String {
        self.path.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn filters(raw: &str) -> Vec<Filter> {
        parse_list_query(Some(raw))
            .map(|p| p.filters)
            .unwrap_or_else(|e| unreachable!("{raw}: {e}"))
    }

    fn matches(raw: &str, resource: &Value) -> bool {
        filters(raw).iter().all(|f| f.matches(resource))
    }

    #[test]
    fn operators_in_every_spelling() {
        let spellings = [
            ("a.gt=5", Op::Gt),
            ("a.gte=5", Op::Gte),
            ("a.lt=5", Op::Lt),
            ("a.lte=5", Op::Lte),
            ("a.eq=5", Op::Eq),
            ("a>=5", Op::Gte),
            ("a<=5", Op::Lte),
            ("a%3E5", Op::Gt),
            ("a%3C5", Op::Lt),
            ("a%3E%3D5", Op::Gte),
            ("a%3C%3D5", Op::Lte),
            ("a%3E=5", Op::Gte),
            ("a=5", Op::Eq),
        ];
        for (raw, op) in spellings {
            assert_eq!(
                filters(raw),
                vec![Filter {
                    path: vec!["a".into()],
                    op,
                    values: vec!["5".into()]
                }],
                "{raw}"
            );
        }
    }

    #[test]
    fn equality_dot_paths_arrays_and_or() {
        let r = json!({"id": "7", "account": {"id": "A1"}, "paymentItem": [{"item": {"id": "x"}}, {"item": {"id": "y"}}],
            "totalAmount": {"unit": "USD", "value": 50}});
        assert!(matches("account.id=A1", &r));
        assert!(!matches("account.id=A2", &r));
        assert!(matches("account.id=A2,A1", &r));
        assert!(matches("paymentItem.item.id=y", &r));
        assert!(matches("totalAmount.value=50.00", &r));
        assert!(matches("account.id=A1&totalAmount.unit=USD", &r));
        assert!(!matches("account.id=A1&totalAmount.unit=EUR", &r));
        assert!(!matches("noSuchAttribute=1", &r));
    }

    #[test]
    fn numbers_and_date_times_compare_by_value() {
        let r = json!({"totalAmount": {"value": 50}, "statusDate": "2024-05-01T10:00:00.000Z"});
        assert!(matches("totalAmount.value.gt=49.99", &r));
        assert!(!matches("totalAmount.value.gt=50", &r));
        assert!(matches("totalAmount.value.gte=50", &r));
        assert!(matches("statusDate.gt=2024-05-01T09:59:59Z", &r));
        assert!(
            matches("statusDate.lt=\"2024-05-01T12:00:00%2B01:00\"", &r),
            "11:00Z is after 10:00Z"
        );
        assert!(
            !matches("statusDate.lt=\"2024-05-01T10:30:00%2B01:00\"", &r),
            "09:30Z is before 10:00Z"
        );
        assert!(matches("statusDate.lte=\"2024-05-01T11:00:00+01:00\"", &r));
        assert!(matches("statusDate%3E=2024-05-01", &r));
        assert!(matches("statusDate='2024-05-01T10:00:00Z'", &r));
    }

    #[test]
    fn a_filter_lists_at_most_the_maximum_number_of_values() {
        let at_most = format!("id={}", vec!["1"; MAX_FILTER_VALUES].join(","));
        assert_eq!(filters(&at_most)[0].values.len(), MAX_FILTER_VALUES);
        let over = format!("id={}", vec!["1"; MAX_FILTER_VALUES + 1].join(","));
        assert!(matches!(
            parse_list_query(Some(&over)),
            Err(TmfError::InvalidQuery(_))
        ));
        assert!(parse_filters(&over).is_err(), "hub queries too");
    }

    #[test]
    fn paging_and_fields() {
        let p = parse_list_query(Some("offset=5&limit=20&fields=id,status"))
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!((p.offset, p.limit), (5, 20));
        assert_eq!(p.fields, Fields::Only(vec!["id".into(), "status".into()]));
        assert!(parse_list_query(Some("limit=-1")).is_err());
        assert!(parse_list_query(Some("offset=x")).is_err());
        let r = json!({"id": "1", "href": "h", "status": "captured", "name": "n"});
        assert_eq!(
            select_fields(r.clone(), &Fields::None),
            json!({"id": "1", "href": "h"})
        );
        assert_eq!(
            select_fields(r, &Fields::Only(vec!["href".into()])),
            json!({"id": "1", "href": "h"})
        );
    }
}
