//! The classification rules, as plain functions over one decoded row.

use coexist_plugin_sdk::{
    Action, BilledCategory, Columns, Conversations, DecisionsBuilder, Direction, Fact, PricingModel, PricingType,
    Regime, Side, TemplateCategory,
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

/// A violation this plugin reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    pub code: &'static str,
    pub feature: &'static str,
    pub text: &'static str,
    pub action: Action,
}

/// The classifier's answer for one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Classification {
    pub billable: bool,
    pub category: BilledCategory,
    pub pricing_type: PricingType,
    pub violation: Option<Found>,
    /// Replaces the message's note; `None` removes it.
    pub note: Option<&'static str>,
}

/// Classifies each message of `columns` into `out`, which starts from the
/// decisions so far (one per message, whatever the host sent): sets the three
/// columns, replaces the note and appends this plugin's violations.
pub fn evaluate(settings: &Settings, columns: &Columns, out: &mut DecisionsBuilder) {
    for i in 0..columns.len() {
        let c = classify(settings, columns.business_country, &columns.row(i));
        out.set(i, c.billable, c.category, c.pricing_type);
        if let Some(v) = c.violation {
            out.violation(i, v.code, v.feature, v.text, v.action);
        }
        match c.note {
            Some(note) => out.note(i, note),
            None => out.clear_note(i),
        }
    }
}

fn classification(category: BilledCategory, billable: bool, pricing_type: PricingType) -> Classification {
    Classification { billable, category, pricing_type, violation: None, note: None }
}

