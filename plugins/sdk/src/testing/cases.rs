//! Golden cases (`cases.jsonl`), checked natively: the same file that
//! `coexist plugin test PLUGIN.wasm --cases cases.jsonl` runs against the built
//! component, here run against the policy's Rust code by `cargo test`.
//!
//! One JSON object per line (blank lines and lines starting with `#` or `//`
//! are skipped):
//!
//! ```json
//! {"name": "listed test number is free",
//!  "settings": {"numbers": ["+5511999990000"]},
//!  "fact": {"user": "+5511999990000", "at": "2026-10-05T12:00:00Z", "kind": "template", "template_category": "marketing"},
//!  "so_far": {"billable": true, "category": "marketing", "pricing_type": "regular"},
//!  "expect": {"billable": false, "category": "marketing", "pricing_type": "not_billable", "note": "internal test number"}}
//! ```
//!
//! - `settings` (optional) replaces the default settings for the case.
//! - `fact`: `user` and `at` (RFC 3339) are required; the rest default as the
//!   host tool defaults them: `business_number` `+15550000000`, `side` `api`,
//!   `direction` `outbound`, `kind` `text`, `template_category` null,
//!   `local_date` the UTC date of `at`, `recipient_country` and
//!   `recipient_market` "", `status`, `open_conversations` and `features` empty
//!   lists of flag names, `allowance_used` 0, `waba` and `business_country`
//!   those of [`testing`](super).
//!   `regime` names a regime the host resolves from its bundled policy files;
//!   natively every case runs under per-message pricing with nothing charged
//!   beyond templates (test regime-specific rules with the host tool).
//! - `so_far` (optional): `billable` (false), `category` (`none`),
//!   `pricing_type` (`not_billable`), `violations` (`[]`, each with `code`,
//!   `action`, and optional `feature` and `text`), `note` (null).
//! - `expect`: `billable`, `category` and `pricing_type` are required;
//!   `violations`, when given, is the exact list (code and action, plus
//!   `feature` and `text` where given); `note`, when given, is compared (null:
//!   no note).

use std::fmt::Write as _;

use serde::Deserialize;

use crate::{
    Action, BilledCategory, Conversations, Decisions, Direction, Fact, Features, Note, Policy, PricingModel,
    PricingType, Regime, Side, Status, TemplateCategory, Violation,
};

/// Runs every golden case of `cases_jsonl` against `P`, with `default_settings`
/// (JSON) for the cases that give none; returns how many passed, or a report
/// naming every failing case and what differs.
pub fn check_cases<P: Policy>(cases_jsonl: &str, default_settings: &str) -> Result<usize, String> {
    let mut report = String::new();
    let mut passed = 0;
    for (number, line) in (1..).zip(cases_jsonl.lines()) {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        match run_case::<P>(line, default_settings) {
            Ok(()) => passed += 1,
            Err(why) => {
                let _ = writeln!(report, "line {number}: {why}");
            }
        }
    }
    if report.is_empty() {
        Ok(passed)
    } else {
        Err(report)
    }
}

