//! The features Coexistence disables, and the check that turns them into violations.

use crate::policy::{
    Action, Batch, BilledCategory, Decision, Direction, Facts, Features, PricingType, Side, Status, Violation,
};
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

/// Checks each fact, amending its decision so far. Returns exactly one decision
/// per fact, whatever the length of `so_far`. No rule reads a string or a
/// regime, so the batch's symbols and regimes are never looked at.
pub fn evaluate(settings: &Settings, batch: &Batch, mut so_far: Vec<Decision>) -> Vec<Decision> {
    // A host that sends too few decisions is buggy, but a panic here would take
    // the whole batch down: a missing decision starts blank instead.
    so_far.resize_with(batch.facts.len(), || Decision {
        billable: false,
        category: BilledCategory::None,
        pricing_type: PricingType::NotBillable,
        violations: Vec::new(),
        note: None,
    });
    for (facts, decision) in batch.facts.iter().zip(&mut so_far) {
        check(settings, facts, decision);
    }
    so_far
}

/// Appends one violation per disabled feature the message asks for, and stops
/// an API send that any blocking violation hits from being charged.
pub fn check(settings: &Settings, facts: &Facts, decision: &mut Decision) {
    // Most messages ask for no feature at all: leave before touching the rules.
    if facts.features.is_empty() || !(facts.status.contains(Status::COEXISTENCE) || facts.side == Side::App) {
        return;
    }
    let mut blocked = false;
    for (rule, &action) in RULES.iter().zip(&settings.actions) {
        if facts.features.contains(rule.flag) && rule.scope.covers(facts.side) {
            decision.violations.push(Violation {
                code: rule.code.to_owned(),
                feature: rule.feature.to_owned(),
                message: rule.message.to_owned(),
                action,
            });
            blocked |= action == Action::Block;
        }
    }
    // A blocked API send must not go out, so it cannot be charged. App messages
    // are already sent and free; the violation is the whole answer for them.
    if blocked && facts.side == Side::Api && facts.direction == Direction::Outbound {
        decision.billable = false;
        decision.pricing_type = PricingType::NotBillable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{BilledCategory, Conversations, PricingModel, Regime, TemplateCategory};

    /// The symbols of every test batch; `base()` names them by index.
    const SYMBOLS: [&str; 5] = ["+5511900000000", "template", "pmp-2025", "BR", "Brazil"];

    fn batch(facts: Vec<Facts>) -> Batch {
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
            symbols: SYMBOLS.map(str::to_owned).to_vec(),
            regimes: vec![regime],
            facts,
        }
    }

    /// An API marketing template from a coexistence number, asking for no feature.
    fn base() -> Facts {
        Facts {
            id: "wamid.1".to_owned(),
            business_number: 0,
            user: "+5511988887777".to_owned(),
            side: Side::Api,
            direction: Direction::Outbound,
            kind: 1,
            template_category: Some(TemplateCategory::Marketing),
            at_ms: 1_754_006_400_000,
            local_day: 20_301,
            regime: 0,
            recipient_country: 3,
            recipient_market: 4,
            status: Status::CSW_OPEN.union(Status::COEXISTENCE),
            open_conversations: Conversations::empty(),
            features: Features::empty(),
            allowance_used: 0,
        }
    }

    /// What the classifier would have decided for `base()`.
    fn charged() -> Decision {
        Decision {
            billable: true,
            category: BilledCategory::Marketing,
            pricing_type: PricingType::Regular,
            violations: Vec::new(),
            note: None,
        }
    }

    fn app(f: &mut Facts) {
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
        setup: fn(&mut Facts),
        codes: &'static [&'static str],
        /// The API send is stopped: not billable, pricing not-billable.
        stopped: bool,
    }

    #[rustfmt::skip]
    const CASES: &[Case] = &[
        Case { name: "no features", features: Features::empty(), setup: |_| {}, codes: &[], stopped: false },
        Case { name: "app, no features", features: Features::empty(), setup: app, codes: &[], stopped: false },
        Case { name: "not coexistence, API", features: ALL, setup: |f| f.status.remove(Status::COEXISTENCE), codes: &[], stopped: false },
        Case { name: "not coexistence, app", features: Features::VIEW_ONCE, setup: |f| { f.status.remove(Status::COEXISTENCE); app(f); },
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
        Case { name: "app history disappearing", features: Features::DISAPPEARING, setup: |f| { app(f); f.status |= Status::HISTORY; },
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
        let facts = CASES
            .iter()
            .map(|case| {
                let mut facts = base();
                facts.features = case.features;
                (case.setup)(&mut facts);
                facts
            })
            .collect();
        let out = evaluate(&Settings::default(), &batch(facts), vec![charged(); CASES.len()]);
        assert_eq!(out.len(), CASES.len());
        for (case, decision) in CASES.iter().zip(out) {
            let name = case.name;
            let codes: Vec<&str> = decision.violations.iter().map(|v| v.code.as_str()).collect();
            assert_eq!(codes, case.codes, "{name}");
            assert_eq!(decision.billable, !case.stopped, "{name}: billable");
            let pricing = if case.stopped { PricingType::NotBillable } else { PricingType::Regular };
            assert_eq!(decision.pricing_type, pricing, "{name}: pricing type");
            assert_eq!(decision.category, BilledCategory::Marketing, "{name}: category untouched");
            assert_eq!(decision.note, None, "{name}: note untouched");
        }
    }

    #[test]
    fn each_rule_reports_its_feature_message_and_default_action() {
        let settings = Settings::default();
        for rule in RULES {
            let mut facts = base();
            facts.features = rule.flag;
            if rule.scope == Scope::App {
                app(&mut facts);
            }
            let mut decision = charged();
            check(&settings, &facts, &mut decision);
            let [v] = decision.violations.as_slice() else {
                panic!("{}: {:?}", rule.code, decision.violations);
            };
            assert_eq!(v.code, rule.code);
            assert_eq!(v.feature, rule.feature);
            assert_eq!(v.message, rule.message);
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
            let mut facts = base();
            facts.features = Features::VIEW_ONCE;
            let mut decision = charged();
            check(&settings, &facts, &mut decision);
            assert_eq!(decision.violations.len(), 1, "{action}: still recorded");
            assert_eq!(decision.billable, !stopped, "{action}");
        }
        // A blocking group rule never changes an app-side decision.
        let settings = Settings::from_json(r#"{"actions": {"coexistence.group_not_mirrored": "block"}}"#).unwrap();
        let mut facts = base();
        facts.features = Features::GROUP;
        app(&mut facts);
        let mut decision = charged();
        check(&settings, &facts, &mut decision);
        assert_eq!(decision.violations[0].action, Action::Block);
        assert!(decision.billable);
    }

    #[test]
    fn earlier_violations_are_kept_and_one_decision_per_fact() {
        let earlier = Violation {
            code: "pricing.outside_customer_service_window".to_owned(),
            feature: "customer_service_window".to_owned(),
            message: "Earlier.".to_owned(),
            action: Action::Block,
        };
        let mut with_feature = base();
        with_feature.features = Features::MM_LITE;
        let two = batch(vec![base(), with_feature]);
        let so_far = vec![charged(), Decision { violations: vec![earlier], ..charged() }];
        let out = evaluate(&Settings::default(), &two, so_far);
        let codes: Vec<Vec<&str>> =
            out.iter().map(|d| d.violations.iter().map(|v| v.code.as_str()).collect()).collect();
        assert_eq!(codes, [vec![], vec!["pricing.outside_customer_service_window", "coexistence.mm_lite_ineligible"]]);
        for given in 0..4 {
            let so_far = (0..given).map(|_| charged()).collect();
            assert_eq!(evaluate(&Settings::default(), &two, so_far).len(), 2);
        }
    }
}
