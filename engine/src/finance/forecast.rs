//! Cost forecasts: a scenario (a WABA, a month range, volumes per market and
//! category, given outright or taken from the ledger's run-rate) priced
//! month by month under the regime, rate card and tiers in force in each
//! month, with the monthly service allowance and the what-if levers.
//!
//! Volumes are messages per month and may be fractional (a run-rate or a
//! growth rate); money stays exact `Decimal` until a line is rounded.
//!
//! Modelling choices, stated so a reader can check them:
//! - Each month is priced under the regime and card in force on its first
//!   day (in the WABA's time zone); a rule that changes inside a month gives
//!   a warning.
//! - Stated utility volumes are templates charged as sent outside the
//!   customer-service window (the inside share is not modelled).
//! - The service allowance (`free_allowance` per business number per month)
//!   is shared across markets in proportion to their API service volume.
//! - Service messages answered from the app are free; the "savings from
//!   app-side replies" line is what they would have cost through the API.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::decision::BilledCategory;
use crate::policy::{Currency, Policies, PricingModel, Regime, TierSchedule};
use crate::pricing::rate_column;
use crate::report::{csv_field, round_line, Rounding};

/// The traffic a scenario states volumes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
    /// Non-template replies, from the API or the app.
    Service,
}

impl Traffic {
    pub const ALL: [Traffic; 5] =
        [Self::Marketing, Self::Utility, Self::Authentication, Self::AuthenticationInternational, Self::Service];

    pub fn as_str(self) -> &'static str {
        self.billed().as_str()
    }

    fn billed(self) -> BilledCategory {
        match self {
            Self::Marketing => BilledCategory::Marketing,
            Self::Utility => BilledCategory::Utility,
            Self::Authentication => BilledCategory::Authentication,
            Self::AuthenticationInternational => BilledCategory::AuthenticationInternational,
            Self::Service => BilledCategory::Service,
        }
    }

    /// The traffic a ledger entry counts as, from its category and pricing
    /// type; `None` for entries that are not outbound traffic (inbound).
    pub fn of_entry(category: &str, pricing_type: &str) -> Option<Traffic> {
        match category {
            "marketing" => Some(Self::Marketing),
            "utility" => Some(Self::Utility),
            "authentication" => Some(Self::Authentication),
            "authentication_international" => Some(Self::AuthenticationInternational),
            "service" => Some(Self::Service),
            _ if pricing_type == "free_app_side" => Some(Self::Service),
            _ => None,
        }
    }
}

/// A forecast scenario; the same schema in TOML (`coexist forecast`) and
/// JSON (`POST /v1/forecasts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub waba: String,
    /// The first month, `YYYY-MM`.
    pub start: String,
    /// How many months, 1 to 36.
    pub months: u32,
    /// Price in another currency than the WABA's (a lever).
    #[serde(default)]
    pub currency: Option<Currency>,
    /// Business phone numbers, for the per-number service allowance.
    #[serde(default = "one")]
    pub business_numbers: u32,
    #[serde(default)]
    pub levers: Levers,
    /// Volumes stated outright; leave empty to take them from the ledger.
    #[serde(default)]
    pub volumes: Vec<VolumeSpec>,
    /// Take the volumes from the ledger's run-rate.
    #[serde(default)]
    pub baseline: Option<BaselineSpec>,
}

fn one() -> u32 {
    1
}

/// The what-if levers, shares from 0 to 1.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Levers {
    /// The share of service replies answered from the app (free) rather than the API.
    #[serde(default)]
    pub app_reply_share: Decimal,
    /// The share of marketing sent through click-to-WhatsApp entry points (free).
    #[serde(default)]
    pub ctwa_marketing_share: Decimal,
}

/// One market and category's monthly volume: `monthly`, or `base` grown by
/// `growth` per month (compounded from the first month).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeSpec {
    pub market: String,
    pub category: Traffic,
    #[serde(default)]
    pub monthly: Option<Decimal>,
    #[serde(default)]
    pub base: Option<Decimal>,
    #[serde(default)]
    pub growth: Option<Decimal>,
}

