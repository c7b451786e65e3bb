//! The WIT contract (`plugins/wit/policy.wit`) as Rust types the component
//! ABI lowers and lifts directly: a batch of facts and its decisions, in
//! columns, so that a batch crosses into a plugin in a few copies.

use wasmtime::component::{ComponentType, Lift, Lower};

use crate::decision::{Action, BilledCategory, Decision, PricingType, Violation};

use rustc_hash::FxHashMap;

use crate::event::{Direction, Feature, Features, Side, TemplateCategory};
use crate::intern::Name;
use crate::phone::{PhoneNumber, UserRef};
use crate::policy::PricingModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum WitPricingModel {
    #[component(name = "conversation")]
    Conversation,
    #[component(name = "per-message")]
    PerMessage,
}

/// Bits of the WIT `status` flags, in declaration order.
pub mod status_bits {
    pub const CSW_OPEN: u8 = 1 << 0;
    pub const FEP_OPEN: u8 = 1 << 1;
    pub const AUTH_INTL_ELIGIBLE: u8 = 1 << 2;
    pub const COEXISTENCE: u8 = 1 << 3;
    pub const HISTORY: u8 = 1 << 4;
}

/// Bits of the WIT `conversations` flags, in declaration order.
pub mod conversation_bits {
    pub const MARKETING: u8 = 1 << 0;
    pub const UTILITY: u8 = 1 << 1;
    pub const AUTHENTICATION: u8 = 1 << 2;
    pub const AUTHENTICATION_INTERNATIONAL: u8 = 1 << 3;
    pub const SERVICE: u8 = 1 << 4;
}

/// An index into the batch's symbols.
pub type Symbol = u32;

/// The `regime` record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(record)]
pub struct WitRegime {
    pub id: Symbol,
    pub model: WitPricingModel,
    #[component(name = "service-charged")]
    pub service_charged: bool,
    #[component(name = "utility-in-window-charged")]
    pub utility_in_window_charged: bool,
    #[component(name = "free-allowance")]
    pub free_allowance: u32,
}

/// The `symbols` record: every string of a batch in one blob.
#[derive(Debug, Clone, Copy, ComponentType, Lower)]
#[component(record)]
pub struct WitSymbols<'a> {
    pub text: &'a str,
    pub ends: &'a [u32],
}

/// The `batch` record: one WABA's messages, in columns. Integer lists cross
/// into the plugin as one copy each; see `plugins/wit/policy.wit`.
#[derive(Debug, Clone, Copy, ComponentType, Lower)]
#[component(record)]
pub struct Batch<'a> {
    pub waba: &'a str,
    #[component(name = "business-country")]
    pub business_country: &'a str,
    pub symbols: WitSymbols<'a>,
    pub regimes: &'a [WitRegime],
    #[component(name = "business-number")]
    pub business_number: &'a [Symbol],
    pub user: &'a [Symbol],
    pub kind: &'a [Symbol],
    pub side: &'a [u8],
    pub direction: &'a [u8],
    #[component(name = "template-category")]
    pub template_category: &'a [u8],
    #[component(name = "at-ms")]
    pub at_ms: &'a [i64],
    #[component(name = "local-day")]
    pub local_day: &'a [i32],
    pub regime: &'a [u32],
    #[component(name = "recipient-country")]
    pub recipient_country: &'a [Symbol],
    #[component(name = "recipient-market")]
    pub recipient_market: &'a [Symbol],
    pub status: &'a [u8],
    #[component(name = "open-conversations")]
    pub open_conversations: &'a [u8],
    pub features: &'a [u8],
    #[component(name = "allowance-used")]
    pub allowance_used: &'a [u32],
}

impl Batch<'_> {
    /// A batch with no messages, for smoke tests.
    pub const EMPTY: Batch<'static> = Batch {
        waba: "",
        business_country: "",
        symbols: WitSymbols { text: "", ends: &[] },
        regimes: &[],
        business_number: &[],
        user: &[],
        kind: &[],
        side: &[],
        direction: &[],
        template_category: &[],
        at_ms: &[],
        local_day: &[],
        regime: &[],
        recipient_country: &[],
        recipient_market: &[],
        status: &[],
        open_conversations: &[],
        features: &[],
        allowance_used: &[],
    };

    /// How many messages the batch holds.
    pub fn len(&self) -> usize {
        self.side.len()
    }

    pub fn is_empty(&self) -> bool {
        self.side.is_empty()
    }
}

