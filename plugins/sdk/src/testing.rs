//! Native helpers to unit-test a [`Policy`] without wasm: they run
//! [`Policy::decide`] exactly as the guest's `evaluate` does, over facts
//! encoded into columns like the host's.
//!
//! ```
//! use coexist_plugin_sdk::{testing, BilledCategory, Decision, Fact, Policy, PricingType};
//!
//! struct FreeForAll;
//! impl Policy for FreeForAll {
//!     const NAME: &'static str = "free-for-all";
//!     const VERSION: &'static str = "0.1.0";
//!     type Settings = ();
//!     fn decide(_: &(), _: &Fact<'_>, decision: &mut Decision<'_>) {
//!         decision.make_free(PricingType::NotBillable, "on the house");
//!     }
//! }
//!
//! let out = testing::decide::<FreeForAll>("{}", &testing::fact(), &testing::billed(BilledCategory::Marketing));
//! assert!(!out.is_billable(0));
//! assert_eq!(out.category_of(0), Some(BilledCategory::Marketing));
//! assert_eq!(out.note_of(0), Some("on the house"));
//! ```

mod cases;

pub use cases::{assert_cases, check_cases};

use crate::{
    decide_batch, load_settings, BilledCategory, Conversations, Decisions, DecisionsBuilder, Direction, Fact, Features,
    OwnedBatch, Policy, PricingModel, PricingType, Regime, SettingsError, Side, Status,
};

/// The WABA of the batches these helpers build.
pub const WABA: &str = "1000";
/// The business country of the batches these helpers build.
pub const BUSINESS_COUNTRY: &str = "BR";

/// Runs `P` on one message: reads `settings_json` as `configure` would, then
/// decides `fact` starting from `so_far` (one decision, e.g. [`billed`]).
///
/// # Panics
///
/// When the settings are refused, with the error: this is a test helper (see
/// [`try_decide`] to test refusals).
pub fn decide<P: Policy>(settings_json: &str, fact: &Fact<'_>, so_far: &Decisions) -> Decisions {
    match try_decide::<P>(settings_json, fact, so_far) {
        Ok(decisions) => decisions,
        Err(e) => panic!("{} refused its settings {settings_json}: {e}", P::NAME),
    }
}

/// [`decide`], with refused settings as an error.
pub fn try_decide<P: Policy>(
    settings_json: &str,
    fact: &Fact<'_>,
    so_far: &Decisions,
) -> Result<Decisions, SettingsError> {
    try_decide_batch::<P>(settings_json, std::slice::from_ref(fact), so_far.clone())
}