/// [`check_cases`], as a test: panics with the report when a case fails, or when
/// there is no case at all.
pub fn assert_cases<P: Policy>(cases_jsonl: &str, default_settings: &str) {
    match check_cases::<P>(cases_jsonl, default_settings) {
        Ok(0) => panic!("no golden case found"),
        Ok(_) => {}
        Err(report) => panic!("golden cases failed:\n{report}"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    settings: Option<serde_json::Value>,
    fact: CaseFact,
    #[serde(default)]
    so_far: SoFar,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFact {
    user: String,
    at: String,
    #[serde(default = "default_business_number")]
    business_number: String,
    #[serde(default = "api")]
    side: String,
    #[serde(default = "outbound")]
    direction: String,
    #[serde(default = "text")]
    kind: String,
    #[serde(default)]
    template_category: Option<String>,
    #[serde(default)]
    local_date: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    regime: Option<String>,
    #[serde(default)]
    recipient_country: String,
    #[serde(default)]
    recipient_market: String,
    #[serde(default)]
    status: Vec<String>,
    #[serde(default)]
    open_conversations: Vec<String>,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default)]
    allowance_used: u32,
    #[serde(default = "default_waba")]
    waba: String,
    #[serde(default = "default_business_country")]
    business_country: String,
}

fn default_business_number() -> String {
    "+15550000000".to_owned()
}
fn default_waba() -> String {
    super::WABA.to_owned()
}
fn default_business_country() -> String {
    super::BUSINESS_COUNTRY.to_owned()
}
fn api() -> String {
    "api".to_owned()
}
fn outbound() -> String {
    "outbound".to_owned()
}
fn text() -> String {
    "text".to_owned()
}
fn none() -> String {
    "none".to_owned()
}
fn not_billable() -> String {
    "not_billable".to_owned()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SoFar {
    #[serde(default)]
    billable: bool,
    #[serde(default = "none")]
    category: String,
    #[serde(default = "not_billable")]
    pricing_type: String,
    #[serde(default)]
    violations: Vec<CaseViolation>,
    #[serde(default)]
    note: Option<String>,
}

impl Default for SoFar {
    fn default() -> Self {
        SoFar { billable: false, category: none(), pricing_type: not_billable(), violations: Vec::new(), note: None }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseViolation {
    code: String,
    action: Action,
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    billable: bool,
    category: BilledCategory,
    pricing_type: PricingType,
    #[serde(default)]
    violations: Option<Vec<CaseViolation>>,
    /// Absent: not compared; `null`: no note.
    #[serde(default, deserialize_with = "present")]
    note: Option<Option<String>>,
}

/// Tells a `null` (`Some(None)`) from an absent key (`None`, by `default`).
fn present<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(deserializer).map(Some)
}

fn run_case<P: Policy>(line: &str, default_settings: &str) -> Result<(), String> {
    let case: Case = serde_json::from_str(line).map_err(|e| format!("not a golden case: {e}"))?;
    let name = &case.name;
    let settings = match &case.settings {
        Some(settings) => settings.to_string(),
        None => default_settings.to_owned(),
    };
    let fact = case.fact.fact().map_err(|e| format!("`{name}`: fact: {e}"))?;
    let so_far = case.so_far.decisions().map_err(|e| format!("`{name}`: so_far: {e}"))?;
    let batch = (case.fact.waba.as_str(), case.fact.business_country.as_str());
    let out = super::decide_in_batch::<P>(&settings, batch, std::slice::from_ref(&fact), so_far)
        .map_err(|e| format!("`{name}`: {e}"))?;
    let differences = case.expect.differences(&out);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(format!("`{name}`:\n{differences}"))
    }
}

impl CaseFact {
    fn fact(&self) -> Result<Fact<'_>, String> {
        let at_ms = parse_rfc3339_ms(&self.at).ok_or_else(|| format!("`at`: not an RFC 3339 time: {}", self.at))?;
        let local_day = match &self.local_date {
            Some(date) => parse_date(date).ok_or_else(|| format!("`local_date`: not a YYYY-MM-DD date: {date}"))?,
            None => i32::try_from(at_ms.div_euclid(MS_PER_DAY)).map_err(|_| "`at`: out of range".to_owned())?,
        };
        Ok(Fact {
            business_number: &self.business_number,
            user: &self.user,
            kind: &self.kind,
            side: match self.side.as_str() {
                "api" => Side::Api,
                "app" => Side::App,
                other => return Err(format!("`side`: `{other}` is neither api nor app")),
            },
            direction: match self.direction.as_str() {
                "outbound" => Direction::Outbound,
                "inbound" => Direction::Inbound,
                other => return Err(format!("`direction`: `{other}` is neither outbound nor inbound")),
            },
            template_category: match self.template_category.as_deref() {
                None => None,
                Some("marketing") => Some(TemplateCategory::Marketing),
                Some("utility") => Some(TemplateCategory::Utility),
                Some("authentication") => Some(TemplateCategory::Authentication),
                Some(other) => return Err(format!("`template_category`: unknown `{other}`")),
            },
            at_ms,
            local_day,
            regime: Regime {
                id: u32::MAX,
                model: PricingModel::PerMessage,
                service_charged: false,
                utility_in_window_charged: false,
                free_allowance: 0,
            },
            recipient_country: &self.recipient_country,
            recipient_market: &self.recipient_market,
            status: status(&self.status)?,
            open_conversations: flags(&self.open_conversations, Conversations::NAMED, "open_conversations")?,
            features: flags(&self.features, Features::NAMED, "features")?,
            allowance_used: self.allowance_used,
        })
    }
}

fn status(names: &[String]) -> Result<Status, String> {
    let mut status = Status::default();
    for name in names {
        let flag = match name.as_str() {
            "csw_open" => &mut status.csw_open,
            "fep_open" => &mut status.fep_open,
            "auth_intl_eligible" => &mut status.auth_intl_eligible,
            "coexistence" => &mut status.coexistence,
            "history" => &mut status.history,
            other => return Err(format!("`status`: unknown `{other}`")),
        };
        *flag = true;
    }
    Ok(status)
}

/// The flags named (snake_case) in `names`, out of `named` (the SDK's `NAMED`, upper case).
fn flags<F: Copy + Default + std::ops::BitOrAssign>(
    names: &[String],
    named: &[(&str, F)],
    key: &str,
) -> Result<F, String> {
    let mut flags = F::default();
    for name in names {
        let Some(&(_, flag)) = named.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) else {
            return Err(format!("`{key}`: unknown `{name}`"));
        };
        flags |= flag;
    }
    Ok(flags)
}

