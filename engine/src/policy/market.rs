//! Recipient → country → pricing market, by longest calling-code prefix, with
//! effective dates (`markets.csv`).

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::effective::Effective;
use super::PolicyError;
use crate::intern::Name;
use crate::phone::UserRef;

/// The market that prices a message when no prefix matches.
pub const OTHER_MARKET: &str = "Other";

/// Prefixes this long or shorter are looked up in a dense table.
const DENSE_DIGITS: usize = 4;

/// Where the prefixes of `len` digits start in the dense table.
fn dense_offset(len: usize) -> usize {
    // 10 + 100 + ... for the shorter lengths.
    (1..len).map(|l| 10usize.pow(l as u32)).sum()
}

/// The value of a short string of ASCII digits.
fn digits_value(digits: &str) -> usize {
    digits.bytes().fold(0usize, |n, b| n * 10 + usize::from(b.wrapping_sub(b'0')))
}

/// A pricing market name, e.g. `Indonesia` or `Rest of Latin America`.
pub type Market = Name;

#[derive(Debug, Clone)]
struct MarketRow {
    country: Name,
    market: Market,
    effective: Effective,
}

/// Where a recipient was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// ISO 3166 alpha-2, or empty when no prefix matched.
    pub country: Name,
    pub market: Market,
}

/// The effective-dated calling-code map.
#[derive(Debug, Clone)]
pub struct MarketMap {
    by_prefix: HashMap<String, Vec<MarketRow>>,
    /// For prefixes of up to [`DENSE_DIGITS`] digits: `dense[offset(len) + value]`
    /// is 1 + the index of the prefix's rows in `groups`, or 0. Looking a
    /// number up then costs a few array reads, no hashing.
    dense: Vec<u32>,
    groups: Vec<Vec<MarketRow>>,
    by_country: HashMap<String, Vec<MarketRow>>,
    longest_prefix: usize,
    other: Market,
    unknown_country: Name,
    markets: Vec<Market>,
}

#[derive(Deserialize)]
struct CsvRow {
    prefix: String,
    country: String,
    market: String,
    effective_from: Option<NaiveDate>,
    effective_to: Option<NaiveDate>,
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
}

