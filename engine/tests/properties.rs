//! Property tests for the money and ordering invariants.

mod common;

use std::sync::Arc;

use coexist_engine::plugin::{Pipeline, PluginRuntime};
use coexist_engine::policy::{Currency, Policies};
use coexist_engine::rating::Rater;
use coexist_engine::report::{round_line, Rounding};
use proptest::prelude::*;
use rust_decimal::Decimal;

proptest! {
    /// Rounding a line never invents or loses money: rounded = exact + residual,
    /// the residual is at most half a minor unit (one unit for up/down), and the
    /// rounded total has no more decimals than the currency allows.
    #[test]
    fn rounding_keeps_every_cent_accounted(
        mantissa in -10_000_000_000i64..10_000_000_000i64,
        scale in 0u32..8,
        currency in prop::sample::select(vec!["USD", "EUR", "IDR", "CLP", "KWD"]),
        mode in prop::sample::select(vec![Rounding::HalfEven, Rounding::HalfUp, Rounding::Down, Rounding::Up]),
    ) {
        let exact = Decimal::new(mantissa, scale);
        let currency = Currency::parse(currency).unwrap();
        let line = round_line(exact, currency, mode);
        prop_assert_eq!(line.exact + line.residual, line.rounded);
        let unit = Decimal::new(1, currency.minor_unit());
        let bound = match mode {
            Rounding::HalfEven | Rounding::HalfUp => unit / Decimal::TWO,
            Rounding::Down | Rounding::Up => unit,
        };
        prop_assert!(line.residual.abs() <= bound, "{line:?} for {currency}");
        prop_assert!(line.rounded.scale() <= currency.minor_unit());
    }
}

fn setup() -> (Arc<Policies>, Pipeline) {
    let policies = Policies::bundled()
        .and_then(|p| p.with_config_text("w1", include_str!("../../tests/fixtures/w1.toml")))
        .expect("policies load");
    let runtime = PluginRuntime::new().expect("engine");
    let pipeline = Pipeline::load(&runtime, &policies.pipeline, None).expect("plugins load");
    (Arc::new(policies), pipeline)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Input order is not time order: any permutation of the foundation table
    /// rates every message exactly as the ordered file does.
    #[test]
    fn any_order_gives_the_same_results(seed in any::<u64>()) {
        static SETUP: std::sync::OnceLock<(Arc<Policies>, Pipeline)> = std::sync::OnceLock::new();
        let (policies, pipeline) = SETUP.get_or_init(setup);
        let events = common::events(include_str!("../../tests/fixtures/foundation-table.jsonl"));
        let ordered = common::rate_by_id(&mut Rater::new(policies.clone(), pipeline.clone()), &events);
        let mut shuffled = events.clone();
        // Fisher-Yates with a small xorshift, driven by the generated seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let again = common::rate_by_id(&mut Rater::new(policies.clone(), pipeline.clone()), &shuffled);
        prop_assert_eq!(ordered, again);
    }
}