impl SoFar {
    fn decisions(&self) -> Result<Decisions, String> {
        let category =
            BilledCategory::from_name(&self.category).ok_or_else(|| format!("unknown category `{}`", self.category))?;
        let pricing_type = PricingType::from_name(&self.pricing_type)
            .ok_or_else(|| format!("unknown pricing type `{}`", self.pricing_type))?;
        Ok(Decisions {
            billable: vec![u8::from(self.billable)],
            category: vec![category.code()],
            pricing_type: vec![pricing_type.code()],
            violations: self
                .violations
                .iter()
                .map(|v| Violation {
                    message: 0,
                    code: v.code.clone(),
                    feature: v.feature.clone().unwrap_or_default(),
                    text: v.text.clone().unwrap_or_default(),
                    action: v.action,
                })
                .collect(),
            notes: self.note.iter().map(|text| Note { message: 0, text: text.clone() }).collect(),
        })
    }
}

impl Expect {
    /// What `out` (one decision) gets wrong, one line each; empty when nothing.
    fn differences(&self, out: &Decisions) -> String {
        let mut report = String::new();
        let mut differ = |what: &str, expected: &dyn std::fmt::Debug, got: &dyn std::fmt::Debug| {
            let _ = writeln!(report, "  {what}: expected {expected:?}, got {got:?}");
        };
        if out.is_billable(0) != self.billable {
            differ("billable", &self.billable, &out.is_billable(0));
        }
        if out.category_of(0) != Some(self.category) {
            differ("category", &self.category.name(), &out.category_of(0).map(BilledCategory::name));
        }
        if out.pricing_type_of(0) != Some(self.pricing_type) {
            differ("pricing_type", &self.pricing_type.name(), &out.pricing_type_of(0).map(PricingType::name));
        }
        if let Some(expected) = &self.violations {
            let got: Vec<&Violation> = out.violations_of(0).collect();
            let matches = expected.len() == got.len()
                && expected.iter().zip(&got).all(|(e, g)| {
                    e.code == g.code
                        && e.action == g.action
                        && e.feature.as_ref().is_none_or(|f| *f == g.feature)
                        && e.text.as_ref().is_none_or(|t| *t == g.text)
                });
            if !matches {
                let expected: Vec<String> = expected.iter().map(|v| format!("{} ({})", v.code, v.action)).collect();
                let got: Vec<String> =
                    got.iter().map(|v| format!("{} ({}, {:?}, {:?})", v.code, v.action, v.feature, v.text)).collect();
                differ("violations", &expected, &got);
            }
        }
        if let Some(expected) = &self.note {
            if out.note_of(0) != expected.as_deref() {
                differ("note", expected, &out.note_of(0));
            }
        }
        report
    }
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYY-MM-DD` as days since 1970-01-01.
fn parse_date(text: &str) -> Option<i32> {
    let days = parse_ymd(text.as_bytes())?;
    i32::try_from(days).ok()
}

fn parse_ymd(bytes: &[u8]) -> Option<i64> {
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (number(&bytes[0..4])?, number(&bytes[5..7])?, number(&bytes[8..10])?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// Decimal digits only.
fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// `YYYY-MM-DDTHH:MM:SS[.fff...](Z|±HH:MM)` as milliseconds since the unix epoch.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || !matches!(bytes[10], b'T' | b't' | b' ') || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let days = parse_ymd(&bytes[..10])?;
    let (hour, minute, second) = (number(&bytes[11..13])?, number(&bytes[14..16])?, number(&bytes[17..19])?);
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &bytes[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        let first_three: Vec<u8> = fraction[..digits].iter().copied().chain(std::iter::repeat(b'0')).take(3).collect();
        millis = number(&first_three)?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = number(&[*h1, *h2])? * 60 + number(&[*m1, *m2])?;
            if *sign == b'+' {
                minutes
            } else {
                -minutes
            }
        }
        _ => return None,
    };
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1_000 + millis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decision;

    #[test]
    fn times_and_dates_parse_as_utc() {
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("2026-10-05T12:00:00Z"), Some(1_791_201_600_000));
        assert_eq!(parse_rfc3339_ms("2026-10-05T12:00:00.25Z"), Some(1_791_201_600_250));
        assert_eq!(parse_rfc3339_ms("2026-10-05T09:00:00-03:00"), Some(1_791_201_600_000));
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1_000));
        for bad in ["2026-10-05", "2026-10-05T12:00:00", "2026-13-05T12:00:00Z", "2026-10-05T12:00:00+0300", "x"] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
        assert_eq!(parse_date("2026-10-05"), Some(20_731));
        assert_eq!(parse_date("2000-02-29"), Some(11_016));
        assert_eq!(parse_date("2026-1-05"), None);
    }

    /// Makes marketing templates to `+1` free, and flags inbound messages.
    struct Sample;

    impl Policy for Sample {
        const NAME: &'static str = "sample";
        const VERSION: &'static str = "0.0.1";
        type Settings = ();

        fn decide(_: &(), fact: &Fact<'_>, decision: &mut Decision<'_>) {
            if fact.user == "+1" && fact.template_category == Some(TemplateCategory::Marketing) {
                decision.make_free(PricingType::FreeEntryPoint, "sample");
            }
            if fact.direction == Direction::Inbound
                && fact.features.contains(Features::VIEW_ONCE)
                && fact.status.fep_open
            {
                decision.violation("sample.inbound").feature("view_once").flag();
            }
        }
    }

    const CASES: &str = r#"
# comments and blank lines are skipped

{"name": "free", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z", "kind": "template", "template_category": "marketing"}, "so_far": {"billable": true, "category": "marketing", "pricing_type": "regular"}, "expect": {"billable": false, "category": "marketing", "pricing_type": "free_entry_point", "violations": [], "note": "sample"}}
{"name": "untouched", "fact": {"user": "+2", "at": "2026-10-05T12:00:00Z"}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable", "note": null}}
{"name": "flags", "fact": {"user": "+2", "at": "2026-10-05T12:00:00Z", "direction": "inbound", "features": ["view_once", "edit"], "status": ["fep_open"], "open_conversations": ["service"]}, "so_far": {"violations": [{"code": "x.y", "action": "block"}], "note": "kept"}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable", "violations": [{"code": "x.y", "action": "block"}, {"code": "sample.inbound", "action": "flag", "feature": "view_once"}], "note": "kept"}}
"#;

    #[test]
    fn passing_cases_pass() {
        assert_eq!(check_cases::<Sample>(CASES, "{}"), Ok(3));
        assert_cases::<Sample>(CASES, "{}");
    }

    #[test]
    fn failing_cases_are_reported_with_their_differences() {
        let wrong = CASES
            .replace(r#""pricing_type": "free_entry_point""#, r#""pricing_type": "regular""#)
            .replace(r#""note": "kept"}}"#, r#""note": null}}"#);
        let report = check_cases::<Sample>(&wrong, "{}").unwrap_err();
        assert!(
            report.contains("line 4: `free`:\n  pricing_type: expected \"regular\", got Some(\"free_entry_point\")"),
            "{report}"
        );
        assert!(report.contains("line 6: `flags`:\n  note: expected None, got Some(\"kept\")"), "{report}");
        assert!(!report.contains("untouched"), "{report}");
    }

    #[test]
    fn malformed_cases_are_reported() {
        for (line, named) in [
            (
                r#"{"name": "a", "fact": {"user": "+1"}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable"}}"#,
                "missing field `at`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "x"}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable"}}"#,
                "`at`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z", "side": "web"}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable"}}"#,
                "`side`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z", "features": ["groups"]}, "expect": {"billable": false, "category": "none", "pricing_type": "not_billable"}}"#,
                "`features`: unknown `groups`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z"}, "expect": {"billable": false, "category": "nothing", "pricing_type": "not_billable"}}"#,
                "unknown variant `nothing`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z"}, "expect": {"billable": false, "category": "none"}}"#,
                "missing field `pricing_type`",
            ),
            (
                r#"{"name": "a", "fact": {"user": "+1", "at": "2026-10-05T12:00:00Z"}, "expected": {}}"#,
                "unknown field `expected`",
            ),
        ] {
            let report = check_cases::<Sample>(line, "{}").unwrap_err();
            assert!(report.contains(named), "{line}: {report}");
        }
        assert_eq!(check_cases::<Sample>("", "{}"), Ok(0));
    }
}
