//! A compiled plugin, ready to instantiate, and the calls into it.

use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, ComponentExportIndex, InstancePre, Linker};
use wasmtime::{Store, Trap};

use super::abi::{Batch, PluginInfo, WitDecisions};
use super::runtime::{MemoryLimitHit, PluginRuntime, StoreLimits, EPOCH_TICK, MAX_PLUGIN_MEMORY_MIB};
use super::stats::PluginStats;
use super::PluginError;
use crate::policy::PluginMode;

/// The WIT package and interface every plugin exports, and the host's version of it.
pub const CONTRACT_INTERFACE: &str = "coexist:policy/policy";
pub const CONTRACT_VERSION: &str = "1.0.0";

/// How to load one plugin.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// Where it came from, e.g. `bundled:classifier` or a path.
    pub module: String,
    /// Settings as a JSON object, handed to `configure`.
    pub settings_json: String,
    pub timeout_ms: u64,
    pub memory_mib: u64,
    /// The sha256 the module must have (hex), when the policy file pins one.
    pub sha256: Option<String>,
    pub mode: PluginMode,
}

impl PluginSpec {
    /// A spec with the default limits, enforce mode and no pinned digest.
    pub fn new(module: impl Into<String>, settings_json: impl Into<String>) -> Self {
        Self {
            module: module.into(),
            settings_json: settings_json.into(),
            timeout_ms: crate::policy::DEFAULT_TIMEOUT_MS,
            memory_mib: crate::policy::DEFAULT_MEMORY_MIB,
            sha256: None,
            mode: PluginMode::Enforce,
        }
    }
}

/// A plugin compiled once, instantiated fresh for every batch.
pub struct LoadedPlugin {
    pub name: String,
    pub version: String,
    /// sha256 of the component bytes, hex.
    pub digest: String,
    pub spec: PluginSpec,
    /// Counters since this plugin was loaded.
    pub stats: PluginStats,
    pre: InstancePre<StoreLimits>,
    configure: ComponentExportIndex,
    evaluate: ComponentExportIndex,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("digest", &self.digest)
            .finish()
    }
}

/// The hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

impl LoadedPlugin {
    /// Compiles, links (with nothing: plugins get no imports), reads `info`
    /// and checks that `configure` accepts the settings.
    pub fn load(runtime: &PluginRuntime, bytes: &[u8], spec: PluginSpec) -> Result<Self, PluginError> {
        let label = spec.module.clone();
        let load_err = |detail: String| PluginError::Load { plugin: label.clone(), detail };
        if spec.memory_mib == 0 || spec.memory_mib > MAX_PLUGIN_MEMORY_MIB {
            return Err(load_err(format!(
                "memory_mib must be between 1 and {MAX_PLUGIN_MEMORY_MIB}, got {}",
                spec.memory_mib
            )));
        }
        if spec.timeout_ms == 0 {
            return Err(load_err("timeout_ms must be at least 1".into()));
        }
        let digest = sha256_hex(bytes);
        if let Some(expected) = &spec.sha256 {
            if !expected.eq_ignore_ascii_case(&digest) {
                return Err(PluginError::DigestMismatch {
                    plugin: label.clone(),
                    expected: expected.to_ascii_lowercase(),
                    actual: digest,
                });
            }
        }
        let engine = runtime.engine();
        let component = runtime.compile(bytes).map_err(|e| load_err(format!("not a valid component: {e:#}")))?;
        let iface_name = contract_export(&component, engine, &label)?;
        let iface = component.get_export_index(None, &iface_name).ok_or_else(|| PluginError::Contract {
            plugin: label.clone(),
            detail: format!("does not export {iface_name}"),
        })?;
        let func = |name: &str| {
            component.get_export_index(Some(&iface), name).ok_or_else(|| PluginError::Contract {
                plugin: label.clone(),
                detail: format!("{iface_name} does not export `{name}`"),
            })
        };
        let (info, configure, evaluate) = (func("info")?, func("configure")?, func("evaluate")?);
        let linker = Linker::<StoreLimits>::new(engine);
        let pre = linker.instantiate_pre(&component).map_err(|e| {
            load_err(format!(
                "it imports something coexist does not provide (plugins get no capabilities at all): {e:#}"
            ))
        })?;
        let mut plugin = Self {
            name: label.clone(),
            version: String::new(),
            digest,
            spec,
            stats: PluginStats::new(&label),
            pre,
            configure,
            evaluate,
        };

        let mut store = plugin.store();
        let instance = plugin.pre.instantiate(&mut store).map_err(|e| plugin.classify(e))?;
        let info_fn = instance
            .get_typed_func::<(), (PluginInfo,)>(&mut store, &info)
            .map_err(|e| plugin.contract(format!("`info` has the wrong type: {e:#}")))?;
        let (info,) = info_fn.call(&mut store, ()).map_err(|e| plugin.classify(e))?;
        plugin.name = info.name;
        plugin.version = info.version;
        plugin.stats = PluginStats::new(&plugin.name);
        drop(store);
        // Fail at load, not on the first message, when the settings are wrong.
        plugin.smoke_test()?;
        Ok(plugin)
    }

