//! `coexist plugin new NAME`: a plugin crate that builds right away.
//!
//! The crate carries its own copy of the SDK and the WIT contract of this
//! binary (in `.coexist/`), so it builds anywhere the crates.io registry is
//! reachable, against exactly the contract this host speaks.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use crate::cli::PluginNewArgs;

include!(concat!(env!("OUT_DIR"), "/plugin_kit.rs"));

pub fn run(args: PluginNewArgs) -> anyhow::Result<ExitCode> {
    check_name(&args.name)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} already exists and is not empty; choose another name or --dir", dir.display());
    }
    let crate_name = args.name.replace('-', "_");
    for (path, text) in KIT {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let text = text.replace("{{name}}", &args.name).replace("{{crate_name}}", &crate_name);
        std::fs::write(&dest, text).with_context(|| format!("writing {}", dest.display()))?;
    }
    std::fs::write(dir.join(".gitignore"), "/target\n*.wasm\n").context("writing .gitignore")?;
    let shown = dir.display();
    println!("created the plugin `{}` in {shown}", args.name);
    println!();
    println!("next:");
    println!("  coexist plugin build {shown}");
    println!("  coexist plugin test {shown}/{crate_name}.wasm --cases {shown}/cases.jsonl");
    println!("then add the [[plugin]] entry that `build` prints to pipeline.toml, and reload.");
    Ok(ExitCode::SUCCESS)
}

/// Lowercase ASCII letters, digits and inner dashes: a crate name and a file name everywhere.
fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.as_bytes()[0].is_ascii_lowercase()
        && !name.ends_with('-');
    if !ok {
        bail!("`{name}` is not a plugin name: use lowercase letters, digits and dashes, starting with a letter (e.g. acme-test-numbers)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("acme-test-numbers").is_ok());
        for bad in ["", "Acme", "1acme", "acme_x", "acme-", "a b"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_kit_has_a_buildable_crate() {
        let paths: Vec<&str> = KIT.iter().map(|(p, _)| *p).collect();
        for needed in ["Cargo.toml", "src/lib.rs", "cases.jsonl", ".coexist/sdk/Cargo.toml", ".coexist/wit/policy.wit"]
        {
            assert!(paths.contains(&needed), "{needed} missing from {paths:?}");
        }
        let sdk = KIT.iter().find(|(p, _)| *p == ".coexist/sdk/Cargo.toml").map(|(_, t)| *t).unwrap_or_default();
        assert!(!sdk.contains("workspace = true"), "the vendored SDK manifest must stand alone:\n{sdk}");
    }
}
