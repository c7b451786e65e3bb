//! Golden cases: one message's facts, the decisions so far, and the decision
//! a plugin must return, checked against the real component.
//!
//! A case file is JSON lines (`coexist plugin test PLUGIN.wasm --cases FILE`):
//!
//! ```json
//! {"name": "listed test number is free",
//!  "settings": {"numbers": ["+5511999990000"]},
//!  "fact": {"user": "+5511999990000", "at": "2026-10-05T12:00:00Z", "kind": "template",
//!           "template_category": "marketing", "recipient_market": "Brazil"},
//!  "so_far": {"billable": true, "category": "marketing", "pricing_type": "regular"},
//!  "expect": {"billable": false, "category": "marketing", "pricing_type": "not_billable",
//!             "violations": [], "note": "internal test number"}}
//! ```
//!
//! Only `fact.user` and `fact.at` are required in a fact; the defaults are
//! those of [`CaseFact`]. `so_far` defaults to an undecided message (what the
//! first plugin of a pipeline sees). In `expect`, `billable`, `category` and
//! `pricing_type` are always compared; `violations` (code and action, plus
//! feature and text when given) and `note` only when the case gives them.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer};

use super::abi::{
    conversation_bits, status_bits, BatchBuilder, Fact, WitDecisions, WitNote, WitRegimeSource, WitViolation,
};
use super::{LoadedPlugin, PluginError};
use crate::decision::{Action, BilledCategory, Decision, PricingType};
use crate::event::{Direction, Feature, Features, Side, TemplateCategory};
use crate::intern::Name;
use crate::phone::{parse_user, PhoneNumber};
use crate::policy::Regimes;

/// One golden case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoldenCase {
    pub name: String,
    /// Settings for this case (a JSON object); they replace the file-wide ones.
    #[serde(default)]
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
    pub fact: CaseFact,
    #[serde(default)]
    pub so_far: Option<CaseDecision>,
    pub expect: Expected,
}

/// A message's facts, with defaults for everything but `user` and `at`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFact {
    /// The customer: E.164 with `+`, or a business-scoped user id.
    pub user: String,
    pub at: DateTime<Utc>,
    /// Default `+15550000000`.
    #[serde(default = "default_business_number")]
    pub business_number: String,
    /// Default `api`.
    #[serde(default = "default_side")]
    pub side: Side,
    /// Default `outbound`.
    #[serde(default = "default_direction")]
    pub direction: Direction,
    /// Default `text`.
    #[serde(default = "default_kind")]
    pub kind: String,
    #[serde(default)]
    pub template_category: Option<TemplateCategory>,
    /// Default: the UTC date of `at`.
    #[serde(default)]
    pub local_date: Option<NaiveDate>,
    /// A regime id from `regimes.toml`; default: the one in force on `local_date`.
    #[serde(default)]
    pub regime: Option<String>,
    #[serde(default)]
    pub recipient_country: String,
    #[serde(default)]
    pub recipient_market: String,
    #[serde(default)]
    pub status: Vec<StatusFlag>,
    #[serde(default)]
    pub open_conversations: Vec<ConversationFlag>,
    #[serde(default)]
    pub features: Vec<Feature>,
    #[serde(default)]
    pub allowance_used: u32,
    /// Default `1000`.
    #[serde(default = "default_waba")]
    pub waba: String,
    #[serde(default)]
    pub business_country: String,
}

fn default_business_number() -> String {
    "+15550000000".to_owned()
}
fn default_side() -> Side {
    Side::Api
}
fn default_direction() -> Direction {
    Direction::Outbound
}
fn default_kind() -> String {
    "text".to_owned()
}
fn default_waba() -> String {
    "1000".to_owned()
}

/// The contract's `status` flags, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFlag {
    CswOpen,
    FepOpen,
    AuthIntlEligible,
    Coexistence,
    History,
}

/// The contract's `conversations` flags, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationFlag {
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
    Service,
}

/// The decisions so far for the case's message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDecision {
    pub billable: bool,
    pub category: BilledCategory,
    pub pricing_type: PricingType,
    #[serde(default)]
    pub violations: Vec<CaseViolation>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A violation in the decisions so far.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseViolation {
    pub code: String,
    #[serde(default)]
    pub feature: String,
    #[serde(default)]
    pub text: String,
    pub action: Action,
}

/// The decision the plugin must return.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub billable: bool,
    pub category: BilledCategory,
    pub pricing_type: PricingType,
    /// When given, the exact list of violations.
    #[serde(default)]
    pub violations: Option<Vec<ExpectedViolation>>,
    /// When given: `null` for no note, else the note.
    #[serde(default, deserialize_with = "present")]
    pub note: Option<Option<String>>,
}

