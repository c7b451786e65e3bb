//! Example plugin `test-numbers-free`: the business's own test numbers are never billed.
//!
//! Any message to or from a listed customer number (the fact's `user`) is made
//! free: not billable, pricing type `not_billable`, its category kept, with the
//! note "internal test number". Every other message is left as it is.
//!
//! Settings: `{"numbers": ["+5511999990000", ...]}`, E.164 numbers.

use coexist_plugin_sdk::{Decision, Fact, Policy, PricingType, SettingsError};
use serde::Deserialize;

/// The note on every message this plugin makes free.
pub const NOTE: &str = "internal test number";

/// The plugin's settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The test numbers, E.164 with `+`.
    pub numbers: Vec<String>,
}

/// The policy: listed numbers are free.
pub struct TestNumbersFree;

impl Policy for TestNumbersFree {
    const NAME: &'static str = "test-numbers-free";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), SettingsError> {
        match settings.numbers.iter().position(|number| !is_e164(number)) {
            Some(i) => {
                Err(SettingsError::new(format!("numbers[{i}]"), "expected an E.164 number, e.g. +5511999990000"))
            }
            None => Ok(()),
        }
    }

    fn decide(settings: &Settings, fact: &Fact<'_>, decision: &mut Decision<'_>) {
        if settings.numbers.iter().any(|number| number == fact.user) {
            decision.make_free(PricingType::NotBillable, NOTE);
        }
    }
}

/// `+` and 8 to 15 digits.
fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

coexist_plugin_sdk::export_policy!(TestNumbersFree);

#[cfg(test)]
mod tests {
    use coexist_plugin_sdk::{testing, BilledCategory, Direction, Fact, Side, TemplateCategory};

    use super::*;

    const SETTINGS: &str = r#"{"numbers": ["+5511999990000", "+5511988887777"]}"#;

    fn marketing_to(user: &str) -> Fact<'_> {
        Fact { user, kind: "template", template_category: Some(TemplateCategory::Marketing), ..testing::fact() }
    }

    #[test]
    fn a_listed_number_is_free_with_its_category_kept() {
        let out = testing::decide::<TestNumbersFree>(
            SETTINGS,
            &marketing_to("+5511999990000"),
            &testing::billed(BilledCategory::Marketing),
        );
        assert!(!out.is_billable(0));
        assert_eq!(out.category_of(0), Some(BilledCategory::Marketing));
        assert_eq!(out.pricing_type_of(0), Some(PricingType::NotBillable));
        assert_eq!(out.note_of(0), Some(NOTE));
        assert_eq!(out.violations, []);
    }

    #[test]
    fn messages_from_a_listed_number_are_free_too() {
        let inbound = Fact { direction: Direction::Inbound, side: Side::Api, ..testing::fact() };
        let out = testing::decide::<TestNumbersFree>(SETTINGS, &inbound, &testing::blank());
        assert_eq!((out.is_billable(0), out.note_of(0)), (false, Some(NOTE)));
    }

    #[test]
    fn other_numbers_are_left_as_they_are() {
        let so_far = testing::billed(BilledCategory::Utility);
        for user in ["+5511999990001", "+551199999000", "5511999990000", ""] {
            assert_eq!(testing::decide::<TestNumbersFree>(SETTINGS, &marketing_to(user), &so_far), so_far, "{user:?}");
        }
        let out = testing::decide::<TestNumbersFree>("{}", &marketing_to("+5511999990000"), &so_far);
        assert_eq!(out, so_far, "no settings, no test numbers");
    }

    #[test]
    fn settings_errors_name_the_number_at_fault() {
        let fact = testing::fact();
        let so_far = testing::blank();
        let err = testing::try_decide::<TestNumbersFree>(r#"{"numbers": ["+5511999990000", "5511"]}"#, &fact, &so_far)
            .unwrap_err();
        assert_eq!(err.to_string(), "settings.numbers[1]: expected an E.164 number, e.g. +5511999990000");
        let err = testing::try_decide::<TestNumbersFree>(r#"{"numbers": ["+5511999990000", 5511]}"#, &fact, &so_far)
            .unwrap_err();
        assert_eq!(err.path(), "numbers[1]");
        let err = testing::try_decide::<TestNumbersFree>(r#"{"number": []}"#, &fact, &so_far).unwrap_err();
        assert!(err.to_string().contains("unknown field `number`"), "{err}");
    }

    #[test]
    fn golden_cases_pass() {
        testing::assert_cases::<TestNumbersFree>(include_str!("../cases.jsonl"), "{}");
    }
}