/// One message's facts, as the host hands them to [`BatchBuilder::push`].
#[derive(Debug, Clone, Copy)]
pub struct Fact<'a> {
    pub business_number: &'a PhoneNumber,
    pub user: &'a UserRef,
    pub kind: &'a str,
    pub side: Side,
    pub direction: Direction,
    pub template_category: Option<TemplateCategory>,
    pub at_ms: i64,
    pub local_day: i32,
    pub regime: WitRegimeSource,
    pub recipient_country: Name,
    pub recipient_market: Name,
    /// [`status_bits`].
    pub status: u8,
    /// [`conversation_bits`].
    pub open_conversations: u8,
    pub features: Features,
    pub allowance_used: u32,
}

/// A regime as the host knows it; the builder turns it into a batch-level entry.
#[derive(Debug, Clone, Copy)]
pub struct WitRegimeSource {
    pub id: Name,
    pub model: PricingModel,
    pub service_charged: bool,
    pub utility_in_window_charged: bool,
    pub free_allowance: u32,
}

/// Builds a columnar [`Batch`]; reusable across batches.
#[derive(Debug, Default)]
pub struct BatchBuilder<'a> {
    symbols: Vec<&'a str>,
    // Strings are looked up by the cheapest key they have, so interning
    // rarely compares text: phone numbers by their integer, interned names by
    // address, anything else by content.
    by_number: FxHashMap<u64, Symbol>,
    by_name: FxHashMap<usize, Symbol>,
    by_text: FxHashMap<&'a str, Symbol>,
    text: String,
    ends: Vec<u32>,
    regimes: Vec<WitRegime>,
    regime_ids: Vec<Name>,
    business_number: Vec<Symbol>,
    user: Vec<Symbol>,
    kind: Vec<Symbol>,
    side: Vec<u8>,
    direction: Vec<u8>,
    template_category: Vec<u8>,
    at_ms: Vec<i64>,
    local_day: Vec<i32>,
    regime: Vec<u32>,
    recipient_country: Vec<Symbol>,
    recipient_market: Vec<Symbol>,
    status: Vec<u8>,
    open_conversations: Vec<u8>,
    features: Vec<u8>,
    allowance_used: Vec<u32>,
}

impl<'a> BatchBuilder<'a> {
    /// The symbol of `s`, adding it on first sight.
    fn add(&mut self, s: &'a str) -> Symbol {
        self.symbols.push(s);
        (self.symbols.len() - 1) as Symbol
    }

    fn intern_text(&mut self, s: &'a str) -> Symbol {
        if let Some(&sym) = self.by_text.get(s) {
            return sym;
        }
        let sym = self.add(s);
        self.by_text.insert(s, sym);
        sym
    }

    fn intern_name(&mut self, name: Name) -> Symbol {
        let key = name.as_str().as_ptr() as usize;
        if let Some(&sym) = self.by_name.get(&key) {
            return sym;
        }
        let sym = self.add(name.as_str());
        self.by_name.insert(key, sym);
        sym
    }

    fn intern_number(&mut self, number: &'a PhoneNumber) -> Symbol {
        if let Some(&sym) = self.by_number.get(&number.value()) {
            return sym;
        }
        let sym = self.add(number.as_str());
        self.by_number.insert(number.value(), sym);
        sym
    }

    fn intern_user(&mut self, user: &'a UserRef) -> Symbol {
        match (&user.phone, &user.bsuid) {
            (Some(phone), _) => self.intern_number(phone),
            (None, Some(bsuid)) => self.intern_text(bsuid.as_str()),
            (None, None) => self.intern_text(""),
        }
    }

    /// Appends one message.
    pub fn push(&mut self, f: Fact<'a>) {
        let regime = match self.regime_ids.iter().position(|id| *id == f.regime.id) {
            Some(i) => i as u32,
            None => {
                let id = self.intern_name(f.regime.id);
                self.regimes.push(WitRegime {
                    id,
                    model: f.regime.model.into(),
                    service_charged: f.regime.service_charged,
                    utility_in_window_charged: f.regime.utility_in_window_charged,
                    free_allowance: f.regime.free_allowance,
                });
                self.regime_ids.push(f.regime.id);
                (self.regimes.len() - 1) as u32
            }
        };
        let business_number = self.intern_number(f.business_number);
        let user = self.intern_user(f.user);
        let kind = self.intern_text(f.kind);
        let recipient_country = self.intern_name(f.recipient_country);
        let recipient_market = self.intern_name(f.recipient_market);
        self.business_number.push(business_number);
        self.user.push(user);
        self.kind.push(kind);
        self.side.push(match f.side {
            Side::App => 0,
            Side::Api => 1,
        });
        self.direction.push(match f.direction {
            Direction::Inbound => 0,
            Direction::Outbound => 1,
        });
        self.template_category.push(match f.template_category {
            None => 0,
            Some(TemplateCategory::Marketing) => 1,
            Some(TemplateCategory::Utility) => 2,
            Some(TemplateCategory::Authentication) => 3,
        });
        self.at_ms.push(f.at_ms);
        self.local_day.push(f.local_day);
        self.regime.push(regime);
        self.recipient_country.push(recipient_country);
        self.recipient_market.push(recipient_market);
        self.status.push(f.status);
        self.open_conversations.push(f.open_conversations);
        self.features.push(feature_bits(f.features));
        self.allowance_used.push(f.allowance_used);
    }

