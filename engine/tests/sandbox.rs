//! The sandbox: bundled plugins import nothing, and each way a plugin can
//! misbehave ends in its own error code while the host carries on.

use std::time::{Duration, Instant};

use coexist_engine::plugin::{
    bundled_plugin, Batch, LoadedPlugin, PluginError, PluginRuntime, PluginSpec, WitDecisions,
};
use wasmtime::component::Component;

fn spec(name: &str) -> PluginSpec {
    // Only `spin` needs a short deadline; the others get a long one so that, on
    // a loaded machine, they fail the way they are meant to.
    let timeout_ms = if name == "spin" { 50 } else { 2_000 };
    PluginSpec { timeout_ms, memory_mib: 16, ..PluginSpec::new(name, "{}") }
}

fn fixture(name: &str) -> &'static [u8] {
    match name {
        "spin" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_spin.component.wasm")),
        "memory-hog" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_memory_hog.component.wasm")),
        "trap" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_trap.component.wasm")),
        "wrong-count" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_wrong_count.component.wasm")),
        "bad-config" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_bad_config.component.wasm")),
        "fresh-memory" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_fresh_memory.component.wasm")),
        other => panic!("no fixture {other}"),
    }
}

#[test]
fn bundled_plugins_import_nothing() {
    let runtime = PluginRuntime::new().unwrap();
    // The coexistence plugin also answers eligibility (plugins/wit/eligibility.wit).
    for (name, wanted) in [
        ("classifier", &["coexist:policy/policy@1.0.0"][..]),
        ("coexistence", &["coexist:policy/policy@1.0.0", "coexist:policy/eligibility@1.0.0"][..]),
    ] {
        let bytes = bundled_plugin(name).unwrap();
        let component = Component::new(runtime.engine(), bytes).unwrap();
        let ty = component.component_type();
        let imports: Vec<String> = ty.imports(runtime.engine()).map(|(n, _)| n.to_owned()).collect();
        assert!(imports.is_empty(), "{name} imports {imports:?}: no WASI, no clock, no randomness");
        let exports: Vec<String> = ty.exports(runtime.engine()).map(|(n, _)| n.to_owned()).collect();
        assert_eq!(exports, wanted, "{name}");
    }
}

fn call(runtime: &PluginRuntime, name: &str) -> Result<(), PluginError> {
    let plugin = LoadedPlugin::load(runtime, fixture(name), spec(name))?;
    plugin.call(&Batch::EMPTY, &WitDecisions::default()).map(|_| ())
}

#[test]
fn each_failure_has_its_code_and_the_host_carries_on() {
    let runtime = PluginRuntime::new().unwrap();
    // Load-time smoke tests call `evaluate` on an empty batch, so most fixtures
    // fail at load, as a broken plugin should.
    let started = Instant::now();
    let cases = [
        ("spin", "plugin.timeout"),
        ("memory-hog", "plugin.memory_limit"),
        ("trap", "plugin.trap"),
        ("wrong-count", "plugin.contract"),
        ("bad-config", "plugin.config"),
    ];
    for (name, code) in cases {
        let err = call(&runtime, name).expect_err(name);
        assert_eq!(err.code(), code, "{name}: {err}");
    }
    assert!(started.elapsed() < Duration::from_secs(10), "the deadline stopped the loop");
    // The same runtime still runs a good plugin.
    let good = LoadedPlugin::load(&runtime, bundled_plugin("classifier").unwrap(), spec("classifier")).unwrap();
    assert_eq!(good.name, "classifier");
}

#[test]
fn the_memory_limit_names_the_numbers() {
    let runtime = PluginRuntime::new().unwrap();
    match call(&runtime, "memory-hog") {
        Err(PluginError::MemoryLimit { limit_bytes, requested_bytes, .. }) => {
            assert_eq!(limit_bytes, 16 << 20);
            assert!(requested_bytes > limit_bytes);
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
}

/// Pooled memory slots are reused, and only what a batch dirtied is reset
/// (by dirty-page scan where the kernel has it): a plugin never finds what an
/// earlier batch, another business's messages, left in its memory.
#[test]
fn every_batch_starts_from_fresh_memory() {
    let runtime = PluginRuntime::new().unwrap();
    // Loading already ran one batch (the smoke test) in this plugin's slot.
    let plugin = LoadedPlugin::load(&runtime, fixture("fresh-memory"), spec("fresh-memory")).unwrap();
    for call in 1..=20 {
        plugin.call(&Batch::EMPTY, &WitDecisions::default()).unwrap_or_else(|e| panic!("call {call}: {e}"));
    }
}
