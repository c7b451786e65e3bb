//! Importing Meta's rate-card CSV and the market map, as they are, with every
//! problem named by row and column. A file with any problem imports nothing.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::Serialize;

use crate::policy::{Currency, Effective, MarketMap, RateBook, RateCard, RATE_COLUMNS};

/// One problem in an imported file: the CSV line (1-based, counting the
/// header and comments) and the column it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, column `{}`: {}", self.line, self.column, self.message)
    }
}

/// Why an import was refused; nothing was imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file has problems; all of them are listed.
    #[error("{file}: {} problem(s), the first at {}", problems.len(), problems.first().map(|p| p.to_string()).unwrap_or_default())]
    Invalid { file: String, problems: Vec<Problem> },
    /// The card's effective range overlaps a stored card of its currency.
    #[error("{0}")]
    Overlap(String),
    /// A card that is stored already would lose its markets under a new map.
    #[error("{0}")]
    Conflict(String),
}

/// Parses and validates a rate card in Meta's layout (`Market, Currency,
/// Marketing, Utility, Authentication, Authentication-International,
/// Service`; `n/a` where a rate does not apply). Markets must be known to
/// `markets`, each market appears once, the currency column matches
/// `currency`, and every rate is a non-negative decimal number or `n/a`.
pub fn parse_rate_card(
    id: &str,
    source: &str,
    text: &str,
    currency: Currency,
    effective: Effective,
    markets: &MarketMap,
) -> Result<RateCard, ImportError> {
    let invalid = |problems: Vec<Problem>| ImportError::Invalid { file: source.to_owned(), problems };
    if let (Some(from), Some(to)) = (effective.effective_from, effective.effective_to) {
        if to <= from {
            return Err(invalid(vec![Problem {
                line: 0,
                column: "effective_to".into(),
                message: format!("effective_to {to} is not after effective_from {from}"),
            }]));
        }
    }
    let mut reader =
        csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(invalid(vec![csv_problem(&e)])),
    };
    let expected: Vec<&str> = ["Market", "Currency"].into_iter().chain(RATE_COLUMNS).collect();
    let header_line = headers.position().map_or(1, |p| p.line());
    if !headers.iter().eq(expected.iter().copied()) {
        let column = headers
            .iter()
            .zip(expected.iter())
            .find(|(h, e)| h != *e)
            .map_or_else(|| format!("#{}", headers.len().min(expected.len()) + 1), |(h, _)| h.to_owned());
        return Err(invalid(vec![Problem {
            line: header_line,
            column,
            message: format!(
                "the header must be `{}`, found `{}`",
                expected.join(","),
                headers.iter().collect::<Vec<_>>().join(",")
            ),
        }]));
    }
    let mut problems = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rows = 0usize;
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(&e));
                continue;
            }
        };
        rows += 1;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() != expected.len() {
            problems.push(Problem {
                line,
                column: "*".into(),
                message: format!("the row has {} fields; the header has {}", record.len(), expected.len()),
            });
            continue;
        }
        let market = &record[0];
        if !markets.is_known_market(market) {
            problems.push(Problem {
                line,
                column: "Market".into(),
                message: format!("unknown market `{market}` (the market map does not have it)"),
            });
        } else if !seen.insert(market.to_owned()) {
            problems.push(Problem {
                line,
                column: "Market".into(),
                message: format!("duplicate row for market `{market}`"),
            });
        }
        if &record[1] != currency.as_str() {
            problems.push(Problem {
                line,
                column: "Currency".into(),
                message: format!("`{}` does not match the card's currency {currency}", &record[1]),
            });
        }
        for (i, column) in RATE_COLUMNS.iter().enumerate() {
            let cell = &record[i + 2];
            if cell.eq_ignore_ascii_case("n/a") {
                continue;
            }
            match cell.parse::<rust_decimal::Decimal>() {
                Ok(rate) if rate.is_sign_negative() => problems.push(Problem {
                    line,
                    column: (*column).into(),
                    message: format!("`{cell}` is negative; rates are prices"),
                }),
                Ok(_) => {}
                Err(_) => problems.push(Problem {
                    line,
                    column: (*column).into(),
                    message: format!("`{cell}` is not a rate (a decimal number or `n/a`)"),
                }),
            }
        }
    }
    if rows == 0 && problems.is_empty() {
        problems.push(Problem { line: header_line, column: "Market".into(), message: "the card has no rows".into() });
    }
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    RateCard::from_csv(id, source, text, currency, effective, markets)
        .map_err(|e| invalid(vec![Problem { line: 0, column: "*".into(), message: e.to_string() }]))
}