    /// Lays the symbols out as one blob; call once after the last push.
    pub fn seal(&mut self) {
        self.text.clear();
        self.ends.clear();
        for s in &self.symbols {
            self.text.push_str(s);
            self.ends.push(self.text.len() as u32);
        }
    }

    /// The batch, borrowing the columns. Call [`BatchBuilder::seal`] first.
    pub fn batch<'b>(&'b self, waba: &'b str, business_country: &'b str) -> Batch<'b> {
        Batch {
            waba,
            business_country,
            symbols: WitSymbols { text: &self.text, ends: &self.ends },
            regimes: &self.regimes,
            business_number: &self.business_number,
            user: &self.user,
            kind: &self.kind,
            side: &self.side,
            direction: &self.direction,
            template_category: &self.template_category,
            at_ms: &self.at_ms,
            local_day: &self.local_day,
            regime: &self.regime,
            recipient_country: &self.recipient_country,
            recipient_market: &self.recipient_market,
            status: &self.status,
            open_conversations: &self.open_conversations,
            features: &self.features,
            allowance_used: &self.allowance_used,
        }
    }
}

/// Features as the WIT `features` bits (declaration order).
fn feature_bits(set: Features) -> u8 {
    let mut bits = 0u8;
    for f in set.iter() {
        bits |= 1
            << match f {
                Feature::Group => 0,
                Feature::Broadcast => 1,
                Feature::ViewOnce => 2,
                Feature::Disappearing => 3,
                Feature::LiveLocation => 4,
                Feature::Edit => 5,
                Feature::Revoke => 6,
                Feature::MmLite => 7,
            };
    }
    bits
}

/// The `violation` record.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct WitViolation {
    pub message: u32,
    pub code: String,
    pub feature: String,
    pub text: String,
    pub action: Action,
}

/// The `note` record.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct WitNote {
    pub message: u32,
    pub text: String,
}

/// The `decisions` record: decisions in columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, ComponentType, Lift, Lower)]
#[component(record)]
pub struct WitDecisions {
    pub billable: Vec<u8>,
    pub category: Vec<u8>,
    #[component(name = "pricing-type")]
    pub pricing_type: Vec<u8>,
    pub violations: Vec<WitViolation>,
    pub notes: Vec<WitNote>,
}

impl WitDecisions {
    /// `n` undecided messages: not billable, no category.
    pub fn undecided(n: usize) -> Self {
        Self { billable: vec![0; n], category: vec![0; n], pricing_type: vec![0; n], ..Self::default() }
    }

    /// Checks the shape against a batch of `n` messages.
    pub fn check(&self, n: usize) -> Result<(), String> {
        for (name, len) in [
            ("billable", self.billable.len()),
            ("category", self.category.len()),
            ("pricing-type", self.pricing_type.len()),
        ] {
            if len != n {
                return Err(format!("returned {len} `{name}` values for {n} messages"));
            }
        }
        if let Some(b) = self.billable.iter().find(|b| **b > 1) {
            return Err(format!("`billable` must be 0 or 1, got {b}"));
        }
        if let Some(c) = self.category.iter().find(|c| BilledCategory::from_code(**c).is_none()) {
            return Err(format!("`category` {c} is not a billed-category"));
        }
        if let Some(p) = self.pricing_type.iter().find(|p| PricingType::from_code(**p).is_none()) {
            return Err(format!("`pricing-type` {p} is not a pricing-type"));
        }
        let rows = self.violations.iter().map(|v| v.message).chain(self.notes.iter().map(|n| n.message));
        if let Some(m) = rows.into_iter().find(|m| *m as usize >= n) {
            return Err(format!("a violation or note names message {m}, but the batch has {n}"));
        }
        Ok(())
    }

