//! Prometheus metrics: requests, latencies, events rated by outcome, plugin
//! errors, and the committer's group sizes and commit times.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::EntryRow;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns its handle.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];
    let events = [1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 1_000.0, 2_500.0, 10_000.0, 20_000.0];
    let handle = PrometheusBuilder::new()
        .set_buckets(&seconds)?
        .set_buckets_for_metric(Matcher::Full("coexist_commit_group_events".into()), &events)?
        .install_recorder()?;
    metrics::describe_counter!("coexist_http_requests_total", "HTTP requests by route and status");
    metrics::describe_histogram!("coexist_http_request_duration_seconds", "HTTP request latency by route");
    metrics::describe_counter!("coexist_events_rated_total", "Ledger entries written, by outcome");
    metrics::describe_counter!("coexist_plugin_errors_total", "Messages a plugin failed to decide, by error code");
    metrics::describe_counter!("coexist_conflicts_total", "Message ids reused with different content");
    metrics::describe_histogram!("coexist_commit_group_events", "Events per group commit");
    metrics::describe_histogram!("coexist_commit_duration_seconds", "Time to rate and durably write one group");
    metrics::describe_counter!(
        "coexist_commit_late_joins_total",
        "Requests that joined a group while the commit before it was under way"
    );
    metrics::describe_gauge!(
        "coexist_numbers_stale",
        "Coexistence numbers whose app was not opened within the keep-alive limit (counted at scrape)"
    );
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// How often recorded samples are folded into their histograms. The recorder
/// keeps every sample it is given until then (or until a scrape renders
/// them): without the upkeep, a daemon that nobody scrapes grew by about 20
/// bytes for every request it served, without bound (`bench/serve.sh
/// unscraped`).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Runs the recorder's upkeep every [`UPKEEP_EVERY`], for as long as the
/// runtime runs. `install_recorder` leaves that to its caller (the builder's
/// own `install` would also open a second HTTP listener).
pub fn spawn_upkeep(handle: PrometheusHandle) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(UPKEEP_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            handle.run_upkeep();
        }
    });
}

pub fn request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let labels = [("method", method.to_owned()), ("route", route.to_owned()), ("status", status.to_string())];
    metrics::counter!("coexist_http_requests_total", &labels).increment(1);
    metrics::histogram!("coexist_http_request_duration_seconds", "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Written entries: charges by billable or free, and reversals.
pub struct RatedCounts {
    billable: u64,
    free: u64,
    reversals: u64,
}

impl RatedCounts {
    pub fn of(entries: &[EntryRow]) -> Self {
        let mut c = Self { billable: 0, free: 0, reversals: 0 };
        for e in entries {
            match (&*e.kind, e.billable) {
                ("reversal", _) => c.reversals += 1,
                (_, 0) => c.free += 1,
                _ => c.billable += 1,
            }
        }
        c
    }

    /// Counts them, once they are committed.
    pub fn record(self) {
        for (outcome, n) in [("billable", self.billable), ("free", self.free), ("reversal", self.reversals)] {
            if n > 0 {
                metrics::counter!("coexist_events_rated_total", "outcome" => outcome).increment(n);
            }
        }
    }
}

pub fn plugin_error(code: &'static str) {
    metrics::counter!("coexist_plugin_errors_total", "code" => code).increment(1);
}

pub fn conflicts(n: usize) {
    if n > 0 {
        metrics::counter!("coexist_conflicts_total").increment(n as u64);
    }
}

pub fn group_size(events: usize) {
    metrics::histogram!("coexist_commit_group_events").record(events as f64);
}

pub fn late_joins(requests: usize) {
    metrics::counter!("coexist_commit_late_joins_total").increment(requests as u64);
}

pub fn commit_latency(d: Duration) {
    metrics::histogram!("coexist_commit_duration_seconds").record(d.as_secs_f64());
}

/// Coexistence numbers that are stale now.
pub fn stale_numbers(count: i64) {
    metrics::gauge!("coexist_numbers_stale").set(count as f64);
}
