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

/// Layers what was imported into the store (the latest market map, then the
/// rate cards) over the policy files' data. A stored item the policies
/// refuse stops the start, naming it.
pub async fn with_stored_imports(mut policies: Policies, store: &crate::store::Store) -> anyhow::Result<Policies> {
    use coexist_engine::finance::imports::{add_rate_card, parse_market_map, parse_rate_card};
    use coexist_engine::policy::{Currency, Effective};
    if let Some((version, csv, source)) = store.market_map().await? {
        policies.markets = parse_market_map(&format!("stored market map v{version} ({source})"), &csv, &policies.rates)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    for c in store.ratecards().await? {
        let name = format!("stored rate card {} ({})", c.id, c.source);
        let currency = Currency::parse(&c.currency).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        let from = c.effective_from.parse().with_context(|| format!("{name}: effective_from"))?;
        let to =
            c.effective_to.as_deref().map(str::parse).transpose().with_context(|| format!("{name}: effective_to"))?;
        let card = parse_rate_card(&c.id, &name, &c.csv, currency, Effective::new(Some(from), to), &policies.markets)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        policies.rates = add_rate_card(&policies.rates, card).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    }
    Ok(policies)
}