/// Classifies one message of a business in `business_country` (ISO 3166 alpha-2).
pub fn classify(settings: &Settings, business_country: &str, fact: &Fact) -> Classification {
    if fact.direction == Direction::Inbound {
        return classification(BilledCategory::None, false, PricingType::NotBillable);
    }
    if fact.side == Side::App {
        let category = fact.template_category.map_or(BilledCategory::Service, template_billed_category);
        return classification(category, false, PricingType::FreeAppSide);
    }

    let category = api_category(settings, business_country, fact);
    // Meta refuses these two outright, so they are never charged whatever the
    // configured action; the action only tells the CRM what to do about it.
    if category == BilledCategory::Marketing
        && fact.recipient_country == "US"
        && settings.us_marketing_block_day.is_some_and(|day| fact.local_day >= day)
    {
        let found = Found {
            code: US_MARKETING_BLOCKED,
            feature: "marketing_to_us",
            text: US_MARKETING_MESSAGE,
            action: settings.us_marketing_action,
        };
        return Classification { violation: Some(found), ..classification(category, false, PricingType::NotBillable) };
    }
    if category == BilledCategory::Service && !(fact.status.csw_open || fact.status.fep_open) {
        let found = Found {
            code: OUTSIDE_CSW,
            feature: "customer_service_window",
            text: OUTSIDE_CSW_MESSAGE,
            action: settings.outside_csw_action,
        };
        return Classification { violation: Some(found), ..classification(category, false, PricingType::NotBillable) };
    }

    let (billable, pricing_type, note) = match fact.regime.model {
        PricingModel::PerMessage => {
            let (billable, pricing_type) = per_message(fact, &fact.regime, category);
            (billable, pricing_type, None)
        }
        PricingModel::Conversation => conversation(fact, &fact.regime, category),
    };
    Classification { note, ..classification(category, billable, pricing_type) }
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
fn api_category(settings: &Settings, business_country: &str, fact: &Fact) -> BilledCategory {
    match fact.template_category {
        None => BilledCategory::Service,
        Some(TemplateCategory::Authentication)
            if fact.status.auth_intl_eligible
                && settings.auth_international.contains(fact.recipient_country)
                && fact.recipient_country != business_country =>
        {
            BilledCategory::AuthenticationInternational
        }
        Some(category) => template_billed_category(category),
    }
}

/// Per-message pricing: only templates are charged, with the in-window and
/// allowance exceptions the regime switches on.
fn per_message(fact: &Fact, regime: &Regime, category: BilledCategory) -> (bool, PricingType) {
    if fact.status.fep_open {
        return (false, PricingType::FreeEntryPoint);
    }
    match category {
        BilledCategory::Service if !regime.service_charged => (false, PricingType::FreeCustomerService),
        BilledCategory::Service if fact.allowance_used < regime.free_allowance => (false, PricingType::FreeAllowance),
        BilledCategory::Utility if fact.status.csw_open && !regime.utility_in_window_charged => {
            (false, PricingType::FreeCustomerService)
        }
        _ => (true, PricingType::Regular),
    }
}

/// Conversation-based pricing: a message is charged only when it opens a
/// conversation; inside one it is covered by the conversation's charge.
fn conversation(fact: &Fact, regime: &Regime, category: BilledCategory) -> (bool, PricingType, Option<&'static str>) {
    let open = fact.open_conversations;
    if fact.status.fep_open {
        return (false, PricingType::FreeEntryPoint, None);
    }
    let (flag, note) = match category {
        BilledCategory::Service => {
            if !open.is_empty() {
                return (false, PricingType::Regular, Some(IN_ANY_CONVERSATION));
            }
            return if !regime.service_charged {
                (false, PricingType::FreeCustomerService, None)
            } else if fact.allowance_used < regime.free_allowance {
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
    use coexist_plugin_sdk::{Decisions, Features, OwnedBatch, Status, Symbol, UNKNOWN_REGIME};
    use BilledCategory as C;
    use PricingType as P;

    /// A recipient country the test batches encode as a symbol index past the
    /// symbols, as a buggy host would send it; it reads back as "".
    const OUT_OF_RANGE: &str = "<out of range>";

    /// The columns of `facts` from a business in `business_country`, as the host sends them.
    fn batch(business_country: &str, facts: impl IntoIterator<Item = Fact<'static>>) -> OwnedBatch {
        let mut batch = OwnedBatch::of("1000", business_country, facts);
        let bad = batch.symbol(OUT_OF_RANGE);
        for country in &mut batch.recipient_country {
            if *country == bad {
                *country = Symbol::MAX;
            }
        }
        batch
    }

    /// Runs `evaluate` over `batch`, starting from `so_far`.
    fn evaluated(settings: &Settings, batch: &OwnedBatch, so_far: Decisions) -> Decisions {
        let columns = batch.columns();
        let mut out = DecisionsBuilder::new(so_far, columns.len());
        evaluate(settings, &columns, &mut out);
        out.finish()
    }

    /// The classification of `fact` alone, from a German business.
    fn classified(settings: &Settings, fact: &Fact) -> Classification {
        classify(settings, "DE", fact)
    }

    /// 2025-08-01: after the US marketing block, under per-message pricing.
    const AUG_2025: i32 = 20_301;
    /// 2025-04-01, the default US marketing block day.
    const BLOCK_DAY: i32 = 20_179;

    const fn regime(model: PricingModel, service: bool, utility_in_window: bool, free: u32) -> Regime {
        Regime {
            id: 0,
            model,
            service_charged: service,
            utility_in_window_charged: utility_in_window,
            free_allowance: free,
        }
    }

    /// Per-message pricing from 2025-07-01: service and utility in window free.
    const PMP_2025: Regime = regime(PricingModel::PerMessage, false, false, 0);
    /// Conversation-based pricing with 1,000 free service conversations (until 2024-10-31).
    const CBP_ALLOWANCE: Regime = regime(PricingModel::Conversation, true, false, 1_000);
    /// Conversation-based pricing with free service conversations (from 2024-11-01).
    const CBP_FREE_SERVICE: Regime = regime(PricingModel::Conversation, false, false, 0);
    /// Per-message pricing from 2026-10-01: service and utility in window charged.
    const PMP_2026: Regime = regime(PricingModel::PerMessage, true, true, 1_000);
    /// `PMP_2026` without a free allowance.
    const PMP_2026_NO_ALLOWANCE: Regime = regime(PricingModel::PerMessage, true, true, 0);

    /// An API marketing template (from a German business, see `batch`) to an Indian user, no window open.
    fn base() -> Fact<'static> {
        Fact {
            business_number: "+4915100000000",
            user: "+919800000000",
            kind: "template",
            side: Side::Api,
            direction: Direction::Outbound,
            template_category: Some(TemplateCategory::Marketing),
            at_ms: 1_754_006_400_000,
            local_day: AUG_2025,
            regime: PMP_2025,
            recipient_country: "IN",
            recipient_market: "India",
            status: Status::default(),
            open_conversations: Conversations::empty(),
            features: Features::empty(),
            allowance_used: 0,
        }
    }

    fn text(f: &mut Fact) {
        f.kind = "text";
        f.template_category = None;
    }
    fn utility(f: &mut Fact) {
        f.template_category = Some(TemplateCategory::Utility);
    }
    fn auth(f: &mut Fact) {
        f.template_category = Some(TemplateCategory::Authentication);
    }
    fn to_us(f: &mut Fact) {
        f.recipient_country = "US";
        f.recipient_market = "North America";
        f.user = "+12125550100";
    }

    struct Case {
        name: &'static str,
        setup: fn(&mut Fact),
        billable: bool,
        category: BilledCategory,
        pricing: PricingType,
        violation: Option<&'static str>,
        note: Option<&'static str>,
        /// The batch's business country.
        business: &'static str,
    }

    const fn case(
        name: &'static str,
        setup: fn(&mut Fact),
        billable: bool,
        category: BilledCategory,
        pricing: PricingType,
    ) -> Case {
        Case { name, setup, billable, category, pricing, violation: None, note: None, business: "DE" }
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
        const fn business(mut self, country: &'static str) -> Self {
            self.business = country;
            self
        }
    }

    #[rustfmt::skip]
    fn cases() -> Vec<Case> {
        vec![
            // Inbound: never billed, whichever side reported it.
            case("inbound webhook", |f| { text(f); f.direction = Direction::Inbound; f.status.csw_open = true; },
                false, C::None, P::NotBillable),
            case("inbound history", |f| { f.direction = Direction::Inbound; f.side = Side::App; f.status.history = true; },
                false, C::None, P::NotBillable),
            case("inbound under CBP", |f| { text(f); f.direction = Direction::Inbound; f.regime = CBP_ALLOWANCE; },
                false, C::None, P::NotBillable),
            // App side: free, category from the template.
            case("app text", |f| { text(f); f.side = Side::App; f.status.coexistence = true; },
                false, C::Service, P::FreeAppSide),
            case("app text outside every window", |f| { text(f); f.side = Side::App; },
                false, C::Service, P::FreeAppSide),
            case("app history text", |f| { text(f); f.side = Side::App; f.status.history = true; },
                false, C::Service, P::FreeAppSide),
            case("app marketing template", |f| f.side = Side::App,
                false, C::Marketing, P::FreeAppSide),
            case("app marketing template to US", |f| { f.side = Side::App; to_us(f); },
                false, C::Marketing, P::FreeAppSide),
            case("app auth stays authentication", |f| { auth(f); f.side = Side::App; f.status.auth_intl_eligible = true; },
                false, C::Authentication, P::FreeAppSide),
            case("app utility under 2026 regime", |f| { utility(f); f.side = Side::App; f.regime = PMP_2026; },
                false, C::Utility, P::FreeAppSide),
            // Authentication-international needs all three conditions.
            case("auth intl: eligible, listed, foreign business", |f| { auth(f); f.status.auth_intl_eligible = true; },
                true, C::AuthenticationInternational, P::Regular),
            case("auth intl: not eligible", auth,
                true, C::Authentication, P::Regular),
            case("auth intl: domestic business", |f| { auth(f); f.status.auth_intl_eligible = true; },
                true, C::Authentication, P::Regular).business("IN"),
            case("auth intl: business country unknown", |f| { auth(f); f.status.auth_intl_eligible = true; },
                true, C::AuthenticationInternational, P::Regular).business(""),
            case("auth intl: unlisted country", |f| { auth(f); f.status.auth_intl_eligible = true; f.recipient_country = "BR"; },
                true, C::Authentication, P::Regular),
            case("auth intl: unknown country", |f| { auth(f); f.status.auth_intl_eligible = true; f.recipient_country = ""; },
                true, C::Authentication, P::Regular),
            case("auth intl: lower-case country", |f| { auth(f); f.status.auth_intl_eligible = true; f.recipient_country = "in"; },
                true, C::Authentication, P::Regular),
            case("auth intl: country symbol out of range", |f| { auth(f); f.status.auth_intl_eligible = true; f.recipient_country = OUT_OF_RANGE; },
                true, C::Authentication, P::Regular),
            case("auth intl: both countries unknown", |f| { auth(f); f.status.auth_intl_eligible = true; f.recipient_country = OUT_OF_RANGE; },
                true, C::Authentication, P::Regular).business(""),
            case("auth intl in window is still charged", |f| { auth(f); f.status.auth_intl_eligible = true; f.status.csw_open = true; },
                true, C::AuthenticationInternational, P::Regular),
            // Marketing to US users.
            case("US marketing on the block day", |f| { to_us(f); f.local_day = BLOCK_DAY; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing after the block day", to_us,
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing the day before", |f| { to_us(f); f.local_day = BLOCK_DAY - 1; },
                true, C::Marketing, P::Regular),
            case("US marketing inside FEP is still blocked", |f| { to_us(f); f.status.fep_open = true; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing under CBP is still blocked", |f| { to_us(f); f.regime = CBP_FREE_SERVICE; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("Canadian +1 marketing is delivered", |f| { to_us(f); f.recipient_country = "CA"; },
                true, C::Marketing, P::Regular),
            case("marketing to an out-of-range country is delivered", |f| { to_us(f); f.recipient_country = OUT_OF_RANGE; },
                true, C::Marketing, P::Regular),
            case("US utility is delivered", |f| { to_us(f); utility(f); },
                true, C::Utility, P::Regular),
            case("US text in window is free", |f| { to_us(f); text(f); f.status.csw_open = true; },
                false, C::Service, P::FreeCustomerService),
            // Non-template outside every window.
            case("text outside every window", text,
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, 2026", |f| { text(f); f.regime = PMP_2026; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, CBP", |f| { text(f); f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::MARKETING; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text inside FEP only", |f| { text(f); f.status.fep_open = true; },
                false, C::Service, P::FreeEntryPoint),
            // Per-message pricing, 2025 regime.
            case("PMP marketing outside window", |_| {},
                true, C::Marketing, P::Regular),
            case("PMP marketing inside window", |f| f.status.csw_open = true,
                true, C::Marketing, P::Regular),
            case("PMP marketing inside FEP", |f| { f.status.csw_open = true; f.status.fep_open = true; },
                false, C::Marketing, P::FreeEntryPoint),
            case("PMP utility outside window", utility,
                true, C::Utility, P::Regular),
            case("PMP utility inside window", |f| { utility(f); f.status.csw_open = true; },
                false, C::Utility, P::FreeCustomerService),
            case("PMP utility inside FEP", |f| { utility(f); f.status.fep_open = true; },
                false, C::Utility, P::FreeEntryPoint),
            case("PMP authentication inside window", |f| { auth(f); f.status.csw_open = true; },
                true, C::Authentication, P::Regular),
            case("PMP text inside window", |f| { text(f); f.status.csw_open = true; },
                false, C::Service, P::FreeCustomerService),
            // Per-message pricing, 2026 regime.
            case("2026 utility inside window is charged", |f| { utility(f); f.status.csw_open = true; f.regime = PMP_2026; },
                true, C::Utility, P::Regular),
            case("2026 utility inside FEP is free", |f| { utility(f); f.status.fep_open = true; f.regime = PMP_2026; },
                false, C::Utility, P::FreeEntryPoint),
            case("2026 text, allowance untouched", |f| { text(f); f.status.csw_open = true; f.regime = PMP_2026; },
                false, C::Service, P::FreeAllowance),
            case("2026 text, last free unit", |f| { text(f); f.status.csw_open = true; f.regime = PMP_2026; f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("2026 text, allowance used up", |f| { text(f); f.status.csw_open = true; f.regime = PMP_2026; f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("2026 text, no allowance", |f| { text(f); f.status.csw_open = true; f.regime = PMP_2026_NO_ALLOWANCE; },
                true, C::Service, P::Regular),
            case("2026 text inside FEP", |f| { text(f); f.status.fep_open = true; f.regime = PMP_2026; f.allowance_used = 5_000; },
                false, C::Service, P::FreeEntryPoint),
            // Conversation-based pricing.
            case("CBP marketing opens a conversation", |f| f.regime = CBP_ALLOWANCE,
                true, C::Marketing, P::Regular),
            case("CBP marketing inside a marketing conversation", |f| { f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::MARKETING; },
                false, C::Marketing, P::Regular)
                .note("inside an open marketing conversation; the conversation was charged when it opened"),
            case("CBP marketing beside a utility conversation", |f| { f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::UTILITY | Conversations::SERVICE; },
                true, C::Marketing, P::Regular),
            case("CBP utility inside a utility conversation", |f| { utility(f); f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::UTILITY; },
                false, C::Utility, P::Regular)
                .note("inside an open utility conversation; the conversation was charged when it opened"),
            case("CBP utility in window opens a conversation", |f| { utility(f); f.status.csw_open = true; f.regime = CBP_ALLOWANCE; },
                true, C::Utility, P::Regular),
            case("CBP authentication inside an authentication conversation", |f| { auth(f); f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION; },
                false, C::Authentication, P::Regular)
                .note("inside an open authentication conversation; the conversation was charged when it opened"),
            case("CBP auth intl beside a domestic auth conversation", |f| { auth(f); f.status.auth_intl_eligible = true; f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION; },
                true, C::AuthenticationInternational, P::Regular),
            case("CBP auth intl inside an auth intl conversation", |f| { auth(f); f.status.auth_intl_eligible = true; f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION_INTERNATIONAL; },
                false, C::AuthenticationInternational, P::Regular)
                .note("inside an open authentication-international conversation; the conversation was charged when it opened"),
            case("CBP template inside FEP", |f| { f.status.fep_open = true; f.regime = CBP_ALLOWANCE; },
                false, C::Marketing, P::FreeEntryPoint),
            case("CBP text inside any conversation", |f| { text(f); f.status.csw_open = true; f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::UTILITY; f.allowance_used = 5_000; },
                false, C::Service, P::Regular).note("inside an open conversation"),
            case("CBP text opens a free service conversation", |f| { text(f); f.status.csw_open = true; f.regime = CBP_FREE_SERVICE; },
                false, C::Service, P::FreeCustomerService),
            case("CBP text opens an allowance conversation", |f| { text(f); f.status.csw_open = true; f.regime = CBP_ALLOWANCE; f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("CBP text opens a charged conversation", |f| { text(f); f.status.csw_open = true; f.regime = CBP_ALLOWANCE; f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("CBP text inside FEP", |f| { text(f); f.status.fep_open = true; f.regime = CBP_ALLOWANCE; f.allowance_used = 1_000; },
                false, C::Service, P::FreeEntryPoint),
            // A regime index past the batch's regimes: per-message, nothing charged extra.
            case("unknown regime: marketing is charged per message", |f| { f.regime = UNKNOWN_REGIME; f.open_conversations = Conversations::MARKETING; },
                true, C::Marketing, P::Regular),
            case("unknown regime: utility in window is free", |f| { utility(f); f.status.csw_open = true; f.regime = UNKNOWN_REGIME; },
                false, C::Utility, P::FreeCustomerService),
            case("unknown regime: text in window is free", |f| { text(f); f.status.csw_open = true; f.regime = UNKNOWN_REGIME; f.allowance_used = 5_000; },
                false, C::Service, P::FreeCustomerService),
            case("unknown regime: text outside every window", |f| { text(f); f.regime = UNKNOWN_REGIME; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("unknown regime: template inside FEP", |f| { f.status.fep_open = true; f.regime = UNKNOWN_REGIME; },
                false, C::Marketing, P::FreeEntryPoint),
        ]
    }

    #[test]
    fn classification_table() {
        // The cases of one business in one batch, as the host sends them: one
        // symbol table and one regime table for all.
        let cases = cases();
        let mut businesses: Vec<&str> = cases.iter().map(|case| case.business).collect();
        businesses.sort_unstable();
        businesses.dedup();
        let mut checked = 0;
        for business in businesses {
            let cases: Vec<&Case> = cases.iter().filter(|case| case.business == business).collect();
            let facts = cases.iter().map(|case| {
                let mut fact = base();
                (case.setup)(&mut fact);
                fact
            });
            let out = evaluated(&Settings::default(), &batch(business, facts), Decisions::blank(cases.len()));
            assert_eq!(out.len(), cases.len());
            for (i, case) in cases.into_iter().enumerate() {
                assert_case(case, &out, i);
                checked += 1;
            }
        }
        assert_eq!(checked, cases.len());
    }

    fn assert_case(case: &Case, out: &Decisions, i: usize) {
        let name = case.name;
        assert_eq!(out.is_billable(i), case.billable, "{name}: billable");
        assert_eq!(out.category_of(i), Some(case.category), "{name}: category");
        assert_eq!(out.pricing_type_of(i), Some(case.pricing), "{name}: pricing type");
        assert_eq!(out.note_of(i), case.note, "{name}: note");
        let codes: Vec<&str> = out.violations_of(i).map(|v| v.code.as_str()).collect();
        assert_eq!(codes, Vec::from_iter(case.violation), "{name}: violations");
        for v in out.violations_of(i) {
            assert_eq!(v.action, Action::Block, "{name}: default action");
            assert!(v.text.ends_with('.'), "{name}: text is a sentence");
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
            for (fact, code, feature) in
                [(us, US_MARKETING_BLOCKED, "marketing_to_us"), (outside, OUTSIDE_CSW, "customer_service_window")]
            {
                let classification = classified(&settings, &fact);
                assert!(!classification.billable, "{action} {code}");
                assert_eq!(classification.pricing_type, P::NotBillable, "{action} {code}");
                let Some(v) = classification.violation else { panic!("{action} {code}: {classification:?}") };
                assert_eq!((v.code, v.feature), (code, feature));
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
        let mut fact = base();
        to_us(&mut fact);
        let disabled = Settings::from_json(r#"{"us_marketing_block_from": null}"#).unwrap();
        let later = Settings::from_json(r#"{"us_marketing_block_from": "2025-08-02"}"#).unwrap();
        for (settings, billable) in [(disabled, true), (later, true), (Settings::default(), false)] {
            assert_eq!(classified(&settings, &fact).billable, billable, "{settings:?}");
        }
        fact.local_day = AUG_2025 + 1;
        assert!(!classified(&later, &fact).billable, "on the configured day");
    }

    #[test]
    fn auth_international_countries_come_from_settings() {
        let settings = Settings::from_json(r#"{"auth_international_countries": ["BR"]}"#).unwrap();
        let mut fact = base();
        auth(&mut fact);
        fact.status.auth_intl_eligible = true;
        for (country, category) in [("BR", C::AuthenticationInternational), ("IN", C::Authentication)] {
            fact.recipient_country = country;
            assert_eq!(classified(&settings, &fact).category, category, "{country}");
        }
    }

    #[test]
    fn earlier_violations_are_kept_and_the_note_is_replaced() {
        let earlier = coexist_plugin_sdk::Violation {
            message: 0,
            code: "other.code".to_owned(),
            feature: "other".to_owned(),
            text: "Another plugin said so.".to_owned(),
            action: Action::Flag,
        };
        let mut outside = base();
        text(&mut outside);
        let mut inside = base();
        inside.regime = CBP_ALLOWANCE;
        inside.open_conversations = Conversations::MARKETING;
        let so_far = Decisions {
            billable: vec![1, 1],
            category: vec![C::Marketing.code(); 2],
            pricing_type: vec![P::Regular.code(); 2],
            violations: vec![earlier],
            notes: vec![
                coexist_plugin_sdk::Note { message: 1, text: "stale".to_owned() },
                coexist_plugin_sdk::Note { message: 0, text: "stale".to_owned() },
            ],
        };
        let out = evaluated(&Settings::default(), &batch("DE", [outside, inside]), so_far);
        let codes: Vec<&str> = out.violations_of(0).map(|v| v.code.as_str()).collect();
        assert_eq!(codes, ["other.code", OUTSIDE_CSW]);
        assert_eq!(out.note_of(0), None);
        assert!(!out.is_billable(0));
        assert_eq!(out.note_of(1), Some(inside!("marketing")));
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn one_decision_per_fact_in_order() {
        let settings = Settings::default();
        let mut inbound = base();
        inbound.direction = Direction::Inbound;
        let batch = batch("DE", [base(), inbound, base()]);
        for given in 0..5 {
            let out = evaluated(&settings, &batch, Decisions::blank(given));
            assert_eq!(out.billable, [1, 0, 1], "{given} decisions given");
            assert_eq!((out.category.len(), out.pricing_type.len()), (3, 3), "{given} decisions given");
        }
    }

    #[test]
    fn bad_columns_are_classified_not_refused() {
        // A batch whose columns point past its symbols and regimes, with
        // unknown codes and ragged columns, is classified without a panic.
        let mut us = base();
        to_us(&mut us);
        let mut text_in_window = base();
        text(&mut text_in_window);
        text_in_window.status.csw_open = true;
        let mut batch = batch("", [base(), us, text_in_window]);
        batch.symbol_text.clear();
        batch.symbol_ends.clear();
        batch.regimes.clear();
        let out = evaluated(&Settings::default(), &batch, Decisions::default());
        let pricing = |out: &Decisions| -> Vec<(bool, Option<PricingType>)> {
            (0..out.len()).map(|i| (out.is_billable(i), out.pricing_type_of(i))).collect()
        };
        let regular = (true, Some(P::Regular));
        assert_eq!(pricing(&out), [regular, regular, (false, Some(P::FreeCustomerService))]);

        // An unknown side and direction read as an API send, an unknown
        // template category as marketing; a missing value like an unknown one.
        let mut inbound_app_text = base();
        inbound_app_text.side = Side::App;
        inbound_app_text.direction = Direction::Inbound;
        text(&mut inbound_app_text);
        let mut batch = self::batch("DE", [inbound_app_text, inbound_app_text]);
        batch.side[0] = 7;
        batch.direction[0] = 7;
        batch.template_category[0] = 7;
        batch.side.truncate(1);
        batch.direction.truncate(1);
        batch.template_category.truncate(1);
        let out = evaluated(&Settings::default(), &batch, Decisions::default());
        assert_eq!(pricing(&out), [regular, regular]);
        assert_eq!([out.category_of(0), out.category_of(1)], [Some(C::Marketing), Some(C::Marketing)]);
    }
}
