//! The plugin SDK: what every `coexist:policy` plugin needs around its rules.
//!
//! # Writing a plugin
//!
//! Implement [`Policy`]: a name, a version, a settings type read with serde,
//! and [`Policy::decide`], which sees one message ([`Fact`]) and amends its
//! [`Decision`] so far. `export_policy!` (feature `policy`) does the rest. A
//! complete plugin that makes the business's own test numbers free:
//!
//! ```rust
//! use coexist_plugin_sdk::{Decision, Fact, Policy, PricingType, SettingsError};
//! use serde::Deserialize;
//!
//! /// `{"numbers": ["+5511999990000"]}`: messages with these customers are free.
//! #[derive(Default, Deserialize)]
//! #[serde(deny_unknown_fields)]
//! pub struct Settings {
//!     numbers: Vec<String>,
//! }
//!
//! pub struct TestNumbersFree;
//!
//! impl Policy for TestNumbersFree {
//!     const NAME: &'static str = "test-numbers-free";
//!     const VERSION: &'static str = env!("CARGO_PKG_VERSION");
//!     type Settings = Settings;
//!
//!     fn validate(settings: &Settings) -> Result<(), SettingsError> {
//!         match settings.numbers.iter().position(|n| !n.starts_with('+')) {
//!             Some(i) => Err(SettingsError::new(format!("numbers[{i}]"), "expected E.164, e.g. +5511999990000")),
//!             None => Ok(()),
//!         }
//!     }
//!
//!     fn decide(settings: &Settings, fact: &Fact<'_>, decision: &mut Decision<'_>) {
//!         if settings.numbers.iter().any(|n| n == fact.user) {
//!             decision.make_free(PricingType::NotBillable, "internal test number");
//!         }
//!     }
//! }
//!
//! # #[cfg(feature = "policy")]
//! coexist_plugin_sdk::export_policy!(TestNumbersFree);
//! # use coexist_plugin_sdk::{testing, BilledCategory};
//! # let settings = r#"{"numbers": ["+5511988887777"]}"#;
//! # let out = testing::decide::<TestNumbersFree>(settings, &testing::fact(), &testing::billed(BilledCategory::Marketing));
//! # assert!(!out.is_billable(0));
//! ```
//!
//! with, in its `Cargo.toml`:
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # rlib: for the native unit tests
//!
//! [dependencies]
//! coexist-plugin-sdk = { path = "...", features = ["policy"] }
//! serde = { version = "1", features = ["derive"] }
//! ```
//!
//! - **Deciding.** [`Decision`] reads the decision so far
//!   ([`Decision::is_billable`], [`Decision::category`],
//!   [`Decision::pricing_type`], [`Decision::violations`]) and amends it:
//!   [`Decision::make_free`], [`Decision::make_not_billable`], [`Decision::bill`],
//!   [`Decision::set`], [`Decision::note`]; [`Decision::violation`] starts a
//!   [`ViolationBuilder`]: `decision.violation("acme.opted_out").feature("marketing").text("...").flag()`
//!   (or `.block()`, `.allow()`, `.action(action)`). A message the policy is not
//!   about is left as it is.
//! - **Settings** arrive as the JSON object of the policy file's table and are
//!   read by [`parse_settings`] into [`Policy::Settings`]: `{}` gives its
//!   `Default`, `#[serde(deny_unknown_fields)]` refuses misspelled keys, and
//!   every error names its key path (`settings.numbers[2]: invalid type: ...`),
//!   as does a [`SettingsError`] from [`Policy::validate`]. [`Action`],
//!   [`BilledCategory`] and [`PricingType`] deserialize from their snake_case
//!   names (`"block"`, `"authentication_international"`, `"free_entry_point"`).
//! - **Exporting.** `coexist_plugin_sdk::export_policy!(MyPolicy);` at the crate
//!   root implements and exports the contract (`../wit/policy.wit`) with the
//!   SDK's own bindings, on `wasm32` only; the plugin needs no
//!   `wit_bindgen::generate!` and no `wit-bindgen` dependency.
//! - **Testing** natively: [`testing::decide`] runs the policy on one
//!   [`Fact`] (start from [`testing::fact`]) and a decision so far
//!   ([`testing::billed`], [`testing::blank`], ...), exactly as the guest does.
//!
//! # The building blocks
//!
//! The contract (`../wit/policy.wit`) sends a batch as columns and takes the
//! decisions back as columns. Rules are easier to write and to test over one
//! typed row, so this crate holds, in one place for all plugins:
//!
//! - plain Rust mirrors of the contract's enums and flags ([`Side`],
//!   [`Direction`], [`TemplateCategory`], [`BilledCategory`], [`PricingType`],
//!   [`PricingModel`], [`Action`], [`Status`], [`Conversations`], [`Features`]);
//! - [`Columns`], a borrowed view of a batch's columns, whose [`Columns::row`]
//!   decodes message `i` into a [`Fact`] without allocating and without ever
//!   panicking (see "Bad input" below);
//! - [`DecisionsBuilder`], which starts from the decisions so far and takes a
//!   plugin's decisions row by row;
//! - [`wit_glue!`], which converts between a plugin's generated bindings and
//!   these types, so that no plugin repeats the conversion;
//! - [`OwnedBatch`], which encodes facts into columns, as the host does, for tests.
//!
//! Plugins that need the whole batch at once (the bundled ones) skip
//! [`Policy`]: they `wit_bindgen::generate!` and `export!` their own guest and
//! convert with [`wit_glue!`]. Without the `policy` feature the crate generates
//! no bindings; with it, its bindings do not clash with a plugin's own.
//!
//! # Bad input
//!
//! A buggy (or newer) host must not make a plugin panic: a panic traps the
//! whole batch. What a row cannot read takes a fallback under which every rule
//! still looks at the message, and no charge is made up:
//!
//! - a symbol index past the symbols, or whose range is not a valid slice of
//!   the text, reads as `""` (an unknown string);
//! - a regime index past the regimes reads as [`UNKNOWN_REGIME`]: per-message
//!   pricing that charges nothing beyond the templates;
//! - an unknown `side` reads as [`Side::Api`] and an unknown `direction` as
//!   [`Direction::Outbound`]: an API send is the message every rule checks (an
//!   app-side or inbound message would be waved through as free);
//! - an unknown `template-category` (past `authentication`) reads as a
//!   [`TemplateCategory::Marketing`] template: it is a template, so it is not
//!   refused as a service message outside the window, and marketing is the
//!   category with the strictest rules (never free in a window, blocked to US
//!   users), so no rule is skipped;
//! - flag bits the contract does not define are dropped;
//! - ragged columns: the batch has as many messages as its longest column, and
//!   a value missing from a shorter column reads as if it were out of range or
//!   unknown (the fallbacks above), or as 0 / empty for numbers and flags.

