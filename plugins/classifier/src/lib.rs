//! The `classifier` policy plugin: the first answer for every message.
//!
//! For each fact it sets the decision's `billable`, `category`, `pricing-type` and
//! `note`, keeping the violations earlier plugins found and adding its own:
//!
//! - inbound messages are never billed;
//! - app-side messages (Coexistence echoes and history) are free;
//! - API-side messages are rated under the batch regime the fact names:
//!   per-message pricing, or conversation-based pricing with the host's open
//!   conversations. A regime index past the batch's regimes does not panic: it
//!   rates as per-message pricing with nothing charged beyond it (service and
//!   utility in window free, no free allowance), see
//!   [`coexist_plugin_sdk::UNKNOWN_REGIME`]; other bad input reads as the SDK
//!   documents (an unknown side or direction as an API send, an unknown template
//!   category as marketing, a bad symbol as "");
//! - `authentication_international` needs the fact's `auth-intl-eligible`
//!   status, a recipient country in the configured list, and a recipient
//!   country different from the batch's `business-country`;
//! - `delivery.marketing_to_us_blocked`: a marketing template to a US user after
//!   the block date is never delivered, so never charged;
//! - `pricing.outside_customer_service_window`: a non-template message outside
//!   every window is refused by Meta, so never charged.
//!
//! Settings (every key optional; these are the defaults):
//!
//! ```json
//! {"us_marketing_block_from": "2025-04-01",
//!  "auth_international_countries": ["EG","IN","ID","MY","NG","PK","SA","ZA","AE"],
//!  "actions": {"pricing.outside_customer_service_window": "block",
//!              "delivery.marketing_to_us_blocked": "block"}}
//! ```
//!
//! The rules are plain functions over one decoded row ([`coexist_plugin_sdk::Fact`])
//! in [`rules`], tested natively; this file only binds them to the
//! `coexist:policy` WIT world, through the SDK's column decoding.

#[cfg(feature = "guest")]
use std::cell::Cell;

mod rules;
mod settings;

use settings::Settings;

#[cfg(feature = "guest")]
wit_bindgen::generate!({ path: "../wit", world: "plugin" });
#[cfg(feature = "guest")]
coexist_plugin_sdk::wit_glue!(crate::exports::coexist::policy::policy);

#[cfg(feature = "guest")]
use exports::coexist::policy::policy::{Batch, Decisions, Guest, PluginInfo};

#[cfg(feature = "guest")]
thread_local! {
    /// Set by `configure`. An instance serves one batch, so this never outlives it.
    static SETTINGS: Cell<Option<Settings>> = const { Cell::new(None) };
}

#[cfg(feature = "guest")]
struct Classifier;

#[cfg(feature = "guest")]
impl Guest for Classifier {
    fn info() -> PluginInfo {
        PluginInfo { name: "classifier".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() }
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

/// The classifier's rules run natively, without the WIT binding: the baseline
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
export!(Classifier);

#[cfg(all(test, feature = "guest"))]
mod tests {
    use super::*;
    use coexist_plugin_sdk::{Conversations, Direction, Fact, Features, OwnedBatch, Side, Status, UNKNOWN_REGIME};
    use exports::coexist::policy::policy::Action;

    fn text_outside_window() -> Batch {
        let fact = Fact {
            business_number: "+4915100000000",
            user: "+919800000000",
            side: Side::Api,
            direction: Direction::Outbound,
            kind: "text",
            template_category: None,
            at_ms: 0,
            local_day: 20_301,
            regime: UNKNOWN_REGIME,
            recipient_country: "IN",
            recipient_market: "India",
            status: Status::default(),
            open_conversations: Conversations::empty(),
            features: Features::empty(),
            allowance_used: 0,
        };
        wit_glue::batch_to_wit(&OwnedBatch::of("1000", "DE", [fact]))
    }

    fn action_of_first_violation() -> Action {
        let so_far = Decisions {
            billable: Vec::new(),
            category: Vec::new(),
            pricing_type: Vec::new(),
            violations: Vec::new(),
            notes: Vec::new(),
        };
        let out = Classifier::evaluate(text_outside_window(), so_far);
        assert_eq!(out.pricing_type, [coexist_plugin_sdk::PricingType::NotBillable.code()]);
        assert_eq!((out.billable.len(), out.category.len(), out.violations[0].message), (1, 1, 0));
        out.violations[0].action
    }

    #[test]
    fn the_exports_use_the_configured_settings() {
        let info = Classifier::info();
        assert_eq!((info.name.as_str(), info.version.as_str()), ("classifier", "0.1.0"));

        assert_eq!(action_of_first_violation(), Action::Block, "defaults before configure");
        let settings = r#"{"actions": {"pricing.outside_customer_service_window": "flag"}}"#;
        assert_eq!(Classifier::configure(settings.to_owned()), Ok(()));
        assert_eq!(action_of_first_violation(), Action::Flag);
        let err = Classifier::configure(r#"{"colour": 1}"#.to_owned()).unwrap_err();
        assert!(err.contains("colour"), "{err}");
    }
}
