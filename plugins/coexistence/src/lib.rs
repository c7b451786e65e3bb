//! The `coexistence` policy plugin: the features a number loses in Coexistence.
//!
//! When a number runs in Coexistence, or a message comes from the WhatsApp
//! Business App, every disabled feature the message asks for (group, broadcast,
//! view-once, disappearing, live location, edit, revoke, MM Lite) adds one
//! violation to the decision so far. A blocking violation on an API send makes
//! it not billable, because it must not be sent; app-side decisions keep their
//! pricing. The rules, with their codes and messages, are the `RULES` table in
//! `rules.rs`; they read one decoded row ([`coexist_plugin_sdk::Fact`]) at a time,
//! and bad input reads as the SDK documents (an unknown side or direction as an
//! API send, so every API rule applies; undefined feature bits are dropped).
//!
//! Settings (optional) override the action per code:
//!
//! ```json
//! {"actions": {"coexistence.group_not_mirrored": "allow", "coexistence.edit_disabled": "flag"}}
//! ```
//!
//! It also exports `coexist:policy/eligibility` (see `eligibility.rs`): whether
//! a business number may be in Coexistence on a date, from the effective-dated
//! lists the host passes in (`policies/eligibility.toml`).

#[cfg(feature = "guest")]
use std::cell::Cell;

// Only the guest exports the eligibility check.
#[cfg_attr(not(feature = "guest"), allow(dead_code))]
mod eligibility;
mod rules;
mod settings;

use settings::Settings;

#[cfg(feature = "guest")]
wit_bindgen::generate!({ path: "../wit", world: "coexistence" });
#[cfg(feature = "guest")]
coexist_plugin_sdk::wit_glue!(crate::exports::coexist::policy::policy);

#[cfg(feature = "guest")]
use exports::coexist::policy::eligibility::{Query, Rule, Verdict};
#[cfg(feature = "guest")]
use exports::coexist::policy::policy::{Batch, Decisions, Guest, PluginInfo};

#[cfg(feature = "guest")]
thread_local! {
    /// Set by `configure`. An instance serves one batch, so this never outlives it.
    static SETTINGS: Cell<Option<Settings>> = const { Cell::new(None) };
    /// Set by `configure-lists`; like `SETTINGS`, it lives as long as one call's instance.
    static LISTS: std::cell::RefCell<eligibility::Lists> = std::cell::RefCell::new(eligibility::Lists::default());
}

#[cfg(feature = "guest")]
struct Coexistence;

#[cfg(feature = "guest")]
impl Guest for Coexistence {
    fn info() -> PluginInfo {
        PluginInfo { name: "coexistence".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
    }

    fn configure(settings: String) -> Result<(), String> {
        SETTINGS.set(Some(Settings::from_json(&settings)?));
        Ok(())
    }

    fn evaluate(batch: Batch, so_far: Decisions) -> Decisions {
        let settings = SETTINGS.get().unwrap_or_default();
        wit_glue::evaluate(&batch, so_far, |columns, out| rules::evaluate(&settings, columns, out))
    }
}

#[cfg(feature = "guest")]
impl exports::coexist::policy::eligibility::Guest for Coexistence {
    fn configure_lists(lists: String) -> Result<(), String> {
        let parsed = eligibility::Lists::from_json(&lists)?;
        LISTS.with(|l| *l.borrow_mut() = parsed);
        Ok(())
    }

