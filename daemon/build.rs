//! Embeds the plugin kit that `coexist plugin new` writes into a new plugin:
//! the guest SDK's sources (with its manifest made standalone), the WIT
//! contract, the scaffold templates, the guest cargo config and the lock file
//! the bundled plugins are tested with.
//!
//! Writes `$OUT_DIR/plugin_kit.rs`: `pub const KIT: &[(&str, &str)]`, pairs of
//! (path in the new plugin, contents).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let plugins = manifest_dir.join("../plugins");
    let mut kit: Vec<(String, String)> = Vec::new();

    let workspace: toml::Table = read(&plugins.join("Cargo.toml")).parse().expect("plugins/Cargo.toml is TOML");
    kit.push((
        ".coexist/sdk/Cargo.toml".into(),
        standalone_manifest(&read(&plugins.join("sdk/Cargo.toml")), &workspace),
    ));
    for file in files_under(&plugins.join("sdk/src")) {
        let rel = file.strip_prefix(plugins.join("sdk")).expect("under sdk").display().to_string();
        kit.push((format!(".coexist/sdk/{rel}"), read(&file)));
    }
    for file in files_under(&plugins.join("wit")) {
        let rel = file.strip_prefix(&plugins).expect("under plugins").display().to_string();
        kit.push((format!(".coexist/{rel}"), read(&file)));
    }
    kit.push((".cargo/config.toml".into(), read(&plugins.join(".cargo/config.toml"))));
    kit.push(("Cargo.lock".into(), read(&plugins.join("Cargo.lock"))));
    let templates = plugins.join("template");
    for file in files_under(&templates) {
        let rel = file.strip_prefix(&templates).expect("under template").display().to_string();
        if let Some(stem) = rel.strip_suffix(".tmpl") {
            let dest = match stem {
                // The guest cargo config is the bundled plugins' own (above).
                "cargo-config.toml" => continue,
                s if s.ends_with(".rs") => format!("src/{s}"),
                s => s.to_owned(),
            };
            kit.push((dest, read(&file)));
        }
    }

    for watched in ["sdk", "wit", "template", ".cargo", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", plugins.join(watched).display());
    }
    let mut out = String::from("/// (path in a new plugin, contents) of every file `coexist plugin new` writes.\n");
    out.push_str("pub const KIT: &[(&str, &str)] = &[\n");
    for (path, text) in &kit {
        writeln!(out, "    ({path:?}, {text:?}),").expect("writing to a String");
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("plugin_kit.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("writing {}: {e}", dest.display()));
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every file under `dir`, sorted; none when it does not exist.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return files };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The SDK's manifest with `x.workspace = true` replaced by the workspace's
/// values, so it builds outside the plugins workspace.
fn standalone_manifest(text: &str, workspace: &toml::Table) -> String {
    let mut manifest: toml::Table = text.parse().expect("plugins/sdk/Cargo.toml is TOML");
    let ws = workspace.get("workspace").and_then(|w| w.as_table()).cloned().unwrap_or_default();
    let ws_package = ws.get("package").and_then(|p| p.as_table()).cloned().unwrap_or_default();
    let ws_deps = ws.get("dependencies").and_then(|d| d.as_table()).cloned().unwrap_or_default();
    if let Some(package) = manifest.get_mut("package").and_then(|p| p.as_table_mut()) {
        for (key, value) in package.iter_mut() {
            if is_inherited(value) {
                if let Some(v) = ws_package.get(key) {
                    *value = v.clone();
                }
            }
        }
    }
    for section in ["dependencies", "dev-dependencies"] {
        let Some(deps) = manifest.get_mut(section).and_then(|d| d.as_table_mut()) else { continue };
        for (name, value) in deps.iter_mut() {
            if !is_inherited(value) {
                continue;
            }
            let mut resolved = match ws_deps.get(name) {
                Some(toml::Value::String(version)) => {
                    let mut t = toml::Table::new();
                    t.insert("version".into(), toml::Value::String(version.clone()));
                    t
                }
                Some(toml::Value::Table(t)) => t.clone(),
                _ => panic!("plugins/sdk depends on `{name}` from the workspace, which does not declare it"),
            };
            if let Some(extra) = value.as_table() {
                for (k, v) in extra {
                    if k == "workspace" {
                        continue;
                    }
                    if k == "features" {
                        let mut features =
                            resolved.get("features").and_then(|f| f.as_array()).cloned().unwrap_or_default();
                        features.extend(v.as_array().cloned().unwrap_or_default());
                        resolved.insert("features".into(), toml::Value::Array(features));
                    } else {
                        resolved.insert(k.clone(), v.clone());
                    }
                }
            }
            *value = toml::Value::Table(resolved);
        }
    }
    manifest.remove("lints");
    toml::to_string(&manifest).expect("a TOML table serializes")
}

fn is_inherited(value: &toml::Value) -> bool {
    value.as_table().and_then(|t| t.get("workspace")).and_then(|w| w.as_bool()) == Some(true)
}