/// The ledger run-rate: the days `[until - window_days, until)`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineSpec {
    #[serde(default = "default_window")]
    pub window_days: u32,
    /// Exclusive; default: the first day of the forecast.
    #[serde(default, deserialize_with = "crate::policy::opt_date")]
    pub until: Option<NaiveDate>,
    /// Monthly growth applied on top of the run-rate.
    #[serde(default)]
    pub growth: Option<Decimal>,
}

fn default_window() -> u32 {
    28
}

/// One day of history: the volume of a market and traffic category.
#[derive(Debug, Clone)]
pub struct DailyVolume {
    pub day: NaiveDate,
    pub market: String,
    pub traffic: Traffic,
    pub volume: i64,
}

/// Why a scenario cannot be forecast.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    /// A field is wrong; `field` names it.
    #[error("`{field}`: {message}")]
    Invalid { field: String, message: String },
    /// The policies cannot price a month.
    #[error("{0}")]
    Unpriceable(String),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ForecastError {
    ForecastError::Invalid { field: field.into(), message: message.into() }
}

/// A checked scenario, ready to price.
#[derive(Debug, Clone)]
pub struct Plan {
    pub waba: String,
    pub currency: Currency,
    pub first: NaiveDate,
    pub months: u32,
    pub business_numbers: u32,
    pub levers: Levers,
    pub source: &'static str,
    /// Per month: (market, traffic) → (low, expected, high).
    volumes: Vec<BTreeMap<(String, Traffic), Band>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Band {
    low: Decimal,
    expected: Decimal,
    high: Decimal,
}

impl Scenario {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, ForecastError> {
        toml::from_str(text).map_err(|e| invalid(source, e.to_string().trim_end().to_owned()))
    }

    /// The baseline window, when the scenario takes its volumes from the ledger.
    pub fn baseline_window(&self) -> Result<Option<(NaiveDate, NaiveDate)>, ForecastError> {
        let Some(b) = &self.baseline else { return Ok(None) };
        let until = match b.until {
            Some(d) => d,
            None => parse_month(&self.start)?,
        };
        if !(1..=366).contains(&b.window_days) {
            return Err(invalid("baseline.window_days", "must be from 1 to 366"));
        }
        let from = until - Days::new(u64::from(b.window_days));
        Ok(Some((from, until)))
    }