impl MarketMap {
    /// Parses `prefix,country,market,effective_from,effective_to,note`; lines
    /// starting with `#` are comments. `source` names the file in errors.
    pub fn from_csv(source: &str, text: &str) -> Result<Self, PolicyError> {
        let mut reader =
            csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).from_reader(text.as_bytes());
        let mut by_prefix: HashMap<String, Vec<MarketRow>> = HashMap::new();
        let mut by_country: HashMap<String, Vec<MarketRow>> = HashMap::new();
        let mut interned: HashMap<String, Market> = HashMap::new();
        let mut countries: HashMap<String, Name> = HashMap::new();
        for (i, row) in reader.deserialize::<CsvRow>().enumerate() {
            let row = row.map_err(|e| PolicyError::csv(source, &e))?;
            let at = || format!("{source}: record {}", i + 1);
            if row.prefix.is_empty() || !row.prefix.bytes().all(|b| b.is_ascii_digit()) {
                return Err(PolicyError::Invalid(format!("{}: prefix `{}` must be digits", at(), row.prefix)));
            }
            if row.country.len() != 2 || !row.country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(PolicyError::Invalid(format!(
                    "{}: country `{}` must be ISO 3166 alpha-2",
                    at(),
                    row.country
                )));
            }
            let market = *interned.entry(row.market.clone()).or_insert_with(|| Name::new(&row.market));
            let country = *countries.entry(row.country.clone()).or_insert_with(|| Name::new(&row.country));
            let effective = Effective::new(row.effective_from, row.effective_to);
            let rows = by_prefix.entry(row.prefix.clone()).or_default();
            if let Some(clash) = rows.iter().find(|r| r.effective.overlaps(&effective)) {
                return Err(PolicyError::Invalid(format!(
                    "{}: prefix {} is already mapped to {} for {}, which overlaps {}",
                    at(),
                    row.prefix,
                    clash.market,
                    clash.effective.describe(),
                    effective.describe()
                )));
            }
            let mapped = MarketRow { country, market, effective };
            rows.push(mapped.clone());
            by_country.entry(row.country).or_default().push(mapped);
        }
        let longest_prefix = by_prefix.keys().map(String::len).max().unwrap_or(0);
        let mut dense = vec![0u32; dense_offset(DENSE_DIGITS + 1)];
        let mut groups = Vec::new();
        for (prefix, rows) in &by_prefix {
            if prefix.len() <= DENSE_DIGITS {
                groups.push(rows.clone());
                dense[dense_offset(prefix.len()) + digits_value(prefix)] = groups.len() as u32;
            }
        }
        let other = *interned.entry(OTHER_MARKET.to_owned()).or_insert_with(|| Name::new(OTHER_MARKET));
        let mut markets: Vec<Market> = interned.into_values().collect();
        markets.sort();
        Ok(Self {
            by_prefix,
            dense,
            groups,
            by_country,
            longest_prefix,
            other,
            unknown_country: Name::new(""),
            markets,
        })
    }

    /// Every market name the map can produce, sorted.
    pub fn markets(&self) -> &[Market] {
        &self.markets
    }

    /// Whether `name` is a market of this map.
    pub fn is_known_market(&self, name: &str) -> bool {
        self.markets.iter().any(|m| &**m == name)
    }

    /// Places a phone number (digits after `+`) on `date`, by longest prefix.
    pub fn place_digits(&self, digits: &str, date: NaiveDate) -> Placement {
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Placement { country: self.unknown_country, market: self.other };
        }
        for len in (1..=self.longest_prefix.min(digits.len())).rev() {
            let rows = if len <= DENSE_DIGITS {
                match self.dense[dense_offset(len) + digits_value(&digits[..len])] {
                    0 => None,
                    group => self.groups.get(group as usize - 1),
                }
            } else {
                self.by_prefix.get(&digits[..len])
            };
            if let Some(rows) = rows {
                if let Some(row) = rows.iter().find(|r| r.effective.contains(date)) {
                    return Placement { country: row.country, market: row.market };
                }
            }
        }
        Placement { country: self.unknown_country, market: self.other }
    }

    /// Places a country (e.g. a BSUID's prefix) on `date`.
    pub fn place_country(&self, country: &str, date: NaiveDate) -> Placement {
        match self.by_country.get(country).and_then(|rows| rows.iter().find(|r| r.effective.contains(date))) {
            Some(row) => Placement { country: row.country, market: row.market },
            None => Placement { country: Name::new(country), market: self.other },
        }
    }

    /// Places a user: by phone number when known, else by BSUID country.
    pub fn place_user(&self, user: &UserRef, date: NaiveDate) -> Option<Placement> {
        match (&user.phone, &user.bsuid) {
            (Some(phone), _) => Some(self.place_digits(phone.digits(), date)),
            (None, Some(bsuid)) => Some(self.place_country(bsuid.country(), date)),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn shipped() -> MarketMap {
        MarketMap::from_csv("markets.csv", include_str!("../../../policies/markets.csv")).unwrap()
    }

    #[test]
    fn longest_prefix_wins() {
        let m = shipped();
        let at = d("2026-03-10");
        let cases = [
            ("6281234567890", "ID", "Indonesia"),
            ("12125551234", "US", "North America"),
            ("14165550123", "CA", "North America"),
            ("18095551234", "DO", "Rest of Latin America"),
            ("5511987654321", "BR", "Brazil"),
            ("88212345678", "", "Other"),
        ];
        for (digits, country, market) in cases {
            let p = m.place_digits(digits, at);
            assert_eq!((&*p.country, &*p.market), (country, market), "{digits}");
        }
    }

    #[test]
    fn effective_dated_moves() {
        let m = shipped();
        assert_eq!(&*m.place_digits("263771234567", d("2025-09-30")).market, "Other");
        assert_eq!(&*m.place_digits("263771234567", d("2025-10-01")).market, "Rest of Africa");
        assert_eq!(&*m.place_digits("6591234567", d("2026-06-30")).market, "Rest of Asia Pacific");
        assert_eq!(&*m.place_digits("6591234567", d("2026-07-01")).market, "Singapore");
    }

    #[test]
    fn countries_for_bsuids() {
        let m = shipped();
        assert_eq!(&*m.place_country("BR", d("2026-03-25")).market, "Brazil");
        assert_eq!(&*m.place_country("CA", d("2026-03-25")).market, "North America");
        assert_eq!(&*m.place_country("XX", d("2026-03-25")).market, "Other");
    }

    #[test]
    fn overlapping_rows_are_refused() {
        let csv = "prefix,country,market,effective_from,effective_to,note\n65,SG,A,,,\n65,SG,B,2026-01-01,,\n";
        let err = MarketMap::from_csv("m.csv", csv).unwrap_err().to_string();
        assert!(err.contains("record 2") && err.contains("overlaps"), "{err}");
    }
}
