//! Per-plugin counters: evaluations, messages, errors by code, and call latency.
//!
//! Each loaded plugin owns one [`PluginStats`]. The counters are plain atomics
//! (read by `GET /v1/plugins`); the same events also go to the `metrics`
//! facade, which the daemon exports to Prometheus. Handles are registered once
//! at load, so a call costs a few atomic adds, not a registry lookup.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::PluginError;

/// The stable error codes a plugin call can end with, in a fixed order.
pub const ERROR_CODES: [&str; 7] = [
    "plugin.timeout",
    "plugin.memory_limit",
    "plugin.trap",
    "plugin.contract",
    "plugin.config",
    "plugin.load",
    "plugin.digest_mismatch",
];

/// Counters of one loaded plugin, since it was loaded.
#[derive(Debug)]
pub struct PluginStats {
    evaluations: AtomicU64,
    messages: AtomicU64,
    errors: [AtomicU64; ERROR_CODES.len()],
    evaluations_metric: metrics::Counter,
    errors_metric: [metrics::Counter; ERROR_CODES.len()],
    latency_metric: metrics::Histogram,
}

/// A snapshot of [`PluginStats`], as `GET /v1/plugins` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Batches evaluated (successful or not).
    pub evaluations: u64,
    /// Messages in those batches.
    pub messages: u64,
    /// Failed calls by stable code; codes that never happened are left out.
    pub errors: std::collections::BTreeMap<&'static str, u64>,
}

impl PluginStats {
    /// Counters labelled with the plugin's name (a bounded label: one per loaded plugin).
    pub fn new(plugin: &str) -> Self {
        let label = plugin.to_owned();
        Self {
            evaluations: AtomicU64::new(0),
            messages: AtomicU64::new(0),
            errors: Default::default(),
            evaluations_metric: metrics::counter!("coexist_plugin_evaluations_total", "plugin" => label.clone()),
            errors_metric: ERROR_CODES.map(
                |code| metrics::counter!("coexist_plugin_errors_total", "plugin" => label.clone(), "code" => code),
            ),
            latency_metric: metrics::histogram!("coexist_plugin_call_seconds", "plugin" => label),
        }
    }

    /// Records one call over `messages` messages.
    pub fn record(&self, messages: usize, took: Duration, outcome: Result<(), &PluginError>) {
        self.evaluations.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(messages as u64, Ordering::Relaxed);
        self.evaluations_metric.increment(1);
        self.latency_metric.record(took.as_secs_f64());
        if let Err(e) = outcome {
            if let Some(k) = ERROR_CODES.iter().position(|c| *c == e.code()) {
                self.errors[k].fetch_add(1, Ordering::Relaxed);
                self.errors_metric[k].increment(1);
            }
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let errors = ERROR_CODES
            .iter()
            .zip(&self.errors)
            .map(|(code, n)| (*code, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        StatsSnapshot {
            evaluations: self.evaluations.load(Ordering::Relaxed),
            messages: self.messages.load(Ordering::Relaxed),
            errors,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_messages_and_errors_by_code() {
        let stats = PluginStats::new("t");
        stats.record(3, Duration::from_micros(5), Ok(()));
        let timeout = PluginError::Timeout { plugin: "t".into(), timeout_ms: 1 };
        stats.record(2, Duration::from_millis(1), Err(&timeout));
        let s = stats.snapshot();
        assert_eq!((s.evaluations, s.messages), (2, 5));
        assert_eq!(s.errors.into_iter().collect::<Vec<_>>(), [("plugin.timeout", 1)]);
    }

    #[test]
    fn every_error_code_has_a_counter() {
        let errors = [
            PluginError::Timeout { plugin: String::new(), timeout_ms: 0 },
            PluginError::MemoryLimit { plugin: String::new(), limit_bytes: 0, requested_bytes: 0 },
            PluginError::Trap { plugin: String::new(), detail: String::new() },
            PluginError::Contract { plugin: String::new(), detail: String::new() },
            PluginError::Config { plugin: String::new(), detail: String::new() },
            PluginError::Load { plugin: String::new(), detail: String::new() },
            PluginError::DigestMismatch { plugin: String::new(), expected: String::new(), actual: String::new() },
        ];
        for e in &errors {
            assert!(ERROR_CODES.contains(&e.code()), "{}", e.code());
        }
        assert_eq!(errors.len(), ERROR_CODES.len());
    }
}
