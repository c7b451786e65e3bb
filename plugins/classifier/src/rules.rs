//! The classification rules, as plain functions over the WIT types.

use crate::policy::{
    Action, Batch, BilledCategory, Conversations, Decision, Direction, Facts, PricingModel, PricingType, Regime, Side,
    Status, Symbol, TemplateCategory, Violation,
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

/// The regime of a fact whose index the batch does not hold: per-message
/// pricing with nothing charged beyond it (service free, utility in window
/// free, no allowance), and an id that names no symbol. A buggy host must not
/// make the plugin panic, and must not make it charge more than a real regime would.
pub const UNKNOWN_REGIME: Regime = Regime {
    id: Symbol::MAX,
    model: PricingModel::PerMessage,
    service_charged: false,
    utility_in_window_charged: false,
    free_allowance: 0,
};

/// The batch's regimes, which facts name by index.
#[derive(Clone, Copy, Debug)]
pub struct Regimes<'a>(pub &'a [Regime]);

impl Regimes<'_> {
    /// The regime `index` names; [`UNKNOWN_REGIME`] for an index the batch does not hold.
    pub fn get(&self, index: u32) -> Regime {
        usize::try_from(index).ok().and_then(|i| self.0.get(i)).copied().unwrap_or(UNKNOWN_REGIME)
    }
}

/// What every fact of a batch shares: the batch is all one WABA.
#[derive(Clone, Copy, Debug)]
pub struct Shared<'a> {
    pub symbols: Symbols<'a>,
    pub regimes: Regimes<'a>,
    /// ISO 3166 alpha-2 of the business's primary location.
    pub business_country: &'a str,
}

impl<'a> Shared<'a> {
    pub fn of(batch: &'a Batch) -> Self {
        Shared {
            symbols: Symbols(&batch.symbols),
            regimes: Regimes(&batch.regimes),
            business_country: &batch.business_country,
        }
    }
}

