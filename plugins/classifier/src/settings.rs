//! The classifier's settings: checked once in `configure`, then reduced to plain
//! values, so that `evaluate` never parses, allocates or looks anything up by name.

use std::collections::BTreeMap;

use serde::Deserialize;

use coexist_plugin_sdk::Action;

/// Code of the violation for a marketing template to a United States user.
pub const US_MARKETING_BLOCKED: &str = "delivery.marketing_to_us_blocked";
/// Code of the violation for a non-template message outside every window.
pub const OUTSIDE_CSW: &str = "pricing.outside_customer_service_window";

/// Meta stopped delivering marketing templates to US users on this date (reported).
const DEFAULT_US_MARKETING_BLOCK_FROM: &str = "2025-04-01";
/// The recipient countries with an authentication-international rate.
const DEFAULT_AUTH_INTERNATIONAL_COUNTRIES: [&str; 9] = ["EG", "IN", "ID", "MY", "NG", "PK", "SA", "ZA", "AE"];
const DEFAULT_ACTION: Action = Action::Block;

/// The settings `evaluate` works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// From this `local_day` on, marketing templates to US users are blocked; `None` never.
    pub us_marketing_block_day: Option<i32>,
    /// Recipient countries eligible for the authentication-international rate.
    pub auth_international: CountrySet,
    /// What the CRM should do with a `delivery.marketing_to_us_blocked` violation.
    pub us_marketing_action: Action,
    /// What the CRM should do with a `pricing.outside_customer_service_window` violation.
    pub outside_csw_action: Action,
}

impl Default for Settings {
    fn default() -> Self {
        Raw::default().compile().expect("the built-in defaults are valid (tested)")
    }
}

impl Settings {
    /// Parses the plugin's settings object; every error names the key at fault.
    pub fn from_json(json: &str) -> Result<Self, String> {
        // serde would also fill a struct from a JSON array; settings are an object.
        if !json.trim_start().starts_with('{') {
            return Err("invalid classifier settings: expected a JSON object".to_owned());
        }
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: Raw = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            if path == "." {
                format!("invalid classifier settings: {}", e.inner())
            } else {
                format!("invalid classifier settings: `{path}`: {}", e.inner())
            }
        })?;
        de.end().map_err(|e| format!("invalid classifier settings: {e}"))?;
        raw.compile()
    }
}

/// The settings as written in the policy file. Absent keys take the defaults;
/// `"us_marketing_block_from": null` disables the rule.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Raw {
    us_marketing_block_from: Option<String>,
    auth_international_countries: Vec<String>,
    actions: BTreeMap<String, ActionName>,
}

impl Default for Raw {
    fn default() -> Self {
        Raw {
            us_marketing_block_from: Some(DEFAULT_US_MARKETING_BLOCK_FROM.to_owned()),
            auth_international_countries: DEFAULT_AUTH_INTERNATIONAL_COUNTRIES.iter().map(|&c| c.to_owned()).collect(),
            actions: BTreeMap::new(),
        }
    }
}

impl Raw {
    fn compile(self) -> Result<Settings, String> {
        let us_marketing_block_day = match &self.us_marketing_block_from {
            None => None,
            Some(date) => Some(parse_date(date).ok_or_else(|| {
                format!(
                    "invalid classifier settings: `us_marketing_block_from`: `{date}` is not a date \
                     (expected YYYY-MM-DD, or null to disable the rule)"
                )
            })?),
        };

        let mut auth_international = CountrySet::default();
        for code in &self.auth_international_countries {
            if !auth_international.insert(code) {
                return Err(format!(
                    "invalid classifier settings: `auth_international_countries`: `{code}` is not \
                     an upper-case ISO 3166 alpha-2 code"
                ));
            }
        }

        let mut settings = Settings {
            us_marketing_block_day,
            auth_international,
            us_marketing_action: DEFAULT_ACTION,
            outside_csw_action: DEFAULT_ACTION,
        };
        for (code, action) in self.actions {
            let slot = match code.as_str() {
                US_MARKETING_BLOCKED => &mut settings.us_marketing_action,
                OUTSIDE_CSW => &mut settings.outside_csw_action,
                _ => {
                    return Err(format!(
                        "invalid classifier settings: `actions`: unknown violation code `{code}` \
                         (known: `{US_MARKETING_BLOCKED}`, `{OUTSIDE_CSW}`)"
                    ))
                }
            };
            *slot = action.into();
        }
        Ok(settings)
    }
}

/// An action as spelled in settings.
#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ActionName {
    Allow,
    Flag,
    Block,
}

impl From<ActionName> for Action {
    fn from(name: ActionName) -> Self {
        match name {
            ActionName::Allow => Action::Allow,
            ActionName::Flag => Action::Flag,
            ActionName::Block => Action::Block,
        }
    }
}

/// A set of ISO 3166 alpha-2 codes as a 26×26 bitmap: membership is two
/// subtractions and a bit test, with no string comparison.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountrySet([u64; 11]);

impl CountrySet {
    /// Whether `code` is in the set; anything that is not two upper-case letters is not.
    pub fn contains(&self, code: &str) -> bool {
        Self::index(code).is_some_and(|i| self.0[i / 64] & (1 << (i % 64)) != 0)
    }