    /// Checks the scenario and works out each month's volumes: stated, or
    /// from `history` (the baseline window's daily volumes).
    pub fn plan(&self, default_currency: Currency, history: &[DailyVolume]) -> Result<Plan, ForecastError> {
        let first = parse_month(&self.start)?;
        if !(1..=36).contains(&self.months) {
            return Err(invalid("months", "must be from 1 to 36"));
        }
        if self.business_numbers == 0 {
            return Err(invalid("business_numbers", "must be at least 1"));
        }
        for (name, v) in [
            ("levers.app_reply_share", self.levers.app_reply_share),
            ("levers.ctwa_marketing_share", self.levers.ctwa_marketing_share),
        ] {
            if !(Decimal::ZERO..=Decimal::ONE).contains(&v) {
                return Err(invalid(name, format!("{v} is not a share from 0 to 1")));
            }
        }
        let month_starts: Vec<NaiveDate> =
            (0..self.months).map(|k| first.checked_add_months(Months::new(k)).unwrap_or(first)).collect();
        let mut volumes: Vec<BTreeMap<(String, Traffic), Band>> = vec![BTreeMap::new(); month_starts.len()];
        let source = match (&self.baseline, self.volumes.is_empty()) {
            (Some(_), false) => return Err(invalid("baseline", "give `volumes` or `baseline`, not both")),
            (None, true) => return Err(invalid("volumes", "give `volumes` (stated) or `baseline` (from the ledger)")),
            (None, false) => {
                for (i, v) in self.volumes.iter().enumerate() {
                    let at = |f: &str| format!("volumes[{i}].{f}");
                    let (base, growth) = match (v.monthly, v.base) {
                        (Some(m), None) if v.growth.is_none() => (m, Decimal::ZERO),
                        (None, Some(b)) => (b, v.growth.unwrap_or_default()),
                        (Some(_), _) => {
                            return Err(invalid(at("monthly"), "give `monthly`, or `base` with `growth`, not both"))
                        }
                        (None, None) => return Err(invalid(at("monthly"), "give `monthly`, or `base` with `growth`")),
                    };
                    if base < Decimal::ZERO {
                        return Err(invalid(at("monthly"), "a volume cannot be negative"));
                    }
                    let mut factor = Decimal::ONE;
                    for month in volumes.iter_mut() {
                        let expected = base * factor;
                        let band = month.entry((v.market.clone(), v.category)).or_default();
                        band.low += expected;
                        band.expected += expected;
                        band.high += expected;
                        factor *= Decimal::ONE + growth;
                    }
                }
                "stated"
            }
            (Some(b), true) => {
                let (from, until) = self.baseline_window()?.unwrap_or((first, first));
                let rates = RunRate::from_history(history, from, until);
                let growth = b.growth.unwrap_or_default();
                let mut factor = Decimal::ONE;
                for (k, month) in volumes.iter_mut().enumerate() {
                    let start = month_starts[k];
                    let end = start.checked_add_months(Months::new(1)).unwrap_or(start);
                    for (key, weekly) in &rates.0 {
                        let mut band = weekly.project(start, end);
                        band.low *= factor;
                        band.expected *= factor;
                        band.high *= factor;
                        month.insert(key.clone(), band);
                    }
                    factor *= Decimal::ONE + growth;
                }
                "ledger"
            }
        };
        Ok(Plan {
            waba: self.waba.clone(),
            currency: self.currency.unwrap_or(default_currency),
            first,
            months: self.months,
            business_numbers: self.business_numbers,
            levers: self.levers.clone(),
            source,
            volumes,
        })
    }
}

/// Parses `YYYY-MM` into its first day.
pub fn parse_month(s: &str) -> Result<NaiveDate, ForecastError> {
    NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
        .map_err(|_| invalid("start", format!("`{s}` is not a month (YYYY-MM)")))
}

/// Per (market, traffic): the mean and variance of each weekday's volume.
struct RunRate(BTreeMap<(String, Traffic), Weekly>);

struct Weekly {
    mean: [Decimal; 7],
    variance: [f64; 7],
}

impl RunRate {
    fn from_history(history: &[DailyVolume], from: NaiveDate, until: NaiveDate) -> Self {
        let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d < until).collect();
        let mut per_day: BTreeMap<(String, Traffic), BTreeMap<NaiveDate, i64>> = BTreeMap::new();
        for h in history.iter().filter(|h| h.day >= from && h.day < until) {
            *per_day.entry((h.market.clone(), h.traffic)).or_default().entry(h.day).or_default() += h.volume;
        }
        let mut out = BTreeMap::new();
        for (key, by_day) in per_day {
            let mut samples: [Vec<i64>; 7] = Default::default();
            for d in &days {
                samples[d.weekday().num_days_from_monday() as usize].push(by_day.get(d).copied().unwrap_or(0));
            }
            let mut weekly = Weekly { mean: [Decimal::ZERO; 7], variance: [0.0; 7] };
            for (w, s) in samples.iter().enumerate() {
                if s.is_empty() {
                    continue;
                }
                let sum: i64 = s.iter().sum();
                weekly.mean[w] = Decimal::from(sum) / Decimal::from(s.len() as i64);
                if s.len() > 1 {
                    let m = sum as f64 / s.len() as f64;
                    weekly.variance[w] = s.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / (s.len() - 1) as f64;
                }
            }
            out.insert(key, weekly);
        }
        RunRate(out)
    }
}

