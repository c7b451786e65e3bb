//! Timestamps as they arrive: RFC 3339 strings, or unix seconds as a number or
//! a string of digits (Meta's webhooks use the latter).

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// A timestamp before it is checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawTimestamp {
    Seconds(i64),
    Text(String),
}

impl RawTimestamp {
    pub(crate) fn resolve(&self) -> Result<DateTime<Utc>, String> {
        match self {
            RawTimestamp::Seconds(s) => from_unix(*s),
            RawTimestamp::Text(t) => parse_timestamp(t),
        }
    }
}

/// Parses RFC 3339 (`2026-03-10T08:00:00Z`, also without seconds, `2026-03-10T08:00Z`)
/// or unix seconds written as digits.
pub fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = text.parse().map_err(|_| format!("`{text}` is out of range for unix seconds"))?;
        return from_unix(secs);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    // RFC 3339 requires seconds; people write `08:00Z` anyway.
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M%#z") {
        return Ok(t.with_timezone(&Utc));
    }
    Err(format!("`{text}` is neither an RFC 3339 timestamp nor unix seconds"))
}

fn from_unix(secs: i64) -> Result<DateTime<Utc>, String> {
    DateTime::from_timestamp(secs, 0).ok_or_else(|| format!("{secs} is out of range for unix seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let want = DateTime::parse_from_rfc3339("2026-03-10T08:00:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(parse_timestamp("2026-03-10T08:00:00Z").unwrap(), want);
        assert_eq!(parse_timestamp("2026-03-10T08:00Z").unwrap(), want);
        assert_eq!(parse_timestamp("2026-03-10T15:00+07:00").unwrap(), want);
        assert_eq!(parse_timestamp(&want.timestamp().to_string()).unwrap(), want);
        assert!(parse_timestamp("yesterday").is_err());
        assert!(parse_timestamp("").is_err());
    }
}
