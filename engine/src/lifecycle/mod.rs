//! The Coexistence lifecycle of a business number: registration, region
//! eligibility, keep-alive, the 24-hour sync window, history-sync progress,
//! throughput admission (GCRA) and offboarding.
//!
//! Everything here is pure: each function takes "now" as an argument, so the
//! daemon can run it against the system [`Clock`] and tests against a
//! [`ManualClock`]. The rules and defaults come from
//! `../shared/domain/coexistence.md`; every figure is a setting
//! ([`LifecycleSettings`], `policies/coexistence.toml`).
//!
//! ```
//! use coexist_engine::lifecycle::{KeepAliveStatus, LifecycleSettings, NumberState, DAY_MS};
//!
//! let settings = LifecycleSettings::default();
//! let onboarded = 1_767_225_600_000; // 2026-01-01T00:00:00Z
//! let number = NumberState::onboard("W1", true, onboarded, None);
//! assert_eq!(number.keep_alive(&settings, onboarded + 12 * DAY_MS).status, KeepAliveStatus::Warning);
//! assert_eq!(number.keep_alive(&settings, onboarded + 14 * DAY_MS).status, KeepAliveStatus::Stale);
//! ```

mod clock;
mod error;
mod history;
mod number;
mod registry;
mod settings;
mod throughput;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::LifecycleError;
pub use history::{HistoryChunk, HistoryMessage, HistoryProgress, MessageFate, PhaseProgress};
pub use number::{
    KeepAlive, KeepAliveStatus, NumberState, SyncKind, SyncRequest, SyncState, SyncStatus, ThroughputClass,
};
pub use registry::{CoexistenceRegistry, CoexistenceSpan};
/// The bundled policy files' text.
pub mod settings_files {
    pub use super::settings::{BUNDLED_ELIGIBILITY, BUNDLED_SETTINGS};
}
pub use settings::{EligibilityLists, KeepAliveSettings, LifecycleSettings, SyncSettings, ThroughputSettings};
pub use throughput::{Admission, Gcra, Limiter};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
