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
