//! The host side of `coexist:policy/eligibility` (`plugins/wit/eligibility.wit`):
//! whether a business number may be in Coexistence on a date, decided by a
//! plugin from effective-dated lists.
//!
//! Kept apart from the message pipeline: a plugin that exports only
//! `coexist:policy/policy` never meets this code, and the pipeline never calls
//! `check`. Like every plugin call, each `check` runs on a fresh instance under
//! the plugin's deadline and memory limit.

use wasmtime::component::{ComponentExportIndex, ComponentType, InstancePre, Lift, Linker, Lower};
use wasmtime::{Store, Trap};

use super::runtime::{MemoryLimitHit, PluginRuntime, StoreLimits, EPOCH_TICK, MAX_PLUGIN_MEMORY_MIB};
use super::PluginError;

/// The interface a plugin exports to answer eligibility questions.
pub const ELIGIBILITY_INTERFACE: &str = "coexist:policy/eligibility";

/// One question: `number` (E.164) on `day` (days since 1970-01-01, UTC).
#[derive(Debug, Clone, ComponentType, Lower)]
#[component(record)]
pub struct EligibilityQuery {
    pub number: String,
    pub day: i32,
}

/// The list entry that makes a number ineligible.
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift, serde::Serialize)]
#[component(record)]
pub struct EligibilityRule {
    pub country: String,
    pub name: String,
    pub prefix: String,
}

/// A plugin's answer to one [`EligibilityQuery`].
#[derive(Debug, Clone, PartialEq, Eq, ComponentType, Lift)]
#[component(record)]
pub struct EligibilityVerdict {
    /// The first day of the list in force, if any.
    #[component(name = "list-from")]
    pub list_from: Option<i32>,
    pub source: String,
    pub ineligible: Option<EligibilityRule>,
    pub alternatives: Vec<String>,
}

/// A compiled plugin that exports `coexist:policy/eligibility`, with its lists.
pub struct EligibilityPlugin {
    /// Where it came from, e.g. `bundled:coexistence`.
    pub module: String,
    lists_json: String,
    timeout_ms: u64,
    memory_mib: u64,
    pre: InstancePre<StoreLimits>,
    configure: ComponentExportIndex,
    check: ComponentExportIndex,
}

impl std::fmt::Debug for EligibilityPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EligibilityPlugin").field("module", &self.module).finish()
    }
}

impl EligibilityPlugin {
    /// Compiles the component, finds its eligibility export, and checks that
    /// it accepts `lists_json` (so bad lists fail at start, not on a request).
    pub fn load(
        runtime: &PluginRuntime,
        module: &str,
        bytes: &[u8],
        lists_json: String,
        timeout_ms: u64,
        memory_mib: u64,
    ) -> Result<Self, PluginError> {
        let load_err = |detail: String| PluginError::Load { plugin: module.to_owned(), detail };
        let contract = |detail: String| PluginError::Contract { plugin: module.to_owned(), detail };
        if memory_mib == 0 || memory_mib > MAX_PLUGIN_MEMORY_MIB || timeout_ms == 0 {
            return Err(load_err(format!(
                "timeout_ms must be at least 1 and memory_mib between 1 and {MAX_PLUGIN_MEMORY_MIB}"
            )));
        }
        let engine = runtime.engine();
        let component = runtime.compile(bytes).map_err(|e| load_err(format!("not a valid component: {e:#}")))?;
        let prefix = format!("{ELIGIBILITY_INTERFACE}@");
        let exported: Vec<String> =
            component.component_type().exports(engine).map(|(name, _)| name.to_owned()).collect();
        let name = exported
            .iter()
            .find(|n| n.starts_with(&prefix) && n[prefix.len()..].split('.').next() == Some("1"))
            .ok_or_else(|| {
                contract(format!(
                    "it does not export {ELIGIBILITY_INTERFACE}@1.x; it exports [{}]",
                    exported.join(", ")
                ))
            })?;
        let iface =
            component.get_export_index(None, name).ok_or_else(|| contract(format!("does not export {name}")))?;
        let func = |f: &str| {
            component.get_export_index(Some(&iface), f).ok_or_else(|| contract(format!("{name} does not export `{f}`")))
        };
        let (configure, check) = (func("configure-lists")?, func("check")?);
        let pre = Linker::<StoreLimits>::new(engine)
            .instantiate_pre(&component)
            .map_err(|e| load_err(format!("it imports something coexist does not provide: {e:#}")))?;
        let plugin = Self { module: module.to_owned(), lists_json, timeout_ms, memory_mib, pre, configure, check };
        plugin.check(&[])?;
        Ok(plugin)
    }