// `export_policy!` and the SDK's own bindings name the crate by its name, which
// must also resolve inside it.
extern crate self as coexist_plugin_sdk;

mod decision;
mod decisions;
mod glue;
#[cfg(feature = "policy")]
#[doc(hidden)]
pub mod guest;
mod names;
mod owned;
mod policy;
mod settings;
pub mod testing;

pub use decision::{Decision, ViolationBuilder};
pub use decisions::{Decisions, DecisionsBuilder, Note, Violation};
pub use owned::OwnedBatch;
pub use policy::{decide_batch, load_settings, Policy};
pub use settings::{parse_settings, SettingsError};

/// An index into a batch's symbols.
pub type Symbol = u32;

/// Declares a contract enum: its cases in WIT order, with their wire codes.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$case_meta:meta])* $case:ident = $code:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$case_meta])* $case = $code,)+
        }

        impl $name {
            /// Every case, in WIT order (index = wire code).
            pub const ALL: &'static [Self] = &[$(Self::$case,)+];

            /// The case whose index in the WIT is `code`; `None` for an unknown code.
            pub const fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($code => Some(Self::$case),)+
                    _ => None,
                }
            }

            /// The index of the case in the WIT: its wire code.
            pub const fn code(self) -> u8 {
                self as u8
            }
        }
    };
}

wire_enum! {
    /// Which side of a number sent the message.
    Side { App = 0, Api = 1, }
}

wire_enum! {
    Direction { Inbound = 0, Outbound = 1, }
}

wire_enum! {
    /// A template's category. On the wire, 0 is "no template" and a category
    /// travels as its code plus one (see [`TemplateCategory::decode`]).
    TemplateCategory { Marketing = 0, Utility = 1, Authentication = 2, }
}