impl Weekly {
    /// The days `[start, end)`: each weekday's mean, and a band of 1.96
    /// standard deviations of the sum (days taken as independent).
    fn project(&self, start: NaiveDate, end: NaiveDate) -> Band {
        let mut expected = Decimal::ZERO;
        let mut variance = 0.0;
        for d in start.iter_days().take_while(|d| *d < end) {
            let w = d.weekday().num_days_from_monday() as usize;
            expected += self.mean[w];
            variance += self.variance[w];
        }
        let spread = Decimal::from_f64_retain((1.96 * variance.sqrt()).round()).unwrap_or_default();
        Band { low: (expected - spread).max(Decimal::ZERO), expected, high: expected + spread }
    }
}

/// One forecast line: a month, market, category and pricing type.
#[derive(Debug, Clone, Serialize)]
pub struct ForecastLine {
    pub month: String,
    pub market: String,
    pub category: Traffic,
    pub pricing_type: &'static str,
    #[serde(with = "rust_decimal::serde::str")]
    pub volume: Decimal,
    /// Rounded to the currency's minor unit; `None` when unpriced.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost_exact: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rounding_residual: Option<Decimal>,
    /// The card rate per message (the first tier's, when tiered).
    #[serde(with = "rust_decimal::serde::str_option")]
    pub rate: Option<Decimal>,
    pub rate_card: Option<String>,
    pub regime: String,
    pub tiered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_reason: Option<String>,
    /// The low and high bands (baselines from the ledger only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bands: Option<LineBands>,
}

/// Low and high volume and (rounded) cost of a line.
#[derive(Debug, Clone, Serialize)]
pub struct LineBands {
    #[serde(with = "rust_decimal::serde::str")]
    pub volume_low: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub volume_high: Decimal,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost_low: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost_high: Option<Decimal>,
}

/// A month's summary.
#[derive(Debug, Clone, Serialize)]
pub struct MonthSummary {
    pub month: String,
    pub regime: String,
    pub rate_card: Option<String>,
    /// The sum of the month's rounded lines.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_exact: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub rounding_residual: Decimal,
    #[serde(skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub cost_low: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none", with = "rust_decimal::serde::str_option")]
    pub cost_high: Option<Decimal>,
    /// Rounded cost per category.
    pub by_category: BTreeMap<String, String>,
    /// What the service replies answered from the app would have cost through the API (rounded).
    #[serde(with = "rust_decimal::serde::str")]
    pub savings_from_app_side_replies: Decimal,
    /// Lines without a price this month.
    pub unpriced_lines: usize,
}

/// The forecast.
#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    pub waba: String,
    pub currency: Currency,
    pub source: &'static str,
    pub lines: Vec<ForecastLine>,
    pub months: Vec<MonthSummary>,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_cost_exact: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub total_rounding_residual: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub savings_from_app_side_replies: Decimal,
    pub warnings: Vec<String>,
}

/// An unrounded line, before bands are attached.
struct RawLine {
    market: String,
    traffic: Traffic,
    pricing_type: &'static str,
    volume: Decimal,
    cost: Result<Decimal, String>,
    rate: Option<Decimal>,
    tiered: bool,
}

