//! The daemon's plugin set: loaded once at start, swapped whole on reload.
//!
//! A reload (HTTP, `SIGHUP` or a changed policy file) reads `pipeline.toml`
//! again, then compiles, configures and smoke-tests the new set on the
//! caller's thread, never on the request path. Only a set that passed all of
//! that is published, by bumping a generation counter; the committer picks it
//! up before its next group, so requests already in flight finish on the old
//! set. When anything fails, the old set stays and the error is returned.

mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use coexist_engine::plugin::{Pipeline, PluginError, PluginRuntime};
use coexist_engine::policy::{PolicyError, PolicySource};
use serde::Serialize;

pub use watch::watch_policy_files;

/// Why a reload was refused (the old set keeps serving).
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("the policy file is invalid: {0}")]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

impl ReloadError {
    /// The stable code: `policy.invalid` or the plugin's `plugin.*`.
    pub fn code(&self) -> &'static str {
        match self {
            ReloadError::Policy(_) => "policy.invalid",
            ReloadError::Plugin(e) => e.code(),
        }
    }
}

/// The outcome of the last reload attempt, for `GET /v1/plugins`.
#[derive(Debug, Clone, Serialize)]
pub struct ReloadRecord {
    pub at: DateTime<Utc>,
    /// `http`, `sighup` or `file`.
    pub trigger: &'static str,
    /// `reloaded`, `unchanged` or `failed`.
    pub outcome: &'static str,
    pub took_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ReloadFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReloadFailure {
    pub code: &'static str,
    pub message: String,
}

/// The current plugin set and how to load the next one.
pub struct PluginHost {
    runtime: PluginRuntime,
    source: PolicySource,
    /// The set and the reload that published it, changed together, so a
    /// reader never sees a new set beside the previous reload's record.
    published: RwLock<Published>,
    /// [`Published::generation`], for the committer's check between groups.
    generation: AtomicU64,
    /// One reload at a time; a trigger that arrives meanwhile waits its turn.
    reloading: Mutex<()>,
}

/// What the host serves, as one consistent view.
#[derive(Clone)]
pub struct Published {
    pub pipeline: Pipeline,
    /// How many times a new set was published since start.
    pub generation: u64,
    /// The last reload attempt, if any.
    pub last_reload: Option<ReloadRecord>,
}

impl PluginHost {
    pub fn new(runtime: PluginRuntime, source: PolicySource, pipeline: Pipeline) -> Arc<Self> {
        Arc::new(Self {
            runtime,
            source,
            published: RwLock::new(Published { pipeline, generation: 0, last_reload: None }),
            generation: AtomicU64::new(0),
            reloading: Mutex::new(()),
        })
    }

    /// The set requests are rated with now.
    pub fn current(&self) -> Pipeline {
        self.published().pipeline
    }

    /// The set, its generation and the last reload, read together.
    pub fn published(&self) -> Published {
        self.published.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Bumped each time a new set is published.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Loads the policy file's plugins again and publishes them. Blocking:
    /// call it from a blocking thread. Returns whether the set changed.
    pub fn reload(&self, trigger: &'static str) -> Result<bool, ReloadError> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|e| e.into_inner());
        let started = Instant::now();
        let next = self.load_next();
        let mut published = self.published.write().unwrap_or_else(|e| e.into_inner());
        let result = next.map(|next| {
            if next.same_as(&published.pipeline) {
                return false;
            }
            published.pipeline = next;
            published.generation += 1;
            self.generation.store(published.generation, Ordering::Release);
            true
        });
        published.last_reload = Some(record(trigger, started.elapsed(), &result));
        result
    }

    fn load_next(&self) -> Result<Pipeline, ReloadError> {
        let file = self.source.read_pipeline()?;
        Ok(Pipeline::load(&self.runtime, &file, self.source.base_dir())?)
    }
}

/// Logs and counts a reload attempt, and describes it for `/v1/plugins`.
fn record(trigger: &'static str, took: Duration, result: &Result<bool, ReloadError>) -> ReloadRecord {
    let outcome = match result {
        Ok(true) => "reloaded",
        Ok(false) => "unchanged",
        Err(_) => "failed",
    };
    match result {
        Ok(_) => tracing::info!(trigger, outcome, took_ms = took.as_millis() as u64, "plugin reload"),
        Err(e) => {
            tracing::error!(trigger, code = e.code(), error = %e, "plugin reload refused; the old set keeps serving")
        }
    }
    metrics::counter!("coexist_plugin_reloads_total", "outcome" => outcome).increment(1);
    ReloadRecord {
        at: Utc::now(),
        trigger,
        outcome,
        took_ms: took.as_millis() as u64,
        error: result.as_ref().err().map(|e| ReloadFailure { code: e.code(), message: e.to_string() }),
    }
}
