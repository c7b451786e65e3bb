//! `coexist plugin bench PLUGIN.wasm`: what a plugin costs the host.
//!
//! Reports the time to get a fresh instance, and the per-message cost of a
//! call (fresh instance, `configure`, `evaluate`) at batch sizes 1, 64 and
//! 1,024, as p50 and p99 over `--iterations` calls. Beside it, the bundled
//! pipeline (classifier, then coexistence) over the same batches, twice: as
//! the components the daemon runs, and as the same rules linked natively
//! into the host ([`super::native`]). The ratio is the plugin's cost over
//! that native baseline: what a policy costs as a sandboxed plugin instead
//! of host code.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use coexist_engine::plugin::{sample_facts, BatchBuilder, Pipeline, PluginRuntime, WitDecisions};
use coexist_engine::policy::Policies;

use crate::cli::PluginBenchArgs;

const BATCH_SIZES: [usize; 3] = [1, 64, 1024];

pub fn run(args: PluginBenchArgs) -> anyhow::Result<ExitCode> {
    let iterations = args.iterations.max(10);
    let runtime = PluginRuntime::new()?;
    let settings = super::settings_json(args.settings.as_deref())?;
    let started = Instant::now();
    let plugin = super::load(&runtime, &args.plugin, &settings)?;
    let load_time = started.elapsed();
    let policies = Policies::bundled().context("loading the bundled policies")?;
    let baseline = Pipeline::load(&runtime, &policies.pipeline, None).context("loading the bundled pipeline")?;
    let native = super::native::NativeBaseline::new(&policies.pipeline)?;

    println!("plugin {} {} ({})", plugin.name, plugin.version, args.plugin.display());
    println!("load (compile, configure, smoke test): {:.1} ms", load_time.as_secs_f64() * 1e3);
    let mut instantiate = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let t = Instant::now();
        plugin.instantiate_only().map_err(|e| anyhow::anyhow!("{} ({e})", e.code()))?;
        instantiate.push(t.elapsed());
    }
    let (p50, p99) = percentiles(&mut instantiate);
    println!("fresh instance: p50 {:.2} µs, p99 {:.2} µs", micros(p50), micros(p99));
    println!();
    println!(
        "{:>6}  {:>15}  {:>15}  {:>15}  {:>15}  {:>9}",
        "batch", "p50 µs/message", "p99 µs/message", "bundled wasm", "bundled native", "ratio"
    );
    let facts = sample_facts(&policies.regimes, BATCH_SIZES[BATCH_SIZES.len() - 1]);
    for n in BATCH_SIZES {
        let mut builder = BatchBuilder::default();
        for fact in facts.iter().take(n) {
            builder.push(fact.fact());
        }
        builder.seal();
        let batch = builder.batch("1000", "BR");
        let undecided = WitDecisions::undecided(n);
        let mut calls = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            plugin.call(&batch, &undecided).map_err(|e| anyhow::anyhow!("{} ({e})", e.code()))?;
            calls.push(t.elapsed());
        }
        let mut base = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            baseline.evaluate(&batch).map_err(|e| anyhow::anyhow!("the bundled pipeline failed: {e}"))?;
            base.push(t.elapsed());
        }
        let mut native_calls = Vec::with_capacity(iterations);
        for _ in 0..iterations {
            let t = Instant::now();
            let decisions = native.evaluate(&batch).map_err(|e| anyhow::anyhow!("the native baseline failed: {e}"))?;
            native_calls.push(t.elapsed());
            std::hint::black_box(decisions);
        }
        let (p50, p99) = percentiles(&mut calls);
        let (base50, _) = percentiles(&mut base);
        let (native50, _) = percentiles(&mut native_calls);
        let per = |d: Duration| micros(d) / n as f64;
        println!(
            "{n:>6}  {:>15.4}  {:>15.4}  {:>15.4}  {:>15.4}  {:>8.1}×",
            per(p50),
            per(p99),
            per(base50),
            per(native50),
            per(p50) / per(native50)
        );
    }
    println!();
    println!("µs/message = the call's time (fresh instance, configure, evaluate) divided by the batch size;");
    println!("bundled wasm / native = the bundled pipeline (classifier, then coexistence) on the same batches,");
    println!("as the components the daemon runs / as the same rules linked into the host (p50);");
    println!("ratio = this plugin's p50 over the native baseline's p50.");
    Ok(ExitCode::SUCCESS)
}

fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99))
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