impl Plan {
    /// Prices every month.
    pub fn run(&self, policies: &Policies, rounding: Rounding) -> Result<Forecast, ForecastError> {
        let mut lines = Vec::new();
        let mut months = Vec::new();
        let mut warnings = Vec::new();
        let banded = self.source == "ledger";
        for (k, volumes) in self.volumes.iter().enumerate() {
            let start = self.first.checked_add_months(Months::new(k as u32)).unwrap_or(self.first);
            let end = start.checked_add_months(Months::new(1)).unwrap_or(start);
            let last = end.pred_opt().unwrap_or(start);
            let month = format!("{:04}-{:02}", start.year(), start.month());
            let regime = policies
                .regimes
                .find(start)
                .ok_or_else(|| ForecastError::Unpriceable(format!("no pricing regime is in force on {start}")))?;
            if regime.model != PricingModel::PerMessage {
                return Err(ForecastError::Unpriceable(format!(
                    "{month} is under the conversation-based regime {}; forecasts price per-message regimes only",
                    regime.id
                )));
            }
            let card = policies.rates.find(self.currency, start);
            if policies.regimes.find(last).map(|r| r.id) != Some(regime.id) {
                warnings.push(format!(
                    "{month}: the regime changes during the month; priced under {} throughout",
                    regime.id
                ));
            }
            if policies.rates.find(self.currency, last).map(|c| c.id) != card.map(|c| c.id) {
                warnings.push(format!(
                    "{month}: the rate card changes during the month; priced with the card of {start} throughout"
                ));
            }
            let pick = |f: fn(&Band) -> Decimal| -> Vec<((String, Traffic), Decimal)> {
                volumes.iter().map(|(k, b)| (k.clone(), f(b))).collect()
            };
            let ctx = MonthContext { policies, regime, currency: self.currency, start, numbers: self.business_numbers };
            let expected = ctx.price(&pick(|b| b.expected), &self.levers);
            let low = banded.then(|| ctx.price(&pick(|b| b.low), &self.levers));
            let high = banded.then(|| ctx.price(&pick(|b| b.high), &self.levers));
            let all_api = Levers { app_reply_share: Decimal::ZERO, ..self.levers.clone() };
            let without_app = ctx.price(&pick(|b| b.expected), &all_api);
            let service_cost = |ls: &[RawLine]| -> Decimal {
                ls.iter().filter(|l| l.traffic == Traffic::Service).filter_map(|l| l.cost.as_ref().ok()).sum()
            };
            let savings_exact = service_cost(&without_app) - service_cost(&expected);
            let round = |d: Decimal| round_line(d, self.currency, rounding);
            let card_id = card.map(|c| c.id.to_string());
            let mut summary = MonthSummary {
                month: month.clone(),
                regime: regime.id.to_string(),
                rate_card: card_id.clone(),
                cost: Decimal::ZERO,
                cost_exact: Decimal::ZERO,
                rounding_residual: Decimal::ZERO,
                cost_low: None,
                cost_high: None,
                by_category: BTreeMap::new(),
                savings_from_app_side_replies: round(savings_exact).rounded,
                unpriced_lines: 0,
            };
            let band_cost = |set: &Option<Vec<RawLine>>, i: usize| -> Option<Decimal> {
                set.as_ref().and_then(|s| s.get(i)).and_then(|l| l.cost.as_ref().ok()).map(|c| round(*c).rounded)
            };
            let mut by_category: BTreeMap<String, Decimal> = BTreeMap::new();
            for (i, l) in expected.iter().enumerate() {
                let (cost, exact, residual, reason) = match &l.cost {
                    Ok(c) => {
                        let r = round(*c);
                        (Some(r.rounded), Some(c.normalize()), Some(r.residual.normalize()), None)
                    }
                    Err(why) => (None, None, None, Some(why.clone())),
                };
                match cost {
                    Some(c) => {
                        summary.cost += c;
                        summary.cost_exact += exact.unwrap_or_default();
                        summary.rounding_residual += residual.unwrap_or_default();
                        *by_category.entry(l.traffic.as_str().to_owned()).or_default() += c;
                    }
                    None => summary.unpriced_lines += 1,
                }
                let bands = banded.then(|| LineBands {
                    volume_low: low.as_ref().and_then(|s| s.get(i)).map_or(Decimal::ZERO, |x| x.volume.normalize()),
                    volume_high: high.as_ref().and_then(|s| s.get(i)).map_or(Decimal::ZERO, |x| x.volume.normalize()),
                    cost_low: band_cost(&low, i),
                    cost_high: band_cost(&high, i),
                });
                if let Some(b) = &bands {
                    summary.cost_low = Some(summary.cost_low.unwrap_or_default() + b.cost_low.unwrap_or_default());
                    summary.cost_high = Some(summary.cost_high.unwrap_or_default() + b.cost_high.unwrap_or_default());
                }
                lines.push(ForecastLine {
                    month: month.clone(),
                    market: l.market.clone(),
                    category: l.traffic,
                    pricing_type: l.pricing_type,
                    volume: l.volume.normalize(),
                    cost,
                    cost_exact: exact,
                    rounding_residual: residual,
                    rate: l.rate,
                    rate_card: card_id.clone(),
                    regime: regime.id.to_string(),
                    tiered: l.tiered,
                    unpriced_reason: reason,
                    bands,
                });
            }
            summary.cost_exact = summary.cost_exact.normalize();
            summary.rounding_residual = summary.rounding_residual.normalize();
            summary.by_category = by_category.into_iter().map(|(k, v)| (k, v.to_string())).collect();
            months.push(summary);
        }
        let total_cost = months.iter().map(|m| m.cost).sum();
        let total_cost_exact: Decimal = months.iter().map(|m| m.cost_exact).sum();
        let total_rounding_residual: Decimal = months.iter().map(|m| m.rounding_residual).sum();
        let savings = months.iter().map(|m| m.savings_from_app_side_replies).sum();
        Ok(Forecast {
            waba: self.waba.clone(),
            currency: self.currency,
            source: self.source,
            lines,
            months,
            total_cost,
            total_cost_exact: total_cost_exact.normalize(),
            total_rounding_residual: total_rounding_residual.normalize(),
            savings_from_app_side_replies: savings,
            warnings,
        })
    }
}