/// An expected violation: code and action always, feature and text when given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedViolation {
    pub code: String,
    pub action: Action,
    #[serde(default)]
    pub feature: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// Tells a field given as `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A case file that cannot be read: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}:{line}: {message}")]
pub struct CaseFileError {
    pub source_name: String,
    pub line: usize,
    pub message: String,
}

/// Parses a JSON-lines case file; blank lines and lines starting with `#` or
/// `//` are skipped. Each case comes with its 1-based line number.
pub fn parse_cases(source_name: &str, text: &str) -> Result<Vec<(usize, GoldenCase)>, CaseFileError> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        let de = &mut serde_json::Deserializer::from_str(trimmed);
        let case: GoldenCase = serde_path_to_error::deserialize(de).map_err(|e| CaseFileError {
            source_name: source_name.to_owned(),
            line: i + 1,
            message: format!("at `{}`: {}", e.path(), e.inner()),
        })?;
        cases.push((i + 1, case));
    }
    if cases.is_empty() {
        return Err(CaseFileError { source_name: source_name.to_owned(), line: 0, message: "no cases".into() });
    }
    Ok(cases)
}

/// What went wrong running a case (not a wrong answer: that is a diff).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("the fact is invalid: {0}")]
    Fact(String),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// Runs `plugin` (already configured with the case's settings) on the case's
/// message and returns its decision.
pub fn decide(plugin: &LoadedPlugin, regimes: &Regimes, case: &GoldenCase) -> Result<Decision, CaseError> {
    let f = &case.fact;
    let business_number =
        PhoneNumber::parse(&f.business_number).map_err(|e| CaseError::Fact(format!("business_number: {e}")))?;
    let user = parse_user(&f.user).map_err(|e| CaseError::Fact(format!("user: {e}")))?;
    let local_date = f.local_date.unwrap_or_else(|| f.at.date_naive());
    let regime = match &f.regime {
        Some(id) => regimes.all().iter().find(|r| r.id.as_str() == id).ok_or_else(|| {
            let known: Vec<&str> = regimes.all().iter().map(|r| r.id.as_str()).collect();
            CaseError::Fact(format!("regime `{id}` is not one of {known:?}"))
        })?,
        None => {
            regimes.find(local_date).ok_or_else(|| CaseError::Fact(format!("no regime is in force on {local_date}")))?
        }
    };
    let mut features = Features::default();
    for feature in &f.features {
        features.insert(*feature);
    }
    let fact = Fact {
        business_number: &business_number,
        user: &user,
        kind: &f.kind,
        side: f.side,
        direction: f.direction,
        template_category: f.template_category,
        at_ms: f.at.timestamp_millis(),
        local_day: days_since_epoch(local_date),
        regime: WitRegimeSource {
            id: regime.id,
            model: regime.model,
            service_charged: regime.service_charged,
            utility_in_window_charged: regime.utility_in_window_charged,
            free_allowance: regime.free_allowance,
        },
        recipient_country: Name::new(&f.recipient_country),
        recipient_market: Name::new(&f.recipient_market),
        status: f.status.iter().map(|s| status_bit(*s)).fold(0, |a, b| a | b),
        open_conversations: f.open_conversations.iter().map(|c| conversation_bit(*c)).fold(0, |a, b| a | b),
        features,
        allowance_used: f.allowance_used,
    };
    let mut builder = BatchBuilder::default();
    builder.push(fact);
    builder.seal();
    let batch = builder.batch(&f.waba, &f.business_country);
    let so_far = so_far_decisions(case.so_far.as_ref());
    let out = plugin.call(&batch, &so_far)?;
    Ok(out.into_decisions().into_iter().next().expect("the plugin's decisions were checked to have one row"))
}

/// Compares a decision with the expected one; each difference is one readable line.
pub fn diff(expected: &Expected, got: &Decision) -> Vec<String> {
    let mut lines = Vec::new();
    if expected.billable != got.billable {
        lines.push(format!("billable:     expected {}, got {}", expected.billable, got.billable));
    }
    if expected.category != got.category {
        lines.push(format!("category:     expected {}, got {}", expected.category.as_str(), got.category.as_str()));
    }
    if expected.pricing_type != got.pricing_type {
        lines.push(format!(
            "pricing_type: expected {}, got {}",
            pricing_type_name(expected.pricing_type),
            pricing_type_name(got.pricing_type)
        ));
    }
    if let Some(want) = &expected.violations {
        let matches = want.len() == got.violations.len()
            && want.iter().zip(&got.violations).all(|(w, g)| {
                w.code == g.code
                    && w.action == g.action
                    && w.feature.as_ref().is_none_or(|f| *f == g.feature)
                    && w.text.as_ref().is_none_or(|t| *t == g.message)
            });
        if !matches {
            let wanted: Vec<String> = want.iter().map(|v| format!("{} ({})", v.code, action_name(v.action))).collect();
            let found: Vec<String> = got
                .violations
                .iter()
                .map(|v| format!("{} ({}): {}", v.code, action_name(v.action), v.message))
                .collect();
            lines.push(format!(
                "violations:   expected [{}]\n              got      [{}]",
                wanted.join(", "),
                found.join(", ")
            ));
        }
    }
    if let Some(want) = &expected.note {
        if *want != got.note {
            lines.push(format!("note:         expected {want:?}, got {:?}", got.note));
        }
    }
    lines
}

