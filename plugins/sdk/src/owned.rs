//! Encoding facts into columns, as the host does: for tests and tools.

use crate::{Columns, Fact, Regime, Status, Symbol, TemplateCategory, UNKNOWN_REGIME};

/// A batch that owns its columns. [`OwnedBatch::push`] encodes a [`Fact`],
/// interning its strings and regime; the fields are public so that a test can
/// also write raw, even invalid, values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OwnedBatch {
    pub waba: String,
    pub business_country: String,
    pub symbol_text: String,
    pub symbol_ends: Vec<u32>,
    pub regimes: Vec<Regime>,
    pub business_number: Vec<Symbol>,
    pub user: Vec<Symbol>,
    pub kind: Vec<Symbol>,
    pub side: Vec<u8>,
    pub direction: Vec<u8>,
    pub template_category: Vec<u8>,
    pub at_ms: Vec<i64>,
    pub local_day: Vec<i32>,
    pub regime: Vec<u32>,
    pub recipient_country: Vec<Symbol>,
    pub recipient_market: Vec<Symbol>,
    pub status: Vec<u8>,
    pub open_conversations: Vec<u8>,
    pub features: Vec<u8>,
    pub allowance_used: Vec<u32>,
}

impl OwnedBatch {
    /// An empty batch of one WABA.
    pub fn new(waba: &str, business_country: &str) -> Self {
        OwnedBatch { waba: waba.to_owned(), business_country: business_country.to_owned(), ..Self::default() }
    }

    /// A batch of `facts`.
    pub fn of<'a>(waba: &str, business_country: &str, facts: impl IntoIterator<Item = Fact<'a>>) -> Self {
        let mut batch = Self::new(waba, business_country);
        for fact in facts {
            batch.push(&fact);
        }
        batch
    }

    /// The symbol of `text`, added when the batch does not hold it yet.
    pub fn symbol(&mut self, text: &str) -> Symbol {
        let symbols = self.columns().symbols;
        if let Some(i) = (0..symbols.len()).find(|&i| symbols.get(symbol_id(i)) == text) {
            return symbol_id(i);
        }
        self.symbol_text.push_str(text);
        self.symbol_ends.push(u32::try_from(self.symbol_text.len()).expect("test batches are small"));
        symbol_id(self.symbol_ends.len() - 1)
    }

    /// The index of `regime`, added when the batch does not hold it yet.
    /// [`UNKNOWN_REGIME`] is written as an index past the regimes, which reads back as it.
    pub fn regime(&mut self, regime: Regime) -> u32 {
        if regime == UNKNOWN_REGIME {
            return u32::MAX;
        }
        let i = self.regimes.iter().position(|&r| r == regime).unwrap_or_else(|| {
            self.regimes.push(regime);
            self.regimes.len() - 1
        });
        u32::try_from(i).expect("test batches are small")
    }

    /// Appends `fact` as the last message; returns its row.
    pub fn push(&mut self, fact: &Fact) -> usize {
        let symbols = [fact.business_number, fact.user, fact.kind, fact.recipient_country, fact.recipient_market];
        let [business_number, user, kind, recipient_country, recipient_market] = symbols.map(|s| self.symbol(s));
        let regime = self.regime(fact.regime);
        self.business_number.push(business_number);
        self.user.push(user);
        self.kind.push(kind);
        self.side.push(fact.side.code());
        self.direction.push(fact.direction.code());
        self.template_category.push(TemplateCategory::encode(fact.template_category));
        self.at_ms.push(fact.at_ms);
        self.local_day.push(fact.local_day);
        self.regime.push(regime);
        self.recipient_country.push(recipient_country);
        self.recipient_market.push(recipient_market);
        self.status.push(Status::bits(fact.status));
        self.open_conversations.push(fact.open_conversations.bits());
        self.features.push(fact.features.bits());
        self.allowance_used.push(fact.allowance_used);
        self.business_number.len() - 1
    }

    /// The batch as the borrowed view plugins read.
    pub fn columns(&self) -> Columns<'_> {
        Columns {
            waba: &self.waba,
            business_country: &self.business_country,
            symbols: crate::Symbols::new(&self.symbol_text, &self.symbol_ends),
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

fn symbol_id(i: usize) -> Symbol {
    Symbol::try_from(i).expect("test batches are small")
}
