//! The classification rules, as plain functions over the WIT types.

use crate::policy::{
    Action, Batch, BilledCategory, Conversations, Decision, Direction, Facts, PricingModel, PricingType, Side, Symbol,
    TemplateCategory, Violation,
};
use crate::settings::{Settings, OUTSIDE_CSW, US_MARKETING_BLOCKED};

const US_MARKETING_MESSAGE: &str = "Meta does not deliver marketing templates to United States \
    users (error 131049), so this message is never charged.";
const OUTSIDE_CSW_MESSAGE: &str = "Non-template messages may only be sent inside the 24-hour \
    customer service window, which is closed for this user; send a template instead.";
const IN_ANY_CONVERSATION: &str = "inside an open conversation";

/// The note for a template inside an open conversation of its own category.
macro_rules! inside {
    ($category:literal) => {
        concat!("inside an open ", $category, " conversation; the conversation was charged when it opened")
    };
}

/// The batch's shared strings, which facts name by index.
#[derive(Clone, Copy, Debug)]
pub struct Symbols<'a>(pub &'a [String]);

impl<'a> Symbols<'a> {
    /// The string `symbol` names; "" for an index the batch does not hold, so
    /// that no input makes the plugin panic.
    pub fn get(&self, symbol: Symbol) -> &'a str {
        usize::try_from(symbol).ok().and_then(|i| self.0.get(i)).map_or("", String::as_str)
    }
}

/// Classifies each fact, starting from its decision so far. Returns exactly one
/// decision per fact, whatever the length of `so_far`.
pub fn evaluate(settings: &Settings, batch: &Batch, mut so_far: Vec<Decision>) -> Vec<Decision> {
    // A host that sends too few decisions is buggy, but a panic here would take
    // the whole batch down: a missing decision starts blank instead.
    so_far.resize_with(batch.facts.len(), blank);
    let symbols = Symbols(&batch.symbols);
    for (facts, decision) in batch.facts.iter().zip(&mut so_far) {
        classify(settings, symbols, facts, decision);
    }
    so_far
}

fn blank() -> Decision {
    Decision {
        billable: false,
        category: BilledCategory::None,
        pricing_type: PricingType::NotBillable,
        violations: Vec::new(),
        note: None,
    }
}

/// Sets `billable`, `category`, `pricing_type` and `note` of one decision and
/// appends this plugin's violations to the ones already there.
pub fn classify(settings: &Settings, symbols: Symbols, facts: &Facts, decision: &mut Decision) {
    decision.note = None;
    if facts.direction == Direction::Inbound {
        set(decision, BilledCategory::None, false, PricingType::NotBillable);
        return;
    }
    if facts.side == Side::App {
        let category = facts.template_category.map_or(BilledCategory::Service, template_billed_category);
        set(decision, category, false, PricingType::FreeAppSide);
        return;
    }

    let category = api_category(settings, symbols, facts);
    // Meta refuses these two outright, so they are never charged whatever the
    // configured action; the action only tells the CRM what to do about it.
    if category == BilledCategory::Marketing
        && symbols.get(facts.recipient_country) == "US"
        && settings.us_marketing_block_day.is_some_and(|day| facts.local_day >= day)
    {
        set(decision, category, false, PricingType::NotBillable);
        decision.violations.push(violation(
            US_MARKETING_BLOCKED,
            "marketing_to_us",
            US_MARKETING_MESSAGE,
            settings.us_marketing_action,
        ));
        return;
    }
    if category == BilledCategory::Service && !facts.csw_open && !facts.fep_open {
        set(decision, category, false, PricingType::NotBillable);
        decision.violations.push(violation(
            OUTSIDE_CSW,
            "customer_service_window",
            OUTSIDE_CSW_MESSAGE,
            settings.outside_csw_action,
        ));
        return;
    }

    let (billable, pricing_type, note) = match facts.regime.model {
        PricingModel::PerMessage => {
            let (billable, pricing_type) = per_message(facts, category);
            (billable, pricing_type, None)
        }
        PricingModel::Conversation => conversation(facts, category),
    };
    set(decision, category, billable, pricing_type);
    decision.note = note.map(str::to_owned);
}