wire_enum! {
    BilledCategory {
        None = 0,
        Marketing = 1,
        Utility = 2,
        Authentication = 3,
        AuthenticationInternational = 4,
        Service = 5,
    }
}

wire_enum! {
    PricingType {
        NotBillable = 0,
        Regular = 1,
        FreeCustomerService = 2,
        FreeEntryPoint = 3,
        FreeAppSide = 4,
        FreeAllowance = 5,
    }
}

wire_enum! {
    /// How a regime charges.
    PricingModel { Conversation = 0, PerMessage = 1, }
}

wire_enum! {
    Action { Allow = 0, Flag = 1, Block = 2, }
}

impl Side {
    /// Reads a wire code; unknown → [`Side::Api`], the side every rule checks.
    pub const fn decode(code: u8) -> Self {
        match Self::from_code(code) {
            Some(side) => side,
            None => Side::Api,
        }
    }
}

impl Direction {
    /// Reads a wire code; unknown → [`Direction::Outbound`], the direction every rule checks.
    pub const fn decode(code: u8) -> Self {
        match Self::from_code(code) {
            Some(direction) => direction,
            None => Direction::Outbound,
        }
    }
}

impl TemplateCategory {
    /// Reads the wire column: 0 → no template, `k + 1` → the case of index `k`,
    /// unknown → [`TemplateCategory::Marketing`] (see the crate docs).
    pub const fn decode(code: u8) -> Option<Self> {
        match code {
            0 => None,
            _ => match Self::from_code(code - 1) {
                Some(category) => Some(category),
                None => Some(TemplateCategory::Marketing),
            },
        }
    }

    /// The wire value of an optional category: the inverse of [`TemplateCategory::decode`].
    pub const fn encode(category: Option<Self>) -> u8 {
        match category {
            None => 0,
            Some(category) => category.code() + 1,
        }
    }
}

/// Declares a contract flags type as a small bit set (bit k = k-th flag in the WIT).
macro_rules! wire_flags {
    ($(#[$meta:meta])* $name:ident { $($(#[$flag_meta:meta])* $flag:ident = $bit:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $name(u8);

        impl $name {
            $($(#[$flag_meta])* pub const $flag: Self = Self(1 << $bit);)+

            /// Every flag with its name, in WIT order.
            pub const NAMED: &'static [(&'static str, Self)] = &[$((stringify!($flag), Self::$flag),)+];

            pub const fn empty() -> Self {
                Self(0)
            }
            pub const fn all() -> Self {
                Self(0 $(| (1 << $bit))+)
            }
            /// Reads the wire bits; bits the contract does not define are dropped.
            pub const fn from_bits_truncate(bits: u8) -> Self {
                Self(bits & Self::all().0)
            }
            /// The wire bits.
            pub const fn bits(self) -> u8 {
                self.0
            }
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }
            pub const fn union(self, other: Self) -> Self {
                Self(self.0 | other.0)
            }
            pub fn insert(&mut self, other: Self) {
                self.0 |= other.0;
            }
            pub fn remove(&mut self, other: Self) {
                self.0 &= !other.0;
            }
        }

        impl core::ops::BitOr for $name {
            type Output = Self;
            fn bitor(self, other: Self) -> Self {
                self.union(other)
            }
        }

        impl core::ops::BitOrAssign for $name {
            fn bitor_assign(&mut self, other: Self) {
                self.insert(other);
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let names = Self::NAMED.iter().filter(|(_, flag)| self.contains(*flag)).map(|(name, _)| name);
                f.debug_tuple(stringify!($name)).field(&names.collect::<Vec<_>>()).finish()
            }
        }
    };
}

wire_flags! {
    /// Features a message asks for.
    Features {
        GROUP = 0,
        BROADCAST = 1,
        VIEW_ONCE = 2,
        DISAPPEARING = 3,
        LIVE_LOCATION = 4,
        EDIT = 5,
        REVOKE = 6,
        MM_LITE = 7,
    }
}

wire_flags! {
    /// Conversations open for the user (conversation-based pricing).
    Conversations {
        MARKETING = 0,
        UTILITY = 1,
        AUTHENTICATION = 2,
        AUTHENTICATION_INTERNATIONAL = 3,
        SERVICE = 4,
    }
}

