//! The plugin pipeline as the policy file lists it (`pipeline.toml`).

use serde::Deserialize;

use super::PolicyError;

/// One plugin of the pipeline, in order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginEntry {
    /// `bundled:<name>` for a plugin built into the binary, or a path to a
    /// component (relative to the policy file's directory).
    pub module: String,
    /// Handed to the plugin's `configure` as a JSON object.
    #[serde(default = "empty_table")]
    pub settings: toml::Table,
    /// The epoch deadline of each call.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The instance's linear-memory limit.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
}

fn empty_table() -> toml::Table {
    toml::Table::new()
}

/// Defaults live here, in one place.
pub const DEFAULT_TIMEOUT_MS: u64 = 100;
pub const DEFAULT_MEMORY_MIB: u64 = 64;

fn default_timeout_ms() -> u64 {
    DEFAULT_TIMEOUT_MS
}

fn default_memory_mib() -> u64 {
    DEFAULT_MEMORY_MIB
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFile {
    pub plugin: Vec<PluginEntry>,
}

impl PipelineFile {
    pub fn from_toml(source: &str, text: &str) -> Result<Self, PolicyError> {
        let file: PipelineFile = toml::from_str(text).map_err(|e| PolicyError::toml(source, &e))?;
        if file.plugin.is_empty() {
            return Err(PolicyError::Invalid(format!("{source}: the pipeline lists no plugin")));
        }
        Ok(file)
    }
}
