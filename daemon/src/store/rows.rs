//! Row types of the ledger tables.

use std::borrow::Cow;
use std::sync::Arc;

use coexist_engine::event::Event;
use coexist_engine::rated::Rated;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

pub use super::compact_result::STORED_EVENTS;
use super::compact_result::{full_result, ChargeColumns};

/// A text column whose value is nearly always one of a few fixed names
/// (the engine's interned categories, markets and regimes; a kind, a
/// cause): the committer builds a row per message, and borrows them instead
/// of allocating each. Rows read back own theirs.
pub type RowText = Cow<'static, str>;

/// The columns [`StoredEvent::from_row`] reads, from [`STORED_EVENTS`]: the
/// event row, and the charge that a compact result stands on.
pub const STORED_EVENT_COLUMNS: &str = "id, at_ms, source, body, result, entry_seq, c_billable, c_category, \
    c_pricing_type, c_market, c_country, c_currency, c_amount, c_regime, c_rate_card, c_tier, c_plugins";

/// One accepted message, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: String,
    pub at_ms: i64,
    pub source: String,
    pub body: String,
    pub result: String,
    pub entry_seq: i64,
}

impl StoredEvent {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        let id: String = r.try_get("id")?;
        let charge = ChargeColumns {
            billable: r.try_get("c_billable")?,
            category: r.try_get("c_category")?,
            pricing_type: r.try_get("c_pricing_type")?,
            market: r.try_get("c_market")?,
            country: r.try_get("c_country")?,
            currency: r.try_get("c_currency")?,
            amount: r.try_get("c_amount")?,
            regime: r.try_get("c_regime")?,
            rate_card: r.try_get("c_rate_card")?,
            tier: r.try_get("c_tier")?,
            plugins: r.try_get("c_plugins")?,
        };
        Ok(Self {
            at_ms: r.try_get("at_ms")?,
            source: r.try_get("source")?,
            body: r.try_get("body")?,
            result: full_result(&id, r.try_get("result")?, &charge).map_err(|e| sqlx::Error::Decode(e.into()))?,
            entry_seq: r.try_get("entry_seq")?,
            id,
        })
    }
}

pub const STATUS_COLUMNS: &str =
    "id, business_number, recipient, recipient_id, status, status_at_ms, first_at_ms, pricing, pricing_rank";

/// Meta's word on one message, merged over every status webhook about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    pub id: String,
    pub business_number: String,
    /// The recipient as the webhook named it: a phone number or a BSUID.
    pub recipient: String,
    /// The recipient's BSUID when the webhook gave both.
    pub recipient_id: Option<String>,
    /// The furthest delivery state (failure dominates).
    pub status: String,
    pub status_at_ms: i64,
    /// The earliest status instant: when a stand-in send record is placed.
    pub first_at_ms: i64,
    /// Meta's `pricing` object, from the furthest state that carried one.
    pub pricing: Option<String>,
    /// The rank of the state `pricing` came from (-1: none).
    pub pricing_rank: i64,
}

impl StatusRow {
    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            business_number: r.try_get("business_number")?,
            recipient: r.try_get("recipient")?,
            recipient_id: r.try_get("recipient_id")?,
            status: r.try_get("status")?,
            status_at_ms: r.try_get("status_at_ms")?,
            first_at_ms: r.try_get("first_at_ms")?,
            pricing: r.try_get("pricing")?,
            pricing_rank: r.try_get("pricing_rank")?,
        })
    }
}

pub const ENTRY_COLUMNS: &str = "waba, seq, id, kind, reverses, cause, at_ms, recorded_ms, business_number, billable, category, pricing_type, market, country, currency, amount, regime, rate_card, tier, plugin_set, meta_pricing";

/// One ledger entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryRow {
    pub waba: String,
    pub seq: i64,
    pub id: String,
    /// `charge` or `reversal`.
    pub kind: RowText,
    /// For a reversal: the seq of the charge it cancels.
    pub reverses: Option<i64>,
    /// Why the entry was written: `rated`, `late_event`, `status`, `send_record`.
    pub cause: RowText,
    pub at_ms: i64,
    pub recorded_ms: i64,
    pub business_number: String,
    pub billable: i64,
    pub category: RowText,
    pub pricing_type: RowText,
    pub market: RowText,
    pub country: RowText,
    pub currency: String,
    /// Exact decimal text; negative for a reversal; `None` when unpriced.
    pub amount: Option<String>,
    pub regime: RowText,
    pub rate_card: Option<RowText>,
    pub tier: Option<RowText>,
    /// Shared by every entry one plugin set writes.
    pub plugin_set: Arc<str>,
    pub meta_pricing: Option<String>,
}

