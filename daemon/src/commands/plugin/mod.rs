//! `coexist plugin new|build|test|bench`: the platform team's tools.

mod bench;
mod build;
mod native;
mod new;
mod test;

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use coexist_engine::plugin::{bundled_plugin, LoadedPlugin, PluginError, PluginRuntime, PluginSpec};

use crate::cli::PluginCommand;

pub fn run(command: PluginCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginCommand::New(args) => new::run(args),
        PluginCommand::Build(args) => build::run(args),
        PluginCommand::Test(args) => test::run(args),
        PluginCommand::Bench(args) => bench::run(args),
    }
}

/// A settings file (TOML, the `settings` table of a pipeline entry) as the
/// JSON object `configure` takes; `{}` without one.
fn settings_json(path: Option<&Path>) -> anyhow::Result<String> {
    let Some(path) = path else { return Ok("{}".to_owned()) };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not a TOML table", path.display()))?;
    Ok(serde_json::to_string(&table)?)
}

/// Compiles and configures a component file with `settings_json`. A plugin
/// failure stays a [`PluginError`] inside the `anyhow::Error`.
fn load(runtime: &PluginRuntime, path: &Path, settings_json: &str) -> anyhow::Result<LoadedPlugin> {
    let label = path.display().to_string();
    let bytes = match label.strip_prefix("bundled:") {
        Some(name) => bundled_plugin(name)
            .with_context(|| format!("there is no bundled plugin `{name}` (bundled: classifier, coexistence)"))?
            .to_vec(),
        None => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    };
    LoadedPlugin::load(runtime, &bytes, PluginSpec::new(path.display().to_string(), settings_json))
        .map_err(|e: PluginError| anyhow::Error::new(e))
}