/// Adds a validated card to a book, refusing an overlapping range.
pub fn add_rate_card(book: &RateBook, card: RateCard) -> Result<RateBook, ImportError> {
    book.with_card(card).map_err(|e| ImportError::Overlap(e.to_string()))
}

/// Parses a market map (`prefix,country,market,effective_from,effective_to,note`)
/// and checks that every market the rate cards price is still on it.
pub fn parse_market_map(source: &str, text: &str, cards: &RateBook) -> Result<MarketMap, ImportError> {
    let map = MarketMap::from_csv(source, text).map_err(|e| {
        let message = e.to_string();
        // The map's parser names the line in its message; keep it as the row.
        let line = message
            .split("line ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        ImportError::Invalid { file: source.to_owned(), problems: vec![Problem { line, column: "*".into(), message }] }
    })?;
    for card in cards.cards() {
        for market in card.markets() {
            if !map.is_known_market(market) {
                return Err(ImportError::Conflict(format!(
                    "{source}: rate card {} prices market `{market}`, which the new map does not have",
                    card.id
                )));
            }
        }
    }
    Ok(map)
}

/// The default id of an imported card: `usd-2026-10-01`.
pub fn card_id(currency: Currency, from: NaiveDate) -> String {
    format!("{}-{from}", currency.as_str().to_ascii_lowercase())
}

fn csv_problem(e: &csv::Error) -> Problem {
    Problem { line: e.position().map_or(0, |p| p.line()), column: "*".into(), message: e.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service\n";

    fn markets() -> MarketMap {
        MarketMap::from_csv("markets.csv", include_str!("../../../policies/markets.csv")).unwrap()
    }

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn every_problem_is_named_by_line_and_column() {
        let text = format!(
            "# a comment\n{HEADER}Brazil,USD,0.1,0.1,0.1,n/a,n/a\nAtlantis,USD,0.1,0.1,0.1,n/a,n/a\nIndia,USD,0.1,cheap,0.1,n/a,n/a\nBrazil,USD,0.1,0.1,0.1,n/a,n/a\n"
        );
        let err = parse_rate_card("x", "x.csv", &text, usd(), Effective::default(), &markets()).unwrap_err();
        let ImportError::Invalid { problems, .. } = err else { panic!("{err}") };
        let got: Vec<(u64, &str)> = problems.iter().map(|p| (p.line, p.column.as_str())).collect();
        assert_eq!(got, [(4, "Market"), (5, "Utility"), (6, "Market")]);
        assert!(problems[1].message.contains("`cheap` is not a rate"));
    }

    #[test]
    fn a_good_card_imports_and_an_overlap_is_refused() {
        let text = format!("{HEADER}India,USD,0.0200,0.0020,0.0020,0.0300,n/a\n");
        let from = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        let effective = Effective::new(Some(from), None);
        let card = parse_rate_card(&card_id(usd(), from), "x.csv", &text, usd(), effective, &markets()).unwrap();
        assert_eq!(&*card.id, "usd-2026-07-01");
        let book = crate::policy::Policies::bundled().unwrap().rates;
        let book = add_rate_card(&book, card.clone()).unwrap();
        assert_eq!(&*book.find(usd(), from).unwrap().id, "usd-2026-07-01");
        let mut again = card;
        again.id = crate::intern::Name::new("usd-again");
        assert!(matches!(add_rate_card(&book, again), Err(ImportError::Overlap(_))));
    }

    #[test]
    fn a_map_that_drops_a_priced_market_is_refused() {
        let book = crate::policy::Policies::bundled().unwrap().rates;
        let map = "prefix,country,market,effective_from,effective_to,note\n62,ID,Indonesia,,,\n";
        assert!(matches!(parse_market_map("m.csv", map, &book), Err(ImportError::Conflict(_))));
        assert!(parse_market_map("m.csv", include_str!("../../../policies/markets.csv"), &book).is_ok());
    }
}
