//! Shared helpers for the engine's scenario tests: real policies, real bundled
//! WASM plugins, real rating.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use coexist_engine::event::{decode_line, Event};
use coexist_engine::plugin::{Pipeline, PluginRuntime};
use coexist_engine::policy::{Policies, PolicySource};
use coexist_engine::rated::Rated;
use coexist_engine::rating::Rater;

/// The repository's `tests/fixtures` folder.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// A rater over the bundled policies (or a policy directory under
/// `tests/fixtures`) with `config` layered on top.
pub fn rater(policy_dir: Option<&str>, config: &str) -> Rater {
    let source = match policy_dir {
        Some(dir) => PolicySource::Dir(fixtures().join(dir)),
        None => PolicySource::Bundled,
    };
    let policies =
        Policies::load(source).and_then(|p| p.with_config_text("test config", config)).expect("policies load");
    let runtime = PluginRuntime::new().expect("wasmtime engine");
    let pipeline = Pipeline::load(&runtime, &policies.pipeline, policies.source.base_dir()).expect("plugins load");
    Rater::new(Arc::new(policies), pipeline)
}

/// Decodes JSON lines into events, panicking on any bad line.
pub fn events(jsonl: &str) -> Vec<Event> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .flat_map(|(i, l)| decode_line(i + 1, l).unwrap_or_else(|e| panic!("line {}: {e:?}", i + 1)).messages)
        .collect()
}

/// Rates events and returns the results by message id.
pub fn rate_by_id(rater: &mut Rater, events: &[Event]) -> HashMap<String, Rated> {
    rater
        .rate(events)
        .into_iter()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("rating failed: {e}"));
            (r.id.to_string(), r)
        })
        .collect()
}

/// A normalized event as a JSON line.
#[allow(clippy::too_many_arguments)]
pub fn line(
    id: &str,
    waba: &str,
    number: &str,
    user: &str,
    direction: &str,
    side: &str,
    ts: &str,
    template: Option<&str>,
) -> String {
    let mut v = serde_json::json!({
        "id": id, "waba": waba, "business_number": number, "user": user,
        "direction": direction, "type": if template.is_some() { "template" } else { "text" }, "timestamp": ts,
    });
    if direction == "outbound" {
        v["side"] = serde_json::json!(side);
    }
    if let Some(c) = template {
        v["template_category"] = serde_json::json!(c);
    }
    v.to_string()
}

/// `(billable, category, pricing_type, market, cost)` of a result, cost as a string or "null".
pub fn summary(r: &Rated) -> (bool, &'static str, &'static str, String, String) {
    (
        r.billable,
        r.category.as_str(),
        r.pricing_type.as_str(),
        r.market.to_string(),
        r.cost.map(|c| c.to_string()).unwrap_or_else(|| "null".to_owned()),
    )
}
