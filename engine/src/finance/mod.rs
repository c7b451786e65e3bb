//! Finance: rate-card and market-map imports with row-and-column validation,
//! invoice lines rounded with their residual, and cost forecasts.
//!
//! Everything here is pure: the daemon reads and writes the store and hands
//! rows in; these functions hold the rules.

pub mod forecast;
pub mod imports;
pub mod invoice;

pub use imports::{parse_market_map, parse_rate_card, ImportError, Problem};
pub use invoice::{Invoice, InvoiceLine, UsageRow};
