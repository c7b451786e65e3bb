//! A deterministic mix of realistic facts, for measuring plugins
//! (`coexist plugin bench`) without a ledger.

use chrono::NaiveDate;

use super::abi::{status_bits, Fact, WitRegimeSource};
use crate::event::{Direction, Feature, Features, Side, TemplateCategory};
use crate::intern::Name;
use crate::phone::{PhoneNumber, UserRef};
use crate::policy::{PricingModel, Regimes};

/// A fact that owns what [`Fact`] borrows.
#[derive(Debug, Clone)]
pub struct OwnedFact {
    business_number: PhoneNumber,
    user: UserRef,
    kind: &'static str,
    side: Side,
    direction: Direction,
    template_category: Option<TemplateCategory>,
    at_ms: i64,
    local_day: i32,
    regime: WitRegimeSource,
    recipient_country: Name,
    recipient_market: Name,
    status: u8,
    features: Features,
}

impl OwnedFact {
    pub fn fact(&self) -> Fact<'_> {
        Fact {
            business_number: &self.business_number,
            user: &self.user,
            kind: self.kind,
            side: self.side,
            direction: self.direction,
            template_category: self.template_category,
            at_ms: self.at_ms,
            local_day: self.local_day,
            regime: self.regime,
            recipient_country: self.recipient_country,
            recipient_market: self.recipient_market,
            status: self.status,
            open_conversations: 0,
            features: self.features,
            allowance_used: 0,
        }
    }
}

/// `n` facts on 2026-10-05 under the regime `regimes` has in force then: API
/// templates of each category, service replies in and out of the window,
/// inbound messages, app-side echoes with Coexistence, and now and then a
/// feature Coexistence disables, across five markets.
pub fn sample_facts(regimes: &Regimes, n: usize) -> Vec<OwnedFact> {
    const MARKETS: [(&str, &str, &str); 5] = [
        ("+5511", "BR", "Brazil"),
        ("+9198", "IN", "India"),
        ("+6281", "ID", "Indonesia"),
        ("+1415", "US", "North America"),
        ("+4915", "DE", "Germany"),
    ];
    let date = NaiveDate::from_ymd_opt(2026, 10, 5).unwrap_or_default();
    let regime = regimes.find(date).map_or(
        WitRegimeSource {
            id: Name::new("unknown"),
            model: PricingModel::PerMessage,
            service_charged: false,
            utility_in_window_charged: false,
            free_allowance: 0,
        },
        |r| WitRegimeSource {
            id: r.id,
            model: r.model,
            service_charged: r.service_charged,
            utility_in_window_charged: r.utility_in_window_charged,
            free_allowance: r.free_allowance,
        },
    );
    let business_number = PhoneNumber::parse("+551130000000").expect("a valid E.164 number");
    let at_ms = date.and_hms_opt(12, 0, 0).unwrap_or_default().and_utc().timestamp_millis();
    let local_day = (date - NaiveDate::default()).num_days() as i32;
    (0..n)
        .map(|i| {
            let (prefix, country, market) = MARKETS[i % MARKETS.len()];
            let number = format!("{prefix}{:08}", 10_000_000 + i % 5_000);
            let user = UserRef { phone: PhoneNumber::parse(&number).ok(), bsuid: None };
            let (kind, side, direction, template_category) = match i % 8 {
                0 => ("template", Side::Api, Direction::Outbound, Some(TemplateCategory::Marketing)),
                1 => ("template", Side::Api, Direction::Outbound, Some(TemplateCategory::Utility)),
                2 => ("template", Side::Api, Direction::Outbound, Some(TemplateCategory::Authentication)),
                3 | 4 => ("text", Side::Api, Direction::Outbound, None),
                5 => ("text", Side::Api, Direction::Inbound, None),
                6 => ("text", Side::App, Direction::Outbound, None),
                _ => ("image", Side::Api, Direction::Outbound, None),
            };
            let mut status = status_bits::COEXISTENCE;
            if i % 3 != 0 {
                status |= status_bits::CSW_OPEN;
            }
            let mut features = Features::default();
            if i % 50 == 7 {
                features.insert(Feature::Edit);
            }
            OwnedFact {
                business_number: business_number.clone(),
                user,
                kind,
                side,
                direction,
                template_category,
                at_ms: at_ms + i as i64,
                local_day,
                regime,
                recipient_country: Name::new(country),
                recipient_market: Name::new(market),
                status,
                features,
            }
        })
        .collect()
}
