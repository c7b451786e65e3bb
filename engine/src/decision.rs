//! What the plugin pipeline decides about a message. Categories and pricing
//! types cross the plugin boundary as their WIT case index (`code`).

use serde::{Deserialize, Serialize};
use wasmtime::component::{ComponentType, Lift, Lower};

/// The category a message is billed (or reported) under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum BilledCategory {
    None,
    Marketing,
    Utility,
    Authentication,
    AuthenticationInternational,
    Service,
}

impl BilledCategory {
    const ALL: [BilledCategory; 6] = [
        Self::None,
        Self::Marketing,
        Self::Utility,
        Self::Authentication,
        Self::AuthenticationInternational,
        Self::Service,
    ];

    /// The WIT case index.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The category of a WIT case index.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Marketing => "marketing",
            Self::Utility => "utility",
            Self::Authentication => "authentication",
            Self::AuthenticationInternational => "authentication_international",
            Self::Service => "service",
        }
    }
}

/// Why a message costs what it costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(u8)]
pub enum PricingType {
    NotBillable,
    Regular,
    FreeCustomerService,
    FreeEntryPoint,
    FreeAppSide,
    FreeAllowance,
}

impl PricingType {
    const ALL: [PricingType; 6] = [
        Self::NotBillable,
        Self::Regular,
        Self::FreeCustomerService,
        Self::FreeEntryPoint,
        Self::FreeAppSide,
        Self::FreeAllowance,
    ];

    /// The WIT case index.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The pricing type of a WIT case index.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotBillable => "not_billable",
            Self::Regular => "regular",
            Self::FreeCustomerService => "free_customer_service",
            Self::FreeEntryPoint => "free_entry_point",
            Self::FreeAppSide => "free_app_side",
            Self::FreeAllowance => "free_allowance",
        }
    }
}

/// What the CRM or operator should do about a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ComponentType, Lift, Lower)]
#[serde(rename_all = "snake_case")]
#[component(enum)]
#[repr(u8)]
pub enum Action {
    #[component(name = "allow")]
    Allow,
    #[component(name = "flag")]
    Flag,
    #[component(name = "block")]
    Block,
}

/// A rule a message breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    /// Stable, snake_case and namespaced, e.g. `coexistence.edit_disabled`.
    pub code: String,
    pub feature: String,
    pub message: String,
    pub action: Action,
}

/// The pipeline's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub billable: bool,
    pub category: BilledCategory,
    pub pricing_type: PricingType,
    pub violations: Vec<Violation>,
    pub note: Option<String>,
}

impl Default for Decision {
    /// What the pipeline starts from: nothing decided, nothing billed.
    fn default() -> Self {
        Self {
            billable: false,
            category: BilledCategory::None,
            pricing_type: PricingType::NotBillable,
            violations: Vec::new(),
            note: None,
        }
    }
}
