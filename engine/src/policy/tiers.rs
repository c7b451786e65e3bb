//! Graduated volume tiers for utility and authentication (`tiers.toml`).
//!
//! Tiers apply per (WABA, market, category, calendar month). Crossing a
//! threshold lowers the rate only for the messages above it. Free messages do
//! not count. The shipped policies carry no schedules, because the reference
//! rate cards publish none; operators add theirs.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::currency::Currency;
use super::effective::Effective;
use super::PolicyError;
use crate::decision::BilledCategory;

/// One tier: messages `lower..=upper` of the month (1-based) at `rate`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    pub lower: u64,
    /// Inclusive; absent for the last tier.
    #[serde(default)]
    pub upper: Option<u64>,
    pub rate: Decimal,
    /// Meta's notation, `LOWER:UPPER` (`MAX` when open); filled in at load.
    #[serde(skip)]
    pub label: crate::intern::Name,
}

impl Tier {
    fn notation(&self) -> String {
        match self.upper {
            Some(u) => format!("{}:{u}", self.lower),
            None => format!("{}:MAX", self.lower),
        }
    }
}

/// The tiers of one (currency, market, category) over a date range.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierSchedule {
    pub currency: Currency,
    pub market: String,
    pub category: BilledCategory,
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub effective_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub effective_to: Option<NaiveDate>,
    pub tiers: Vec<Tier>,
}

impl TierSchedule {
    /// The tier holding the `n`th (1-based) billable message of the month.
    pub fn tier_for(&self, n: u64) -> Option<&Tier> {
        self.tiers.iter().find(|t| n >= t.lower && t.upper.is_none_or(|u| n <= u))
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TierFile {
    #[serde(default)]
    schedule: Vec<TierSchedule>,
}

/// All tier schedules.
#[derive(Debug, Clone, Default)]
pub struct TierBook {
    schedules: Vec<TierSchedule>,
}

impl TierBook {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, PolicyError> {
        let mut file: TierFile = toml::from_str(text).map_err(|e| PolicyError::toml(source, &e))?;
        for s in &mut file.schedule {
            for t in &mut s.tiers {
                t.label = crate::intern::Name::new(&t.notation());
            }
        }
        for s in &file.schedule {
            let mut expected = 1;
            for t in &s.tiers {
                if t.lower != expected {
                    return Err(PolicyError::Invalid(format!(
                        "{source}: tiers of {} {} {:?} must be contiguous from 1; tier {} starts at {}, expected {expected}",
                        s.currency,
                        s.market,
                        s.category,
                        t.label,
                        t.lower
                    )));
                }
                expected = match t.upper {
                    Some(u) if u >= t.lower => u + 1,
                    Some(_) => {
                        return Err(PolicyError::Invalid(format!("{source}: tier {} ends before it starts", t.label)))
                    }
                    None => u64::MAX,
                };
            }
        }
        Ok(Self { schedules: file.schedule })
    }

    /// The schedule in force, if any.
    pub fn find(
        &self,
        currency: Currency,
        market: &str,
        category: BilledCategory,
        date: NaiveDate,
    ) -> Option<&TierSchedule> {
        self.schedules.iter().find(|s| {
            s.currency == currency
                && s.market == market
                && s.category == category
                && Effective::new(s.effective_from, s.effective_to).contains(date)
        })
    }

    pub fn is_empty(&self) -> bool {
        self.schedules.is_empty()
    }
}
