//! The `facts` side of the WIT contract (`plugins/wit/policy.wit`), as Rust
//! types the component ABI lowers directly. Strings are borrowed, so building
//! a batch of facts allocates nothing per message.

use wasmtime::component::{flags, ComponentType, Lift, Lower};

use crate::event::{Direction, Feature, Features, Side, TemplateCategory};
use crate::policy::PricingModel;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum WitSide {
    #[component(name = "app")]
    App,
    #[component(name = "api")]
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum WitDirection {
    #[component(name = "inbound")]
    Inbound,
    #[component(name = "outbound")]
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum WitTemplateCategory {
    #[component(name = "marketing")]
    Marketing,
    #[component(name = "utility")]
    Utility,
    #[component(name = "authentication")]
    Authentication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ComponentType, Lower)]
#[component(enum)]
#[repr(u8)]
pub enum WitPricingModel {
    #[component(name = "conversation")]
    Conversation,
    #[component(name = "per-message")]
    PerMessage,
}

flags! {
    WitFeatures {
        #[component(name = "group")]
        const GROUP;
        #[component(name = "broadcast")]
        const BROADCAST;
        #[component(name = "view-once")]
        const VIEW_ONCE;
        #[component(name = "disappearing")]
        const DISAPPEARING;
        #[component(name = "live-location")]
        const LIVE_LOCATION;
        #[component(name = "edit")]
        const EDIT;
        #[component(name = "revoke")]
        const REVOKE;
        #[component(name = "mm-lite")]
        const MM_LITE;
    }
}

flags! {
    WitStatus {
        #[component(name = "csw-open")]
        const CSW_OPEN;
        #[component(name = "fep-open")]
        const FEP_OPEN;
        #[component(name = "auth-intl-eligible")]
        const AUTH_INTL_ELIGIBLE;
        #[component(name = "coexistence")]
        const COEXISTENCE;
        #[component(name = "history")]
        const HISTORY;
    }
}

flags! {
    WitConversations {
        #[component(name = "marketing")]
        const MARKETING;
        #[component(name = "utility")]
        const UTILITY;
        #[component(name = "authentication")]
        const AUTHENTICATION;
        #[component(name = "authentication-international")]
        const AUTHENTICATION_INTERNATIONAL;
        #[component(name = "service")]
        const SERVICE;
    }
}

/// An index into [`Batch::symbols`].
pub type Symbol = u32;

/// The `regime` record.
#[derive(Debug, Clone, Copy, ComponentType, Lower)]
#[component(record)]
pub struct WitRegime {
    pub id: Symbol,
    pub model: WitPricingModel,
    #[component(name = "service-charged")]
    pub service_charged: bool,
    #[component(name = "utility-in-window-charged")]
    pub utility_in_window_charged: bool,
    #[component(name = "free-allowance")]
    pub free_allowance: u32,
}

/// The `facts` record: everything a plugin may know about one message.
#[derive(Debug, Clone, ComponentType, Lower)]
#[component(record)]
pub struct Facts<'a> {
    pub id: &'a str,
    #[component(name = "business-number")]
    pub business_number: Symbol,
    pub user: &'a str,
    pub side: WitSide,
    pub direction: WitDirection,
    pub kind: Symbol,
    #[component(name = "template-category")]
    pub template_category: Option<WitTemplateCategory>,
    #[component(name = "at-ms")]
    pub at_ms: i64,
    #[component(name = "local-day")]
    pub local_day: i32,
    /// An index into [`Batch::regimes`].
    pub regime: u32,
    #[component(name = "recipient-country")]
    pub recipient_country: Symbol,
    #[component(name = "recipient-market")]
    pub recipient_market: Symbol,
    pub status: WitStatus,
    #[component(name = "open-conversations")]
    pub open_conversations: WitConversations,
    pub features: WitFeatures,
    #[component(name = "allowance-used")]
    pub allowance_used: u32,
}

/// The `batch` record: one WABA's messages, with what they share sent once.
#[derive(Debug, Clone, Copy, ComponentType, Lower)]
#[component(record)]
pub struct Batch<'a> {
    pub waba: &'a str,
    #[component(name = "business-country")]
    pub business_country: &'a str,
    pub symbols: &'a [&'a str],
    pub regimes: &'a [WitRegime],
    pub facts: &'a [Facts<'a>],
}

impl Batch<'_> {
    /// A batch with no messages, for smoke tests.
    pub const EMPTY: Batch<'static> = Batch { waba: "", business_country: "", symbols: &[], regimes: &[], facts: &[] };
}

/// Interns the strings facts share, so each crosses into the plugin once.
#[derive(Debug, Default)]
pub struct SymbolTable<'a> {
    list: Vec<&'a str>,
    index: rustc_hash::FxHashMap<&'a str, Symbol>,
}

impl<'a> SymbolTable<'a> {
    /// The symbol of `s`, adding it on first sight.
    pub fn intern(&mut self, s: &'a str) -> Symbol {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = self.list.len() as Symbol;
        self.list.push(s);
        self.index.insert(s, sym);
        sym
    }

    pub fn symbols(&self) -> &[&'a str] {
        &self.list
    }
}

impl From<Side> for WitSide {
    fn from(s: Side) -> Self {
        match s {
            Side::App => WitSide::App,
            Side::Api => WitSide::Api,
        }
    }
}

impl From<Direction> for WitDirection {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Inbound => WitDirection::Inbound,
            Direction::Outbound => WitDirection::Outbound,
        }
    }
}

impl From<TemplateCategory> for WitTemplateCategory {
    fn from(c: TemplateCategory) -> Self {
        match c {
            TemplateCategory::Marketing => WitTemplateCategory::Marketing,
            TemplateCategory::Utility => WitTemplateCategory::Utility,
            TemplateCategory::Authentication => WitTemplateCategory::Authentication,
        }
    }
}

impl From<PricingModel> for WitPricingModel {
    fn from(m: PricingModel) -> Self {
        match m {
            PricingModel::Conversation => WitPricingModel::Conversation,
            PricingModel::PerMessage => WitPricingModel::PerMessage,
        }
    }
}

impl From<Features> for WitFeatures {
    fn from(set: Features) -> Self {
        let mut out = WitFeatures::default();
        for f in set.iter() {
            out |= match f {
                Feature::Group => WitFeatures::GROUP,
                Feature::Broadcast => WitFeatures::BROADCAST,
                Feature::ViewOnce => WitFeatures::VIEW_ONCE,
                Feature::Disappearing => WitFeatures::DISAPPEARING,
                Feature::LiveLocation => WitFeatures::LIVE_LOCATION,
                Feature::Edit => WitFeatures::EDIT,
                Feature::Revoke => WitFeatures::REVOKE,
                Feature::MmLite => WitFeatures::MM_LITE,
            };
        }
        out
    }
}

/// The `plugin-info` record.
#[derive(Debug, Clone, ComponentType, Lift)]
#[component(record)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
}