    /// One verdict per query, in order, from a fresh instance.
    pub fn check(&self, queries: &[EligibilityQuery]) -> Result<Vec<EligibilityVerdict>, PluginError> {
        let mut store = Store::new(self.pre.engine(), StoreLimits { memory_bytes: (self.memory_mib << 20) as usize });
        store.limiter(|limits| limits);
        store.set_epoch_deadline(self.timeout_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1);
        let instance = self.pre.instantiate(&mut store).map_err(|e| self.classify(e))?;
        let configure = instance
            .get_typed_func::<(&str,), (Result<(), String>,)>(&mut store, &self.configure)
            .map_err(|e| self.contract(format!("`configure-lists` has the wrong type: {e:#}")))?;
        let (configured,) = configure.call(&mut store, (&self.lists_json,)).map_err(|e| self.classify(e))?;
        configured.map_err(|detail| PluginError::Config { plugin: self.module.clone(), detail })?;
        let check = instance
            .get_typed_func::<(&[EligibilityQuery],), (Vec<EligibilityVerdict>,)>(&mut store, &self.check)
            .map_err(|e| self.contract(format!("`check` has the wrong type: {e:#}")))?;
        let (verdicts,) = check.call(&mut store, (queries,)).map_err(|e| self.classify(e))?;
        if verdicts.len() != queries.len() {
            return Err(self.contract(format!(
                "`check` answered {} verdicts for {} queries",
                verdicts.len(),
                queries.len()
            )));
        }
        Ok(verdicts)
    }

    fn contract(&self, detail: String) -> PluginError {
        PluginError::Contract { plugin: self.module.clone(), detail }
    }

    fn classify(&self, err: wasmtime::Error) -> PluginError {
        let plugin = self.module.clone();
        if let Some(hit) = err.downcast_ref::<MemoryLimitHit>() {
            return PluginError::MemoryLimit {
                plugin,
                limit_bytes: self.memory_mib << 20,
                requested_bytes: hit.requested as u64,
            };
        }
        match err.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => PluginError::Timeout { plugin, timeout_ms: self.timeout_ms },
            _ => PluginError::Trap { plugin, detail: format!("{err:#}") },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{settings_files::BUNDLED_ELIGIBILITY, EligibilityLists};
    use crate::plugin::bundled_plugin;

    fn day(date: &str) -> i32 {
        let d = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
    }

    fn load(lists_json: String) -> Result<EligibilityPlugin, PluginError> {
        let runtime = PluginRuntime::new().unwrap();
        let bytes = bundled_plugin("coexistence").unwrap();
        EligibilityPlugin::load(&runtime, "bundled:coexistence", bytes, lists_json, 100, 16)
    }

    #[test]
    fn the_bundled_plugin_decides_from_the_bundled_lists() {
        let lists = EligibilityLists::from_toml("eligibility.toml", BUNDLED_ELIGIBILITY).unwrap();
        let plugin = load(lists.lists_json).unwrap();
        let q = |number: &str, date: &str| EligibilityQuery { number: number.to_owned(), day: day(date) };
        let verdicts = plugin
            .check(&[
                q("+447700900123", "2025-10-01"),
                q("+4915123456789", "2025-10-01"),
                q("+61412345678", "2025-10-01"),
                q("+27821234567", "2025-10-01"),
                q("+6281234567890", "2025-10-01"),
                q("+5511988887777", "2025-10-01"),
                q("+447700900123", "2026-04-01"),
                q("+79161234567", "2025-10-01"),
                q("+77011234567", "2025-10-01"),
            ])
            .unwrap();
        let country = |i: usize| verdicts[i].ineligible.as_ref().map(|r| r.country.as_str());
        assert_eq!([country(0), country(1), country(2), country(3)], [Some("GB"), Some("DE"), Some("AU"), Some("ZA")]);
        assert_eq!([country(4), country(5), country(6)], [None, None, None]);
        assert_eq!((country(7), country(8)), (Some("RU"), None), "Russia yes, Kazakhstan (+7 7xx) no");
        assert_eq!(verdicts[0].list_from, Some(day("2025-09-13")));
        assert_eq!(verdicts[6].list_from, Some(day("2026-03-20")));
        assert_eq!(verdicts[0].alternatives, ["app_only", "api_only"]);
        assert!(verdicts[4].alternatives.is_empty());
    }

    #[test]
    fn bad_lists_and_plugins_without_the_interface_fail_at_load() {
        let err =
            load(r#"{"lists":[{"effective_from":"2025-13-01","source":"s","ineligible":[]}]}"#.into()).unwrap_err();
        assert_eq!(err.code(), "plugin.config", "{err}");
        let runtime = PluginRuntime::new().unwrap();
        let classifier = bundled_plugin("classifier").unwrap();
        let err =
            EligibilityPlugin::load(&runtime, "bundled:classifier", classifier, "{}".into(), 100, 16).unwrap_err();
        assert_eq!(err.code(), "plugin.contract", "{err}");
        assert!(err.to_string().contains(ELIGIBILITY_INTERFACE), "{err}");
    }
}
