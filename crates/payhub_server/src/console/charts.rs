//! `GET /console/charts`: payments per day and their success rate, per
//! gateway type and per merchant, as inline SVG drawn on the server.
//!
//! "Volume" is the number of payments created that day (amounts are in many
//! currencies and are not added up); "success" is a payment now
//! `authorized`, `captured` or `done`. Coordinates are integers: the chart
//! needs no float. Each chart has a table of the same numbers beside it.

use std::collections::{BTreeMap, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Days, Utc};
use maud::{html, Markup};
use payhub_store::VolumeRow;
use serde::Deserialize;

use super::error::ConsoleError;
use super::session::Signed;
use super::view;
use crate::state::AppState;

/// Days shown when the query does not say.
const DEFAULT_DAYS: u64 = 14;
const MAX_DAYS: u64 = 90;
const WIDTH: i64 = 640;
const HEIGHT: i64 = 160;
/// Room for the axis labels.
const MARGIN: i64 = 32;

/// One day of one series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayPoint {
    pub day: DateTime<Utc>,
    pub payments: i64,
    pub succeeded: i64,
}

impl DayPoint {
    /// Successes per hundred payments, rounded down; `None` without payments.
    pub fn rate_percent(self) -> Option<i64> {
        (self.payments > 0).then(|| self.succeeded.saturating_mul(100) / self.payments)
    }
}

/// The days of one gateway type or one merchant, every day present.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub label: String,
    pub points: Vec<DayPoint>,
}

/// Groups `rows` into one series per `key`, with a point for each of `days`.
pub fn series_by(
    rows: &[VolumeRow],
    days: &[DateTime<Utc>],
    key: impl Fn(&VolumeRow) -> String,
) -> Vec<Series> {
    let mut grouped: BTreeMap<String, HashMap<DateTime<Utc>, (i64, i64)>> = BTreeMap::new();
    for row in rows {
        let day = grouped
            .entry(key(row))
            .or_default()
            .entry(row.day)
            .or_default();
        day.0 = day.0.saturating_add(row.payments);
        day.1 = day.1.saturating_add(row.succeeded);
    }
    grouped
        .into_iter()
        .map(|(label, by_day)| Series {
            label,
            points: days
                .iter()
                .map(|day| {
                    let (payments, succeeded) = by_day.get(day).copied().unwrap_or_default();
                    DayPoint {
                        day: *day,
                        payments,
                        succeeded,
                    }
                })
                .collect(),
        })
        .collect()
}

/// The chart of one series: a bar per day for the payments (left scale) and
/// a line through the days that had payments for the success rate (0–100 %).
pub fn chart_svg(series: &Series) -> Markup {
    let count = i64::try_from(series.points.len()).unwrap_or(1).max(1);
    let plot_width = WIDTH - 2 * MARGIN;
    let slot = (plot_width / count).max(1);
    let most = series
        .points
        .iter()
        .map(|p| p.payments)
        .max()
        .unwrap_or(0)
        .max(1);
    let bottom = HEIGHT - MARGIN / 2;
    let plot_height = HEIGHT - MARGIN;
    let x_of = |index: usize| MARGIN + i64::try_from(index).unwrap_or(0) * slot;
    let mut rate_points = Vec::new();
    for (index, point) in series.points.iter().enumerate() {
        if let Some(rate) = point.rate_percent() {
            let x = x_of(index) + slot / 2;
            let y = bottom - rate * plot_height / 100;
            rate_points.push(format!("{x},{y}"));
        }
    }
    let first = series
        .points
        .first()
        .map(|p| p.day.format("%m-%d").to_string());
    let last = series
        .points
        .last()
        .map(|p| p.day.format("%m-%d").to_string());
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox={ "0 0 " (WIDTH) " " (HEIGHT) } role="img"
            aria-label={ "Payments per day and success rate: " (series.label) } {
            title { "Payments per day and success rate: " (series.label) }
            line.axis x1=(MARGIN) y1=(bottom) x2=(WIDTH - MARGIN) y2=(bottom) {}
            text x="2" y=(bottom - plot_height + 10) { (most) }
            text x="2" y=(bottom) { "0" }
            text x=(WIDTH - MARGIN + 4) y=(bottom - plot_height + 10) { "100%" }
            @for (index, point) in series.points.iter().enumerate() {
                @let height = point.payments * plot_height / most;
                rect.bar x=(x_of(index) + 1) y=(bottom - height) width=((slot - 2).max(1)) height=(height) {
                    title { (point.day.format("%Y-%m-%d")) ": " (point.payments) " payment(s), " (point.succeeded) " succeeded" }
                }
            }
            @if !rate_points.is_empty() {
                polyline.rate points=(rate_points.join(" ")) {}
            }
            @if let (Some(first), Some(last)) = (first, last) {
                text x=(MARGIN) y=(HEIGHT - 2) { (first) }
                text x=(WIDTH - MARGIN - 30) y=(HEIGHT - 2) { (last) }
            }
        }
    }
}

