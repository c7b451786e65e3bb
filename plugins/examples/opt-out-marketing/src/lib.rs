//! Example plugin `opt-out-marketing`: no marketing to customers who opted out.
//!
//! A marketing template sent through the Cloud API (API side, outbound) to a
//! customer in `opted_out` gets the violation `acme.marketing_opted_out`
//! (feature `marketing`) with the configured action. With `block` the message
//! must not be sent, so it is also made not billable (its category kept).
//! Everything else is left as it is: other templates, app-side and inbound
//! messages, and customers who did not opt out.
//!
//! Settings: `{"opted_out": ["+5511977776666", ...], "action": "flag" | "block" | "allow"}`;
//! the action defaults to `flag`.

use coexist_plugin_sdk::{Action, Decision, Direction, Fact, Policy, Side, TemplateCategory};
use serde::Deserialize;

/// The violation this plugin reports.
pub const CODE: &str = "acme.marketing_opted_out";
const TEXT: &str = "The customer opted out of marketing messages; do not send them marketing templates.";

/// The plugin's settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The customers who opted out of marketing, E.164 with `+`.
    #[serde(default)]
    pub opted_out: Vec<String>,
    /// What to do with a marketing template to one of them.
    #[serde(default = "flag")]
    pub action: Action,
}

fn flag() -> Action {
    Action::Flag
}

impl Default for Settings {
    fn default() -> Self {
        Settings { opted_out: Vec::new(), action: flag() }
    }
}

/// The policy: marketing templates to opted-out customers are flagged or blocked.
pub struct OptOutMarketing;

impl Policy for OptOutMarketing {
    const NAME: &'static str = "opt-out-marketing";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Settings = Settings;

    fn decide(settings: &Settings, fact: &Fact<'_>, decision: &mut Decision<'_>) {
        let marketing_send = fact.side == Side::Api
            && fact.direction == Direction::Outbound
            && fact.template_category == Some(TemplateCategory::Marketing);
        if !marketing_send || !settings.opted_out.iter().any(|user| user == fact.user) {
            return;
        }
        decision.violation(CODE).feature("marketing").text(TEXT).action(settings.action);
        if settings.action == Action::Block {
            decision.make_not_billable();
        }
    }
}

coexist_plugin_sdk::export_policy!(OptOutMarketing);

#[cfg(test)]
mod tests {
    use coexist_plugin_sdk::{testing, BilledCategory, Decisions, PricingType};

    use super::*;

    const OPTED_OUT: &str = "+5511977776666";

    fn settings(action: &str) -> String {
        format!(r#"{{"opted_out": ["{OPTED_OUT}"], "action": "{action}"}}"#)
    }

    fn marketing(user: &str) -> Fact<'_> {
        Fact { user, kind: "template", template_category: Some(TemplateCategory::Marketing), ..testing::fact() }
    }

    fn violations(out: &Decisions) -> Vec<(&str, &str, Action)> {
        out.violations_of(0).map(|v| (v.code.as_str(), v.feature.as_str(), v.action)).collect()
    }

    #[test]
    fn flagging_keeps_the_billing() {
        let so_far = testing::billed(BilledCategory::Marketing);
        let out = testing::decide::<OptOutMarketing>(&settings("flag"), &marketing(OPTED_OUT), &so_far);
        assert_eq!(violations(&out), [(CODE, "marketing", Action::Flag)]);
        assert_eq!((out.billable.as_slice(), out.pricing_type_of(0)), (&[1][..], Some(PricingType::Regular)));
    }

    #[test]
    fn blocking_makes_the_message_not_billable() {
        let so_far = testing::billed(BilledCategory::Marketing);
        let out = testing::decide::<OptOutMarketing>(&settings("block"), &marketing(OPTED_OUT), &so_far);
        assert_eq!(violations(&out), [(CODE, "marketing", Action::Block)]);
        assert!(!out.is_billable(0));
        assert_eq!(out.category_of(0), Some(BilledCategory::Marketing));
        assert_eq!(out.pricing_type_of(0), Some(PricingType::NotBillable));
    }

    #[test]
    fn the_action_defaults_to_flag() {
        let out = testing::decide::<OptOutMarketing>(
            &format!(r#"{{"opted_out": ["{OPTED_OUT}"]}}"#),
            &marketing(OPTED_OUT),
            &testing::blank(),
        );
        assert_eq!(violations(&out), [(CODE, "marketing", Action::Flag)]);
    }

    #[test]
    fn other_messages_are_left_as_they_are() {
        let so_far = testing::billed(BilledCategory::Utility);
        let utility = Fact { template_category: Some(TemplateCategory::Utility), ..marketing(OPTED_OUT) };
        let app_side = Fact { side: Side::App, ..marketing(OPTED_OUT) };
        let inbound = Fact { direction: Direction::Inbound, ..marketing(OPTED_OUT) };
        let text = Fact { user: OPTED_OUT, ..testing::fact() };
        for fact in [utility, app_side, inbound, text, marketing("+5511911112222")] {
            assert_eq!(testing::decide::<OptOutMarketing>(&settings("block"), &fact, &so_far), so_far, "{fact:?}");
        }
    }

    #[test]
    fn settings_errors_name_the_key() {
        let err =
            testing::try_decide::<OptOutMarketing>(&settings("warn"), &testing::fact(), &testing::blank()).unwrap_err();
        assert_eq!(err.path(), "action");
        assert!(err.message().contains("unknown variant `warn`, expected one of `allow`, `flag`, `block`"), "{err}");
    }

    #[test]
    fn golden_cases_pass() {
        testing::assert_cases::<OptOutMarketing>(include_str!("../cases.jsonl"), "{}");
    }
}
