//! The features Coexistence disables, and the check that turns them into violations.

use coexist_plugin_sdk::{Action, Columns, DecisionsBuilder, Direction, Fact, Features, PricingType, Side};

use crate::settings::Settings;

/// Which side of the number a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    App,
    Api,
    Any,
}

impl Scope {
    fn covers(self, side: Side) -> bool {
        match self {
            Scope::App => side == Side::App,
            Scope::Api => side == Side::Api,
            Scope::Any => true,
        }
    }
}

/// One feature Coexistence disables.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The feature flag in the facts that triggers the rule.
    pub flag: Features,
    /// The side whose messages the rule applies to.
    pub scope: Scope,
    /// The violation's stable code, also the key in the `actions` setting.
    pub code: &'static str,
    /// The violation's `feature` field.
    pub feature: &'static str,
    /// The sentence that tells the operator why.
    pub message: &'static str,
    /// The action when settings do not name the code.
    pub default_action: Action,
}

/// Every rule, in the order violations are reported.
pub const RULES: [Rule; 8] = [
    Rule {
        flag: Features::GROUP,
        scope: Scope::App,
        code: "coexistence.group_not_mirrored",
        feature: "group",
        message: "Group chats are not mirrored to the API in Coexistence; this message stays \
                  app-only and free.",
        default_action: Action::Flag,
    },
    Rule {
        flag: Features::BROADCAST,
        scope: Scope::App,
        code: "coexistence.broadcast_list_disabled",
        feature: "broadcast",
        message: "Broadcast lists are disabled in the WhatsApp Business App while Coexistence is \
                  on; send bulk messages as API campaigns, where they are billed.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::VIEW_ONCE,
        scope: Scope::Any,
        code: "coexistence.view_once_disabled",
        feature: "view_once",
        message: "View-once messages are disabled while Coexistence is on, so that the central \
                  record of the chat has no gaps.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::DISAPPEARING,
        scope: Scope::Any,
        code: "coexistence.disappearing_disabled",
        feature: "disappearing",
        message: "Disappearing messages are disabled while Coexistence is on, so that the central \
                  record of the chat has no gaps.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::LIVE_LOCATION,
        scope: Scope::Any,
        code: "coexistence.live_location_disabled",
        feature: "live_location",
        message: "Live location sharing is disabled while Coexistence is on; share a fixed \
                  location instead.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::EDIT,
        scope: Scope::App,
        code: "coexistence.edit_disabled",
        feature: "edit",
        message: "Editing a sent message from the WhatsApp Business App is not allowed while \
                  Coexistence is on, so that the CRM record matches what the customer saw.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::REVOKE,
        scope: Scope::App,
        code: "coexistence.revoke_disabled",
        feature: "revoke",
        message: "Deleting a sent message for everyone from the WhatsApp Business App is not \
                  allowed while Coexistence is on, so that the CRM record matches what the \
                  customer saw.",
        default_action: Action::Block,
    },
    Rule {
        flag: Features::MM_LITE,
        scope: Scope::Api,
        code: "coexistence.mm_lite_ineligible",
        feature: "mm_lite",
        message: "Coexistence numbers are generally not eligible for the Marketing Messages Lite \
                  API; send this marketing message through the Cloud API instead.",
        default_action: Action::Block,
    },
];

/// Checks each message of `columns`, amending `out`, which starts from the
/// decisions so far (one per message, whatever the host sent). No rule reads a
/// string or a regime, so decoding them is the only cost they add.
pub fn evaluate(settings: &Settings, columns: &Columns, out: &mut DecisionsBuilder) {
    for i in 0..columns.len() {
        check(settings, &columns.row(i), i, out);
    }
}