fn series_table(series: &Series) -> Markup {
    html! {
        details {
            summary { "Numbers" }
            table {
                thead { tr { th { "Day" } th { "Payments" } th { "Succeeded" } th { "Success rate" } } }
                tbody {
                    @for point in &series.points {
                        tr {
                            td { (point.day.format("%Y-%m-%d")) }
                            td { (point.payments) }
                            td { (point.succeeded) }
                            td { @match point.rate_percent() { Some(rate) => { (rate) " %" }, None => "—" } }
                        }
                    }
                }
            }
        }
    }
}

fn section(heading: &str, id: &str, series: &[Series]) -> Markup {
    html! {
        section id=(id) {
            h2 { (heading) }
            @if series.is_empty() { p { "No payments in this period." } }
            @for one in series {
                h3 { (one.label) }
                (chart_svg(one))
                (series_table(one))
            }
        }
    }
}

#[derive(Deserialize, Default)]
pub struct ChartQuery {
    #[serde(default)]
    days: String,
}

/// The last `count` UTC days, oldest first, ending today.
fn last_days(now: DateTime<Utc>, count: u64) -> Vec<DateTime<Utc>> {
    let today = now.date_naive();
    (0..count)
        .rev()
        .filter_map(|back| today.checked_sub_days(Days::new(back)))
        .filter_map(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
        .collect()
}

/// `GET /console/charts?days=N`.
pub async fn show_charts(
    State(state): State<AppState>,
    signed: Signed,
    query: Result<Query<ChartQuery>, QueryRejection>,
) -> Result<Html<String>, ConsoleError> {
    let Query(query) = query.map_err(|e| ConsoleError::BadRequest(e.body_text()))?;
    let count = query
        .days
        .parse::<u64>()
        .unwrap_or(DEFAULT_DAYS)
        .clamp(1, MAX_DAYS);
    let days = last_days(Utc::now(), count);
    let (Some(since), Some(last)) = (days.first().copied(), days.last().copied()) else {
        return Err(ConsoleError::BadRequest("no days to show".into()));
    };
    let until = last + chrono::Duration::days(1);
    let rows = state
        .store
        .payment_volume(signed.scope(), since, until)
        .await?;
    let names: HashMap<String, String> = match signed.scope() {
        Some(_) => HashMap::new(),
        None => state
            .store
            .list_merchants()
            .await?
            .into_iter()
            .map(|m| (m.id.to_string(), m.name))
            .collect(),
    };
    let by_gateway = series_by(&rows, &days, |row| row.gateway.clone());
    let by_merchant = series_by(&rows, &days, |row| {
        let id = row.merchant_id.to_string();
        match names.get(&id) {
            Some(name) => format!("{name} ({id})"),
            None => id,
        }
    });
    let content = html! {
        h1 { "Volume and success rate" }
        p.legend { "Bars: payments created per day (left scale). Line: the share of them now authorized, captured or done (right scale, 0–100 %). Last " (count) " days, UTC." }
        (section("Per gateway type", "per-gateway", &by_gateway))
        (section("Per merchant", "per-merchant", &by_merchant))
    };
    Ok(Html(
        view::page("Charts", Some(&signed), content).into_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use payhub_core::MerchantId;

    fn day(n: u64) -> DateTime<Utc> {
        last_days(
            DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            3,
        )
        .get(usize::try_from(n).unwrap_or(0))
        .copied()
        .unwrap_or_default()
    }

    fn row(d: u64, gateway: &str, payments: i64, succeeded: i64) -> VolumeRow {
        VolumeRow {
            day: day(d),
            merchant_id: MerchantId::parse("mer_00000000000000aa")
                .unwrap_or_else(|| unreachable!()),
            gateway: gateway.into(),
            payments,
            succeeded,
        }
    }

    #[test]
    fn series_fill_every_day_and_add_up_per_key() {
        let days: Vec<_> = (0..3).map(day).collect();
        let rows = [
            row(0, "WXPAY", 4, 3),
            row(2, "WXPAY", 2, 0),
            row(2, "LEDGER", 1, 1),
        ];
        let series = series_by(&rows, &days, |r| r.gateway.clone());
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].label, "LEDGER");
        let wx = &series[1];
        let counts: Vec<_> = wx
            .points
            .iter()
            .map(|p| (p.payments, p.rate_percent()))
            .collect();
        assert_eq!(counts, [(4, Some(75)), (0, None), (2, Some(0))]);
        let merged = series_by(&rows, &days, |_| "all".into());
        assert_eq!(merged[0].points[2].payments, 3);
    }

    #[test]
    fn the_chart_draws_a_bar_per_day_and_the_rate_where_there_were_payments() {
        let days: Vec<_> = (0..3).map(day).collect();
        let rows = [row(0, "WXPAY", 4, 3), row(2, "WXPAY", 2, 0)];
        let svg = chart_svg(&series_by(&rows, &days, |r| r.gateway.clone())[0]).into_string();
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        let points = svg
            .split("points=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("");
        assert_eq!(points.split(' ').count(), 2, "{svg}");
        assert!(svg.contains("<title>Payments per day and success rate: WXPAY</title>"));
    }
}
