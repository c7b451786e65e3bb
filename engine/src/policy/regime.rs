//! Pricing regimes with effective dates (`regimes.toml`).

use chrono::NaiveDate;
use serde::Deserialize;

use super::effective::Effective;
use super::PolicyError;
use crate::decision::BilledCategory;

/// How a regime charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PricingModel {
    /// One charge per 24-hour conversation.
    Conversation,
    /// One charge per delivered message.
    PerMessage,
}

/// What the monthly free service allowance is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowanceScope {
    /// Shared across the WABA's numbers (conversation-based pricing until 2024-10-31).
    Waba,
    /// Per business phone number (from 2026-10-01).
    Number,
}

/// One regime and its knobs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    pub id: crate::intern::Name,
    pub model: PricingModel,
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub effective_from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub effective_to: Option<NaiveDate>,
    /// Service (non-template) messages or conversations are charged.
    #[serde(default)]
    pub service_charged: bool,
    /// Utility templates inside an open customer-service window are charged.
    #[serde(default)]
    pub utility_in_window_charged: bool,
    /// Free service units per month; 0 for none.
    #[serde(default)]
    pub free_allowance: u32,
    #[serde(default = "default_scope")]
    pub allowance_scope: AllowanceScope,
    /// Which rate-card column prices a service message or conversation.
    #[serde(default = "default_service_rate")]
    pub service_rate: BilledCategory,
    /// Categories with graduated volume tiers.
    #[serde(default)]
    pub tiered: Vec<BilledCategory>,
}

fn default_scope() -> AllowanceScope {
    AllowanceScope::Number
}

fn default_service_rate() -> BilledCategory {
    BilledCategory::Service
}

impl Regime {
    pub fn effective(&self) -> Effective {
        Effective::new(self.effective_from, self.effective_to)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegimeFile {
    regime: Vec<Regime>,
}

/// All regimes, ordered by start, without gaps in their overlaps checked.
#[derive(Debug, Clone)]
pub struct Regimes {
    list: Vec<Regime>,
}

impl Regimes {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, PolicyError> {
        let file: RegimeFile = toml::from_str(text).map_err(|e| PolicyError::toml(source, &e))?;
        let mut list = file.regime;
        list.sort_by_key(|r| r.effective_from);
        for pair in list.windows(2) {
            if pair[0].effective().overlaps(&pair[1].effective()) {
                return Err(PolicyError::Invalid(format!(
                    "{source}: regime {} ({}) overlaps regime {} ({})",
                    pair[0].id,
                    pair[0].effective().describe(),
                    pair[1].id,
                    pair[1].effective().describe()
                )));
            }
        }
        Ok(Self { list })
    }

    /// The regime in force on a local date.
    pub fn find(&self, date: NaiveDate) -> Option<&Regime> {
        self.list.iter().find(|r| r.effective().contains(date))
    }

    pub fn all(&self) -> &[Regime] {
        &self.list
    }
}
