//! The bundled pipeline (classifier, then coexistence) run natively: the
//! same rules as the bundled components, linked into the host without their
//! WIT binding. `coexist plugin bench` reports a plugin's cost against it,
//! as the price of running policy in a sandbox instead of in the host.

use anyhow::Context;
use coexist_engine::plugin::{Batch, WitPricingModel, WitRegime};
use coexist_engine::policy::PipelineFile;
use coexist_plugin_sdk::{Columns, Decisions, DecisionsBuilder, PricingModel, Regime, Symbols};

/// The bundled rules with their settings, as JSON (what `configure` reads).
pub struct NativeBaseline {
    classifier: String,
    coexistence: String,
}

impl NativeBaseline {
    /// With the settings `pipeline` gives the bundled classifier and coexistence.
    pub fn new(pipeline: &PipelineFile) -> anyhow::Result<Self> {
        let settings = |module: &str| -> anyhow::Result<String> {
            let entry = pipeline.plugin.iter().find(|p| p.module == module);
            let table = entry.map(|p| p.settings.clone()).unwrap_or_default();
            serde_json::to_string(&table).with_context(|| format!("the settings of {module}"))
        };
        Ok(Self { classifier: settings("bundled:classifier")?, coexistence: settings("bundled:coexistence")? })
    }

    /// One call: both plugins' settings read, then their rules, as a fresh
    /// instance of each would.
    pub fn evaluate(&self, batch: &Batch<'_>) -> Result<Decisions, String> {
        let regimes: Vec<Regime> = batch.regimes.iter().map(regime).collect();
        let columns = columns(batch, &regimes);
        let n = columns.len();
        let mut out = DecisionsBuilder::new(Decisions::default(), n);
        coexist_classifier::evaluate_native(&self.classifier, &columns, &mut out)?;
        let mut out = DecisionsBuilder::new(out.finish(), n);
        coexist_coexistence::evaluate_native(&self.coexistence, &columns, &mut out)?;
        Ok(out.finish())
    }
}

fn regime(r: &WitRegime) -> Regime {
    Regime {
        id: r.id,
        model: match r.model {
            WitPricingModel::Conversation => PricingModel::Conversation,
            WitPricingModel::PerMessage => PricingModel::PerMessage,
        },
        service_charged: r.service_charged,
        utility_in_window_charged: r.utility_in_window_charged,
        free_allowance: r.free_allowance,
    }
}

/// The host's batch as the SDK's columns: borrowed, as a guest sees them.
fn columns<'a>(batch: &'a Batch<'a>, regimes: &'a [Regime]) -> Columns<'a> {
    Columns {
        waba: batch.waba,
        business_country: batch.business_country,
        symbols: Symbols::new(batch.symbols.text, batch.symbols.ends),
        regimes,
        business_number: batch.business_number,
        user: batch.user,
        kind: batch.kind,
        side: batch.side,
        direction: batch.direction,
        template_category: batch.template_category,
        at_ms: batch.at_ms,
        local_day: batch.local_day,
        regime: batch.regime,
        recipient_country: batch.recipient_country,
        recipient_market: batch.recipient_market,
        status: batch.status,
        open_conversations: batch.open_conversations,
        features: batch.features,
        allowance_used: batch.allowance_used,
    }
}

#[cfg(test)]
mod tests {
    use coexist_engine::plugin::{sample_facts, BatchBuilder, Pipeline, PluginRuntime};
    use coexist_engine::policy::Policies;

    use super::*;

    /// The baseline is only fair if it decides what the bundled components
    /// decide: the same billable, category, pricing type and violations.
    #[test]
    fn the_native_baseline_decides_as_the_bundled_components() {
        let policies = Policies::bundled().expect("bundled policies");
        let runtime = PluginRuntime::new().expect("wasmtime");
        let components = Pipeline::load(&runtime, &policies.pipeline, None).expect("bundled plugins");
        let native = NativeBaseline::new(&policies.pipeline).expect("settings");
        let facts = sample_facts(&policies.regimes, 256);
        let mut builder = BatchBuilder::default();
        for fact in &facts {
            builder.push(fact.fact());
        }
        builder.seal();
        let batch = builder.batch("1000", "BR");
        let wasm = components.evaluate(&batch).expect("components");
        let native = native.evaluate(&batch).expect("native");
        assert_eq!(wasm.len(), 256);
        assert_eq!(native.billable.len(), wasm.len());
        for (i, d) in wasm.iter().enumerate() {
            let row = u32::try_from(i).expect("small");
            assert_eq!(d.billable, native.billable[i] == 1, "message {i}");
            assert_eq!(d.category.code(), native.category[i], "message {i}");
            assert_eq!(d.pricing_type.code(), native.pricing_type[i], "message {i}");
            let codes: Vec<&str> =
                native.violations.iter().filter(|v| v.message == row).map(|v| v.code.as_str()).collect();
            let expected: Vec<&str> = d.violations.iter().map(|v| v.code.as_str()).collect();
            assert_eq!(codes, expected, "message {i}");
        }
    }
}
