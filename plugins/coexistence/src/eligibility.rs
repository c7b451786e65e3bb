//! Region eligibility: which business numbers may run in Coexistence on a
//! date, from effective-dated lists of ineligible countries.
//!
//! The lists come from the host (`policies/eligibility.toml`, as JSON). A list
//! is in force from its `effective_from` (inclusive) until the next list's
//! (exclusive). A number is ineligible when its digits start with a calling
//! code prefix of a country on the list in force; the longest prefix wins, so
//! a list can name `7` for Russia and leave `76`/`77` (Kazakhstan) out.

use serde::Deserialize;

/// What the business can do instead of Coexistence, in every ineligible answer.
pub const ALTERNATIVES: [&str; 2] = ["app_only", "api_only"];

/// The lists, sorted by `from`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lists {
    lists: Vec<List>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct List {
    /// First day in force, days since 1970-01-01.
    from: i32,
    source: String,
    /// (prefix, country, name), longest prefix first.
    prefixes: Vec<(String, String, String)>,
}

/// The answer for one number on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub list_from: Option<i32>,
    pub source: String,
    /// (country, name, prefix) of the matching entry.
    pub ineligible: Option<(String, String, String)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLists {
    lists: Vec<RawList>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawList {
    effective_from: String,
    source: String,
    ineligible: Vec<RawCountry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCountry {
    country: String,
    name: String,
    prefixes: Vec<String>,
}

impl Lists {
    /// Parses the lists object; every error names the list or entry at fault.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        let raw: RawLists = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| format!("invalid eligibility lists: `{}`: {}", e.path(), e.inner()))?;
        de.end().map_err(|e| format!("invalid eligibility lists: {e}"))?;
        let mut lists = Vec::with_capacity(raw.lists.len());
        for (i, list) in raw.lists.into_iter().enumerate() {
            let from = parse_day(&list.effective_from).ok_or_else(|| {
                format!(
                    "invalid eligibility lists: `lists[{i}].effective_from`: `{}` is not a YYYY-MM-DD date",
                    list.effective_from
                )
            })?;
            let mut prefixes = Vec::new();
            for (j, c) in list.ineligible.into_iter().enumerate() {
                if c.prefixes.is_empty() {
                    return Err(format!(
                        "invalid eligibility lists: `lists[{i}].ineligible[{j}]` ({}) has no prefixes",
                        c.country
                    ));
                }
                for p in c.prefixes {
                    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(format!(
                            "invalid eligibility lists: `lists[{i}].ineligible[{j}].prefixes`: `{p}` is not a calling-code prefix (digits, no `+`)"
                        ));
                    }
                    prefixes.push((p, c.country.clone(), c.name.clone()));
                }
            }
            prefixes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
            lists.push(List { from, source: list.source, prefixes });
        }
        lists.sort_by_key(|l| l.from);
        if let Some(w) = lists.windows(2).find(|w| w[0].from == w[1].from) {
            return Err(format!("invalid eligibility lists: two lists start on the same day ({})", w[0].from));
        }
        Ok(Lists { lists })
    }

    /// The verdict for a number (E.164, with or without `+`) on a day.
    pub fn check(&self, number: &str, day: i32) -> Verdict {
        let digits = number.trim_start_matches('+');
        let Some(list) = self.lists.iter().rev().find(|l| l.from <= day) else {
            return Verdict { list_from: None, source: String::new(), ineligible: None };
        };
        let ineligible = list
            .prefixes
            .iter()
            .find(|(p, _, _)| digits.starts_with(p.as_str()))
            .map(|(p, country, name)| (country.clone(), name.clone(), p.clone()));
        Verdict { list_from: Some(list.from), source: list.source.clone(), ineligible }
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (proleptic Gregorian).
pub fn parse_day(s: &str) -> Option<i32> {
    let mut parts = s.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i32, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let month_len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d == 0 || d > month_len[(m - 1) as usize] {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTS: &str = r#"{"lists":[
        {"effective_from":"2026-03-20","source":"newer","ineligible":[
            {"country":"NG","name":"Nigeria","prefixes":["234"]}]},
        {"effective_from":"2025-09-13","source":"older","ineligible":[
            {"country":"GB","name":"United Kingdom","prefixes":["44"]},
            {"country":"RU","name":"Russia","prefixes":["7"]},
            {"country":"KZ-not-listed","name":"Kazakhstan","prefixes":["76"]}]}]}"#;

    #[test]
    fn dates_convert_like_the_calendar() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2025-10-01"), Some(20_362));
        assert_eq!(parse_day("2024-02-29"), Some(19_782));
        for bad in ["2025-02-29", "2025-13-01", "2025-1-01", "25-01-01", "2025-01-00", "x"] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_list_in_force_decides_and_the_longest_prefix_wins() {
        let lists = Lists::from_json(LISTS).unwrap();
        let d = |s| parse_day(s).unwrap();
        let uk = lists.check("+447700900000", d("2025-10-01"));
        assert_eq!(uk.ineligible.as_ref().map(|r| r.0.as_str()), Some("GB"));
        assert_eq!((uk.list_from, uk.source.as_str()), (Some(d("2025-09-13")), "older"));
        assert_eq!(lists.check("+447700900000", d("2026-04-01")).ineligible, None);
        assert_eq!(lists.check("+2348000000000", d("2026-04-01")).ineligible.unwrap().0, "NG");
        assert_eq!(lists.check("+76000000000", d("2025-10-01")).ineligible.unwrap().2, "76");
        let before = lists.check("+447700900000", d("2025-09-12"));
        assert_eq!((before.list_from, before.ineligible), (None, None));
    }

    #[test]
    fn bad_lists_are_refused_with_the_place() {
        for (json, named) in [
            (r#"{"lists":[{"effective_from":"2025-9-13","source":"s","ineligible":[]}]}"#, "lists[0].effective_from"),
            (
                r#"{"lists":[{"effective_from":"2025-09-13","source":"s","ineligible":[{"country":"GB","name":"UK","prefixes":["+44"]}]}]}"#,
                "prefixes",
            ),
            (
                r#"{"lists":[{"effective_from":"2025-09-13","source":"s","ineligible":[{"country":"GB","name":"UK","prefixes":[]}]}]}"#,
                "no prefixes",
            ),
            (r#"{"lists":[],"extra":1}"#, "extra"),
        ] {
            let err = Lists::from_json(json).unwrap_err();
            assert!(err.contains(named), "{json}: {err}");
        }
    }
}