/// The kind of an entry that charges (or books at zero) a message.
pub const KIND_CHARGE: &str = "charge";

impl EntryRow {
    /// The charge for message `e` rated as `r`, recorded as `seq`.
    pub fn charge(
        e: &Event,
        r: &Rated,
        seq: i64,
        cause: &'static str,
        recorded_ms: i64,
        plugin_set: Arc<str>,
        meta_pricing: Option<String>,
    ) -> EntryRow {
        EntryRow {
            waba: e.waba.0.clone(),
            seq,
            id: e.id.to_string(),
            kind: RowText::Borrowed(KIND_CHARGE),
            reverses: None,
            cause: RowText::Borrowed(cause),
            at_ms: e.at.timestamp_millis(),
            recorded_ms,
            business_number: e.business_number.as_str().to_owned(),
            billable: i64::from(r.billable),
            category: r.category.as_str().into(),
            pricing_type: r.pricing_type.as_str().into(),
            market: r.market.as_str().into(),
            country: r.country.as_str().into(),
            currency: r.currency.to_string(),
            amount: r.cost.map(|c| c.normalize().to_string()),
            regime: r.regime.as_str().into(),
            rate_card: r.rate_card.map(|c| c.as_str().into()),
            tier: r.tier.map(|t| t.as_str().into()),
            plugin_set,
            meta_pricing,
        }
    }

    pub fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            waba: r.try_get("waba")?,
            seq: r.try_get("seq")?,
            id: r.try_get("id")?,
            kind: Cow::Owned(r.try_get("kind")?),
            reverses: r.try_get("reverses")?,
            cause: Cow::Owned(r.try_get("cause")?),
            at_ms: r.try_get("at_ms")?,
            recorded_ms: r.try_get("recorded_ms")?,
            business_number: r.try_get("business_number")?,
            billable: r.try_get("billable")?,
            category: Cow::Owned(r.try_get("category")?),
            pricing_type: Cow::Owned(r.try_get("pricing_type")?),
            market: Cow::Owned(r.try_get("market")?),
            country: Cow::Owned(r.try_get("country")?),
            currency: r.try_get("currency")?,
            amount: r.try_get("amount")?,
            regime: Cow::Owned(r.try_get("regime")?),
            rate_card: r.try_get::<Option<String>, _>("rate_card")?.map(Cow::Owned),
            tier: r.try_get::<Option<String>, _>("tier")?.map(Cow::Owned),
            plugin_set: Arc::from(r.try_get::<String, _>("plugin_set")?),
            meta_pricing: r.try_get("meta_pricing")?,
        })
    }

    /// The reversal of this charge, recorded as `seq`.
    pub fn reversal(&self, seq: i64, cause: &'static str, recorded_ms: i64) -> EntryRow {
        let amount = self.amount.as_ref().map(|a| match a.strip_prefix('-') {
            Some(positive) => positive.to_owned(),
            None if a.chars().all(|c| c == '0' || c == '.') => a.clone(),
            None => format!("-{a}"),
        });
        EntryRow {
            seq,
            kind: RowText::Borrowed("reversal"),
            reverses: Some(self.seq),
            cause: RowText::Borrowed(cause),
            recorded_ms,
            amount,
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reversal_negates_the_amount() {
        let charge = EntryRow {
            waba: "W".into(),
            seq: 4,
            id: "m".into(),
            kind: "charge".into(),
            reverses: None,
            cause: "rated".into(),
            at_ms: 1,
            recorded_ms: 1,
            business_number: "+1".into(),
            billable: 1,
            category: "marketing".into(),
            pricing_type: "regular".into(),
            market: "Indonesia".into(),
            country: "ID".into(),
            currency: "USD".into(),
            amount: Some("0.0411".into()),
            regime: "pmp".into(),
            rate_card: None,
            tier: None,
            plugin_set: "x".into(),
            meta_pricing: None,
        };
        let r = charge.reversal(9, "late_event", 2);
        assert_eq!((r.seq, r.reverses, r.amount.as_deref(), &*r.kind), (9, Some(4), Some("-0.0411"), "reversal"));
        let zero = EntryRow { amount: Some("0".into()), ..charge };
        assert_eq!(zero.reversal(10, "status", 3).amount.as_deref(), Some("0"));
    }
}
