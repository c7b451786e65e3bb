//! `GET /v1/usage`: cost and volume in the shape of Meta's `pricing_analytics`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Datelike, TimeZone, Utc};
use coexist_engine::policy::Currency;
use coexist_engine::report::{csv_field, round_line, Rounding};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::serve::params::time_range;
use crate::serve::{ApiError, AppState};
use crate::store::EntryRow;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UsageQuery {
    pub waba: Option<String>,
    /// Messages at or after this instant (RFC 3339 or unix seconds).
    pub from: Option<String>,
    /// Messages before this instant.
    pub to: Option<String>,
    /// `HALF_HOUR`, `DAILY` (default) or `MONTHLY`, in UTC.
    pub granularity: Option<String>,
    /// Comma-separated: `COUNTRY`, `PHONE`, `PRICING_CATEGORY`, `PRICING_TYPE`, `MARKET`, `TIER`.
    pub dimensions: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Dimension {
    Country,
    Phone,
    PricingCategory,
    PricingType,
    Market,
    Tier,
}

impl Dimension {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim() {
            "COUNTRY" => Self::Country,
            "PHONE" => Self::Phone,
            "PRICING_CATEGORY" => Self::PricingCategory,
            "PRICING_TYPE" => Self::PricingType,
            "MARKET" => Self::Market,
            "TIER" => Self::Tier,
            _ => return None,
        })
    }

    /// The field name in a data point, as Meta names it.
    fn field(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Phone => "phone_number",
            Self::PricingCategory => "pricing_category",
            Self::PricingType => "pricing_type",
            Self::Market => "market",
            Self::Tier => "tier",
        }
    }

    fn value(self, r: &EntryRow) -> String {
        match self {
            Self::Country => r.country.to_string(),
            Self::Phone => r.business_number.trim_start_matches('+').to_owned(),
            Self::PricingCategory => r.category.to_uppercase(),
            Self::PricingType => r.pricing_type.to_uppercase(),
            Self::Market => r.market.to_string(),
            Self::Tier => r.tier.as_deref().unwrap_or_default().to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Granularity {
    HalfHour,
    Daily,
    Monthly,
}

impl Granularity {
    /// The bucket [start, end) of an instant, in unix seconds.
    fn bucket(self, at_ms: i64) -> (i64, i64) {
        let s = at_ms.div_euclid(1000);
        match self {
            Self::HalfHour => {
                let start = s.div_euclid(1800) * 1800;
                (start, start + 1800)
            }
            Self::Daily => {
                let start = s.div_euclid(86_400) * 86_400;
                (start, start + 86_400)
            }
            Self::Monthly => {
                let t = Utc.timestamp_opt(s, 0).single().unwrap_or_default();
                let start = Utc.with_ymd_and_hms(t.year(), t.month(), 1, 0, 0, 0).single().unwrap_or_default();
                let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
                let end = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).single().unwrap_or_default();
                (start.timestamp(), end.timestamp())
            }
        }
    }
}

/// Volume and cost per time bucket and dimension, each line rounded to the
/// currency's minor unit (half-even) with the residual shown. Reversals count
/// negative, so a re-rated message is counted once, at its current verdict.
#[utoipa::path(get, path = "/v1/usage", params(UsageQuery),
    responses((status = 200, description = "{\"data_points\": [{start, end, <dimensions>, currency, volume, cost, cost_exact, rounding_residual}], \"totals\": [...]}"),
              (status = 422, description = "A bad parameter")),
    security(("bearer" = [])))]
pub async fn usage(State(state): State<AppState>, Query(q): Query<UsageQuery>) -> Result<Response, ApiError> {
    let (from_ms, to_ms) = time_range(q.from.as_deref(), q.to.as_deref())?;
    let granularity = match q.granularity.as_deref().unwrap_or("DAILY") {
        "HALF_HOUR" => Granularity::HalfHour,
        "DAILY" => Granularity::Daily,
        "MONTHLY" => Granularity::Monthly,
        other => {
            return Err(ApiError::bad_param(
                "granularity",
                format!("`granularity` is HALF_HOUR, DAILY or MONTHLY, not `{other}`"),
            ))
        }
    };
    let mut dims = Vec::new();
    for d in q.dimensions.as_deref().unwrap_or("").split(',').filter(|d| !d.trim().is_empty()) {
        let dim = Dimension::parse(d).ok_or_else(|| {
            ApiError::bad_param(
                "dimensions",
                format!("unknown dimension `{d}`; use COUNTRY, PHONE, PRICING_CATEGORY, PRICING_TYPE, MARKET, TIER"),
            )
        })?;
        if !dims.contains(&dim) {
            dims.push(dim);
        }
    }
    dims.sort();
    let csv = match q.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => return Err(ApiError::bad_param("format", format!("`format` is json or csv, not `{other}`"))),
    };
    let mut lines = Lines::default();
    state.ledger.index_staged().await?;
    state.store.for_each_entry(q.waba.as_deref(), from_ms, to_ms, |r| lines.add(&r, granularity, &dims)).await?;
    let points = lines.points();
    if csv {
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], to_csv(&points, &dims)).into_response());
    }
    let data: Vec<Value> = points.iter().map(|p| p.json(&dims)).collect();
    Ok(Json(json!({ "data_points": data, "totals": totals(&points) })).into_response())
}

