//! Builds the bundled policy plugins in `plugins/` for `wasm32-unknown-unknown`,
//! turns each core module into a WebAssembly component, and leaves the components
//! in `OUT_DIR` for `include_bytes!`.
//!
//! The pattern is substrate's wasm-builder: a nested cargo invocation with its own
//! target directory (so it never waits on the outer build's lock), and the wasm32
//! target added with rustup when it is missing.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The guests to build: (cargo package, file stem of the built core module).
/// The bundled plugins ship in the binary; the fixtures only serve the
/// sandbox tests (one per failure the host must contain, and one that
/// checks each batch gets fresh memory).
const PLUGINS: &[(&str, &str)] = &[
    ("coexist-classifier", "coexist_classifier"),
    ("coexist-coexistence", "coexist_coexistence"),
    ("fixture-spin", "fixture_spin"),
    ("fixture-memory-hog", "fixture_memory_hog"),
    ("fixture-trap", "fixture_trap"),
    ("fixture-wrong-count", "fixture_wrong_count"),
    ("fixture-bad-config", "fixture_bad_config"),
    ("fixture-fresh-memory", "fixture_fresh_memory"),
];

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let plugins_dir = manifest_dir.join("../plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    for watched in
        ["Cargo.toml", "Cargo.lock", ".cargo", "wit", "sdk", "classifier", "coexistence", "fixtures", "examples"]
    {
        println!("cargo:rerun-if-changed={}", plugins_dir.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=COEXIST_PLUGINS_TARGET_DIR");

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    ensure_wasm_target();

    let target_dir = plugin_target_dir(&manifest_dir);
    let mut build = Command::new(&cargo);
    build
        .current_dir(&plugins_dir)
        .args(["build", "--release", "--locked", "--target", WASM_TARGET, "--target-dir"])
        .arg(&target_dir);
    for (package, _) in PLUGINS {
        build.args(["-p", package]);
    }
    scrub_outer_build_env(&mut build);
    let status = build.status().unwrap_or_else(|e| panic!("could not run `{cargo}` to build the bundled plugins: {e}"));
    if !status.success() {
        panic!(
            "building the bundled plugins in {} for {WASM_TARGET} failed (see the cargo output above)",
            plugins_dir.display()
        );
    }

    let release = target_dir.join(WASM_TARGET).join("release");
    for (_, stem) in PLUGINS {
        let core_path = release.join(format!("{stem}.wasm"));
        let core = std::fs::read(&core_path).unwrap_or_else(|e| panic!("reading {}: {e}", core_path.display()));
        let component = wit_component::ComponentEncoder::default()
            .module(&core)
            .and_then(|encoder| encoder.validate(true).encode())
            .unwrap_or_else(|e| panic!("turning {} into a component: {e:#}", core_path.display()));
        let dest = out_dir.join(format!("{stem}.component.wasm"));
        std::fs::write(&dest, component).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
    }
}

/// Where the nested build keeps its artifacts: beside the outer target directory,
/// so that one `target/` holds everything and a rebuild reuses the guest deps.
fn plugin_target_dir(manifest_dir: &Path) -> PathBuf {
    if let Ok(dir) = env::var("COEXIST_PLUGINS_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let outer = env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| manifest_dir.join("../target"));
    outer.join("plugins")
}

/// The nested cargo must build for the guest, not inherit the outer build's
/// flags, wrappers (clippy's driver) or target selection.
fn scrub_outer_build_env(cmd: &mut Command) {
    for (key, _) in env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        let inherited = key.starts_with("CARGO_ENCODED_")
            || key.starts_with("CARGO_BUILD_")
            || key.starts_with("CARGO_TARGET_")
            || key.starts_with("CARGO_PROFILE_")
            || key.starts_with("CARGO_CFG_")
            || key.starts_with("CARGO_FEATURE_")
            || key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_MANIFEST_")
            || matches!(
                key,
                "RUSTFLAGS"
                    | "RUSTC_WRAPPER"
                    | "RUSTC_WORKSPACE_WRAPPER"
                    | "RUSTDOCFLAGS"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
                    | "CARGO_MAKEFLAGS"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_CRATE_NAME"
            );
        if inherited {
            cmd.env_remove(key);
        }
    }
}

/// Adds the wasm32 target with rustup when the toolchain lacks it, and fails
/// with a precise message when that is impossible.
fn ensure_wasm_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(sysroot) = &sysroot {
        if sysroot.join("lib/rustlib").join(WASM_TARGET).join("lib").is_dir() {
            return;
        }
    }
    println!("cargo:warning=the {WASM_TARGET} target is missing; adding it with rustup");
    let mut add = Command::new("rustup");
    add.args(["target", "add", WASM_TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        add.args(["--toolchain", &toolchain]);
    }
    match add.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`rustup target add {WASM_TARGET}` failed ({status}). The bundled plugins need it: \
             run that command by hand, or install the target some other way for rustc {}",
            sysroot.map(|s| s.display().to_string()).unwrap_or_default()
        ),
        Err(e) => panic!(
            "the {WASM_TARGET} target is not installed and rustup could not be run ({e}). \
             Install the target for your toolchain to build the bundled plugins"
        ),
    }
}
