//! The lifecycle's settings (`policies/coexistence.toml`) and the region
//! eligibility lists (`policies/eligibility.toml`). Every figure of the
//! domain page is a default here that an operator can change.

use serde::{Deserialize, Serialize};

use super::LifecycleError;
use crate::decision::Action;

/// The bundled `policies/coexistence.toml`.
pub const BUNDLED_SETTINGS: &str = include_str!("../../../policies/coexistence.toml");
/// The bundled `policies/eligibility.toml`.
pub const BUNDLED_ELIGIBILITY: &str = include_str!("../../../policies/eligibility.toml");

/// All lifecycle settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleSettings {
    #[serde(default)]
    pub keep_alive: KeepAliveSettings,
    #[serde(default)]
    pub sync: SyncSettings,
    #[serde(default)]
    pub throughput: ThroughputSettings,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self::from_toml("bundled coexistence.toml", BUNDLED_SETTINGS).unwrap_or(Self {
            keep_alive: KeepAliveSettings::default(),
            sync: SyncSettings::default(),
            throughput: ThroughputSettings::default(),
        })
    }
}

/// How often the phone app must be opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeepAliveSettings {
    /// The link goes stale after this many days without app activity.
    pub days: u32,
    /// `warning` once this many days or fewer are left.
    pub warn_days_left: u32,
}

impl Default for KeepAliveSettings {
    fn default() -> Self {
        Self { days: 13, warn_days_left: 3 }
    }
}

/// The data-sync window and what history covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct SyncSettings {
    /// Hours after onboarding in which each sync must be requested.
    pub window_hours: u32,
    /// How far back history reaches, in days before onboarding.
    pub history_days: u32,
    /// Media older than this many days arrives as `media_placeholder`.
    pub media_days: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self { window_hours: 24, history_days: 180, media_days: 14 }
    }
}

/// API send limits per number, in messages per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThroughputSettings {
    /// A number in Coexistence.
    pub coexistence_per_second: u32,
    /// A Coexistence number in a regional deployment with a lower cap
    /// (throughput class `regional`).
    pub regional_per_second: u32,
    /// A number that is not in Coexistence (API-only).
    pub api_per_second: u32,
    /// Messages a number may send at once after being idle.
    pub burst: u32,
}

impl Default for ThroughputSettings {
    fn default() -> Self {
        Self { coexistence_per_second: 20, regional_per_second: 5, api_per_second: 80, burst: 10 }
    }
}

impl LifecycleSettings {
    /// Parses a settings file; errors name the file and the key.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, LifecycleError> {
        let settings: Self = toml::from_str(text)
            .map_err(|e| LifecycleError::Settings { file: file.to_owned(), message: e.to_string() })?;
        let t = settings.throughput;
        if [t.coexistence_per_second, t.regional_per_second, t.api_per_second, t.burst].contains(&0)
            || settings.keep_alive.days == 0
            || settings.sync.window_hours == 0
        {
            return Err(LifecycleError::Settings {
                file: file.to_owned(),
                message: "limits, burst, keep_alive.days and sync.window_hours must be at least 1".to_owned(),
            });
        }
        Ok(settings)
    }
}

/// The eligibility lists and what to do with an ineligible registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EligibilityLists {
    /// `block` refuses to register an ineligible number in Coexistence; `flag`
    /// registers it with the verdict shown; `allow` registers it silently.
    pub action: Action,
    /// The plugin that decides, e.g. `bundled:coexistence`.
    pub module: String,
    pub timeout_ms: u64,
    pub memory_mib: u64,
    /// The lists, as the JSON object the plugin's `configure-lists` reads.
    pub lists_json: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEligibility {
    action: RawAction,
    module: String,
    #[serde(default = "default_timeout")]
    timeout_ms: u64,
    #[serde(default = "default_memory")]
    memory_mib: u64,
    #[serde(rename = "list")]
    lists: Vec<toml::Value>,
}

fn default_timeout() -> u64 {
    100
}

fn default_memory() -> u64 {
    16
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawAction {
    Allow,
    Flag,
    Block,
}

impl EligibilityLists {
    /// Parses `eligibility.toml`. The lists themselves are checked by the
    /// plugin when it loads; this only checks the file's own keys.
    pub fn from_toml(file: &str, text: &str) -> Result<Self, LifecycleError> {
        let err = |message: String| LifecycleError::Settings { file: file.to_owned(), message };
        let raw: RawEligibility = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let lists_json =
            serde_json::to_string(&serde_json::json!({ "lists": raw.lists })).map_err(|e| err(e.to_string()))?;
        Ok(Self {
            action: match raw.action {
                RawAction::Allow => Action::Allow,
                RawAction::Flag => Action::Flag,
                RawAction::Block => Action::Block,
            },
            module: raw.module,
            timeout_ms: raw.timeout_ms,
            memory_mib: raw.memory_mib,
            lists_json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_give_the_domain_defaults() {
        let s = LifecycleSettings::from_toml("coexistence.toml", BUNDLED_SETTINGS).unwrap();
        assert_eq!(s.keep_alive, KeepAliveSettings { days: 13, warn_days_left: 3 });
        assert_eq!(s.sync, SyncSettings { window_hours: 24, history_days: 180, media_days: 14 });
        assert_eq!((s.throughput.coexistence_per_second, s.throughput.regional_per_second), (20, 5));
        assert_eq!(s.throughput.api_per_second, 80);
        let e = EligibilityLists::from_toml("eligibility.toml", BUNDLED_ELIGIBILITY).unwrap();
        assert_eq!((e.action, e.module.as_str()), (Action::Block, "bundled:coexistence"));
        assert!(e.lists_json.contains("2025-09-13") && e.lists_json.contains("2026-03-20"));
    }

    #[test]
    fn a_typo_names_the_file_and_key() {
        let err = LifecycleSettings::from_toml("x.toml", "[keep_alive]\nday = 14\n").unwrap_err();
        assert!(err.to_string().contains("x.toml") && err.to_string().contains("day"), "{err}");
        let err = LifecycleSettings::from_toml("x.toml", "[throughput]\nburst = 0\n").unwrap_err();
        assert!(err.to_string().contains("at least 1"), "{err}");
        let err = EligibilityLists::from_toml("e.toml", "action = \"warn\"\nmodule = \"m\"\nlist = []\n").unwrap_err();
        assert!(err.to_string().contains("e.toml"), "{err}");
    }
}
