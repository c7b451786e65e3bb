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
    /// The hex sha256 the module must have; loading refuses any other bytes.
    #[serde(default)]
    pub sha256: Option<String>,
    /// `enforce` (the default) applies the plugin's decisions; `monitor`
    /// records its violations without changing the decision, and a failure of
    /// the plugin is counted instead of failing the batch.
    #[serde(default)]
    pub mode: PluginMode,
}

/// Whether a plugin's decisions count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PluginMode {
    #[default]
    Enforce,
    Monitor,
}

impl PluginMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PluginMode::Enforce => "enforce",
            PluginMode::Monitor => "monitor",
        }
    }
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
        for (i, entry) in file.plugin.iter().enumerate() {
            if let Some(digest) = &entry.sha256 {
                if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(PolicyError::Invalid(format!(
                        "{source}: plugin[{i}] ({}): sha256 must be 64 hex digits, got `{digest}`",
                        entry.module
                    )));
                }
            }
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_take_digest_and_mode() {
        let text = format!("[[plugin]]\nmodule = \"a.wasm\"\nsha256 = \"{}\"\nmode = \"monitor\"\n", "ab".repeat(32));
        let file = PipelineFile::from_toml("p.toml", &text).unwrap();
        assert_eq!(file.plugin[0].mode, PluginMode::Monitor);
        assert_eq!(file.plugin[0].sha256.as_deref(), Some("ab".repeat(32).as_str()));
        let plain = PipelineFile::from_toml("p.toml", "[[plugin]]\nmodule = \"a.wasm\"\n").unwrap();
        assert_eq!(plain.plugin[0].mode, PluginMode::Enforce);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file_and_key() {
        let err = PipelineFile::from_toml("pipeline.toml", "[[plugin]]\nmodule = \"a.wasm\"\ntimeout = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("pipeline.toml") && err.contains("timeout") && err.contains("line 3"), "{err}");
        let err = PipelineFile::from_toml("pipeline.toml", "[[plugin]]\nmodule = \"a.wasm\"\nmode = \"audit\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("audit") && err.contains("enforce"), "{err}");
        let err = PipelineFile::from_toml("pipeline.toml", "[[plugin]]\nmodule = \"a.wasm\"\nsha256 = \"xyz\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sha256 must be 64 hex digits"), "{err}");
    }
}
