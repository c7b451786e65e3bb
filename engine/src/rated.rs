//! The rating result of one message: the output of `coexist rate` and of the
//! billing endpoint.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::decision::{BilledCategory, PricingType, Violation};
use crate::event::{Direction, MetaPricing, Side};
use crate::intern::Name;
use crate::plugin::PluginVersion;
use crate::policy::Currency;

/// How one message was rated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rated {
    pub id: Arc<str>,
    /// The input carries these; results repeat only the id, to stay small.
    #[serde(skip)]
    pub waba: Arc<str>,
    #[serde(skip)]
    pub business_number: Arc<str>,
    #[serde(skip)]
    pub user: Arc<str>,
    pub direction: Direction,
    pub side: Side,
    #[serde(skip)]
    pub timestamp: DateTime<Utc>,
    pub billable: bool,
    pub category: BilledCategory,
    pub pricing_type: PricingType,
    /// The recipient's pricing market.
    pub market: Name,
    /// The recipient's country (ISO 3166 alpha-2), empty when unknown.
    pub country: Name,
    pub currency: Currency,
    /// Exact, unrounded; a JSON string. `null` when unpriced.
    #[serde(with = "rust_decimal::serde::str_option")]
    pub cost: Option<Decimal>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unpriced_reason: Option<String>,
    pub violations: Vec<Violation>,
    pub regime: Name,
    pub rate_card: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Name>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The plugins that decided, as `name@version`.
    #[serde(serialize_with = "plugin_labels")]
    pub plugins: &'static [PluginVersion],
    /// Meta's own verdict from a status webhook, when one arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_pricing: Option<Box<MetaPricing>>,
}

/// Why a message could not be rated at all (as opposed to unpriced).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct RateError {
    pub code: &'static str,
    pub message: String,
}

impl RateError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

fn plugin_labels<S: serde::Serializer>(plugins: &&'static [PluginVersion], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(plugins.iter().map(PluginLabel))
}

/// A plugin as `name@version`, written straight into the output: every
/// result names its plugins, so building each label as a `String` first
/// cost the committer an allocation per plugin per message.
struct PluginLabel(&'static PluginVersion);

impl Serialize for PluginLabel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}@{}", self.0.name, self.0.version))
    }
}
