//! Per-message rate cards in Meta's CSV layout, each with a currency and an
//! effective range.
//!
//! ```text
//! Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service
//! Indonesia,USD,0.0411,0.0250,0.0250,0.1360,n/a
//! ```

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::currency::Currency;
use super::effective::Effective;
use super::market::{Market, MarketMap};
use super::PolicyError;
use crate::decision::BilledCategory;

/// The rate columns of Meta's CSV, in order.
pub const RATE_COLUMNS: [&str; 5] =
    ["Marketing", "Utility", "Authentication", "Authentication-International", "Service"];

/// One market's rates; `None` is Meta's `n/a`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MarketRates {
    pub marketing: Option<Decimal>,
    pub utility: Option<Decimal>,
    pub authentication: Option<Decimal>,
    pub authentication_international: Option<Decimal>,
    pub service: Option<Decimal>,
}

impl MarketRates {
    /// The rate of a billed category, if the card has one.
    pub fn rate(&self, category: BilledCategory) -> Option<Decimal> {
        match category {
            BilledCategory::Marketing => self.marketing,
            BilledCategory::Utility => self.utility,
            BilledCategory::Authentication => self.authentication,
            BilledCategory::AuthenticationInternational => self.authentication_international,
            BilledCategory::Service => self.service,
            BilledCategory::None => None,
        }
    }

    fn slot(&mut self, column: usize) -> &mut Option<Decimal> {
        match column {
            0 => &mut self.marketing,
            1 => &mut self.utility,
            2 => &mut self.authentication,
            3 => &mut self.authentication_international,
            _ => &mut self.service,
        }
    }
}

/// A rate card: one version of one currency's prices.
#[derive(Debug, Clone)]
pub struct RateCard {
    /// The version id, e.g. `usd-2026-01-01`.
    pub id: crate::intern::Name,
    pub currency: Currency,
    /// The range in force, with an open end closed at the next card of the
    /// same currency once the card is in a [`RateBook`].
    pub effective: Effective,
    /// The end as declared (`None`: until the next card).
    pub declared_to: Option<NaiveDate>,
    rates: HashMap<Market, MarketRates>,
}

impl RateCard {
    /// Parses Meta's CSV as it is. Every problem names its line and column;
    /// markets must be known to `markets`.
    pub fn from_csv(
        id: &str,
        source: &str,
        text: &str,
        currency: Currency,
        effective: Effective,
        markets: &MarketMap,
    ) -> Result<Self, PolicyError> {
        let mut reader =
            csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| PolicyError::csv(source, &e))?.clone();
        let expected = ["Market", "Currency"].into_iter().chain(RATE_COLUMNS);
        if !headers.iter().eq(expected.clone()) {
            return Err(PolicyError::Invalid(format!(
                "{source}: the header must be `{}`, found `{}`",
                expected.collect::<Vec<_>>().join(","),
                headers.iter().collect::<Vec<_>>().join(",")
            )));
        }
        let mut rates: HashMap<Market, MarketRates> = HashMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| PolicyError::csv(source, &e))?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let at = |column: &str| format!("{source}: line {line}, column `{column}`");
            let market_name = &record[0];
            let market = markets.markets().iter().find(|m| &***m == market_name).cloned().ok_or_else(|| {
                PolicyError::Invalid(format!(
                    "{}: unknown market `{market_name}` (the market map does not have it)",
                    at("Market")
                ))
            })?;
            if &record[1] != currency.as_str() {
                return Err(PolicyError::Invalid(format!(
                    "{}: `{}` does not match the card's currency {currency}",
                    at("Currency"),
                    &record[1]
                )));
            }
            if rates.contains_key(&market) {
                return Err(PolicyError::Invalid(format!(
                    "{}: duplicate row for market `{market_name}`",
                    at("Market")
                )));
            }
            let mut row = MarketRates::default();
            for (i, column) in RATE_COLUMNS.iter().enumerate() {
                let cell = &record[i + 2];
                *row.slot(i) =
                    parse_rate(cell).map_err(|why| PolicyError::Invalid(format!("{}: {why}", at(column))))?;
            }
            rates.insert(market, row);
        }
        Ok(Self { id: crate::intern::Name::new(id), currency, effective, declared_to: effective.effective_to, rates })
    }

    /// The rates for a market, if the card lists it.
    pub fn market(&self, market: &str) -> Option<&MarketRates> {
        self.rates.get(market)
    }

    /// The markets the card lists.
    pub fn markets(&self) -> impl Iterator<Item = &Market> {
        self.rates.keys()
    }

    /// How many markets the card prices.
    pub fn len(&self) -> usize {
        self.rates.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }
}

fn parse_rate(cell: &str) -> Result<Option<Decimal>, String> {
    if cell.eq_ignore_ascii_case("n/a") {
        return Ok(None);
    }
    let rate: Decimal = cell.parse().map_err(|_| format!("`{cell}` is not a rate (a decimal number or `n/a`)"))?;
    if rate.is_sign_negative() {
        return Err(format!("`{cell}` is negative; rates are prices"));
    }
    Ok(Some(rate))
}

/// One entry of `ratecards.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateCardEntry {
    pub id: String,
    /// The CSV, relative to the policy directory.
    pub file: String,
    pub currency: Currency,
    #[serde(deserialize_with = "super::dates::date")]
    pub effective_from: NaiveDate,
    /// Exclusive; when absent, the card runs until the next card of its currency.
    #[serde(default, deserialize_with = "super::dates::opt_date")]
    pub effective_to: Option<NaiveDate>,
}

/// All rate-card versions, per currency, without overlaps.
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    cards: Vec<RateCard>,
}