    /// Turns checked columns into one [`Decision`] per message.
    pub fn into_decisions(self) -> Vec<Decision> {
        let mut out: Vec<Decision> = (0..self.billable.len())
            .map(|i| Decision {
                billable: self.billable[i] == 1,
                category: BilledCategory::from_code(self.category[i]).unwrap_or(BilledCategory::None),
                pricing_type: PricingType::from_code(self.pricing_type[i]).unwrap_or(PricingType::NotBillable),
                violations: Vec::new(),
                note: None,
            })
            .collect();
        for v in self.violations {
            if let Some(d) = out.get_mut(v.message as usize) {
                d.violations.push(Violation { code: v.code, feature: v.feature, message: v.text, action: v.action });
            }
        }
        for n in self.notes {
            if let Some(d) = out.get_mut(n.message as usize) {
                d.note = Some(n.text);
            }
        }
        out
    }
}

impl From<PricingModel> for WitPricingModel {
    fn from(m: PricingModel) -> Self {
        match m {
            PricingModel::Conversation => WitPricingModel::Conversation,
            PricingModel::PerMessage => WitPricingModel::PerMessage,
        }
    }
}

/// The `plugin-info` record.
#[derive(Debug, Clone, ComponentType, Lift)]
#[component(record)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fact<'a>(number: &'a PhoneNumber, user: &'a UserRef, regime: &str) -> Fact<'a> {
        Fact {
            business_number: number,
            user,
            kind: "text",
            side: Side::Api,
            direction: Direction::Outbound,
            template_category: Some(TemplateCategory::Utility),
            at_ms: 7,
            local_day: 1,
            regime: WitRegimeSource {
                id: Name::new(regime),
                model: PricingModel::PerMessage,
                service_charged: false,
                utility_in_window_charged: false,
                free_allowance: 0,
            },
            recipient_country: Name::new("ID"),
            recipient_market: Name::new("Indonesia"),
            status: status_bits::CSW_OPEN,
            open_conversations: 0,
            features: [Feature::Edit].into_iter().collect(),
            allowance_used: 3,
        }
    }

    #[test]
    fn columns_share_symbols_and_regimes() {
        let number = PhoneNumber::parse("+6221555000").unwrap();
        let (a, b2) =
            (crate::phone::parse_user("+6281100001").unwrap(), crate::phone::parse_user("+6281200002").unwrap());
        let a_again = crate::phone::parse_user("+6281100001").unwrap();
        let mut b = BatchBuilder::default();
        b.push(fact(&number, &a, "pmp"));
        b.push(fact(&number, &b2, "pmp"));
        b.push(fact(&number, &a_again, "pmp-2026-10"));
        b.seal();
        let batch = b.batch("W1", "ID");
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.user[0], batch.user[2], "one symbol per distinct string");
        assert_eq!(batch.regimes.len(), 2);
        assert_eq!(batch.regime, [0, 0, 1]);
        let sym = |s: u32| {
            let start = if s == 0 { 0 } else { batch.symbols.ends[s as usize - 1] as usize };
            &batch.symbols.text[start..batch.symbols.ends[s as usize] as usize]
        };
        assert_eq!(sym(batch.user[1]), "+6281200002");
        assert_eq!(sym(batch.recipient_market[0]), "Indonesia");
        assert_eq!(batch.template_category[0], 2, "utility is case 1, plus 1 for none");
        assert_eq!(batch.features[0], 1 << 5, "edit is the sixth flag");
    }

    #[test]
    fn decisions_are_checked_then_spread_to_rows() {
        let mut d = WitDecisions::undecided(2);
        d.billable[1] = 1;
        d.category[1] = BilledCategory::Marketing.code();
        d.pricing_type[1] = PricingType::Regular.code();
        d.violations.push(WitViolation {
            message: 0,
            code: "x.y".into(),
            feature: "f".into(),
            text: "why".into(),
            action: Action::Flag,
        });
        d.notes.push(WitNote { message: 1, text: "n".into() });
        assert_eq!(d.check(2), Ok(()));
        assert!(d.check(3).unwrap_err().contains("for 3 messages"));
        let rows = d.clone().into_decisions();
        assert_eq!(
            (rows[1].billable, rows[1].category, rows[1].note.as_deref()),
            (true, BilledCategory::Marketing, Some("n"))
        );
        assert_eq!(rows[0].violations[0].message, "why");

        let mut bad = d.clone();
        bad.category[0] = 9;
        assert!(bad.check(2).unwrap_err().contains("billed-category"));
        let mut bad = d;
        bad.violations[0].message = 5;
        assert!(bad.check(2).unwrap_err().contains("message 5"));
    }
}