fn so_far_decisions(so_far: Option<&CaseDecision>) -> WitDecisions {
    let Some(d) = so_far else { return WitDecisions::undecided(1) };
    WitDecisions {
        billable: vec![u8::from(d.billable)],
        category: vec![d.category.code()],
        pricing_type: vec![d.pricing_type.code()],
        violations: d
            .violations
            .iter()
            .map(|v| WitViolation {
                message: 0,
                code: v.code.clone(),
                feature: v.feature.clone(),
                text: v.text.clone(),
                action: v.action,
            })
            .collect(),
        notes: d.note.iter().map(|text| WitNote { message: 0, text: text.clone() }).collect(),
    }
}

fn status_bit(s: StatusFlag) -> u8 {
    match s {
        StatusFlag::CswOpen => status_bits::CSW_OPEN,
        StatusFlag::FepOpen => status_bits::FEP_OPEN,
        StatusFlag::AuthIntlEligible => status_bits::AUTH_INTL_ELIGIBLE,
        StatusFlag::Coexistence => status_bits::COEXISTENCE,
        StatusFlag::History => status_bits::HISTORY,
    }
}

fn conversation_bit(c: ConversationFlag) -> u8 {
    match c {
        ConversationFlag::Marketing => conversation_bits::MARKETING,
        ConversationFlag::Utility => conversation_bits::UTILITY,
        ConversationFlag::Authentication => conversation_bits::AUTHENTICATION,
        ConversationFlag::AuthenticationInternational => conversation_bits::AUTHENTICATION_INTERNATIONAL,
        ConversationFlag::Service => conversation_bits::SERVICE,
    }
}

fn days_since_epoch(date: NaiveDate) -> i32 {
    (date - NaiveDate::default()).num_days() as i32
}

fn pricing_type_name(p: PricingType) -> String {
    serde_json::to_value(p).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| format!("{p:?}"))
}

fn action_name(a: Action) -> &'static str {
    match a {
        Action::Allow => "allow",
        Action::Flag => "flag",
        Action::Block => "block",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_case_needs_only_user_and_at() {
        let cases = parse_cases(
            "c.jsonl",
            "# comment\n{\"name\":\"n\",\"fact\":{\"user\":\"+5511999990000\",\"at\":\"2026-10-05T12:00:00Z\"},\
             \"expect\":{\"billable\":false,\"category\":\"none\",\"pricing_type\":\"not_billable\"}}\n",
        )
        .unwrap();
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].0, 2, "line numbers count the skipped lines");
        let fact = &cases[0].1.fact;
        assert_eq!((fact.side, fact.direction, fact.kind.as_str()), (Side::Api, Direction::Outbound, "text"));
        assert!(cases[0].1.expect.note.is_none() && cases[0].1.expect.violations.is_none());
    }

    #[test]
    fn a_bad_line_names_the_line_and_the_field() {
        let err = parse_cases(
            "c.jsonl",
            "{\"name\":\"n\",\"fact\":{\"user\":\"+55\",\"at\":\"2026-10-05T12:00:00Z\",\"side\":\"phone\"},\
             \"expect\":{\"billable\":false,\"category\":\"none\",\"pricing_type\":\"not_billable\"}}",
        )
        .unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.message.contains("fact.side") && err.message.contains("phone"), "{err}");
    }

    #[test]
    fn a_null_note_is_told_from_a_missing_one() {
        let expect: Expected =
            serde_json::from_str(r#"{"billable":false,"category":"none","pricing_type":"not_billable","note":null}"#)
                .unwrap();
        assert_eq!(expect.note, Some(None));
    }

    #[test]
    fn the_diff_shows_each_difference() {
        let expect: Expected = serde_json::from_str(
            r#"{"billable":false,"category":"marketing","pricing_type":"not_billable",
                "violations":[{"code":"acme.x","action":"flag"}],"note":"n"}"#,
        )
        .unwrap();
        let got = Decision {
            billable: true,
            category: BilledCategory::Marketing,
            pricing_type: PricingType::Regular,
            violations: Vec::new(),
            note: None,
        };
        let lines = diff(&expect, &got);
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[0].contains("expected false, got true"));
        assert!(lines[1].contains("expected not_billable, got regular"));
        assert!(lines[2].contains("acme.x (flag)"));
        assert!(lines[3].contains("\"n\""));
    }
}