/// Appends one violation per disabled feature message `i` asks for, and stops
/// an API send that any blocking violation hits from being charged.
pub fn check(settings: &Settings, fact: &Fact, i: usize, out: &mut DecisionsBuilder) {
    // Most messages ask for no feature at all: leave before touching the rules.
    if fact.features.is_empty() || !(fact.status.coexistence || fact.side == Side::App) {
        return;
    }
    let mut blocked = false;
    for (rule, &action) in RULES.iter().zip(&settings.actions) {
        if fact.features.contains(rule.flag) && rule.scope.covers(fact.side) {
            out.violation(i, rule.code, rule.feature, rule.message, action);
            blocked |= action == Action::Block;
        }
    }
    // A blocked API send must not go out, so it cannot be charged. App messages
    // are already sent and free; the violation is the whole answer for them.
    if blocked && fact.side == Side::Api && fact.direction == Direction::Outbound {
        out.set_billing(i, false, PricingType::NotBillable);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coexist_plugin_sdk::{
        BilledCategory, Conversations, Decisions, Note, OwnedBatch, PricingModel, Regime, Status, TemplateCategory,
        Violation,
    };

    /// The columns of `facts`, as the host sends them.
    fn batch(facts: impl IntoIterator<Item = Fact<'static>>) -> OwnedBatch {
        OwnedBatch::of("1000", "BR", facts)
    }

    /// Runs `evaluate` over `batch`, starting from `so_far`.
    fn evaluated(settings: &Settings, batch: &OwnedBatch, so_far: Decisions) -> Decisions {
        let columns = batch.columns();
        let mut out = DecisionsBuilder::new(so_far, columns.len());
        evaluate(settings, &columns, &mut out);
        out.finish()
    }

    /// Runs `check` on `fact` alone, starting from `charged(1)`.
    fn checked(settings: &Settings, fact: &Fact) -> Decisions {
        let mut out = DecisionsBuilder::new(charged(1), 1);
        check(settings, fact, 0, &mut out);
        out.finish()
    }

    /// An API marketing template from a coexistence number, asking for no feature.
    fn base() -> Fact<'static> {
        Fact {
            business_number: "+5511900000000",
            user: "+5511988887777",
            kind: "template",
            side: Side::Api,
            direction: Direction::Outbound,
            template_category: Some(TemplateCategory::Marketing),
            at_ms: 1_754_006_400_000,
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
            status: Status { csw_open: true, coexistence: true, ..Status::default() },
            open_conversations: Conversations::empty(),
            features: Features::empty(),
            allowance_used: 0,
        }
    }

    /// What the classifier would have decided for `n` times `base()`.
    fn charged(n: usize) -> Decisions {
        Decisions {
            billable: vec![1; n],
            category: vec![BilledCategory::Marketing.code(); n],
            pricing_type: vec![PricingType::Regular.code(); n],
            violations: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn app(f: &mut Fact) {
        f.side = Side::App;
    }

    const ALL: Features = Features::all();
    const APP_CODES: [&str; 7] = [
        "coexistence.group_not_mirrored",
        "coexistence.broadcast_list_disabled",
        "coexistence.view_once_disabled",
        "coexistence.disappearing_disabled",
        "coexistence.live_location_disabled",
        "coexistence.edit_disabled",
        "coexistence.revoke_disabled",
    ];
    const API_CODES: [&str; 4] = [
        "coexistence.view_once_disabled",
        "coexistence.disappearing_disabled",
        "coexistence.live_location_disabled",
        "coexistence.mm_lite_ineligible",
    ];

    struct Case {
        name: &'static str,
        features: Features,
        setup: fn(&mut Fact),
        codes: &'static [&'static str],
        /// The API send is stopped: not billable, pricing not-billable.
        stopped: bool,
    }

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        Case { name: "no features", features: Features::empty(), setup: |_| {}, codes: &[], stopped: false },
        Case { name: "app, no features", features: Features::empty(), setup: app, codes: &[], stopped: false },
        Case { name: "not coexistence, API", features: ALL, setup: |f| f.status.coexistence = false, codes: &[], stopped: false },
        Case { name: "not coexistence, app", features: Features::VIEW_ONCE, setup: |f| { f.status.coexistence = false; app(f); },
            codes: &["coexistence.view_once_disabled"], stopped: false },
        Case { name: "app group", features: Features::GROUP, setup: app,
            codes: &["coexistence.group_not_mirrored"], stopped: false },
        Case { name: "API group", features: Features::GROUP, setup: |_| {}, codes: &[], stopped: false },
        Case { name: "app broadcast", features: Features::BROADCAST, setup: app,
            codes: &["coexistence.broadcast_list_disabled"], stopped: false },
        Case { name: "API broadcast", features: Features::BROADCAST, setup: |_| {}, codes: &[], stopped: false },
        Case { name: "app view-once", features: Features::VIEW_ONCE, setup: app,
            codes: &["coexistence.view_once_disabled"], stopped: false },
        Case { name: "API view-once", features: Features::VIEW_ONCE, setup: |_| {},
            codes: &["coexistence.view_once_disabled"], stopped: true },
        Case { name: "API disappearing", features: Features::DISAPPEARING, setup: |_| {},
            codes: &["coexistence.disappearing_disabled"], stopped: true },
        Case { name: "app history disappearing", features: Features::DISAPPEARING, setup: |f| { app(f); f.status.history = true; },
            codes: &["coexistence.disappearing_disabled"], stopped: false },
        Case { name: "API live location", features: Features::LIVE_LOCATION, setup: |_| {},
            codes: &["coexistence.live_location_disabled"], stopped: true },
        Case { name: "app edit", features: Features::EDIT, setup: app,
            codes: &["coexistence.edit_disabled"], stopped: false },
        Case { name: "API edit", features: Features::EDIT, setup: |_| {}, codes: &[], stopped: false },
        Case { name: "app revoke", features: Features::REVOKE, setup: app,
            codes: &["coexistence.revoke_disabled"], stopped: false },
        Case { name: "API revoke", features: Features::REVOKE, setup: |_| {}, codes: &[], stopped: false },
        Case { name: "API MM Lite", features: Features::MM_LITE, setup: |_| {},
            codes: &["coexistence.mm_lite_ineligible"], stopped: true },
        Case { name: "app MM Lite", features: Features::MM_LITE, setup: app, codes: &[], stopped: false },
        Case { name: "app, every feature", features: ALL, setup: app, codes: &APP_CODES, stopped: false },
        Case { name: "API, every feature", features: ALL, setup: |_| {}, codes: &API_CODES, stopped: true },
        Case { name: "API inbound view-once is not a send", features: Features::VIEW_ONCE,
            setup: |f| f.direction = Direction::Inbound,
            codes: &["coexistence.view_once_disabled"], stopped: false },
        Case { name: "API group only flags", features: Features::GROUP.union(Features::EDIT), setup: |_| {},
            codes: &[], stopped: false },
    ];

    #[test]
    fn violation_table() {
        // Every case in one batch, as the host sends them.
        let facts = CASES.iter().map(|case| {
            let mut fact = base();
            fact.features = case.features;
            (case.setup)(&mut fact);
            fact
        });
        let mut so_far = charged(CASES.len());
        so_far.notes.push(Note { message: 1, text: "kept".to_owned() });
        let out = evaluated(&Settings::default(), &batch(facts), so_far);
        assert_eq!(out.len(), CASES.len());
        for (i, case) in CASES.iter().enumerate() {
            let name = case.name;
            let codes: Vec<&str> = out.violations_of(i).map(|v| v.code.as_str()).collect();
            assert_eq!(codes, case.codes, "{name}");
            assert_eq!(out.is_billable(i), !case.stopped, "{name}: billable");
            let pricing = if case.stopped { PricingType::NotBillable } else { PricingType::Regular };
            assert_eq!(out.pricing_type_of(i), Some(pricing), "{name}: pricing type");
            assert_eq!(out.category_of(i), Some(BilledCategory::Marketing), "{name}: category untouched");
            assert_eq!(out.note_of(i), (i == 1).then_some("kept"), "{name}: note untouched");
        }
    }

    #[test]
    fn each_rule_reports_its_feature_message_and_default_action() {
        let settings = Settings::default();
        for rule in RULES {
            let mut fact = base();
            fact.features = rule.flag;
            if rule.scope == Scope::App {
                app(&mut fact);
            }
            let out = checked(&settings, &fact);
            let [v] = out.violations.as_slice() else {
                panic!("{}: {:?}", rule.code, out.violations);
            };
            assert_eq!(v.message, 0);
            assert_eq!(v.code, rule.code);
            assert_eq!(v.feature, rule.feature);
            assert_eq!(v.text, rule.message);
            assert_eq!(v.action, rule.default_action);
            assert!(rule.code.starts_with("coexistence.") && rule.message.ends_with('.'));
        }
        // One rule per flag, so no feature is checked twice or forgotten.
        let flags = RULES.iter().fold(Features::empty(), |all, rule| {
            assert!(!all.intersects(rule.flag), "{} repeats a flag", rule.code);
            all | rule.flag
        });
        assert_eq!(flags, Features::all());
    }

    #[test]
    fn only_a_blocking_action_stops_an_api_send() {
        for (action, stopped) in [("allow", false), ("flag", false), ("block", true)] {
            let settings =
                Settings::from_json(&format!(r#"{{"actions": {{"coexistence.view_once_disabled": "{action}"}}}}"#))
                    .unwrap();
            let mut fact = base();
            fact.features = Features::VIEW_ONCE;
            let out = checked(&settings, &fact);
            assert_eq!(out.violations.len(), 1, "{action}: still recorded");
            assert_eq!(out.is_billable(0), !stopped, "{action}");
        }
        // A blocking group rule never changes an app-side decision.
        let settings = Settings::from_json(r#"{"actions": {"coexistence.group_not_mirrored": "block"}}"#).unwrap();
        let mut fact = base();
        fact.features = Features::GROUP;
        app(&mut fact);
        let out = checked(&settings, &fact);
        assert_eq!(out.violations[0].action, Action::Block);
        assert!(out.is_billable(0));
    }

    #[test]
    fn earlier_violations_are_kept_and_one_decision_per_fact() {
        let earlier = Violation {
            message: 1,
            code: "pricing.outside_customer_service_window".to_owned(),
            feature: "customer_service_window".to_owned(),
            text: "Earlier.".to_owned(),
            action: Action::Block,
        };
        let mut with_feature = base();
        with_feature.features = Features::MM_LITE;
        let two = batch([base(), with_feature]);
        let so_far = Decisions { violations: vec![earlier], ..charged(2) };
        let out = evaluated(&Settings::default(), &two, so_far);
        let codes: Vec<Vec<&str>> = (0..2).map(|i| out.violations_of(i).map(|v| v.code.as_str()).collect()).collect();
        assert_eq!(codes, [vec![], vec!["pricing.outside_customer_service_window", "coexistence.mm_lite_ineligible"]]);
        for given in 0..4 {
            let out = evaluated(&Settings::default(), &two, charged(given));
            assert_eq!((out.billable.len(), out.category.len(), out.pricing_type.len()), (2, 2, 2), "{given}");
        }
    }

    #[test]
    fn bad_codes_are_checked_as_an_api_send() {
        // An unknown side and direction read as an API send (see the SDK), so
        // the API rules apply and a blocking one stops the charge.
        let mut fact = base();
        fact.features = Features::MM_LITE | Features::EDIT;
        let mut batch = batch([fact, fact]);
        batch.side[0] = 9;
        batch.direction[0] = 9;
        batch.features[1] = 0xFF;
        let out = evaluated(&Settings::default(), &batch, charged(2));
        let codes: Vec<&str> = out.violations_of(0).map(|v| v.code.as_str()).collect();
        assert_eq!(codes, ["coexistence.mm_lite_ineligible"]);
        assert!(!out.is_billable(0));
        assert_eq!(out.violations_of(1).count(), API_CODES.len());
    }
}
