//! Turning a decision into money, with `rust_decimal`, from the rate card in
//! force. Per-message costs are exact and unrounded; rounding happens only on
//! report lines (see [`crate::report`]).

use std::sync::LazyLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::decision::{BilledCategory, Decision, PricingType};
use crate::intern::Name;
use crate::policy::{Currency, Market, RateBook, Regime, TierBook};

/// The price of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Price {
    /// `None` when unpriced; never a guess.
    pub cost: Option<Decimal>,
    pub unpriced_reason: Option<String>,
    /// The rate-card version consulted, when one was in force.
    pub rate_card: Option<Name>,
    /// The volume tier, `LOWER:UPPER`, for tiered categories.
    pub tier: Option<Name>,
}

/// Everything pricing needs besides the decision.
pub struct PriceInput<'a> {
    pub regime: &'a Regime,
    pub currency: Currency,
    pub date: NaiveDate,
    pub tz_name: &'a str,
    pub market: &'a Market,
    /// The 1-based position of this message among the month's billable
    /// messages of its (WABA, market, category), for tiers.
    pub tier_position: u64,
}

/// Meta's tier label for a category without tiers.
static UNTIERED: LazyLock<Name> = LazyLock::new(|| Name::new("0:MAX"));

/// Prices one decided message.
pub fn price(decision: &Decision, input: &PriceInput<'_>, rates: &RateBook, tiers: &TierBook) -> Price {
    let card = rates.find(input.currency, input.date);
    let rate_card = card.map(|c| c.id);
    let charged = decision.billable && decision.pricing_type == PricingType::Regular;
    if !charged {
        return Price { cost: Some(Decimal::ZERO), unpriced_reason: None, rate_card, tier: None };
    }
    let unpriced = |reason: String, rate_card: Option<Name>| Price {
        cost: None,
        unpriced_reason: Some(reason),
        rate_card,
        tier: None,
    };
    let Some(card) = card else {
        return unpriced(
            format!(
                "no {} rate card is in force on {} (time zone {}); load one to price this message",
                input.currency, input.date, input.tz_name
            ),
            None,
        );
    };
    let column = rate_column(decision.category, input.regime);
    let Some(row) = card.market(input.market) else {
        return unpriced(
            format!(
                "rate card {} has no row for market {}; load a newer {} card",
                card.id, input.market, input.currency
            ),
            rate_card,
        );
    };
    let Some(card_rate) = row.rate(column) else {
        return unpriced(
            format!("rate card {} has no {} rate for {} (n/a)", card.id, column.as_str(), input.market),
            rate_card,
        );
    };
    let tiered = input.regime.tiered.contains(&decision.category);
    let schedule = tiered.then(|| tiers.find(input.currency, input.market, column, input.date)).flatten();
    let (rate, tier) = match schedule.and_then(|s| s.tier_for(input.tier_position)) {
        Some(t) => (t.rate, Some(t.label)),
        None if tiered => (card_rate, None),
        // Marketing has no tiers; Meta reports it as 0:MAX.
        None => (card_rate, (decision.category == BilledCategory::Marketing).then(|| *UNTIERED)),
    };
    Price { cost: Some(rate), unpriced_reason: None, rate_card, tier }
}

/// The rate-card column that prices a billed category under a regime.
pub fn rate_column(category: BilledCategory, regime: &Regime) -> BilledCategory {
    match category {
        BilledCategory::Service => regime.service_rate,
        other => other,
    }
}
