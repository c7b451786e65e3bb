//! The wasmtime host for policy plugins.
//!
//! Plugins are WebAssembly components that export `coexist:policy/policy`
//! (see `plugins/wit/policy.wit`). Each is compiled once at load; every batch
//! gets a fresh instance from an `InstancePre`, under an epoch deadline and a
//! memory limit, with no imports at all: no filesystem, network, environment,
//! clock or randomness.

mod abi;
mod bundled;
mod cache;
mod eligibility;
mod error;
pub mod golden;
mod loaded;
mod pipeline;
mod runtime;
mod sample;
mod stats;

pub use abi::*;
#[cfg(feature = "fixtures")]
pub use bundled::fixture_plugin;
pub use bundled::{bundled_plugin, BUNDLED_PLUGINS};
pub use cache::CompileCache;
pub use eligibility::{
    EligibilityPlugin, EligibilityQuery, EligibilityRule, EligibilityVerdict, ELIGIBILITY_INTERFACE,
};
pub use error::PluginError;
pub use loaded::{sha256_hex, LoadedPlugin, PluginSpec, CONTRACT_INTERFACE, CONTRACT_VERSION};
pub use pipeline::{Pipeline, PluginVersion};
pub use runtime::{PluginRuntime, EPOCH_TICK, MAX_PLUGIN_MEMORY_MIB};
pub use sample::{sample_facts, OwnedFact};
pub use stats::{PluginStats, StatsSnapshot, ERROR_CODES};