struct MonthContext<'a> {
    policies: &'a Policies,
    regime: &'a Regime,
    currency: Currency,
    start: NaiveDate,
    numbers: u32,
}

impl MonthContext<'_> {
    /// Splits each volume into its pricing types and prices them; the
    /// lines come out in (market, category, pricing type) order.
    fn price(&self, volumes: &[((String, Traffic), Decimal)], levers: &Levers) -> Vec<RawLine> {
        let api_service: Decimal = volumes
            .iter()
            .filter(|((_, t), _)| *t == Traffic::Service)
            .map(|(_, v)| *v * (Decimal::ONE - levers.app_reply_share))
            .sum();
        let allowance = if self.regime.service_charged {
            (Decimal::from(self.regime.free_allowance) * Decimal::from(self.numbers)).min(api_service)
        } else {
            Decimal::ZERO
        };
        let mut out = Vec::new();
        for ((market, traffic), volume) in volumes {
            let mut push = |pricing_type: &'static str, v: Decimal, charged: bool| {
                let (cost, rate, tiered) =
                    if charged { self.charge(market, *traffic, v) } else { (Ok(Decimal::ZERO), None, false) };
                out.push(RawLine {
                    market: market.clone(),
                    traffic: *traffic,
                    pricing_type,
                    volume: v,
                    cost,
                    rate,
                    tiered,
                });
            };
            match traffic {
                Traffic::Marketing => {
                    let free = *volume * levers.ctwa_marketing_share;
                    push("regular", *volume - free, true);
                    if !levers.ctwa_marketing_share.is_zero() {
                        push("free_entry_point", free, false);
                    }
                }
                Traffic::Service => {
                    let app = *volume * levers.app_reply_share;
                    let api = *volume - app;
                    if self.regime.service_charged {
                        let free = if api_service.is_zero() { Decimal::ZERO } else { allowance * api / api_service };
                        push("regular", api - free, true);
                        push("free_allowance", free, false);
                    } else {
                        push("free_customer_service", api, false);
                    }
                    if !levers.app_reply_share.is_zero() {
                        push("free_app_side", app, false);
                    }
                }
                _ => push("regular", *volume, true),
            }
        }
        out
    }

    /// The cost of `volume` charged messages, graduated through the tiers
    /// when the category is tiered and a schedule is in force.
    fn charge(
        &self,
        market: &str,
        traffic: Traffic,
        volume: Decimal,
    ) -> (Result<Decimal, String>, Option<Decimal>, bool) {
        let category = traffic.billed();
        let column = rate_column(category, self.regime);
        let Some(card) = self.policies.rates.find(self.currency, self.start) else {
            return (Err(format!("no {} rate card is in force on {}", self.currency, self.start)), None, false);
        };
        let Some(row) = card.market(market) else {
            return (Err(format!("rate card {} has no row for market {market}", card.id)), None, false);
        };
        let Some(rate) = row.rate(column) else {
            return (
                Err(format!("rate card {} has no {} rate for {market} (n/a)", card.id, column.as_str())),
                None,
                false,
            );
        };
        let schedule = self
            .regime
            .tiered
            .contains(&category)
            .then(|| self.policies.tiers.find(self.currency, market, column, self.start))
            .flatten();
        match schedule {
            Some(s) => (Ok(graduated(s, volume)), Some(rate), true),
            None => (Ok(volume * rate), Some(rate), false),
        }
    }
}