/// Runs `P` on a batch of `facts`, starting from `so_far` (one decision per
/// fact; missing ones start blank, as the SDK resizes them).
///
/// # Panics
///
/// When the settings are refused, with the error.
pub fn decide_batch_of<P: Policy>(settings_json: &str, facts: &[Fact<'_>], so_far: Decisions) -> Decisions {
    match try_decide_batch::<P>(settings_json, facts, so_far) {
        Ok(decisions) => decisions,
        Err(e) => panic!("{} refused its settings {settings_json}: {e}", P::NAME),
    }
}

/// [`decide_batch_of`], with refused settings as an error.
pub fn try_decide_batch<P: Policy>(
    settings_json: &str,
    facts: &[Fact<'_>],
    so_far: Decisions,
) -> Result<Decisions, SettingsError> {
    decide_in_batch::<P>(settings_json, (WABA, BUSINESS_COUNTRY), facts, so_far)
}

/// Runs `P` on `facts` in a batch of the WABA and business country `batch`.
fn decide_in_batch<P: Policy>(
    settings_json: &str,
    (waba, business_country): (&str, &str),
    facts: &[Fact<'_>],
    so_far: Decisions,
) -> Result<Decisions, SettingsError> {
    let settings = load_settings::<P>(settings_json)?;
    let batch = OwnedBatch::of(waba, business_country, facts.iter().copied());
    let columns = batch.columns();
    let mut out = DecisionsBuilder::new(so_far, columns.len());
    decide_batch::<P>(&settings, &columns, &mut out);
    Ok(out.finish())
}

/// A typical message to start a test from, changed with struct update syntax:
/// an API outbound text from `+5511900000000` to `+5511988887777` in Brazil,
/// on 2026-10-05 12:00 UTC under per-message pricing, inside an open
/// customer-service window, in Coexistence.
///
/// ```
/// # use coexist_plugin_sdk::{testing, Fact, TemplateCategory};
/// let marketing = Fact { kind: "template", template_category: Some(TemplateCategory::Marketing), ..testing::fact() };
/// ```
pub fn fact() -> Fact<'static> {
    Fact {
        business_number: "+5511900000000",
        user: "+5511988887777",
        kind: "text",
        side: Side::Api,
        direction: Direction::Outbound,
        template_category: None,
        at_ms: 1_791_201_600_000,
        local_day: 20_731,
        regime: Regime {
            id: 0,
            model: PricingModel::PerMessage,
            service_charged: false,
            utility_in_window_charged: false,
            free_allowance: 0,
        },
        recipient_country: "BR",
        recipient_market: "Brazil",
        status: Status { csw_open: true, coexistence: true, ..Status::default() },
        open_conversations: Conversations::empty(),
        features: Features::empty(),
        allowance_used: 0,
    }
}

/// One decision so far: billable in `category` at the regular rate.
pub fn billed(category: BilledCategory) -> Decisions {
    decided(true, category, PricingType::Regular)
}

/// One decision so far: not billable in `category`, priced as `pricing_type`.
pub fn free(category: BilledCategory, pricing_type: PricingType) -> Decisions {
    decided(false, category, pricing_type)
}

/// One blank decision so far (what the first plugin gets): not billable, no
/// category, not billable pricing.
pub fn blank() -> Decisions {
    Decisions::blank(1)
}

fn decided(billable: bool, category: BilledCategory, pricing_type: PricingType) -> Decisions {
    Decisions {
        billable: vec![u8::from(billable)],
        category: vec![category.code()],
        pricing_type: vec![pricing_type.code()],
        violations: Vec::new(),
        notes: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::{Action, Decision};

    /// Blocks messages to the configured users; bills the rest as marketing.
    struct Blocklist;

    #[derive(Default, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Users {
        users: Vec<String>,
    }

    impl Policy for Blocklist {
        const NAME: &'static str = "blocklist";
        const VERSION: &'static str = "1.0.0";
        type Settings = Users;

        fn validate(settings: &Users) -> Result<(), SettingsError> {
            match settings.users.iter().position(|u| !u.starts_with('+')) {
                Some(i) => Err(SettingsError::new(format!("users[{i}]"), "expected an E.164 number")),
                None => Ok(()),
            }
        }

        fn decide(settings: &Users, fact: &Fact<'_>, decision: &mut Decision<'_>) {
            assert_eq!((decision.waba(), decision.business_country()), (WABA, BUSINESS_COUNTRY));
            if settings.users.iter().any(|u| u == fact.user) {
                decision.violation("test.blocked").feature("user").text(fact.user).block();
                decision.make_not_billable();
            } else {
                decision.bill(BilledCategory::Marketing);
            }
        }
    }

    #[test]
    fn decide_runs_the_policy_on_one_message() {
        let settings = r#"{"users": ["+5511988887777"]}"#;
        let out = decide::<Blocklist>(settings, &fact(), &billed(BilledCategory::Utility));
        assert_eq!((out.is_billable(0), out.category_of(0)), (false, Some(BilledCategory::Utility)));
        let violation = out.violations_of(0).next().unwrap();
        assert_eq!(
            (violation.code.as_str(), violation.text.as_str(), violation.action),
            ("test.blocked", "+5511988887777", Action::Block)
        );

        let out = decide::<Blocklist>("{}", &fact(), &blank());
        assert_eq!((out.is_billable(0), out.category_of(0)), (true, Some(BilledCategory::Marketing)));
    }

    #[test]
    fn decide_batch_of_decides_every_row() {
        let other = Fact { user: "+5511911112222", ..fact() };
        let out = decide_batch_of::<Blocklist>(
            r#"{"users": ["+5511911112222"]}"#,
            &[fact(), other, fact()],
            Decisions::default(),
        );
        assert_eq!(out.billable, [1, 0, 1]);
        assert_eq!(out.violations.len(), 1);
        assert_eq!(out.violations[0].message, 1);
    }

    #[test]
    fn refused_settings_are_errors() {
        let err = try_decide::<Blocklist>(r#"{"users": ["+1", "2"]}"#, &fact(), &blank()).unwrap_err();
        assert_eq!(err.to_string(), "settings.users[1]: expected an E.164 number");
        let err = try_decide::<Blocklist>(r#"{"user": []}"#, &fact(), &blank()).unwrap_err();
        assert!(err.to_string().contains("unknown field `user`"), "{err}");
    }

    #[test]
    #[should_panic(expected = "blocklist refused its settings")]
    fn decide_panics_on_refused_settings() {
        decide::<Blocklist>("[]", &fact(), &blank());
    }

    #[test]
    fn the_helpers_build_one_decision() {
        assert_eq!(blank(), Decisions::blank(1));
        let free = free(BilledCategory::Service, PricingType::FreeCustomerService);
        assert_eq!(
            (free.billable.as_slice(), free.category_of(0), free.pricing_type_of(0)),
            (&[0][..], Some(BilledCategory::Service), Some(PricingType::FreeCustomerService))
        );
        assert_eq!(fact().local_day, 20_731, "2026-10-05");
        assert_eq!(fact().at_ms / 86_400_000, 20_731);
    }
}