    fn check(queries: Vec<Query>) -> Vec<Verdict> {
        LISTS.with(|lists| {
            let lists = lists.borrow();
            queries
                .iter()
                .map(|q| {
                    let v = lists.check(&q.number, q.day);
                    let alternatives = if v.ineligible.is_some() {
                        eligibility::ALTERNATIVES.iter().map(|a| (*a).to_owned()).collect()
                    } else {
                        Vec::new()
                    };
                    Verdict {
                        list_from: v.list_from,
                        source: v.source,
                        ineligible: v.ineligible.map(|(country, name, prefix)| Rule { country, name, prefix }),
                        alternatives,
                    }
                })
                .collect()
        })
    }
}

/// The coexistence's rules run natively, without the WIT binding: the baseline
/// `coexist plugin bench` measures plugins against. `settings` is the JSON
/// `configure` takes; it is read on every call, as the host configures a
/// fresh instance for every batch.
pub fn evaluate_native(
    settings: &str,
    columns: &coexist_plugin_sdk::Columns,
    out: &mut coexist_plugin_sdk::DecisionsBuilder,
) -> Result<(), String> {
    let settings = Settings::from_json(settings)?;
    rules::evaluate(&settings, columns, out);
    Ok(())
}

// The export names hold `:` and `/`, which native linkers reject; only a wasm
// guest exports them.
#[cfg(all(feature = "guest", target_arch = "wasm32"))]
export!(Coexistence);

#[cfg(all(test, feature = "guest"))]
mod tests {
    use super::*;
    use coexist_plugin_sdk::{
        BilledCategory, Conversations, Direction, Fact, Features, OwnedBatch, PricingModel, PricingType, Regime, Side,
        Status,
    };
    use exports::coexist::policy::policy::Action;

    fn app_group_message() -> Batch {
        let fact = Fact {
            business_number: "+5511900000000",
            user: "+5511988887777",
            side: Side::App,
            direction: Direction::Outbound,
            kind: "text",
            template_category: None,
            at_ms: 0,
            local_day: 20_301,
            regime: Regime {
                id: 0,
                model: PricingModel::PerMessage,
                service_charged: false,
                utility_in_window_charged: false,
                free_allowance: 0,
            },
            recipient_country: "BR",
            recipient_market: "Brazil",
            status: Status { coexistence: true, ..Status::default() },
            open_conversations: Conversations::empty(),
            features: Features::GROUP,
            allowance_used: 0,
        };
        wit_glue::batch_to_wit(&OwnedBatch::of("1000", "BR", [fact]))
    }

    fn action_of_first_violation() -> Action {
        let so_far = Decisions {
            billable: vec![0],
            category: vec![BilledCategory::Service.code()],
            pricing_type: vec![PricingType::FreeAppSide.code()],
            violations: Vec::new(),
            notes: Vec::new(),
        };
        let out = Coexistence::evaluate(app_group_message(), so_far);
        assert_eq!(out.pricing_type, [PricingType::FreeAppSide.code()]);
        assert_eq!(out.violations[0].message, 0);
        out.violations[0].action
    }

    #[test]
    fn the_exports_use_the_configured_settings() {
        let info = Coexistence::info();
        assert_eq!((info.name.as_str(), info.version.as_str()), ("coexistence", "0.1.0"));

        assert_eq!(action_of_first_violation(), Action::Flag, "defaults before configure");
        let settings = r#"{"actions": {"coexistence.group_not_mirrored": "allow"}}"#;
        assert_eq!(Coexistence::configure(settings.to_owned()), Ok(()));
        assert_eq!(action_of_first_violation(), Action::Allow);
        let err = Coexistence::configure(r#"{"actions": {"coexistence.typo": "allow"}}"#.to_owned()).unwrap_err();
        assert!(err.contains("coexistence.typo"), "{err}");
    }

    #[test]
    fn eligibility_answers_from_the_configured_lists() {
        use exports::coexist::policy::eligibility::Guest as Eligibility;
        let lists = r#"{"lists":[{"effective_from":"2025-09-13","source":"older","ineligible":[
            {"country":"GB","name":"United Kingdom","prefixes":["44"]}]}]}"#;
        assert_eq!(<Coexistence as Eligibility>::configure_lists(lists.to_owned()), Ok(()));
        let q = |number: &str, day| Query { number: number.to_owned(), day };
        let out = <Coexistence as Eligibility>::check(vec![q("+447700900123", 20_362), q("+6281234567890", 20_362)]);
        let rule = out[0].ineligible.as_ref().expect("the UK is on the list");
        assert_eq!((rule.country.as_str(), rule.prefix.as_str()), ("GB", "44"));
        assert_eq!(out[0].alternatives, ["app_only", "api_only"]);
        assert_eq!((out[1].ineligible.is_none(), out[1].list_from), (true, Some(20_344)));
        assert!(<Coexistence as Eligibility>::configure_lists("{}".to_owned()).is_err());
    }
}