/// The cost of messages 1..=volume through graduated tiers.
fn graduated(schedule: &TierSchedule, volume: Decimal) -> Decimal {
    let mut cost = Decimal::ZERO;
    for t in &schedule.tiers {
        let below = Decimal::from(t.lower) - Decimal::ONE;
        let top = t.upper.map_or(volume, |u| volume.min(Decimal::from(u)));
        if top > below {
            cost += (top - below) * t.rate;
        }
    }
    cost
}

impl Forecast {
    /// The lines as CSV.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "month,market,category,pricing_type,volume,cost,cost_exact,rounding_residual,rate,rate_card,regime,volume_low,volume_high,cost_low,cost_high,unpriced_reason\n",
        );
        let s = |d: &Option<Decimal>| d.map(|d| d.to_string()).unwrap_or_default();
        for l in &self.lines {
            let b = l.bands.as_ref();
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                l.month,
                csv_field(&l.market),
                l.category.as_str(),
                l.pricing_type,
                l.volume,
                s(&l.cost),
                s(&l.cost_exact),
                s(&l.rounding_residual),
                s(&l.rate),
                l.rate_card.as_deref().unwrap_or(""),
                l.regime,
                b.map(|b| b.volume_low.to_string()).unwrap_or_default(),
                b.map(|b| b.volume_high.to_string()).unwrap_or_default(),
                b.map(|b| s(&b.cost_low)).unwrap_or_default(),
                b.map(|b| s(&b.cost_high)).unwrap_or_default(),
                csv_field(l.unpriced_reason.as_deref().unwrap_or("")),
            );
        }
        let _ = writeln!(
            out,
            "total,,,,,{},{},{},,,,,,,,",
            self.total_cost, self.total_cost_exact, self.total_rounding_residual
        );
        let _ = writeln!(out, "savings_from_app_side_replies,,,,,{},,,,,,,,,,", self.savings_from_app_side_replies);
        out
    }

    /// A bar chart of monthly cost by category (stacked), as SVG.
    pub fn to_svg(&self) -> String {
        const COLORS: [(&str, &str); 5] = [
            ("marketing", "#4e79a7"),
            ("utility", "#f28e2b"),
            ("authentication", "#59a14f"),
            ("authentication_international", "#b07aa1"),
            ("service", "#e15759"),
        ];
        let (w, h, left, bottom, top) = (640.0_f64, 320.0_f64, 70.0_f64, 40.0_f64, 20.0_f64);
        let max = self
            .months
            .iter()
            .map(|m| m.cost_high.unwrap_or(m.cost).max(m.cost))
            .max()
            .unwrap_or_default()
            .max(Decimal::ONE);
        let max_f: f64 = max.to_string().parse().unwrap_or(1.0);
        let plot_h = h - bottom - top;
        let slot = (w - left - 10.0) / self.months.len().max(1) as f64;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"11\">\n<title>Forecast: monthly cost by category ({})</title>\n",
            self.currency
        );
        let _ = writeln!(svg, "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/>", h - bottom);
        let _ =
            writeln!(svg, "<text x=\"4\" y=\"{}\">{max}</text><text x=\"4\" y=\"{}\">0</text>", top + 4.0, h - bottom);
        for (i, m) in self.months.iter().enumerate() {
            let x = left + 10.0 + i as f64 * slot;
            let bw = (slot - 20.0).max(4.0);
            let mut y = h - bottom;
            for (cat, color) in COLORS {
                let Some(v) = m.by_category.get(cat) else { continue };
                let v: f64 = v.parse().unwrap_or(0.0);
                let bh = v / max_f * plot_h;
                y -= bh;
                let _ = writeln!(
                    svg,
                    "<rect class=\"bar\" data-month=\"{}\" data-category=\"{cat}\" data-cost=\"{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{} {cat}: {}</title></rect>",
                    m.month, m.by_category[cat], m.month, m.by_category[cat]
                );
            }
            if let (Some(lo), Some(hi)) = (m.cost_low, m.cost_high) {
                let y = |d: Decimal| h - bottom - d.to_string().parse::<f64>().unwrap_or(0.0) / max_f * plot_h;
                let cx = x + bw / 2.0;
                let _ = writeln!(
                    svg,
                    "<line class=\"band\" x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\" stroke-width=\"2\"/>",
                    y(lo),
                    y(hi)
                );
            }
            let _ = writeln!(
                svg,
                "<text x=\"{x:.1}\" y=\"{}\">{}</text><text x=\"{x:.1}\" y=\"{}\">{}</text>",
                h - bottom + 14.0,
                m.month,
                h - bottom + 28.0,
                m.cost
            );
        }
        for (i, (cat, color)) in COLORS.iter().enumerate() {
            let x = left + 10.0 + i as f64 * 110.0;
            let _ = writeln!(svg, "<rect x=\"{x}\" y=\"4\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"13\">{cat}</text>", x + 14.0);
        }
        svg.push_str("</svg>\n");
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graduated_tiers_lower_the_rate_above_each_threshold() {
        let text = r#"
[[schedule]]
currency = "USD"
market = "India"
category = "utility"
tiers = [ { lower = 1, upper = 100, rate = "0.01" }, { lower = 101, rate = "0.005" } ]
"#;
        let book = crate::policy::TierBook::from_toml("t.toml", text).unwrap();
        let usd = Currency::parse("USD").unwrap();
        let s = book.find(usd, "India", BilledCategory::Utility, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()).unwrap();
        // 100 × 0.01 + 50 × 0.005 = 1.25
        assert_eq!(graduated(s, Decimal::from(150)), "1.25".parse::<Decimal>().unwrap());
        assert_eq!(graduated(s, Decimal::from(40)), "0.40".parse::<Decimal>().unwrap());
    }

    #[test]
    fn a_weekday_run_rate_projects_a_month_with_bands() {
        // Four weeks: 10 a day on weekdays, 0 at weekends, except one Monday with 30.
        let from = NaiveDate::from_ymd_opt(2026, 8, 3).unwrap(); // a Monday
        let mut history = Vec::new();
        for d in from.iter_days().take(28) {
            let wd = d.weekday().num_days_from_monday();
            let v = if wd >= 5 {
                0
            } else if d == from {
                30
            } else {
                10
            };
            history.push(DailyVolume { day: d, market: "India".into(), traffic: Traffic::Marketing, volume: v });
        }
        let rr = RunRate::from_history(&history, from, from + Days::new(28));
        let w = &rr.0[&("India".to_owned(), Traffic::Marketing)];
        assert_eq!(w.mean[0], Decimal::from(15)); // (30 + 10 + 10 + 10) / 4
        assert_eq!(w.mean[1], Decimal::from(10));
        assert_eq!(w.mean[5], Decimal::ZERO);
        // September 2026: 4 Mondays (7, 14, 21, 28), 22 weekdays in all.
        let sep = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let band = w.project(sep, NaiveDate::from_ymd_opt(2026, 10, 1).unwrap());
        assert_eq!(band.expected, Decimal::from(4 * 15 + 18 * 10));
        // Monday variance: ((15)² + 3 × (5)²) / 3 = 100; 4 Mondays → sd 20; 1.96 × 20 = 39.2 → 39.
        assert_eq!(band.high - band.expected, Decimal::from(39));
        assert_eq!(band.expected - band.low, Decimal::from(39));
    }
}
