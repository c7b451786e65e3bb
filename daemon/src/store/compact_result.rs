//! Stored results that the ledger already holds.
//!
//! A message's result repeats its charge: the category, market, cost and the
//! rest are columns of the ledger entry its event row points at
//! (`entry_seq`), and the plugins are its plugin set's. Stored as JSON as
//! well, the result was over a third of an event row's bytes. So for a new
//! message `events.result` holds a compact form instead: the message's
//! direction and side (`outbound api`), then, only when the result has them,
//! what the charge does not hold, as a small JSON object (the violations,
//! the unpriced reason, a note, the cost's own text where it has trailing
//! zeros the entry drops). Every reader rebuilds the JSON from the entry:
//! the same bytes as the answer. A result with Meta's pricing in it is
//! stored whole.
//!
//! Only new messages are stored compact, never an update: a new event row
//! and its charge go into the same table of a pair (staged or indexed) in
//! the same commit, and move together, so wherever the row is read its
//! charge is in the matching table. A stored result that is JSON (it starts
//! with `{`) is returned as it is: rows written before the compact form,
//! updates, and results with Meta's pricing.

use std::borrow::Cow;

use coexist_engine::decision::Violation;
use coexist_engine::event::{Direction, Side};
use coexist_engine::rated::Rated;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{EntryRow, RowText};

/// The compact form of `rated`'s result, stored with `entry` (its charge,
/// as written in the same commit), or `None` to store it whole.
pub fn compact(rated: &Rated, entry: &EntryRow) -> Option<RowText> {
    if rated.meta_pricing.is_some() || entry.meta_pricing.is_some() {
        return None;
    }
    // The entry keeps the cost normalized: its text differs only by
    // trailing zeros.
    let cost = match (rated.cost, entry.amount.is_some()) {
        (None, false) => None,
        (Some(c), true) if c.normalize().scale() == c.scale() => None,
        (Some(c), true) => Some(c.to_string()),
        _ => return None,
    };
    let (_, _, head) = HEADS.iter().find(|(d, s, _)| *d == rated.direction && *s == rated.side)?;
    let rest = ResidualOut {
        cost,
        unpriced_reason: rated.unpriced_reason.as_deref(),
        violations: (!rated.violations.is_empty()).then_some(&rated.violations),
        note: rated.note.as_deref(),
    };
    if rest.cost.is_none() && rest.unpriced_reason.is_none() && rest.violations.is_none() && rest.note.is_none() {
        return Some(RowText::Borrowed(head));
    }
    let mut out = Vec::with_capacity(head.len() + 256);
    out.extend_from_slice(head.as_bytes());
    out.push(b' ');
    serde_json::to_writer(&mut out, &rest).ok()?;
    String::from_utf8(out).ok().map(RowText::Owned)
}

/// Each direction and side, and the head of a compact result that stands
/// for it: the two as the result's JSON spells them, with a space between.
const HEADS: [(Direction, Side, &str); 4] = [
    (Direction::Inbound, Side::Api, "inbound api"),
    (Direction::Inbound, Side::App, "inbound app"),
    (Direction::Outbound, Side::Api, "outbound api"),
    (Direction::Outbound, Side::App, "outbound app"),
];

/// What a result holds beyond its charge, as written.
#[derive(Serialize)]
struct ResidualOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    cost: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unpriced_reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    violations: Option<&'a Vec<Violation>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// What a result holds beyond its charge, as read back.
#[derive(Deserialize, Default)]
struct ResidualIn<'a> {
    #[serde(borrow)]
    cost: Option<Cow<'a, str>>,
    #[serde(borrow)]
    unpriced_reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    violations: Option<&'a RawValue>,
    #[serde(borrow)]
    note: Option<Cow<'a, str>>,
}

/// Whether a stored result is compact rather than the result's JSON.
pub fn is_compact(stored: &str) -> bool {
    !stored.starts_with('{')
}

