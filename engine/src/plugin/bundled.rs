//! The bundled policy plugins, built from `plugins/` by the build script and
//! compiled into the binary.

/// `(name, component bytes)` of every bundled plugin.
pub const BUNDLED_PLUGINS: &[(&str, &[u8])] = &[
    ("classifier", include_bytes!(concat!(env!("OUT_DIR"), "/coexist_classifier.component.wasm"))),
    ("coexistence", include_bytes!(concat!(env!("OUT_DIR"), "/coexist_coexistence.component.wasm"))),
];

/// The component bytes of a bundled plugin.
pub fn bundled_plugin(name: &str) -> Option<&'static [u8]> {
    BUNDLED_PLUGINS.iter().find(|(n, _)| *n == name).map(|(_, bytes)| *bytes)
}

/// The component bytes of a misbehaving sandbox fixture (`spin`, `memory-hog`,
/// `trap`, `wrong-count`, `bad-config`), for tests of programs that host plugins.
#[cfg(feature = "fixtures")]
pub fn fixture_plugin(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "spin" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_spin.component.wasm")),
        "memory-hog" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_memory_hog.component.wasm")),
        "trap" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_trap.component.wasm")),
        "wrong-count" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_wrong_count.component.wasm")),
        "bad-config" => include_bytes!(concat!(env!("OUT_DIR"), "/fixture_bad_config.component.wasm")),
        _ => return None,
    })
}
