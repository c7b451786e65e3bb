//! One module per endpoint group.

pub mod dashboard;
pub mod finance;
pub mod ledger;
pub mod numbers;
pub mod ops;
pub mod plugins;
pub mod rate;
pub mod reconciliation;
pub mod usage;
pub mod webhooks;