fn set(decision: &mut Decision, category: BilledCategory, billable: bool, pricing: PricingType) {
    decision.category = category;
    decision.billable = billable;
    decision.pricing_type = pricing;
}

fn violation(code: &str, feature: &str, message: &str, action: Action) -> Violation {
    Violation { code: code.to_owned(), feature: feature.to_owned(), message: message.to_owned(), action }
}

fn template_billed_category(category: TemplateCategory) -> BilledCategory {
    match category {
        TemplateCategory::Marketing => BilledCategory::Marketing,
        TemplateCategory::Utility => BilledCategory::Utility,
        TemplateCategory::Authentication => BilledCategory::Authentication,
    }
}

/// The category an API-side outbound message is billed in: its template's, with
/// the international authentication rate where all three of Meta's conditions hold.
fn api_category(settings: &Settings, symbols: Symbols, facts: &Facts) -> BilledCategory {
    match facts.template_category {
        None => BilledCategory::Service,
        Some(TemplateCategory::Authentication)
            if facts.auth_intl_eligible
                && settings.auth_international.contains(symbols.get(facts.recipient_country))
                && symbols.get(facts.recipient_country) != symbols.get(facts.business_country) =>
        {
            BilledCategory::AuthenticationInternational
        }
        Some(category) => template_billed_category(category),
    }
}

/// Per-message pricing: only templates are charged, with the in-window and
/// allowance exceptions the regime switches on.
fn per_message(facts: &Facts, category: BilledCategory) -> (bool, PricingType) {
    let regime = &facts.regime;
    if facts.fep_open {
        return (false, PricingType::FreeEntryPoint);
    }
    match category {
        BilledCategory::Service if !regime.service_charged => (false, PricingType::FreeCustomerService),
        BilledCategory::Service if facts.allowance_used < regime.free_allowance => (false, PricingType::FreeAllowance),
        BilledCategory::Utility if facts.csw_open && !regime.utility_in_window_charged => {
            (false, PricingType::FreeCustomerService)
        }
        _ => (true, PricingType::Regular),
    }
}

