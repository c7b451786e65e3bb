//! One module per endpoint group.

pub mod ledger;
pub mod numbers;
pub mod ops;
pub mod rate;
pub mod reconciliation;
pub mod usage;
pub mod webhooks;