    /// Adds `code`; false when it is not two upper-case ASCII letters.
    fn insert(&mut self, code: &str) -> bool {
        let Some(i) = Self::index(code) else {
            return false;
        };
        self.0[i / 64] |= 1 << (i % 64);
        true
    }

    fn index(code: &str) -> Option<usize> {
        match *code.as_bytes() {
            [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => Some(usize::from(a - b'A') * 26 + usize::from(b - b'A')),
            _ => None,
        }
    }
}

/// Parses a strict `YYYY-MM-DD` date into days since 1970-01-01.
fn parse_date(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = &bytes[range];
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0')))
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_len = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_len {
        return None;
    }
    // Four digits keep the year far inside i32.
    Some(days_from_civil(year as i32, month, day))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`: count from a March-based 400-year era, so leap days fall last).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400) as u32;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era as i32 - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_an_empty_object() {
        let defaults = Settings::default();
        assert_eq!(Settings::from_json("{}"), Ok(defaults));
        assert_eq!(defaults.us_marketing_block_day, Some(20_179)); // 2025-04-01
        for code in DEFAULT_AUTH_INTERNATIONAL_COUNTRIES {
            assert!(defaults.auth_international.contains(code), "{code}");
        }
        assert_eq!(defaults.us_marketing_action, Action::Block);
        assert_eq!(defaults.outside_csw_action, Action::Block);
    }

    #[test]
    fn days_from_civil_matches_known_days() {
        for (date, days) in [
            ("1970-01-01", 0),
            ("1969-12-31", -1),
            ("1970-03-01", 59),
            ("2000-02-29", 11_016),
            ("2000-03-01", 11_017),
            ("2024-02-29", 19_782),
            ("2025-04-01", 20_179),
            ("2025-07-01", 20_270),
            ("2026-10-01", 20_727),
            ("0000-03-01", -719_468),
            ("9999-12-31", 2_932_896),
        ] {
            assert_eq!(parse_date(date), Some(days), "{date}");
        }
    }

    #[test]
    fn malformed_dates_are_rejected() {
        for date in [
            "",
            "2025-4-01",
            "2025/04/01",
            "2025-04-1",
            "2025-00-10",
            "2025-13-01",
            "2025-04-00",
            "2025-04-31",
            "2025-02-29",
            "1900-02-29",
            "+025-04-01",
            "2025-04-01T00:00",
            "２025-04-01",
        ] {
            assert_eq!(parse_date(date), None, "{date:?}");
        }
    }

    #[test]
    fn country_set_holds_only_what_was_inserted() {
        let mut set = CountrySet::default();
        assert!(set.insert("AA") && set.insert("ZZ") && set.insert("IN"));
        for (code, expected) in [
            ("AA", true),
            ("ZZ", true),
            ("IN", true),
            ("ID", false),
            ("in", false),
            ("", false),
            ("I", false),
            ("IND", false),
        ] {
            assert_eq!(set.contains(code), expected, "{code:?}");
        }
        for bad in ["in", "", "IND", "I1", "ÉG"] {
            assert!(!set.insert(bad), "{bad:?}");
        }
    }

    #[test]
    fn settings_are_parsed() {
        let s = Settings::from_json(
            r#"{"us_marketing_block_from": null,
                "auth_international_countries": ["BR"],
                "actions": {"pricing.outside_customer_service_window": "flag"}}"#,
        )
        .unwrap();
        assert_eq!(s.us_marketing_block_day, None);
        assert!(s.auth_international.contains("BR"));
        assert!(!s.auth_international.contains("IN"));
        assert_eq!(s.outside_csw_action, Action::Flag);
        assert_eq!(s.us_marketing_action, Action::Block, "untouched codes keep the default");

        let s = Settings::from_json(
            r#"{"us_marketing_block_from": "2026-01-02",
                "actions": {"delivery.marketing_to_us_blocked": "allow"}}"#,
        )
        .unwrap();
        assert_eq!(s.us_marketing_block_day, Some(20_455));
        assert_eq!(s.us_marketing_action, Action::Allow);
    }

    #[test]
    fn errors_name_the_key_at_fault() {
        for (json, named) in [
            (r#"{"us_marketing_block_form": "2025-04-01"}"#, "us_marketing_block_form"),
            (r#"{"us_marketing_block_from": "2025-02-30"}"#, "us_marketing_block_from"),
            (r#"{"us_marketing_block_from": 20179}"#, "us_marketing_block_from"),
            (r#"{"auth_international_countries": "IN"}"#, "auth_international_countries"),
            (r#"{"auth_international_countries": ["in"]}"#, "auth_international_countries"),
            (r#"{"actions": {"pricing.outside_csw": "block"}}"#, "pricing.outside_csw"),
            (r#"{"actions": {"delivery.marketing_to_us_blocked": "deny"}}"#, "delivery.marketing_to_us_blocked"),
            (r#"{"actions": []}"#, "actions"),
        ] {
            let err = Settings::from_json(json).unwrap_err();
            assert!(err.contains(named), "{json}: {err}");
        }
        for json in ["", "[]", "null", "{", r#"{"actions": {}} x"#] {
            assert!(Settings::from_json(json).is_err(), "{json:?}");
        }
    }
}
