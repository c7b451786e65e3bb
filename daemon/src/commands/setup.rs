//! Loading policies and plugins from the command line's flags.

use anyhow::Context;
use coexist_engine::plugin::{CompileCache, Pipeline, PluginRuntime};
use coexist_engine::policy::{Policies, PolicySource};

use crate::cli::PolicyArgs;

/// Loads the policy data and layers `--config` over it.
pub fn policies(args: &PolicyArgs) -> anyhow::Result<Policies> {
    let source = match &args.policies {
        Some(dir) => {
            anyhow::ensure!(dir.is_dir(), "--policies {} is not a directory", dir.display());
            PolicySource::Dir(dir.clone())
        }
        None => PolicySource::Bundled,
    };
    let mut policies = Policies::load(source).context("loading policies")?;
    if let Some(config) = &args.config {
        policies = policies.with_config_file(config).context("loading --config")?;
    }
    Ok(policies)
}

/// Compiles and configures the pipeline's plugins.
pub fn pipeline(policies: &Policies) -> anyhow::Result<Pipeline> {
    let runtime = plugin_runtime()?;
    Pipeline::load(&runtime, &policies.pipeline, policies.source.base_dir()).context("loading plugins")
}

/// The wasmtime engine, with the on-disk compile cache when one can be opened.
pub fn plugin_runtime() -> anyhow::Result<PluginRuntime> {
    let mut runtime = PluginRuntime::new()?;
    // A warm compile cache saves most of the start-up time; without one we compile.
    if let Some(cache) = CompileCache::default_dir().and_then(|dir| CompileCache::open(&dir).ok()) {
        runtime = runtime.with_cache(cache);
    }
    Ok(runtime)
}