/// Conversation-based pricing: a message is charged only when it opens a
/// conversation; inside one it is covered by the conversation's charge.
fn conversation(facts: &Facts, category: BilledCategory) -> (bool, PricingType, Option<&'static str>) {
    let regime = &facts.regime;
    let open = facts.open_conversations;
    if facts.fep_open {
        return (false, PricingType::FreeEntryPoint, None);
    }
    let (flag, note) = match category {
        BilledCategory::Service => {
            if !open.is_empty() {
                return (false, PricingType::Regular, Some(IN_ANY_CONVERSATION));
            }
            return if !regime.service_charged {
                (false, PricingType::FreeCustomerService, None)
            } else if facts.allowance_used < regime.free_allowance {
                (false, PricingType::FreeAllowance, None)
            } else {
                (true, PricingType::Regular, None)
            };
        }
        BilledCategory::Marketing => (Conversations::MARKETING, inside!("marketing")),
        BilledCategory::Utility => (Conversations::UTILITY, inside!("utility")),
        BilledCategory::Authentication => (Conversations::AUTHENTICATION, inside!("authentication")),
        BilledCategory::AuthenticationInternational => {
            (Conversations::AUTHENTICATION_INTERNATIONAL, inside!("authentication-international"))
        }
        // `api_category` never yields it; charging nothing is the safe answer.
        BilledCategory::None => return (false, PricingType::NotBillable, None),
    };
    if open.contains(flag) {
        (false, PricingType::Regular, Some(note))
    } else {
        (true, PricingType::Regular, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Features, Regime};
    use BilledCategory as C;
    use PricingType as P;

    /// The symbols of every test batch. `sym` finds a string's index.
    const SYMBOLS: [&str; 14] = [
        "",
        "1000",
        "+4915100000000",
        "template",
        "text",
        "test",
        "IN",
        "India",
        "DE",
        "US",
        "North America",
        "BR",
        "CA",
        "in",
    ];

    fn sym(text: &str) -> Symbol {
        let i = SYMBOLS.iter().position(|&s| s == text).unwrap_or_else(|| panic!("{text:?} is not in SYMBOLS"));
        Symbol::try_from(i).unwrap()
    }

    fn symbols() -> Vec<String> {
        SYMBOLS.map(str::to_owned).to_vec()
    }

    /// The decision `classify` makes for `facts` alone, starting blank.
    fn classified(settings: &Settings, facts: &Facts) -> Decision {
        let symbols = symbols();
        let mut decision = blank();
        classify(settings, Symbols(&symbols), facts, &mut decision);
        decision
    }

    /// 2025-08-01: after the US marketing block, under per-message pricing.
    const AUG_2025: i32 = 20_301;
    /// 2025-04-01, the default US marketing block day.
    const BLOCK_DAY: i32 = 20_179;

    fn regime(model: PricingModel, service: bool, utility_in_window: bool, free: u32) -> Regime {
        Regime {
            id: sym("test"),
            model,
            service_charged: service,
            utility_in_window_charged: utility_in_window,
            free_allowance: free,
        }
    }

    /// Conversation-based pricing with 1,000 free service conversations (until 2024-10-31).
    fn cbp_allowance() -> Regime {
        regime(PricingModel::Conversation, true, false, 1_000)
    }
    /// Conversation-based pricing with free service conversations (from 2024-11-01).
    fn cbp_free_service() -> Regime {
        regime(PricingModel::Conversation, false, false, 0)
    }
    /// Per-message pricing from 2026-10-01: service and utility in window charged.
    fn pmp_2026() -> Regime {
        regime(PricingModel::PerMessage, true, true, 1_000)
    }

    /// An API marketing template from a German business to an Indian user, no window open.
    fn base() -> Facts {
        Facts {
            id: "wamid.1".to_owned(),
            waba: sym("1000"),
            business_number: sym("+4915100000000"),
            user: "+919800000000".to_owned(),
            side: Side::Api,
            direction: Direction::Outbound,
            kind: sym("template"),
            template_category: Some(TemplateCategory::Marketing),
            at_ms: 1_754_006_400_000,
            local_day: AUG_2025,
            regime: regime(PricingModel::PerMessage, false, false, 0),
            recipient_country: sym("IN"),
            recipient_market: sym("India"),
            business_country: sym("DE"),
            csw_open: false,
            fep_open: false,
            open_conversations: Conversations::empty(),
            auth_intl_eligible: false,
            coexistence: false,
            history: false,
            features: Features::empty(),
            allowance_used: 0,
        }
    }

    fn text(f: &mut Facts) {
        f.kind = sym("text");
        f.template_category = None;
    }
    fn utility(f: &mut Facts) {
        f.template_category = Some(TemplateCategory::Utility);
    }
    fn auth(f: &mut Facts) {
        f.template_category = Some(TemplateCategory::Authentication);
    }
    fn to_us(f: &mut Facts) {
        f.recipient_country = sym("US");
        f.recipient_market = sym("North America");
        f.user = "+12125550100".to_owned();
    }

    struct Case {
        name: &'static str,
        setup: fn(&mut Facts),
        billable: bool,
        category: BilledCategory,
        pricing: PricingType,
        violation: Option<&'static str>,
        note: Option<&'static str>,
    }

    const fn case(
        name: &'static str,
        setup: fn(&mut Facts),
        billable: bool,
        category: BilledCategory,
        pricing: PricingType,
    ) -> Case {
        Case { name, setup, billable, category, pricing, violation: None, note: None }
    }

    impl Case {
        const fn violation(mut self, code: &'static str) -> Self {
            self.violation = Some(code);
            self
        }
        const fn note(mut self, note: &'static str) -> Self {
            self.note = Some(note);
            self
        }
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        vec![
            // Inbound: never billed, whichever side reported it.
            case("inbound webhook", |f| { text(f); f.direction = Direction::Inbound; f.csw_open = true; },
                false, C::None, P::NotBillable),
            case("inbound history", |f| { f.direction = Direction::Inbound; f.side = Side::App; f.history = true; },
                false, C::None, P::NotBillable),
            case("inbound under CBP", |f| { text(f); f.direction = Direction::Inbound; f.regime = cbp_allowance(); },
                false, C::None, P::NotBillable),
            // App side: free, category from the template.
            case("app text", |f| { text(f); f.side = Side::App; f.coexistence = true; },
                false, C::Service, P::FreeAppSide),
            case("app text outside every window", |f| { text(f); f.side = Side::App; },
                false, C::Service, P::FreeAppSide),
            case("app history text", |f| { text(f); f.side = Side::App; f.history = true; },
                false, C::Service, P::FreeAppSide),
            case("app marketing template", |f| f.side = Side::App,
                false, C::Marketing, P::FreeAppSide),
            case("app marketing template to US", |f| { f.side = Side::App; to_us(f); },
                false, C::Marketing, P::FreeAppSide),
            case("app auth stays authentication", |f| { auth(f); f.side = Side::App; f.auth_intl_eligible = true; },
                false, C::Authentication, P::FreeAppSide),
            case("app utility under 2026 regime", |f| { utility(f); f.side = Side::App; f.regime = pmp_2026(); },
                false, C::Utility, P::FreeAppSide),
            // Authentication-international needs all three conditions.
            case("auth intl: eligible, listed, foreign business", |f| { auth(f); f.auth_intl_eligible = true; },
                true, C::AuthenticationInternational, P::Regular),
            case("auth intl: not eligible", auth,
                true, C::Authentication, P::Regular),
            case("auth intl: domestic business", |f| { auth(f); f.auth_intl_eligible = true; f.business_country = sym("IN"); },
                true, C::Authentication, P::Regular),
            case("auth intl: unlisted country", |f| { auth(f); f.auth_intl_eligible = true; f.recipient_country = sym("BR"); },
                true, C::Authentication, P::Regular),
            case("auth intl: unknown country", |f| { auth(f); f.auth_intl_eligible = true; f.recipient_country = sym(""); },
                true, C::Authentication, P::Regular),
            case("auth intl: lower-case country", |f| { auth(f); f.auth_intl_eligible = true; f.recipient_country = sym("in"); },
                true, C::Authentication, P::Regular),
            case("auth intl: country symbol out of range", |f| { auth(f); f.auth_intl_eligible = true; f.recipient_country = Symbol::MAX; },
                true, C::Authentication, P::Regular),
            case("auth intl: both countries out of range", |f| { auth(f); f.auth_intl_eligible = true; f.recipient_country = 99; f.business_country = 99; },
                true, C::Authentication, P::Regular),
            case("auth intl in window is still charged", |f| { auth(f); f.auth_intl_eligible = true; f.csw_open = true; },
                true, C::AuthenticationInternational, P::Regular),
            // Marketing to US users.
            case("US marketing on the block day", |f| { to_us(f); f.local_day = BLOCK_DAY; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing after the block day", to_us,
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing the day before", |f| { to_us(f); f.local_day = BLOCK_DAY - 1; },
                true, C::Marketing, P::Regular),
            case("US marketing inside FEP is still blocked", |f| { to_us(f); f.fep_open = true; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing under CBP is still blocked", |f| { to_us(f); f.regime = cbp_free_service(); },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("Canadian +1 marketing is delivered", |f| { to_us(f); f.recipient_country = sym("CA"); },
                true, C::Marketing, P::Regular),
            case("marketing to an out-of-range country is delivered", |f| { to_us(f); f.recipient_country = Symbol::MAX; },
                true, C::Marketing, P::Regular),
            case("US utility is delivered", |f| { to_us(f); utility(f); },
                true, C::Utility, P::Regular),
            case("US text in window is free", |f| { to_us(f); text(f); f.csw_open = true; },
                false, C::Service, P::FreeCustomerService),
            // Non-template outside every window.
            case("text outside every window", text,
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, 2026", |f| { text(f); f.regime = pmp_2026(); },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, CBP", |f| { text(f); f.regime = cbp_allowance(); f.open_conversations = Conversations::MARKETING; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text inside FEP only", |f| { text(f); f.fep_open = true; },
                false, C::Service, P::FreeEntryPoint),
            // Per-message pricing, 2025 regime.
            case("PMP marketing outside window", |_| {},
                true, C::Marketing, P::Regular),
            case("PMP marketing inside window", |f| f.csw_open = true,
                true, C::Marketing, P::Regular),
            case("PMP marketing inside FEP", |f| { f.csw_open = true; f.fep_open = true; },
                false, C::Marketing, P::FreeEntryPoint),
            case("PMP utility outside window", utility,
                true, C::Utility, P::Regular),
            case("PMP utility inside window", |f| { utility(f); f.csw_open = true; },
                false, C::Utility, P::FreeCustomerService),
            case("PMP utility inside FEP", |f| { utility(f); f.fep_open = true; },
                false, C::Utility, P::FreeEntryPoint),
            case("PMP authentication inside window", |f| { auth(f); f.csw_open = true; },
                true, C::Authentication, P::Regular),
            case("PMP text inside window", |f| { text(f); f.csw_open = true; },
                false, C::Service, P::FreeCustomerService),
            // Per-message pricing, 2026 regime.
            case("2026 utility inside window is charged", |f| { utility(f); f.csw_open = true; f.regime = pmp_2026(); },
                true, C::Utility, P::Regular),
            case("2026 utility inside FEP is free", |f| { utility(f); f.fep_open = true; f.regime = pmp_2026(); },
                false, C::Utility, P::FreeEntryPoint),
            case("2026 text, allowance untouched", |f| { text(f); f.csw_open = true; f.regime = pmp_2026(); },
                false, C::Service, P::FreeAllowance),
            case("2026 text, last free unit", |f| { text(f); f.csw_open = true; f.regime = pmp_2026(); f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("2026 text, allowance used up", |f| { text(f); f.csw_open = true; f.regime = pmp_2026(); f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("2026 text, no allowance", |f| { text(f); f.csw_open = true; f.regime = pmp_2026(); f.regime.free_allowance = 0; },
                true, C::Service, P::Regular),
            case("2026 text inside FEP", |f| { text(f); f.fep_open = true; f.regime = pmp_2026(); f.allowance_used = 5_000; },
                false, C::Service, P::FreeEntryPoint),
            // Conversation-based pricing.
            case("CBP marketing opens a conversation", |f| f.regime = cbp_allowance(),
                true, C::Marketing, P::Regular),
            case("CBP marketing inside a marketing conversation", |f| { f.regime = cbp_allowance(); f.open_conversations = Conversations::MARKETING; },
                false, C::Marketing, P::Regular)
                .note("inside an open marketing conversation; the conversation was charged when it opened"),
            case("CBP marketing beside a utility conversation", |f| { f.regime = cbp_allowance(); f.open_conversations = Conversations::UTILITY | Conversations::SERVICE; },
                true, C::Marketing, P::Regular),
            case("CBP utility inside a utility conversation", |f| { utility(f); f.regime = cbp_allowance(); f.open_conversations = Conversations::UTILITY; },
                false, C::Utility, P::Regular)
                .note("inside an open utility conversation; the conversation was charged when it opened"),
            case("CBP utility in window opens a conversation", |f| { utility(f); f.csw_open = true; f.regime = cbp_allowance(); },
                true, C::Utility, P::Regular),
            case("CBP authentication inside an authentication conversation", |f| { auth(f); f.regime = cbp_free_service(); f.open_conversations = Conversations::AUTHENTICATION; },
                false, C::Authentication, P::Regular)
                .note("inside an open authentication conversation; the conversation was charged when it opened"),
            case("CBP auth intl beside a domestic auth conversation", |f| { auth(f); f.auth_intl_eligible = true; f.regime = cbp_free_service(); f.open_conversations = Conversations::AUTHENTICATION; },
                true, C::AuthenticationInternational, P::Regular),
            case("CBP auth intl inside an auth intl conversation", |f| { auth(f); f.auth_intl_eligible = true; f.regime = cbp_free_service(); f.open_conversations = Conversations::AUTHENTICATION_INTERNATIONAL; },
                false, C::AuthenticationInternational, P::Regular)
                .note("inside an open authentication-international conversation; the conversation was charged when it opened"),
            case("CBP template inside FEP", |f| { f.fep_open = true; f.regime = cbp_allowance(); },
                false, C::Marketing, P::FreeEntryPoint),
            case("CBP text inside any conversation", |f| { text(f); f.csw_open = true; f.regime = cbp_allowance(); f.open_conversations = Conversations::UTILITY; f.allowance_used = 5_000; },
                false, C::Service, P::Regular).note("inside an open conversation"),
            case("CBP text opens a free service conversation", |f| { text(f); f.csw_open = true; f.regime = cbp_free_service(); },
                false, C::Service, P::FreeCustomerService),
            case("CBP text opens an allowance conversation", |f| { text(f); f.csw_open = true; f.regime = cbp_allowance(); f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("CBP text opens a charged conversation", |f| { text(f); f.csw_open = true; f.regime = cbp_allowance(); f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("CBP text inside FEP", |f| { text(f); f.fep_open = true; f.regime = cbp_allowance(); f.allowance_used = 1_000; },
                false, C::Service, P::FreeEntryPoint),
        ]
    }

    #[test]
    fn classification_table() {
        // Every case in one batch, as the host sends them: one symbol table for all.
        let cases = cases();
        let facts = cases
            .iter()
            .map(|case| {
                let mut facts = base();
                (case.setup)(&mut facts);
                facts
            })
            .collect();
        let batch = Batch { symbols: symbols(), facts };
        let out = evaluate(&Settings::default(), &batch, vec![blank(); cases.len()]);
        assert_eq!(out.len(), cases.len());
        for (case, decision) in cases.iter().zip(out) {
            let name = case.name;
            assert_eq!(decision.billable, case.billable, "{name}: billable");
            assert_eq!(decision.category, case.category, "{name}: category");
            assert_eq!(decision.pricing_type, case.pricing, "{name}: pricing type");
            assert_eq!(decision.note.as_deref(), case.note, "{name}: note");
            let codes: Vec<&str> = decision.violations.iter().map(|v| v.code.as_str()).collect();
            assert_eq!(codes, Vec::from_iter(case.violation), "{name}: violations");
            for v in &decision.violations {
                assert_eq!(v.action, Action::Block, "{name}: default action");
                assert!(v.message.ends_with('.'), "{name}: message is a sentence");
            }
        }
    }

    #[test]
    fn violations_report_the_configured_action_and_stay_unbillable() {
        for action in ["allow", "flag", "block"] {
            let settings = Settings::from_json(&format!(
                r#"{{"actions": {{"delivery.marketing_to_us_blocked": "{action}",
                                   "pricing.outside_customer_service_window": "{action}"}}}}"#
            ))
            .unwrap();
            let mut us = base();
            to_us(&mut us);
            let mut outside = base();
            text(&mut outside);
            for (facts, code, feature) in
                [(us, US_MARKETING_BLOCKED, "marketing_to_us"), (outside, OUTSIDE_CSW, "customer_service_window")]
            {
                let decision = classified(&settings, &facts);
                assert!(!decision.billable, "{action} {code}");
                assert_eq!(decision.pricing_type, P::NotBillable, "{action} {code}");
                let [v] = decision.violations.as_slice() else {
                    panic!("{action} {code}: {:?}", decision.violations);
                };
                assert_eq!((v.code.as_str(), v.feature.as_str()), (code, feature));
                let expected = match action {
                    "allow" => Action::Allow,
                    "flag" => Action::Flag,
                    _ => Action::Block,
                };
                assert_eq!(v.action, expected, "{action} {code}");
            }
        }
    }

    #[test]
    fn us_marketing_rule_follows_its_settings() {
        let mut facts = base();
        to_us(&mut facts);
        let disabled = Settings::from_json(r#"{"us_marketing_block_from": null}"#).unwrap();
        let later = Settings::from_json(r#"{"us_marketing_block_from": "2025-08-02"}"#).unwrap();
        for (settings, billable) in [(disabled, true), (later, true), (Settings::default(), false)] {
            assert_eq!(classified(&settings, &facts).billable, billable, "{settings:?}");
        }
        facts.local_day = AUG_2025 + 1;
        assert!(!classified(&later, &facts).billable, "on the configured day");
    }

    #[test]
    fn auth_international_countries_come_from_settings() {
        let settings = Settings::from_json(r#"{"auth_international_countries": ["BR"]}"#).unwrap();
        let mut facts = base();
        auth(&mut facts);
        facts.auth_intl_eligible = true;
        for (country, category) in [("BR", C::AuthenticationInternational), ("IN", C::Authentication)] {
            facts.recipient_country = sym(country);
            assert_eq!(classified(&settings, &facts).category, category, "{country}");
        }
    }

    #[test]
    fn earlier_violations_are_kept_and_the_note_is_replaced() {
        let earlier = Violation {
            code: "other.code".to_owned(),
            feature: "other".to_owned(),
            message: "Another plugin said so.".to_owned(),
            action: Action::Flag,
        };
        let mut facts = base();
        text(&mut facts);
        let so_far = vec![Decision {
            billable: true,
            category: C::Marketing,
            pricing_type: P::Regular,
            violations: vec![earlier],
            note: Some("stale".to_owned()),
        }];
        let batch = Batch { symbols: symbols(), facts: vec![facts] };
        let out = evaluate(&Settings::default(), &batch, so_far);
        let [decision] = out.as_slice() else { panic!("{out:?}") };
        let codes: Vec<&str> = decision.violations.iter().map(|v| v.code.as_str()).collect();
        assert_eq!(codes, ["other.code", OUTSIDE_CSW]);
        assert_eq!(decision.note, None);
        assert!(!decision.billable);
    }

    #[test]
    fn one_decision_per_fact_in_order() {
        let settings = Settings::default();
        let mut inbound = base();
        inbound.direction = Direction::Inbound;
        let batch = Batch { symbols: symbols(), facts: vec![base(), inbound, base()] };
        for given in 0..5 {
            let out = evaluate(&settings, &batch, (0..given).map(|_| blank()).collect());
            let billable: Vec<bool> = out.iter().map(|d| d.billable).collect();
            assert_eq!(billable, [true, false, true], "{given} decisions given");
        }
    }

    #[test]
    fn symbols_resolve_and_never_panic() {
        let table = symbols();
        let symbols = Symbols(&table);
        assert_eq!(symbols.get(sym("US")), "US");
        assert_eq!(symbols.get(0), "");
        for out_of_range in [14, 15, 1_000, Symbol::MAX] {
            assert_eq!(symbols.get(out_of_range), "", "{out_of_range}");
        }
        assert_eq!(Symbols(&[]).get(0), "");

        // A batch whose facts point past its symbols is classified, not refused.
        let mut us = base();
        to_us(&mut us);
        let batch = Batch { symbols: Vec::new(), facts: vec![base(), us] };
        let out = evaluate(&Settings::default(), &batch, Vec::new());
        let billable: Vec<bool> = out.iter().map(|d| d.billable).collect();
        assert_eq!(billable, [true, true]);
    }
}