/// The yes/no facts about a message, unpacked from the wire's `status` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status {
    /// A customer-service window is open for this user.
    pub csw_open: bool,
    /// A free-entry-point window is open for this user.
    pub fep_open: bool,
    /// The business is eligible for authentication-international rates here and now.
    pub auth_intl_eligible: bool,
    /// The business number is in Coexistence mode.
    pub coexistence: bool,
    /// The message came from a history sync.
    pub history: bool,
}

impl Status {
    pub const CSW_OPEN: u8 = 1 << 0;
    pub const FEP_OPEN: u8 = 1 << 1;
    pub const AUTH_INTL_ELIGIBLE: u8 = 1 << 2;
    pub const COEXISTENCE: u8 = 1 << 3;
    pub const HISTORY: u8 = 1 << 4;

    /// Reads the wire bits; bits the contract does not define are dropped.
    pub const fn from_bits(bits: u8) -> Self {
        Status {
            csw_open: bits & Self::CSW_OPEN != 0,
            fep_open: bits & Self::FEP_OPEN != 0,
            auth_intl_eligible: bits & Self::AUTH_INTL_ELIGIBLE != 0,
            coexistence: bits & Self::COEXISTENCE != 0,
            history: bits & Self::HISTORY != 0,
        }
    }

    /// The wire bits.
    pub const fn bits(self) -> u8 {
        const fn bit(on: bool, bit: u8) -> u8 {
            if on {
                bit
            } else {
                0
            }
        }
        bit(self.csw_open, Self::CSW_OPEN)
            | bit(self.fep_open, Self::FEP_OPEN)
            | bit(self.auth_intl_eligible, Self::AUTH_INTL_ELIGIBLE)
            | bit(self.coexistence, Self::COEXISTENCE)
            | bit(self.history, Self::HISTORY)
    }
}

/// The pricing regime in force for a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Regime {
    /// The regime's id, e.g. `pmp-2026-10`, as a symbol.
    pub id: Symbol,
    pub model: PricingModel,
    /// Non-template (service) messages or conversations are charged.
    pub service_charged: bool,
    /// Utility templates inside an open customer-service window are charged.
    pub utility_in_window_charged: bool,
    /// Free service messages (or conversations) per month; 0 for none.
    pub free_allowance: u32,
}

/// The regime of a message whose regime index the batch does not hold:
/// per-message pricing with nothing charged beyond it (service free, utility in
/// window free, no allowance), and an id that names no symbol. A buggy host must
/// not make a plugin panic, and must not make it charge more than a real regime would.
pub const UNKNOWN_REGIME: Regime = Regime {
    id: Symbol::MAX,
    model: PricingModel::PerMessage,
    service_charged: false,
    utility_in_window_charged: false,
    free_allowance: 0,
};

/// A batch's strings as one blob: symbol `i` is `text[ends[i - 1]..ends[i]]`,
/// and symbol 0 starts at 0.
#[derive(Clone, Copy, Debug, Default)]
pub struct Symbols<'a> {
    pub text: &'a str,
    pub ends: &'a [u32],
}

impl<'a> Symbols<'a> {
    pub const fn new(text: &'a str, ends: &'a [u32]) -> Self {
        Symbols { text, ends }
    }

    /// The string `symbol` names; "" for an index past `ends`, or a range that
    /// is backwards, past the text or not on character boundaries.
    pub fn get(&self, symbol: Symbol) -> &'a str {
        let Ok(i) = usize::try_from(symbol) else { return "" };
        let Some(&end) = self.ends.get(i) else { return "" };
        let start = match i.checked_sub(1) {
            None => 0,
            Some(previous) => self.ends[previous],
        };
        match (usize::try_from(start), usize::try_from(end)) {
            (Ok(start), Ok(end)) => self.text.get(start..end).unwrap_or(""),
            _ => "",
        }
    }

    /// How many symbols there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Everything a plugin may know about one message: row `i` of a batch, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fact<'a> {
    /// The business number, E.164 with `+`.
    pub business_number: &'a str,
    /// The customer, E.164 with `+`, or a business-scoped user id.
    pub user: &'a str,
    /// Meta's message type, `text`, `template`, `image`, ...
    pub kind: &'a str,
    pub side: Side,
    pub direction: Direction,
    /// `None` for a non-template message.
    pub template_category: Option<TemplateCategory>,
    /// The event timestamp, milliseconds since the unix epoch (UTC).
    pub at_ms: i64,
    /// The event's date in the WABA's time zone, as days since 1970-01-01.
    pub local_day: i32,
    /// The regime in force, resolved ([`UNKNOWN_REGIME`] when the index is bad).
    pub regime: Regime,
    /// ISO 3166 alpha-2 of the customer; empty when unknown.
    pub recipient_country: &'a str,
    /// The pricing market of the customer, e.g. `Indonesia`.
    pub recipient_market: &'a str,
    pub status: Status,
    pub open_conversations: Conversations,
    pub features: Features,
    /// Service units already used from the monthly free allowance.
    pub allowance_used: u32,
}