    /// The same compiled plugin with other settings (checked like at load),
    /// e.g. for golden cases that each bring their own.
    pub fn with_settings(&self, settings_json: &str) -> Result<Self, PluginError> {
        let plugin = Self {
            name: self.name.clone(),
            version: self.version.clone(),
            digest: self.digest.clone(),
            spec: PluginSpec { settings_json: settings_json.to_owned(), ..self.spec.clone() },
            stats: PluginStats::new(&self.name),
            pre: self.pre.clone(),
            configure: self.configure,
            evaluate: self.evaluate,
        };
        plugin.smoke_test()?;
        Ok(plugin)
    }

    fn store(&self) -> Store<StoreLimits> {
        let mut store =
            Store::new(self.pre.engine(), StoreLimits { memory_bytes: (self.spec.memory_mib << 20) as usize });
        store.limiter(|limits| limits);
        let ticks = self.spec.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64);
        // One extra tick: the current one may be about to end.
        store.set_epoch_deadline(ticks + 1);
        store
    }

    fn smoke_test(&self) -> Result<(), PluginError> {
        self.evaluate_once(&Batch::EMPTY, &WitDecisions::default()).map(|_| ())
    }

    /// Evaluates one batch on a fresh instance: `configure`, then `evaluate`.
    /// The call is counted in [`LoadedPlugin::stats`].
    pub fn call(&self, batch: &Batch<'_>, so_far: &WitDecisions) -> Result<WitDecisions, PluginError> {
        let started = Instant::now();
        let out = self.evaluate_once(batch, so_far);
        self.stats.record(batch.len(), started.elapsed(), out.as_ref().map(|_| ()));
        out
    }

    /// Only a fresh instance from the pre-instantiated component, for benchmarks.
    pub fn instantiate_only(&self) -> Result<(), PluginError> {
        let mut store = self.store();
        self.pre.instantiate(&mut store).map(|_| ()).map_err(|e| self.classify(e))
    }

    fn evaluate_once(&self, batch: &Batch<'_>, so_far: &WitDecisions) -> Result<WitDecisions, PluginError> {
        let mut store = self.store();
        let instance = self.pre.instantiate(&mut store).map_err(|e| self.classify(e))?;
        let configure = instance
            .get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, &self.configure)
            .map_err(|e| self.contract(format!("`configure` has the wrong type: {e:#}")))?;
        let (configured,) = configure.call(&mut store, (&self.spec.settings_json,)).map_err(|e| self.classify(e))?;
        configured.map_err(|detail| PluginError::Config { plugin: self.name.clone(), detail })?;
        let evaluate = instance
            .get_typed_func::<(&Batch<'_>, &WitDecisions), (WitDecisions,)>(&mut store, &self.evaluate)
            .map_err(|e| self.contract(format!("`evaluate` has the wrong type: {e:#}")))?;
        let (decisions,) = evaluate.call(&mut store, (batch, so_far)).map_err(|e| self.classify(e))?;
        decisions.check(batch.len()).map_err(|detail| self.contract(detail))?;
        Ok(decisions)
    }

    fn contract(&self, detail: String) -> PluginError {
        PluginError::Contract { plugin: self.name.clone(), detail }
    }

    /// Turns a wasmtime error into the stable code it deserves.
    fn classify(&self, err: wasmtime::Error) -> PluginError {
        let plugin = self.name.clone();
        if let Some(hit) = err.downcast_ref::<MemoryLimitHit>() {
            return PluginError::MemoryLimit {
                plugin,
                limit_bytes: self.spec.memory_mib << 20,
                requested_bytes: hit.requested as u64,
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout { plugin, timeout_ms: self.spec.timeout_ms },
            _ => PluginError::Trap { plugin, detail: format!("{err:#}") },
        }
    }
}

/// Finds the versioned contract export and checks its major version.
fn contract_export(component: &Component, engine: &wasmtime::Engine, label: &str) -> Result<String, PluginError> {
    let prefix = format!("{CONTRACT_INTERFACE}@");
    let exported: Vec<String> = component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
    let Some(found) = exported.iter().find(|n| n.starts_with(&prefix)) else {
        return Err(PluginError::Contract {
            plugin: label.to_owned(),
            detail: format!(
                "it does not export {CONTRACT_INTERFACE}@{CONTRACT_VERSION}; it exports [{}]",
                exported.join(", ")
            ),
        });
    };
    let theirs = &found[prefix.len()..];
    let major = |v: &str| v.split('.').next().unwrap_or_default().to_owned();
    if major(theirs) != major(CONTRACT_VERSION) {
        return Err(PluginError::Contract {
            plugin: label.to_owned(),
            detail: format!(
                "it was built against {CONTRACT_INTERFACE}@{theirs}, but this host speaks {CONTRACT_INTERFACE}@{CONTRACT_VERSION}; rebuild it against major version {}",
                major(CONTRACT_VERSION)
            ),
        });
    }
    Ok(found.clone())
}
