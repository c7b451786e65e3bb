//! Plugin failures, each with a stable code.

use serde::Serialize;

/// What went wrong with a plugin. `code()` is stable and documented.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum PluginError {
    /// The plugin ran past its epoch deadline.
    #[error("plugin {plugin} ran past its {timeout_ms} ms deadline")]
    Timeout { plugin: String, timeout_ms: u64 },
    /// The plugin tried to grow its memory past the limit.
    #[error("plugin {plugin} tried to grow its memory to {requested_bytes} bytes, past its limit of {limit_bytes}")]
    MemoryLimit { plugin: String, limit_bytes: u64, requested_bytes: u64 },
    /// The plugin trapped or panicked.
    #[error("plugin {plugin} trapped: {detail}")]
    Trap { plugin: String, detail: String },
    /// The plugin broke the contract (wrong number of decisions, wrong exports, wrong version).
    #[error("plugin {plugin} broke the contract: {detail}")]
    Contract { plugin: String, detail: String },
    /// The plugin refused its settings.
    #[error("plugin {plugin} refused its settings: {detail}")]
    Config { plugin: String, detail: String },
    /// The module's bytes do not have the sha256 the policy file pins.
    #[error("plugin {plugin}: the policy file pins sha256 {expected}, but the module's sha256 is {actual}; refusing to load it")]
    DigestMismatch { plugin: String, expected: String, actual: String },
    /// The module could not be read or compiled.
    #[error("plugin {plugin} could not be loaded: {detail}")]
    Load { plugin: String, detail: String },
}

impl PluginError {
    /// The stable error code, e.g. `plugin.timeout`.
    pub fn code(&self) -> &'static str {
        match self {
            PluginError::Timeout { .. } => "plugin.timeout",
            PluginError::MemoryLimit { .. } => "plugin.memory_limit",
            PluginError::Trap { .. } => "plugin.trap",
            PluginError::Contract { .. } => "plugin.contract",
            PluginError::Config { .. } => "plugin.config",
            PluginError::Load { .. } => "plugin.load",
            PluginError::DigestMismatch { .. } => "plugin.digest_mismatch",
        }
    }
}
