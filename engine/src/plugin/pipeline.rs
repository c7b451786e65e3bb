//! The ordered plugin pipeline: each plugin amends the decisions so far.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::abi::{Batch, WitDecisions};
use super::bundled::bundled_plugin;
use super::loaded::{LoadedPlugin, PluginSpec};
use super::runtime::PluginRuntime;
use super::PluginError;
use crate::decision::{Action, Decision};
use crate::policy::{PipelineFile, PluginMode};

/// Name and version of a plugin, as reported in every result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PluginVersion {
    pub name: String,
    pub version: String,
    pub digest: String,
}

/// The loaded plugins, in order. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Pipeline {
    plugins: Arc<[LoadedPlugin]>,
    versions: &'static [PluginVersion],
    loaded_at: DateTime<Utc>,
}

impl Pipeline {
    /// Loads every plugin the pipeline file lists. `base_dir` resolves
    /// relative module paths.
    pub fn load(runtime: &PluginRuntime, file: &PipelineFile, base_dir: Option<&Path>) -> Result<Self, PluginError> {
        let mut specs = Vec::with_capacity(file.plugin.len());
        for entry in &file.plugin {
            let settings_json = serde_json::to_string(&entry.settings).map_err(|e| PluginError::Config {
                plugin: entry.module.clone(),
                detail: format!("settings cannot be expressed as JSON: {e}"),
            })?;
            let spec = PluginSpec {
                module: entry.module.clone(),
                settings_json,
                timeout_ms: entry.timeout_ms,
                memory_mib: entry.memory_mib,
                sha256: entry.sha256.clone(),
                mode: entry.mode,
            };
            specs.push((read_module(&entry.module, base_dir)?, spec));
        }
        // Compiling is the slow part of loading; plugins compile side by side.
        let loaded: Vec<Result<LoadedPlugin, PluginError>> = std::thread::scope(|s| {
            let handles: Vec<_> = specs
                .into_iter()
                .map(|(bytes, spec)| s.spawn(move || LoadedPlugin::load(runtime, &bytes, spec)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(PluginError::Load {
                            plugin: "(loader)".into(),
                            detail: "the loading thread panicked".into(),
                        })
                    })
                })
                .collect()
        });
        Ok(Self::from_plugins(loaded.into_iter().collect::<Result<Vec<_>, _>>()?))
    }

    /// A pipeline of already-loaded plugins.
    pub fn from_plugins(plugins: Vec<LoadedPlugin>) -> Self {
        let versions: Vec<PluginVersion> = plugins
            .iter()
            .map(|p| PluginVersion { name: p.name.clone(), version: p.version.clone(), digest: p.digest.clone() })
            .collect();
        // Every result names the plugins that decided it. A pipeline is loaded
        // once (and again per reload), so its few names live for the process and
        // results copy a pointer instead of touching a shared reference count.
        let versions: &'static [PluginVersion] = Box::leak(versions.into_boxed_slice());
        Self { plugins: plugins.into(), versions, loaded_at: Utc::now() }
    }

    /// Runs every plugin over one batch and returns one decision per fact.
    ///
    /// An `enforce` plugin's decisions replace the decisions so far, and its
    /// failure fails the batch. A `monitor` plugin only adds its new violations,
    /// demoted to `flag`; its failure is counted in its stats and skipped.
    pub fn evaluate(&self, batch: &Batch<'_>) -> Result<Vec<Decision>, PluginError> {
        let mut decisions = WitDecisions::undecided(batch.len());
        for plugin in self.plugins.iter() {
            match plugin.spec.mode {
                PluginMode::Enforce => decisions = plugin.call(batch, &decisions)?,
                PluginMode::Monitor => {
                    if let Ok(out) = plugin.call(batch, &decisions) {
                        record_monitored(&mut decisions, out, &plugin.name);
                    }
                }
            }
        }
        Ok(decisions.into_decisions())
    }

    /// When this set was loaded.
    pub fn loaded_at(&self) -> DateTime<Utc> {
        self.loaded_at
    }

    /// Whether `other` would decide exactly as this set does: the same modules,
    /// settings, limits and modes, in the same order.
    pub fn same_as(&self, other: &Pipeline) -> bool {
        self.plugins.len() == other.plugins.len()
            && self.plugins.iter().zip(other.plugins.iter()).all(|(a, b)| {
                a.digest == b.digest
                    && a.spec.settings_json == b.spec.settings_json
                    && a.spec.timeout_ms == b.spec.timeout_ms
                    && a.spec.memory_mib == b.spec.memory_mib
                    && a.spec.mode == b.spec.mode
            })
    }

    pub fn versions(&self) -> &'static [PluginVersion] {
        self.versions
    }

    pub fn plugins(&self) -> &[LoadedPlugin] {
        &self.plugins
    }
}

/// Keeps the decisions so far, and appends the violations a monitored plugin
/// added, as flags that say what the plugin would have done.
fn record_monitored(decisions: &mut WitDecisions, out: WitDecisions, plugin: &str) {
    let mut known = decisions.violations.clone();
    for mut v in out.violations {
        if let Some(k) = known.iter().position(|old| *old == v) {
            known.swap_remove(k);
            continue;
        }
        let would = match v.action {
            Action::Allow => "allow",
            Action::Flag => "flag",
            Action::Block => "block",
        };
        v.text = format!("monitor mode ({plugin} would {would}): {}", v.text);
        v.action = Action::Flag;
        decisions.violations.push(v);
    }
}

fn read_module(module: &str, base_dir: Option<&Path>) -> Result<Vec<u8>, PluginError> {
    if let Some(name) = module.strip_prefix("bundled:") {
        return bundled_plugin(name).map(<[u8]>::to_vec).ok_or_else(|| PluginError::Load {
            plugin: module.to_owned(),
            detail: format!("there is no bundled plugin named `{name}` (bundled: classifier, coexistence)"),
        });
    }
    let path = match base_dir {
        Some(dir) => dir.join(module),
        None => module.into(),
    };
    std::fs::read(&path).map_err(|e| PluginError::Load {
        plugin: module.to_owned(),
        detail: format!("reading {}: {e}", path.display()),
    })
}
