//! `coexist plugin test PLUGIN.wasm --cases CASES.jsonl`: golden cases against the real component.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::Context;
use coexist_engine::plugin::golden::{decide, diff, parse_cases};
use coexist_engine::plugin::{LoadedPlugin, PluginError, PluginRuntime};
use coexist_engine::policy::{Policies, PolicySource};

use crate::cli::PluginTestArgs;

pub fn run(args: PluginTestArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.cases).with_context(|| format!("reading {}", args.cases.display()))?;
    let cases = parse_cases(&args.cases.display().to_string(), &text)?;
    let source = args.policies.clone().map(PolicySource::Dir).unwrap_or(PolicySource::Bundled);
    let regimes = Policies::load(source).context("loading the policies for the cases' regimes")?.regimes;
    let default_settings = super::settings_json(args.settings.as_deref())?;
    let runtime = PluginRuntime::new()?;

    // One configured plugin per distinct settings; the file-wide settings may
    // be refused when every case brings its own, so they are loaded lazily.
    let mut by_settings: HashMap<String, Result<LoadedPlugin, String>> = HashMap::new();
    let mut base: Option<LoadedPlugin> = None;
    let (mut passed, mut failed) = (0usize, 0usize);
    for (line, case) in &cases {
        let settings = match &case.settings {
            Some(s) => serde_json::to_string(s)?,
            None => default_settings.clone(),
        };
        if !by_settings.contains_key(&settings) {
            let plugin = match &base {
                Some(b) => b.with_settings(&settings).map_err(|e| describe(&e)),
                None => {
                    super::load(&runtime, &args.plugin, &settings).map_err(|e| match e.downcast_ref::<PluginError>() {
                        Some(p) => describe(p),
                        None => crate::report::chain(&e),
                    })
                }
            };
            if let (None, Ok(p)) = (&base, &plugin) {
                base = Some(p.with_settings(&settings).map_err(|e| anyhow::anyhow!(describe(&e)))?);
            }
            by_settings.insert(settings.clone(), plugin);
        }
        let outcome = match &by_settings[&settings] {
            Err(e) => Err(format!("the plugin refused these settings: {e}")),
            Ok(plugin) => decide(plugin, &regimes, case).map_err(|e| match e {
                coexist_engine::plugin::golden::CaseError::Plugin(p) => describe(&p),
                other => other.to_string(),
            }),
        };
        match outcome.map(|got| diff(&case.expect, &got)) {
            Ok(lines) if lines.is_empty() => {
                passed += 1;
                println!("ok    {} (line {line})", case.name);
            }
            Ok(lines) => {
                failed += 1;
                println!("FAIL  {} (line {line})", case.name);
                for l in lines {
                    println!("      {}", l.replace('\n', "\n      "));
                }
            }
            Err(e) => {
                failed += 1;
                println!("FAIL  {} (line {line})", case.name);
                println!("      error: {e}");
            }
        }
    }
    println!();
    println!("{} cases: {passed} passed, {failed} failed", cases.len());
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn describe(e: &PluginError) -> String {
    format!("{} ({e})", e.code())
}