/// Classifies each fact, starting from its decision so far. Returns exactly one
/// decision per fact, whatever the length of `so_far`.
pub fn evaluate(settings: &Settings, batch: &Batch, mut so_far: Vec<Decision>) -> Vec<Decision> {
    // A host that sends too few decisions is buggy, but a panic here would take
    // the whole batch down: a missing decision starts blank instead.
    so_far.resize_with(batch.facts.len(), blank);
    let shared = Shared::of(batch);
    for (facts, decision) in batch.facts.iter().zip(&mut so_far) {
        classify(settings, shared, facts, decision);
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
pub fn classify(settings: &Settings, shared: Shared, facts: &Facts, decision: &mut Decision) {
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

    let category = api_category(settings, shared, facts);
    // Meta refuses these two outright, so they are never charged whatever the
    // configured action; the action only tells the CRM what to do about it.
    if category == BilledCategory::Marketing
        && shared.symbols.get(facts.recipient_country) == "US"
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
    if category == BilledCategory::Service && !facts.status.intersects(Status::CSW_OPEN | Status::FEP_OPEN) {
        set(decision, category, false, PricingType::NotBillable);
        decision.violations.push(violation(
            OUTSIDE_CSW,
            "customer_service_window",
            OUTSIDE_CSW_MESSAGE,
            settings.outside_csw_action,
        ));
        return;
    }

    let regime = shared.regimes.get(facts.regime);
    let (billable, pricing_type, note) = match regime.model {
        PricingModel::PerMessage => {
            let (billable, pricing_type) = per_message(facts, &regime, category);
            (billable, pricing_type, None)
        }
        PricingModel::Conversation => conversation(facts, &regime, category),
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
fn api_category(settings: &Settings, shared: Shared, facts: &Facts) -> BilledCategory {
    match facts.template_category {
        None => BilledCategory::Service,
        Some(TemplateCategory::Authentication)
            if facts.status.contains(Status::AUTH_INTL_ELIGIBLE)
                && settings.auth_international.contains(shared.symbols.get(facts.recipient_country))
                && shared.symbols.get(facts.recipient_country) != shared.business_country =>
        {
            BilledCategory::AuthenticationInternational
        }
        Some(category) => template_billed_category(category),
    }
}

/// Per-message pricing: only templates are charged, with the in-window and
/// allowance exceptions the regime switches on.
fn per_message(facts: &Facts, regime: &Regime, category: BilledCategory) -> (bool, PricingType) {
    if facts.status.contains(Status::FEP_OPEN) {
        return (false, PricingType::FreeEntryPoint);
    }
    match category {
        BilledCategory::Service if !regime.service_charged => (false, PricingType::FreeCustomerService),
        BilledCategory::Service if facts.allowance_used < regime.free_allowance => (false, PricingType::FreeAllowance),
        BilledCategory::Utility if facts.status.contains(Status::CSW_OPEN) && !regime.utility_in_window_charged => {
            (false, PricingType::FreeCustomerService)
        }
        _ => (true, PricingType::Regular),
    }
}

/// Conversation-based pricing: a message is charged only when it opens a
/// conversation; inside one it is covered by the conversation's charge.
fn conversation(facts: &Facts, regime: &Regime, category: BilledCategory) -> (bool, PricingType, Option<&'static str>) {
    let open = facts.open_conversations;
    if facts.status.contains(Status::FEP_OPEN) {
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
    use crate::policy::Features;
    use BilledCategory as C;
    use PricingType as P;
    use Status as S;

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

    /// A batch of `facts` from a business in `business_country`, with the test symbols and regimes.
    fn batch(business_country: &str, facts: Vec<Facts>) -> Batch {
        Batch {
            waba: "1000".to_owned(),
            business_country: business_country.to_owned(),
            symbols: symbols(),
            regimes: regimes(),
            facts,
        }
    }

    /// The decision `classify` makes for `facts` alone, from a German business, starting blank.
    fn classified(settings: &Settings, facts: &Facts) -> Decision {
        let batch = batch("DE", Vec::new());
        let mut decision = blank();
        classify(settings, Shared::of(&batch), facts, &mut decision);
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

    // The regimes of every test batch, by index into `regimes()`.
    /// Per-message pricing from 2025-07-01: service and utility in window free.
    const PMP_2025: u32 = 0;
    /// Conversation-based pricing with 1,000 free service conversations (until 2024-10-31).
    const CBP_ALLOWANCE: u32 = 1;
    /// Conversation-based pricing with free service conversations (from 2024-11-01).
    const CBP_FREE_SERVICE: u32 = 2;
    /// Per-message pricing from 2026-10-01: service and utility in window charged.
    const PMP_2026: u32 = 3;
    /// `PMP_2026` without a free allowance.
    const PMP_2026_NO_ALLOWANCE: u32 = 4;
    /// The first index past `regimes()`.
    const NO_REGIME: u32 = 5;

    fn regimes() -> Vec<Regime> {
        vec![
            regime(PricingModel::PerMessage, false, false, 0),
            regime(PricingModel::Conversation, true, false, 1_000),
            regime(PricingModel::Conversation, false, false, 0),
            regime(PricingModel::PerMessage, true, true, 1_000),
            regime(PricingModel::PerMessage, true, true, 0),
        ]
    }

    /// An API marketing template (from a German business, see `batch`) to an Indian user, no window open.
    fn base() -> Facts {
        Facts {
            id: "wamid.1".to_owned(),
            business_number: sym("+4915100000000"),
            user: "+919800000000".to_owned(),
            side: Side::Api,
            direction: Direction::Outbound,
            kind: sym("template"),
            template_category: Some(TemplateCategory::Marketing),
            at_ms: 1_754_006_400_000,
            local_day: AUG_2025,
            regime: PMP_2025,
            recipient_country: sym("IN"),
            recipient_market: sym("India"),
            status: Status::empty(),
            open_conversations: Conversations::empty(),
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
        /// The batch's business country.
        business: &'static str,
    }

    const fn case(
        name: &'static str,
        setup: fn(&mut Facts),
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
            case("inbound webhook", |f| { text(f); f.direction = Direction::Inbound; f.status |= S::CSW_OPEN; },
                false, C::None, P::NotBillable),
            case("inbound history", |f| { f.direction = Direction::Inbound; f.side = Side::App; f.status |= S::HISTORY; },
                false, C::None, P::NotBillable),
            case("inbound under CBP", |f| { text(f); f.direction = Direction::Inbound; f.regime = CBP_ALLOWANCE; },
                false, C::None, P::NotBillable),
            // App side: free, category from the template.
            case("app text", |f| { text(f); f.side = Side::App; f.status |= S::COEXISTENCE; },
                false, C::Service, P::FreeAppSide),
            case("app text outside every window", |f| { text(f); f.side = Side::App; },
                false, C::Service, P::FreeAppSide),
            case("app history text", |f| { text(f); f.side = Side::App; f.status |= S::HISTORY; },
                false, C::Service, P::FreeAppSide),
            case("app marketing template", |f| f.side = Side::App,
                false, C::Marketing, P::FreeAppSide),
            case("app marketing template to US", |f| { f.side = Side::App; to_us(f); },
                false, C::Marketing, P::FreeAppSide),
            case("app auth stays authentication", |f| { auth(f); f.side = Side::App; f.status |= S::AUTH_INTL_ELIGIBLE; },
                false, C::Authentication, P::FreeAppSide),
            case("app utility under 2026 regime", |f| { utility(f); f.side = Side::App; f.regime = PMP_2026; },
                false, C::Utility, P::FreeAppSide),
            // Authentication-international needs all three conditions.
            case("auth intl: eligible, listed, foreign business", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; },
                true, C::AuthenticationInternational, P::Regular),
            case("auth intl: not eligible", auth,
                true, C::Authentication, P::Regular),
            case("auth intl: domestic business", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; },
                true, C::Authentication, P::Regular).business("IN"),
            case("auth intl: business country unknown", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; },
                true, C::AuthenticationInternational, P::Regular).business(""),
            case("auth intl: unlisted country", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.recipient_country = sym("BR"); },
                true, C::Authentication, P::Regular),
            case("auth intl: unknown country", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.recipient_country = sym(""); },
                true, C::Authentication, P::Regular),
            case("auth intl: lower-case country", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.recipient_country = sym("in"); },
                true, C::Authentication, P::Regular),
            case("auth intl: country symbol out of range", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.recipient_country = Symbol::MAX; },
                true, C::Authentication, P::Regular),
            case("auth intl: both countries unknown", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.recipient_country = 99; },
                true, C::Authentication, P::Regular).business(""),
            case("auth intl in window is still charged", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.status |= S::CSW_OPEN; },
                true, C::AuthenticationInternational, P::Regular),
            // Marketing to US users.
            case("US marketing on the block day", |f| { to_us(f); f.local_day = BLOCK_DAY; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing after the block day", to_us,
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing the day before", |f| { to_us(f); f.local_day = BLOCK_DAY - 1; },
                true, C::Marketing, P::Regular),
            case("US marketing inside FEP is still blocked", |f| { to_us(f); f.status |= S::FEP_OPEN; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("US marketing under CBP is still blocked", |f| { to_us(f); f.regime = CBP_FREE_SERVICE; },
                false, C::Marketing, P::NotBillable).violation(US_MARKETING_BLOCKED),
            case("Canadian +1 marketing is delivered", |f| { to_us(f); f.recipient_country = sym("CA"); },
                true, C::Marketing, P::Regular),
            case("marketing to an out-of-range country is delivered", |f| { to_us(f); f.recipient_country = Symbol::MAX; },
                true, C::Marketing, P::Regular),
            case("US utility is delivered", |f| { to_us(f); utility(f); },
                true, C::Utility, P::Regular),
            case("US text in window is free", |f| { to_us(f); text(f); f.status |= S::CSW_OPEN; },
                false, C::Service, P::FreeCustomerService),
            // Non-template outside every window.
            case("text outside every window", text,
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, 2026", |f| { text(f); f.regime = PMP_2026; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text outside every window, CBP", |f| { text(f); f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::MARKETING; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("text inside FEP only", |f| { text(f); f.status |= S::FEP_OPEN; },
                false, C::Service, P::FreeEntryPoint),
            // Per-message pricing, 2025 regime.
            case("PMP marketing outside window", |_| {},
                true, C::Marketing, P::Regular),
            case("PMP marketing inside window", |f| f.status |= S::CSW_OPEN,
                true, C::Marketing, P::Regular),
            case("PMP marketing inside FEP", |f| { f.status |= S::CSW_OPEN; f.status |= S::FEP_OPEN; },
                false, C::Marketing, P::FreeEntryPoint),
            case("PMP utility outside window", utility,
                true, C::Utility, P::Regular),
            case("PMP utility inside window", |f| { utility(f); f.status |= S::CSW_OPEN; },
                false, C::Utility, P::FreeCustomerService),
            case("PMP utility inside FEP", |f| { utility(f); f.status |= S::FEP_OPEN; },
                false, C::Utility, P::FreeEntryPoint),
            case("PMP authentication inside window", |f| { auth(f); f.status |= S::CSW_OPEN; },
                true, C::Authentication, P::Regular),
            case("PMP text inside window", |f| { text(f); f.status |= S::CSW_OPEN; },
                false, C::Service, P::FreeCustomerService),
            // Per-message pricing, 2026 regime.
            case("2026 utility inside window is charged", |f| { utility(f); f.status |= S::CSW_OPEN; f.regime = PMP_2026; },
                true, C::Utility, P::Regular),
            case("2026 utility inside FEP is free", |f| { utility(f); f.status |= S::FEP_OPEN; f.regime = PMP_2026; },
                false, C::Utility, P::FreeEntryPoint),
            case("2026 text, allowance untouched", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = PMP_2026; },
                false, C::Service, P::FreeAllowance),
            case("2026 text, last free unit", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = PMP_2026; f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("2026 text, allowance used up", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = PMP_2026; f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("2026 text, no allowance", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = PMP_2026_NO_ALLOWANCE; },
                true, C::Service, P::Regular),
            case("2026 text inside FEP", |f| { text(f); f.status |= S::FEP_OPEN; f.regime = PMP_2026; f.allowance_used = 5_000; },
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
            case("CBP utility in window opens a conversation", |f| { utility(f); f.status |= S::CSW_OPEN; f.regime = CBP_ALLOWANCE; },
                true, C::Utility, P::Regular),
            case("CBP authentication inside an authentication conversation", |f| { auth(f); f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION; },
                false, C::Authentication, P::Regular)
                .note("inside an open authentication conversation; the conversation was charged when it opened"),
            case("CBP auth intl beside a domestic auth conversation", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION; },
                true, C::AuthenticationInternational, P::Regular),
            case("CBP auth intl inside an auth intl conversation", |f| { auth(f); f.status |= S::AUTH_INTL_ELIGIBLE; f.regime = CBP_FREE_SERVICE; f.open_conversations = Conversations::AUTHENTICATION_INTERNATIONAL; },
                false, C::AuthenticationInternational, P::Regular)
                .note("inside an open authentication-international conversation; the conversation was charged when it opened"),
            case("CBP template inside FEP", |f| { f.status |= S::FEP_OPEN; f.regime = CBP_ALLOWANCE; },
                false, C::Marketing, P::FreeEntryPoint),
            case("CBP text inside any conversation", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = CBP_ALLOWANCE; f.open_conversations = Conversations::UTILITY; f.allowance_used = 5_000; },
                false, C::Service, P::Regular).note("inside an open conversation"),
            case("CBP text opens a free service conversation", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = CBP_FREE_SERVICE; },
                false, C::Service, P::FreeCustomerService),
            case("CBP text opens an allowance conversation", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = CBP_ALLOWANCE; f.allowance_used = 999; },
                false, C::Service, P::FreeAllowance),
            case("CBP text opens a charged conversation", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = CBP_ALLOWANCE; f.allowance_used = 1_000; },
                true, C::Service, P::Regular),
            case("CBP text inside FEP", |f| { text(f); f.status |= S::FEP_OPEN; f.regime = CBP_ALLOWANCE; f.allowance_used = 1_000; },
                false, C::Service, P::FreeEntryPoint),
            // A regime index past the batch's regimes: per-message, nothing charged extra.
            case("unknown regime: marketing is charged per message", |f| { f.regime = NO_REGIME; f.open_conversations = Conversations::MARKETING; },
                true, C::Marketing, P::Regular),
            case("unknown regime: utility in window is free", |f| { utility(f); f.status |= S::CSW_OPEN; f.regime = NO_REGIME; },
                false, C::Utility, P::FreeCustomerService),
            case("unknown regime: text in window is free", |f| { text(f); f.status |= S::CSW_OPEN; f.regime = u32::MAX; f.allowance_used = 5_000; },
                false, C::Service, P::FreeCustomerService),
            case("unknown regime: text outside every window", |f| { text(f); f.regime = u32::MAX; },
                false, C::Service, P::NotBillable).violation(OUTSIDE_CSW),
            case("unknown regime: template inside FEP", |f| { f.status |= S::FEP_OPEN; f.regime = NO_REGIME; },
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
            let facts = cases
                .iter()
                .map(|case| {
                    let mut facts = base();
                    (case.setup)(&mut facts);
                    facts
                })
                .collect();
            let out = evaluate(&Settings::default(), &batch(business, facts), vec![blank(); cases.len()]);
            assert_eq!(out.len(), cases.len());
            for (case, decision) in cases.into_iter().zip(out) {
                assert_case(case, &decision);
                checked += 1;
            }
        }
        assert_eq!(checked, cases.len());
    }

    fn assert_case(case: &Case, decision: &Decision) {
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
        facts.status |= S::AUTH_INTL_ELIGIBLE;
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
        let out = evaluate(&Settings::default(), &batch("DE", vec![facts]), so_far);
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
        let batch = batch("DE", vec![base(), inbound, base()]);
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

        // A batch whose facts point past its symbols and regimes is classified, not refused.
        let mut us = base();
        to_us(&mut us);
        let mut text_in_window = base();
        text(&mut text_in_window);
        text_in_window.status |= S::CSW_OPEN;
        let batch = Batch {
            waba: String::new(),
            business_country: String::new(),
            symbols: Vec::new(),
            regimes: Vec::new(),
            facts: vec![base(), us, text_in_window],
        };
        let out = evaluate(&Settings::default(), &batch, Vec::new());
        let pricing: Vec<(bool, PricingType)> = out.iter().map(|d| (d.billable, d.pricing_type)).collect();
        assert_eq!(pricing, [(true, P::Regular), (true, P::Regular), (false, P::FreeCustomerService)]);
    }

    #[test]
    fn regimes_resolve_and_an_unknown_one_charges_nothing_extra() {
        fn fields(r: Regime) -> (Symbol, PricingModel, bool, bool, u32) {
            (r.id, r.model, r.service_charged, r.utility_in_window_charged, r.free_allowance)
        }
        let table = regimes();
        let regimes = Regimes(&table);
        for (i, regime) in (0..).zip(&table) {
            assert_eq!(fields(regimes.get(i)), fields(*regime), "{i}");
        }
        assert_eq!(fields(regimes.get(PMP_2026)).4, 1_000);
        let unknown = (Symbol::MAX, PricingModel::PerMessage, false, false, 0);
        assert_eq!(fields(UNKNOWN_REGIME), unknown);
        for out_of_range in [NO_REGIME, NO_REGIME + 1, u32::MAX] {
            assert_eq!(fields(regimes.get(out_of_range)), unknown, "{out_of_range}");
        }
        assert_eq!(fields(Regimes(&[]).get(0)), unknown);
    }
}
