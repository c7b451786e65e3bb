//! The in-process pipeline on generated mixed traffic, in batches of 1,024:
//! host context + both bundled plugins + pricing, and the plugin calls alone.
//!
//! `cargo bench -p coexist-engine --bench pipeline`

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use coexist_engine::plugin::{Pipeline, PluginRuntime};
use coexist_engine::policy::Policies;
use coexist_engine::rating::{Rater, BATCH_SIZE};
use coexist_engine::synthetic;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const WABAS: usize = 4;

fn setup() -> (Arc<Policies>, Pipeline) {
    let policies = Policies::bundled()
        .and_then(|p| p.with_config_text("bench", &synthetic::profiles_toml(WABAS)))
        .expect("bundled policies load");
    let runtime = PluginRuntime::new().expect("engine");
    let pipeline = Pipeline::load(&runtime, &policies.pipeline, None).expect("bundled plugins load");
    (Arc::new(policies), pipeline)
}

fn pipeline(c: &mut Criterion) {
    let (policies, pipeline) = setup();
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("valid date");
    // 64 batches per WABA: enough to reach steady state in windows and counters.
    let events = synthetic::traffic(BATCH_SIZE * WABAS * 64, WABAS, 5_000, start, 7);

    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(10);
    for threads in [1, 2] {
        group.bench_function(format!("rate/{threads}-threads"), |b| {
            b.iter_batched(
                || Rater::new(policies.clone(), pipeline.clone()).with_threads(threads),
                |mut rater| rater.rate(&events),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
