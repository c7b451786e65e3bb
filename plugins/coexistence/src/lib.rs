//! The `coexistence` policy plugin: the features a number loses in Coexistence.
//!
//! When a number runs in Coexistence, or a message comes from the WhatsApp
//! Business App, every disabled feature the message asks for (group, broadcast,
//! view-once, disappearing, live location, edit, revoke, MM Lite) adds one
//! violation to the decision so far. A blocking violation on an API send makes
//! it not billable, because it must not be sent; app-side decisions keep their
//! pricing. The rules, with their codes and messages, are the `RULES` table in
//! `rules.rs`.
//!
//! Settings (optional) override the action per code:
//!
//! ```json
//! {"actions": {"coexistence.group_not_mirrored": "allow", "coexistence.edit_disabled": "flag"}}
//! ```

use std::cell::Cell;

mod rules;
mod settings;

use settings::Settings;

wit_bindgen::generate!({ path: "../wit", world: "plugin" });

use exports::coexist::policy::policy::{self, Batch, Decision, Guest, PluginInfo};

thread_local! {
    /// Set by `configure`. An instance serves one batch, so this never outlives it.
    static SETTINGS: Cell<Option<Settings>> = const { Cell::new(None) };
}

struct Coexistence;

impl Guest for Coexistence {
    fn info() -> PluginInfo {
        PluginInfo { name: "coexistence".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
    }

    fn configure(settings: String) -> Result<(), String> {
        SETTINGS.set(Some(Settings::from_json(&settings)?));
        Ok(())
    }

    fn evaluate(batch: Batch, so_far: Vec<Decision>) -> Vec<Decision> {
        let settings = SETTINGS.get().unwrap_or_default();
        rules::evaluate(&settings, &batch, so_far)
    }
}

// The export names hold `:` and `/`, which native linkers reject; only a wasm
// guest exports them.
#[cfg(target_arch = "wasm32")]
export!(Coexistence);

#[cfg(test)]
mod tests {
    use super::*;
    use policy::{
        Action, BilledCategory, Conversations, Direction, Facts, Features, PricingModel, PricingType, Regime, Side,
        Status,
    };

    fn app_group_message() -> Batch {
        let symbols = ["+5511900000000", "text", "pmp-2025", "BR", "Brazil"];
        let facts = Facts {
            id: "wamid.1".to_owned(),
            business_number: 0,
            user: "+5511988887777".to_owned(),
            side: Side::App,
            direction: Direction::Outbound,
            kind: 1,
            template_category: None,
            at_ms: 0,
            local_day: 20_301,
            regime: 0,
            recipient_country: 3,
            recipient_market: 4,
            status: Status::COEXISTENCE,
            open_conversations: Conversations::empty(),
            features: Features::GROUP,
            allowance_used: 0,
        };
        let regime = Regime {
            id: 2,
            model: PricingModel::PerMessage,
            service_charged: false,
            utility_in_window_charged: false,
            free_allowance: 0,
        };
        Batch {
            waba: "1000".to_owned(),
            business_country: "BR".to_owned(),
            symbols: symbols.map(str::to_owned).to_vec(),
            regimes: vec![regime],
            facts: vec![facts],
        }
    }

    fn action_of_first_violation() -> Action {
        let so_far = vec![Decision {
            billable: false,
            category: BilledCategory::Service,
            pricing_type: PricingType::FreeAppSide,
            violations: Vec::new(),
            note: None,
        }];
        let out = Coexistence::evaluate(app_group_message(), so_far);
        assert_eq!(out[0].pricing_type, PricingType::FreeAppSide);
        out[0].violations[0].action
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
}
