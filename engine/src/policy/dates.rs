//! Dates in policy files: TOML's native dates (`2026-10-01`) or strings.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Toml(toml::value::Datetime),
    Text(String),
}

impl Repr {
    fn text(self) -> String {
        match self {
            Repr::Toml(d) => d.to_string(),
            Repr::Text(s) => s,
        }
    }
}

fn parse_date<E: serde::de::Error>(text: &str) -> Result<NaiveDate, E> {
    text.parse().map_err(|_| E::custom(format!("`{text}` is not a date (YYYY-MM-DD)")))
}

pub fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    parse_date(&Repr::deserialize(d)?.text())
}

pub fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<Repr>::deserialize(d)?.map(|r| parse_date(&r.text())).transpose()
}

pub fn opt_datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<Repr>::deserialize(d)?
        .map(|r| {
            let text = r.text();
            DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{text}` is not an RFC 3339 date-time with an offset (e.g. 2026-01-05T09:00:00Z)"
                ))
            })
        })
        .transpose()
}
