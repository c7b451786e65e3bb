//! What the plugin pipeline decides about a message. These types are the WIT
//! contract's `decision` record and its enums, shared by the host logic and
//! the component ABI, so nothing is converted on the way in or out.

use serde::{Deserialize, Serialize};
use wasmtime::component::{ComponentType, Lift, Lower};

/// The category a message is billed (or reported) under.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ComponentType, Lift, Lower,
)]
#[serde(rename_all = "snake_case")]
#[component(enum)]
#[repr(u8)]
pub enum BilledCategory {
    #[component(name = "none")]
    None,
    #[component(name = "marketing")]
    Marketing,
    #[component(name = "utility")]
    Utility,
    #[component(name = "authentication")]
    Authentication,
    #[component(name = "authentication-international")]
    AuthenticationInternational,
    #[component(name = "service")]
    Service,
}

impl BilledCategory {
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ComponentType, Lift, Lower,
)]
#[serde(rename_all = "snake_case")]
#[component(enum)]
#[repr(u8)]
pub enum PricingType {
    #[component(name = "not-billable")]
    NotBillable,
    #[component(name = "regular")]
    Regular,
    #[component(name = "free-customer-service")]
    FreeCustomerService,
    #[component(name = "free-entry-point")]
    FreeEntryPoint,
    #[component(name = "free-app-side")]
    FreeAppSide,
    #[component(name = "free-allowance")]
    FreeAllowance,
}

impl PricingType {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Violation {
    /// Stable, snake_case and namespaced, e.g. `coexistence.edit_disabled`.
    pub code: String,
    pub feature: String,
    pub message: String,
    pub action: Action,
}

/// The pipeline's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ComponentType, Lift, Lower)]
#[component(record)]
pub struct Decision {
    pub billable: bool,
    pub category: BilledCategory,
    #[component(name = "pricing-type")]
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
