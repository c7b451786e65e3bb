//! The in-process pipeline on generated mixed traffic, in batches of 1,024:
//! host context + both bundled plugins + pricing, the plugin calls alone, and
//! single messages into a WABA with many open windows.
//!
//! `cargo bench -p coexist-engine --bench pipeline`

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use coexist_engine::event::{Direction, Features, Side, TemplateCategory};
use coexist_engine::intern::Name;
use coexist_engine::phone::{parse_user, PhoneNumber, UserRef};
use coexist_engine::plugin::{status_bits, Batch, BatchBuilder, Fact, Pipeline, PluginRuntime, WitRegimeSource};
use coexist_engine::policy::Policies;
use coexist_engine::policy::PricingModel;
use coexist_engine::rating::{Rater, BATCH_SIZE};
use coexist_engine::synthetic;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

const WABAS: usize = 4;

// The same allocator as the `coexist` binary, so the numbers match it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    // 500 users per market prefix: 15,000 users per WABA, about four messages each.
    let events = synthetic::traffic(BATCH_SIZE * WABAS * 64, WABAS, 500, start, 7);

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

/// One message at a time into a WABA with many open windows, as the
/// committer rates a stream of single-event requests: journal, rate, keep.
/// Keeping sweeps expired windows only once the map has grown by half, so
/// the cost per message does not grow with the WABA's users.
fn single_events(c: &mut Criterion) {
    let (policies, pipeline) = setup();
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).single().expect("valid date");
    let mut group = c.benchmark_group("single-events");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    for users in [1_000u64, 50_000] {
        // One WABA, with about as many users as messages: most messages
        // open windows of their own.
        let warm = synthetic::traffic(users as usize, 1, users.div_ceil(30), start, 11);
        let mut rater = Rater::new(policies.clone(), pipeline.clone()).with_threads(1);
        rater.rate(&warm);
        let waba = warm[0].waba.clone();
        let mut next = warm.last().expect("traffic").clone();
        let mut n = 0u64;
        group.bench_function(format!("journal-rate-keep/{users}-users"), |b| {
            b.iter(|| {
                n += 1;
                next.id = format!("single-{n}").into();
                next.at += chrono::Duration::milliseconds(1);
                rater.begin_journal(&waba);
                let out = rater.rate(std::slice::from_ref(&next));
                rater.keep(&waba);
                out
            })
        });
    }
    group.finish();
}

/// The plugin calls alone: both bundled plugins over one batch of 1,024
/// facts (fresh instances, `configure`, `evaluate`), as in production.
fn plugins(c: &mut Criterion) {
    let (_, pipeline) = setup();
    let users: Vec<UserRef> =
        (0..BATCH_SIZE).map(|i| parse_user(&format!("+62812{:07}", i * 37)).expect("valid")).collect();
    let number = PhoneNumber::parse("+622155500000").expect("valid");
    let mut builder = BatchBuilder::default();
    for (i, user) in users.iter().enumerate() {
        let template = [None, Some(TemplateCategory::Marketing), Some(TemplateCategory::Utility)][i % 3];
        builder.push(Fact {
            business_number: &number,
            user,
            kind: if template.is_some() { "template" } else { "text" },
            side: if i % 10 == 9 { Side::App } else { Side::Api },
            direction: if i % 4 == 0 { Direction::Inbound } else { Direction::Outbound },
            template_category: template,
            at_ms: 1_773_000_000_000 + i as i64 * 1000,
            local_day: 20_520,
            regime: WitRegimeSource {
                id: Name::new("pmp"),
                model: PricingModel::PerMessage,
                service_charged: false,
                utility_in_window_charged: false,
                free_allowance: 0,
            },
            recipient_country: Name::new("ID"),
            recipient_market: Name::new("Indonesia"),
            status: if i % 2 == 0 {
                status_bits::CSW_OPEN | status_bits::COEXISTENCE
            } else {
                status_bits::COEXISTENCE
            },
            open_conversations: 0,
            features: Features::default(),
            allowance_used: 0,
        });
    }
    builder.seal();
    let batch = builder.batch("SW0", "ID");
    let mut group = c.benchmark_group("plugins");
    group.throughput(Throughput::Elements(BATCH_SIZE as u64));
    group.bench_function("both-bundled/batch-1024", |b| b.iter(|| pipeline.evaluate(&batch).expect("plugins run")));
    group.throughput(Throughput::Elements(1));
    group.bench_function("both-bundled/empty-batch", |b| {
        b.iter(|| pipeline.evaluate(&Batch::EMPTY).expect("plugins run"))
    });
    group.finish();
}

criterion_group!(benches, pipeline, plugins, single_events);
criterion_main!(benches);