/// One data point.
struct Point {
    start: i64,
    end: i64,
    dims: Vec<String>,
    currency: String,
    volume: i64,
    exact: Decimal,
    rounded: Decimal,
    residual: Decimal,
}

impl Point {
    fn json(&self, dims: &[Dimension]) -> Value {
        let mut m = Map::new();
        m.insert("start".into(), json!(self.start));
        m.insert("end".into(), json!(self.end));
        for (d, v) in dims.iter().zip(&self.dims) {
            m.insert(d.field().into(), json!(v));
        }
        m.insert("currency".into(), json!(self.currency));
        m.insert("volume".into(), json!(self.volume));
        m.insert("cost".into(), json!(self.rounded.to_string()));
        m.insert("cost_exact".into(), json!(self.exact.normalize().to_string()));
        m.insert("rounding_residual".into(), json!(self.residual.normalize().to_string()));
        Value::Object(m)
    }
}

/// (bucket start, bucket end, dimension values, currency).
type LineKey = (i64, i64, Vec<String>, String);

/// Volume and exact cost per line, folded one entry at a time.
#[derive(Default)]
struct Lines(BTreeMap<LineKey, (i64, Decimal)>);

impl Lines {
    fn add(&mut self, r: &EntryRow, granularity: Granularity, dims: &[Dimension]) {
        let (start, end) = granularity.bucket(r.at_ms);
        let key = (start, end, dims.iter().map(|d| d.value(r)).collect(), r.currency.clone());
        let line = self.0.entry(key).or_default();
        line.0 += if r.kind == "reversal" { -1 } else { 1 };
        if let Some(a) = r.amount.as_deref().and_then(|a| a.parse::<Decimal>().ok()) {
            line.1 += a;
        }
    }

    /// The lines, rounded; lines a reversal cancelled entirely are left out.
    fn points(self) -> Vec<Point> {
        self.0
            .into_iter()
            .filter(|(_, (volume, exact))| *volume != 0 || !exact.is_zero())
            .map(|((start, end, dims, currency), (volume, exact))| {
                let (rounded, residual) = match Currency::parse(&currency) {
                    Ok(c) => {
                        let r = round_line(exact, c, Rounding::HalfEven);
                        (r.rounded, r.residual)
                    }
                    Err(_) => (exact, Decimal::ZERO),
                };
                Point { start, end, dims, currency, volume, exact, rounded, residual }
            })
            .collect()
    }
}

/// Per currency: the exact total, the sum of the rounded lines, and their difference.
fn totals(points: &[Point]) -> Vec<Value> {
    let mut by: BTreeMap<&str, (i64, Decimal, Decimal)> = BTreeMap::new();
    for p in points {
        let t = by.entry(&p.currency).or_default();
        t.0 += p.volume;
        t.1 += p.exact;
        t.2 += p.rounded;
    }
    by.into_iter()
        .map(|(currency, (volume, exact, rounded))| {
            json!({
                "currency": currency,
                "volume": volume,
                "cost_exact": exact.normalize().to_string(),
                "cost_rounded_lines": rounded.to_string(),
                "rounding_residual": (rounded - exact).normalize().to_string(),
            })
        })
        .collect()
}

fn to_csv(points: &[Point], dims: &[Dimension]) -> String {
    let mut out = String::from("start,end");
    for d in dims {
        out.push(',');
        out.push_str(d.field());
    }
    out.push_str(",currency,volume,cost,cost_exact,rounding_residual\n");
    for p in points {
        let _ = write!(out, "{},{}", p.start, p.end);
        for v in &p.dims {
            out.push(',');
            out.push_str(&csv_field(v));
        }
        let _ = writeln!(
            out,
            ",{},{},{},{},{}",
            csv_field(&p.currency),
            p.volume,
            p.rounded,
            p.exact.normalize(),
            p.residual.normalize()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        // 2026-03-10T10:40:00Z
        let at = 1_773_139_200_000;
        assert_eq!(Granularity::HalfHour.bucket(at), (1_773_138_600, 1_773_140_400));
        assert_eq!(Granularity::Daily.bucket(at), (1_773_100_800, 1_773_187_200));
        assert_eq!(Granularity::Monthly.bucket(at), (1_772_323_200, 1_775_001_600));
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