impl RateBook {
    /// Builds the book, closing open-ended cards at the next card of the same
    /// currency, and refusing overlapping ranges.
    pub fn new(mut cards: Vec<RateCard>) -> Result<Self, PolicyError> {
        cards.sort_by_key(|c| (c.currency, c.effective.effective_from));
        for card in &mut cards {
            card.effective.effective_to = card.declared_to;
        }
        for pair in cards.windows(2) {
            if pair[0].currency == pair[1].currency
                && pair[0].effective.effective_from == pair[1].effective.effective_from
            {
                return Err(PolicyError::Invalid(format!(
                    "rate card {} and rate card {} both start on {} in {}",
                    pair[0].id,
                    pair[1].id,
                    pair[0].effective.effective_from.map_or_else(|| "…".to_owned(), |d| d.to_string()),
                    pair[0].currency
                )));
            }
        }
        for i in 0..cards.len() {
            let next_from =
                cards.get(i + 1).filter(|n| n.currency == cards[i].currency).and_then(|n| n.effective.effective_from);
            if cards[i].effective.effective_to.is_none() {
                cards[i].effective.effective_to = next_from;
            }
            if let Some(next) = cards.get(i + 1).filter(|n| n.currency == cards[i].currency) {
                if cards[i].effective.overlaps(&next.effective) {
                    return Err(PolicyError::Invalid(format!(
                        "rate card {} ({}) overlaps rate card {} ({}) in {}",
                        cards[i].id,
                        cards[i].effective.describe(),
                        next.id,
                        next.effective.describe(),
                        next.currency
                    )));
                }
            }
        }
        Ok(Self { cards })
    }

    /// The card of `currency` in force on `date`.
    pub fn find(&self, currency: Currency, date: NaiveDate) -> Option<&RateCard> {
        self.cards.iter().find(|c| c.currency == currency && c.effective.contains(date))
    }

    pub fn cards(&self) -> &[RateCard] {
        &self.cards
    }

    /// A new book with `card` added: refused when its range overlaps a card
    /// of the same currency (or starts on the same day as one).
    pub fn with_card(&self, card: RateCard) -> Result<Self, PolicyError> {
        if self.cards.iter().any(|c| c.id == card.id) {
            return Err(PolicyError::Invalid(format!("a rate card with id {} exists already", card.id)));
        }
        let mut cards = self.cards.clone();
        cards.push(card);
        Self::new(cards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn markets() -> MarketMap {
        MarketMap::from_csv("markets.csv", include_str!("../../../policies/markets.csv")).unwrap()
    }

    fn card(text: &str) -> Result<RateCard, PolicyError> {
        let usd = Currency::parse("USD").unwrap();
        RateCard::from_csv("t", "t.csv", text, usd, Effective::default(), &markets())
    }

    const HEADER: &str = "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n";

    #[test]
    fn shipped_card_parses() {
        let c = card(include_str!("../../../policies/ratecards/rates-usd-2026-01-01.csv")).unwrap();
        let id = c.market("Indonesia").unwrap();
        assert_eq!(id.marketing, Some("0.0411".parse().unwrap()));
        assert_eq!(id.authentication_international, Some("0.1360".parse().unwrap()));
        assert_eq!(c.market("Brazil").unwrap().service, None);
        assert_eq!(c.len(), 32);
    }

    #[test]
    fn bad_cards_name_line_and_column() {
        let cases = [
            (format!("{HEADER}Atlantis,USD,1,1,1,n/a,n/a\n"), "line 2, column `Market`"),
            (format!("{HEADER}Brazil,USD,0.1,abc,1,n/a,n/a\n"), "line 2, column `Utility`"),
            (
                format!("{HEADER}Brazil,USD,0.1,0.1,1,n/a,n/a\nBrazil,USD,0.1,0.1,1,n/a,n/a\n"),
                "line 3, column `Market`: duplicate",
            ),
            (format!("{HEADER}Brazil,EUR,0.1,0.1,1,n/a,n/a\n"), "line 2, column `Currency`"),
            ("Market,Price\n".to_owned(), "the header must be"),
        ];
        for (text, want) in cases {
            let err = card(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should contain {want}");
        }
    }

    #[test]
    fn book_closes_open_ends_and_refuses_overlaps() {
        let usd = Currency::parse("USD").unwrap();
        let mk = |id: &str, from: &str, to: Option<&str>| RateCard {
            id: crate::intern::Name::new(id),
            currency: usd,
            effective: Effective::new(Some(from.parse().unwrap()), to.map(|t| t.parse().unwrap())),
            declared_to: to.map(|t| t.parse().unwrap()),
            rates: HashMap::new(),
        };
        let book = RateBook::new(vec![mk("b", "2026-07-01", None), mk("a", "2026-01-01", None)]).unwrap();
        assert_eq!(&*book.find(usd, "2026-06-30".parse().unwrap()).unwrap().id, "a");
        assert_eq!(&*book.find(usd, "2026-07-01".parse().unwrap()).unwrap().id, "b");
        assert!(book.find(usd, "2025-12-31".parse().unwrap()).is_none());
        let err =
            RateBook::new(vec![mk("a", "2026-01-01", Some("2026-08-01")), mk("b", "2026-07-01", None)]).unwrap_err();
        assert!(err.to_string().contains("overlaps"));
        let err = book.with_card(mk("c", "2026-07-01", None)).unwrap_err();
        assert!(err.to_string().contains("both start on 2026-07-01"), "{err}");
        let book = book.with_card(mk("c", "2026-03-01", Some("2026-04-01"))).unwrap();
        assert_eq!(&*book.find(usd, "2026-03-15".parse().unwrap()).unwrap().id, "c");
        assert!(book.find(usd, "2026-05-01".parse().unwrap()).is_none());
        assert!(book.with_card(mk("d", "2026-03-15", None)).unwrap_err().to_string().contains("overlaps"));
    }
}