/// A borrowed view of a batch's columns (the contract's `batch` record). Build
/// it with a struct literal (see [`wit_glue!`]) or [`OwnedBatch::columns`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Columns<'a> {
    pub waba: &'a str,
    /// ISO 3166 alpha-2 of the business's primary location.
    pub business_country: &'a str,
    pub symbols: Symbols<'a>,
    pub regimes: &'a [Regime],
    pub business_number: &'a [Symbol],
    pub user: &'a [Symbol],
    pub kind: &'a [Symbol],
    pub side: &'a [u8],
    pub direction: &'a [u8],
    pub template_category: &'a [u8],
    pub at_ms: &'a [i64],
    pub local_day: &'a [i32],
    pub regime: &'a [u32],
    pub recipient_country: &'a [Symbol],
    pub recipient_market: &'a [Symbol],
    pub status: &'a [u8],
    pub open_conversations: &'a [u8],
    pub features: &'a [u8],
    pub allowance_used: &'a [u32],
}

/// Element `i` of `column`, if it has one.
fn at<T: Copy>(column: &[T], i: usize) -> Option<T> {
    column.get(i).copied()
}

impl<'a> Columns<'a> {
    /// The number of messages: the length of the longest column (they should
    /// all be equal; a shorter column reads as missing values, see the crate docs).
    pub fn len(&self) -> usize {
        [
            self.business_number.len(),
            self.user.len(),
            self.kind.len(),
            self.side.len(),
            self.direction.len(),
            self.template_category.len(),
            self.at_ms.len(),
            self.local_day.len(),
            self.regime.len(),
            self.recipient_country.len(),
            self.recipient_market.len(),
            self.status.len(),
            self.open_conversations.len(),
            self.features.len(),
            self.allowance_used.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string `symbol` names, "" when there is none.
    pub fn symbol(&self, symbol: Symbol) -> &'a str {
        self.symbols.get(symbol)
    }

    /// The regime `index` names; [`UNKNOWN_REGIME`] for an index the batch does not hold.
    pub fn regime(&self, index: u32) -> Regime {
        usize::try_from(index).ok().and_then(|i| self.regimes.get(i)).copied().unwrap_or(UNKNOWN_REGIME)
    }

    /// Message `i`, decoded; never panics, whatever the columns hold (see the crate docs).
    pub fn row(&self, i: usize) -> Fact<'a> {
        let symbol = |column: &[Symbol]| at(column, i).map_or("", |s| self.symbol(s));
        Fact {
            business_number: symbol(self.business_number),
            user: symbol(self.user),
            kind: symbol(self.kind),
            side: at(self.side, i).map_or(Side::Api, Side::decode),
            direction: at(self.direction, i).map_or(Direction::Outbound, Direction::decode),
            // Missing reads like an unknown code: a marketing template.
            template_category: TemplateCategory::decode(at(self.template_category, i).unwrap_or(u8::MAX)),
            at_ms: at(self.at_ms, i).unwrap_or(0),
            local_day: at(self.local_day, i).unwrap_or(0),
            regime: at(self.regime, i).map_or(UNKNOWN_REGIME, |r| self.regime(r)),
            recipient_country: symbol(self.recipient_country),
            recipient_market: symbol(self.recipient_market),
            status: Status::from_bits(at(self.status, i).unwrap_or(0)),
            open_conversations: Conversations::from_bits_truncate(at(self.open_conversations, i).unwrap_or(0)),
            features: Features::from_bits_truncate(at(self.features, i).unwrap_or(0)),
            allowance_used: at(self.allowance_used, i).unwrap_or(0),
        }
    }

    /// Every message in order, decoded.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = Fact<'a>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }
}

#[cfg(test)]
mod tests;
