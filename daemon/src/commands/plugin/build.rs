//! `coexist plugin build [DIR]`: cargo for wasm32, then a component, then its sha256.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context};
use coexist_engine::plugin::{sha256_hex, PluginError, PluginRuntime};

use crate::cli::PluginBuildArgs;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

pub fn run(args: PluginBuildArgs) -> anyhow::Result<ExitCode> {
    let manifest = args.dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!("{} has no Cargo.toml; pass the plugin crate's directory", args.dir.display());
    }
    ensure_wasm_target()?;
    let core = cargo_build(&manifest)?;
    let core_bytes = std::fs::read(&core).with_context(|| format!("reading {}", core.display()))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&core_bytes)
        .and_then(|encoder| encoder.validate(true).encode())
        .with_context(|| format!("turning {} into a component", core.display()))?;
    let stem = core.file_stem().and_then(|s| s.to_str()).unwrap_or("plugin").to_owned();
    let out = args.out.unwrap_or_else(|| args.dir.join(format!("{stem}.wasm")));
    std::fs::write(&out, &component).with_context(|| format!("writing {}", out.display()))?;
    let digest = sha256_hex(&component);

    // Load it as the daemon would, to catch contract problems now.
    let runtime = PluginRuntime::new()?;
    let loaded = super::load(&runtime, &out, "{}");
    let out_abs = std::fs::canonicalize(&out).unwrap_or_else(|_| out.clone());
    println!("built {} ({} bytes)", out_abs.display(), component.len());
    println!("sha256 {digest}");
    match loaded {
        Ok(plugin) => println!("plugin {} {} exports coexist:policy/policy", plugin.name, plugin.version),
        Err(e) if matches!(e.downcast_ref::<PluginError>(), Some(PluginError::Config { .. })) => {
            println!("note: it refuses empty settings ({e}); give it its settings in pipeline.toml");
        }
        Err(e) => bail!("the component does not load: {e}"),
    }
    println!();
    println!("add it to pipeline.toml (paths are relative to that file's directory):");
    println!();
    println!("[[plugin]]");
    println!("module = {:?}", out_abs.display().to_string());
    println!("sha256 = \"{digest}\"");
    println!("mode = \"enforce\"");
    println!("timeout_ms = 100");
    println!("memory_mib = 64");
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo build` for wasm32 and returns the core module it produced.
fn cargo_build(manifest: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut child = Command::new(&cargo)
        .args(["build", "--release", "--target", WASM_TARGET, "--message-format", "json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(manifest)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running {cargo}"))?;
    let manifest_abs = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_owned());
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for line in std::io::BufReader::new(stdout).lines() {
            let line = line?;
            let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            if msg["reason"] != "compiler-artifact"
                || msg["manifest_path"].as_str().map(Path::new) != Some(&manifest_abs)
            {
                continue;
            }
            let files = msg["filenames"].as_array().cloned().unwrap_or_default();
            if let Some(f) = files.iter().filter_map(|f| f.as_str()).find(|f| f.ends_with(".wasm")) {
                wasm = Some(PathBuf::from(f));
            }
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("cargo build failed ({status}); see the messages above");
    }
    wasm.with_context(|| {
        format!("cargo built no .wasm for {}; the crate needs `crate-type = [\"cdylib\"]`", manifest.display())
    })
}

/// Adds the wasm32 target with rustup when the toolchain lacks it.
fn ensure_wasm_target() -> anyhow::Result<()> {
    let sysroot = Command::new("rustc").args(["--print", "sysroot"]).output().context("running rustc")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib").join(WASM_TARGET).join("lib").is_dir() {
        return Ok(());
    }
    eprintln!("the {WASM_TARGET} target is missing; adding it with rustup");
    let status = Command::new("rustup").args(["target", "add", WASM_TARGET]).status().context("running rustup")?;
    if !status.success() {
        bail!("`rustup target add {WASM_TARGET}` failed ({status})");
    }
    Ok(())
}