/// The columns of a message's charge (and its plugin set) that a compact
/// result stands on, as read beside the event row (the `c_*` columns of
/// [`STORED_EVENTS`]): `None` where the join found no entry.
#[derive(Debug, Default)]
pub struct ChargeColumns {
    pub billable: Option<i64>,
    pub category: Option<String>,
    pub pricing_type: Option<String>,
    pub market: Option<String>,
    pub country: Option<String>,
    pub currency: Option<String>,
    pub amount: Option<String>,
    pub regime: Option<String>,
    pub rate_card: Option<String>,
    pub tier: Option<String>,
    /// The plugin set's JSON list of `{name, version, digest}`.
    pub plugins: Option<String>,
}

/// The event rows as a table to select from, each with the charge and the
/// plugin set of those whose result is compact (the `c_*` columns). Both
/// servers fold it into the query around it, so a probe by key or by time
/// still uses the `events` indexes, and one more probe finds the charge.
pub const STORED_EVENTS: &str = "(SELECT e.waba AS waba, e.id AS id, e.at_ms AS at_ms, e.source AS source, \
    e.body AS body, e.result AS result, e.entry_seq AS entry_seq, l.billable AS c_billable, \
    l.category AS c_category, l.pricing_type AS c_pricing_type, l.market AS c_market, l.country AS c_country, \
    l.currency AS c_currency, l.amount AS c_amount, l.regime AS c_regime, l.rate_card AS c_rate_card, \
    l.tier AS c_tier, p.plugins AS c_plugins \
    FROM events e \
    LEFT JOIN ledger l ON l.waba = e.waba AND l.seq = e.entry_seq AND e.result NOT LIKE '{%' \
    LEFT JOIN plugin_sets p ON p.plugin_set = l.plugin_set) stored";

impl ChargeColumns {
    /// Everything a compact result needs from an entry and its plugin set's JSON.
    pub fn of(entry: &EntryRow, plugins: &str) -> Self {
        Self {
            billable: Some(entry.billable),
            category: Some(entry.category.to_string()),
            pricing_type: Some(entry.pricing_type.to_string()),
            market: Some(entry.market.to_string()),
            country: Some(entry.country.to_string()),
            currency: Some(entry.currency.clone()),
            amount: entry.amount.clone(),
            regime: Some(entry.regime.to_string()),
            rate_card: entry.rate_card.as_ref().map(ToString::to_string),
            tier: entry.tier.as_ref().map(ToString::to_string),
            plugins: Some(plugins.to_owned()),
        }
    }
}

/// Whether `result`, stored as `compact` with `entry` under the plugin set
/// `plugins` (its JSON), reads back as the same bytes.
pub fn rebuilds(entry: &EntryRow, plugins: &str, compact: &str, result: &str) -> bool {
    full_result(&entry.id, compact.to_owned(), &ChargeColumns::of(entry, plugins)).is_ok_and(|r| r == result)
}

/// The result JSON of message `id`: `stored` itself, or rebuilt from the
/// charge when `stored` is compact.
pub fn full_result(id: &str, stored: String, charge: &ChargeColumns) -> Result<String, String> {
    if !is_compact(&stored) {
        return Ok(stored);
    }
    let fail = |what: &str| format!("stored message {id}: its result ({stored}) stands on its charge, but {what}");
    let (head, rest) = stored.split_at(stored.find(" {").unwrap_or(stored.len()));
    let (direction, side) = HEADS
        .iter()
        .find(|(_, _, known)| *known == head)
        .and_then(|(_, _, known)| known.split_once(' '))
        .ok_or_else(|| fail("its direction and side are unknown"))?;
    let rest: ResidualIn<'_> = match rest.trim_start() {
        "" => ResidualIn::default(),
        json => serde_json::from_str(json).map_err(|e| fail(&format!("the rest does not decode: {e}")))?,
    };
    let (Some(billable), Some(category), Some(pricing_type), Some(market), Some(country), Some(currency), Some(regime)) = (
        charge.billable,
        &charge.category,
        &charge.pricing_type,
        &charge.market,
        &charge.country,
        &charge.currency,
        &charge.regime,
    ) else {
        return Err(fail("no such entry was found"));
    };
    let plugins: Vec<PluginName<'_>> = charge
        .plugins
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(|e| fail(&format!("its plugin set does not decode: {e}")))?
        .ok_or_else(|| fail("its plugin set is missing"))?;
    let no_violations = RawValue::from_string("[]".to_owned()).map_err(|e| fail(&e.to_string()))?;
    let rebuilt = Rebuilt {
        id,
        direction,
        side,
        billable: billable != 0,
        category,
        pricing_type,
        market,
        country,
        currency,
        cost: rest.cost.as_deref().or(charge.amount.as_deref()),
        unpriced_reason: rest.unpriced_reason.as_deref(),
        violations: rest.violations.unwrap_or(&no_violations),
        regime,
        rate_card: charge.rate_card.as_deref(),
        tier: charge.tier.as_deref(),
        note: rest.note.as_deref(),
        plugins,
    };
    serde_json::to_string(&rebuilt).map_err(|e| fail(&e.to_string()))
}

/// The fields of [`Rated`], in its order and with its omissions.
#[derive(Serialize)]
struct Rebuilt<'a> {
    id: &'a str,
    direction: &'a str,
    side: &'a str,
    billable: bool,
    category: &'a str,
    pricing_type: &'a str,
    market: &'a str,
    country: &'a str,
    currency: &'a str,
    cost: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unpriced_reason: Option<&'a str>,
    violations: &'a RawValue,
    regime: &'a str,
    rate_card: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
    plugins: Vec<PluginName<'a>>,
}

/// A plugin of a set, written as `name@version` as results name it.
#[derive(Deserialize)]
struct PluginName<'a> {
    #[serde(borrow)]
    name: Cow<'a, str>,
    #[serde(borrow)]
    version: Cow<'a, str>,
}

impl Serialize for PluginName<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}@{}", self.name, self.version))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::LazyLock;

    use coexist_engine::decision::{Action, BilledCategory, PricingType};
    use coexist_engine::intern::Name;
    use coexist_engine::plugin::PluginVersion;
    use coexist_engine::policy::Currency;
    use rust_decimal::Decimal;

    use super::*;

    static PLUGINS: LazyLock<Vec<PluginVersion>> = LazyLock::new(|| {
        ["classifier", "coexistence"]
            .map(|name| PluginVersion { name: name.into(), version: "0.1.0".into(), digest: "ab12".into() })
            .to_vec()
    });

    /// A priced marketing template from the API.
    fn rated(cost: &str) -> Rated {
        Rated {
            id: "m1".into(),
            waba: "W1".into(),
            business_number: "+6221555000".into(),
            user: "+6281234567890".into(),
            direction: Direction::Outbound,
            side: Side::Api,
            timestamp: chrono::DateTime::from_timestamp(1_773_000_000, 0).expect("instant"),
            billable: true,
            category: BilledCategory::Marketing,
            pricing_type: PricingType::Regular,
            market: Name::new("Indonesia"),
            country: Name::new("ID"),
            currency: Currency::parse("USD").expect("currency"),
            cost: Some(Decimal::from_str(cost).expect("cost")),
            unpriced_reason: None,
            violations: Vec::new(),
            regime: Name::new("pmp"),
            rate_card: Some(Name::new("usd-2026-01-01")),
            tier: None,
            note: None,
            plugins: PLUGINS.as_slice(),
            meta_pricing: None,
        }
    }

    /// The charge the committer writes for `r`.
    fn entry(r: &Rated) -> EntryRow {
        let message = serde_json::json!({ "id": &*r.id, "waba": &*r.waba, "business_number": &*r.business_number,
            "user": &*r.user, "direction": r.direction, "side": r.side, "type": "text", "timestamp": r.timestamp });
        let e = coexist_engine::event::decode_normalized(&message.to_string()).expect("event");
        EntryRow::charge(&e, r, 7, "rated", 1, "set".into(), None)
    }

    /// The compact form of `r`, checked to read back as its JSON.
    fn round_trip(r: &Rated) -> Option<String> {
        let e = entry(r);
        let plugins = serde_json::to_string(r.plugins).expect("JSON");
        let json = serde_json::to_string(r).expect("JSON");
        let stored = compact(r, &e)?.into_owned();
        assert!(stored.len() < json.len(), "{stored}");
        assert_eq!(full_result(&r.id, stored.clone(), &ChargeColumns::of(&e, &plugins)), Ok(json));
        Some(stored)
    }

    #[test]
    fn a_plain_result_is_its_direction_and_side() {
        assert_eq!(round_trip(&rated("0.0411")).as_deref(), Some("outbound api"));
        let free = Rated {
            direction: Direction::Inbound,
            side: Side::App,
            billable: false,
            category: BilledCategory::None,
            pricing_type: PricingType::FreeAppSide,
            cost: Some(Decimal::ZERO),
            tier: Some(Name::new("0-250k")),
            ..rated("0")
        };
        assert_eq!(round_trip(&free).as_deref(), Some("inbound app"));
    }

    #[test]
    fn every_direction_and_side_reads_back_as_the_json_spells_it() {
        // The round trip compares with the result's own serialization, so a
        // head that differs from serde's spelling fails here.
        for (direction, side, head) in HEADS {
            let r = Rated { direction, side, ..rated("0.0411") };
            assert_eq!(round_trip(&r).as_deref(), Some(head));
        }
    }

    #[test]
    fn what_the_charge_does_not_hold_is_kept() {
        // The rate card's "0.0750" is "0.075" in the entry.
        assert_eq!(round_trip(&rated("0.0750")).as_deref(), Some("outbound api {\"cost\":\"0.0750\"}"));
        let unpriced = Rated {
            cost: None,
            unpriced_reason: Some("no EUR rate card is in force".into()),
            rate_card: None,
            ..rated("0")
        };
        assert_eq!(
            round_trip(&unpriced).as_deref(),
            Some("outbound api {\"unpriced_reason\":\"no EUR rate card is in force\"}")
        );
        let blocked = Rated {
            violations: vec![Violation {
                code: "pricing.outside_customer_service_window".into(),
                feature: "customer_service_window".into(),
                message: "Send a \"template\" instead.".into(),
                action: Action::Block,
            }],
            note: Some("delivery failed".into()),
            ..rated("0.0411")
        };
        let stored = round_trip(&blocked).expect("compact");
        assert!(stored.starts_with("outbound api {\"violations\":[{\"code\":"), "{stored}");
    }

    #[test]
    fn a_result_with_meta_pricing_is_stored_whole() {
        let meta = serde_json::from_str("{\"billable\":true}").expect("pricing");
        let with_meta = Rated { meta_pricing: Some(Box::new(meta)), ..rated("0.0411") };
        assert_eq!(compact(&with_meta, &entry(&with_meta)), None);
        let e = EntryRow { meta_pricing: Some("{\"billable\":true}".into()), ..entry(&rated("0.0411")) };
        assert_eq!(compact(&rated("0.0411"), &e), None);
    }

    #[test]
    fn json_passes_through_and_a_broken_compact_result_is_an_error() {
        let none = ChargeColumns::default();
        assert_eq!(full_result("m1", "{\"id\":\"m1\"}".into(), &none), Ok("{\"id\":\"m1\"}".into()));
        let missing = full_result("m1", "outbound api".into(), &none).expect_err("no entry");
        assert!(missing.contains("no such entry was found"), "{missing}");
        let r = rated("0.0411");
        let charge = ChargeColumns::of(&entry(&r), "[]");
        let unknown = full_result("m1", "sideways api".into(), &charge).expect_err("unknown");
        assert!(unknown.contains("direction and side are unknown"), "{unknown}");
        let broken = full_result("m1", "outbound api {\"cost\":".into(), &charge).expect_err("broken");
        assert!(broken.contains("does not decode"), "{broken}");
    }
}
