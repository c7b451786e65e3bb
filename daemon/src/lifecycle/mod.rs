//! The daemon's side of the Coexistence lifecycle: the engine's rules
//! ([`coexist_engine::lifecycle`]) over the number registry's tables, with the
//! eligibility plugin and the throughput budget. HTTP handlers and the webhook
//! route call this; it holds no rule of its own.

mod follow;
mod verdicts;

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use coexist_engine::decision::Action;
use coexist_engine::lifecycle::{
    Admission, Clock, CoexistenceRegistry, CoexistenceSpan, EligibilityLists, Gcra, LifecycleSettings, Limiter,
    ManualClock, NumberState, SystemClock, DAY_MS,
};
use coexist_engine::phone::PhoneNumber;
use coexist_engine::plugin::{bundled_plugin, EligibilityPlugin, EligibilityQuery, EligibilityVerdict, PluginRuntime};
use rustc_hash::FxHashMap;

use crate::store::{NumberFilter, NumberRow, Store};
pub use follow::follow;
use verdicts::VerdictCache;

/// How long a replica trusts its cached copy of a number's limit (and of
/// its not being registered, when another replica registers it).
const LIMIT_CACHE_TTL: Duration = Duration::from_secs(5);

/// Past this many cached numbers, expired entries are dropped.
const PROFILE_CACHE_MAX: usize = 100_000;

/// What admission and the rate path need to know about a number.
#[derive(Debug, Clone, Copy)]
pub struct SendProfile {
    pub gcra: Gcra,
    pub coexistence: bool,
    pub offboarded_at_ms: Option<i64>,
}

/// A number's send profile as last read (`None`: not registered).
#[derive(Debug, Clone, Copy)]
struct CachedProfile {
    profile: Option<SendProfile>,
    loaded: Instant,
}

/// The lifecycle service, shared by every handler.
pub struct Lifecycle {
    pub settings: LifecycleSettings,
    pub eligibility: EligibilityPlugin,
    pub eligibility_action: Action,
    clock: Arc<dyn Clock>,
    /// Set when `--test-clock` is on: the clock tests move.
    pub test_clock: Option<ManualClock>,
    store: Store,
    limiter: Limiter,
    /// Whether the budget lives in the database (PostgreSQL: shared by replicas).
    shared_budget: bool,
    profiles: RwLock<FxHashMap<String, CachedProfile>>,
    /// Verdicts already asked of the eligibility plugin.
    verdicts: VerdictCache,
    /// Registered numbers' Coexistence spans, for the rater.
    registry: Arc<CoexistenceRegistry>,
}

/// Reads `name` from the policy directory, or the bundled default.
fn policy_file(dir: Option<&Path>, name: &str, bundled: &str) -> anyhow::Result<(String, String)> {
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Ok((path.display().to_string(), text));
        }
    }
    Ok((format!("bundled {name}"), bundled.to_owned()))
}

impl Lifecycle {
    /// Loads the lifecycle's settings and eligibility lists, and its
    /// eligibility plugin on `runtime` (the daemon's: one engine, one
    /// compile cache, so a warm start skips compiling it).
    pub fn load(
        runtime: &PluginRuntime,
        policy_dir: Option<&Path>,
        store: Store,
        test_clock: bool,
    ) -> anyhow::Result<Self> {
        use coexist_engine::lifecycle::settings_files::{BUNDLED_ELIGIBILITY, BUNDLED_SETTINGS};
        let (file, text) = policy_file(policy_dir, "coexistence.toml", BUNDLED_SETTINGS)?;
        let settings = LifecycleSettings::from_toml(&file, &text)?;
        let (file, text) = policy_file(policy_dir, "eligibility.toml", BUNDLED_ELIGIBILITY)?;
        let lists = EligibilityLists::from_toml(&file, &text)?;
        let bytes = match lists.module.strip_prefix("bundled:") {
            Some(name) => {
                bundled_plugin(name).with_context(|| format!("{file}: no bundled plugin named `{name}`"))?.to_vec()
            }
            None => {
                let path = policy_dir.map_or_else(|| Path::new(&lists.module).to_path_buf(), |d| d.join(&lists.module));
                std::fs::read(&path).with_context(|| format!("{file}: reading plugin {}", path.display()))?
            }
        };
        let eligibility = EligibilityPlugin::load(
            runtime,
            &lists.module,
            &bytes,
            lists.lists_json.clone(),
            lists.timeout_ms,
            lists.memory_mib,
        )
        .with_context(|| format!("loading the eligibility plugin named in {file}"))?;
        let manual = test_clock.then(|| ManualClock::at(SystemClock.now_ms()));
        let clock: Arc<dyn Clock> = match &manual {
            Some(m) => Arc::new(m.clone()),
            None => Arc::new(SystemClock),
        };
        let shared_budget = store.backend() == crate::store::Backend::Postgres;
        Ok(Self {
            settings,
            eligibility,
            eligibility_action: lists.action,
            clock,
            test_clock: manual,
            store,
            limiter: Limiter::default(),
            shared_budget,
            profiles: RwLock::default(),
            verdicts: VerdictCache::default(),
            registry: Arc::default(),
        })
    }

    /// The lifecycle's "now" (the test clock under `--test-clock`).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Whether the throughput budget is shared through the database.
    pub fn shared_budget(&self) -> bool {
        self.shared_budget
    }

    /// Eligibility of `number` on `day` (days since 1970-01-01, UTC).
    pub fn eligibility(&self, number: &str, day: i32) -> anyhow::Result<Arc<EligibilityVerdict>> {
        if let Some(v) = self.verdicts.get(number, day) {
            return Ok(v);
        }
        let mut verdicts = self.eligibility.check(&[EligibilityQuery { number: number.to_owned(), day }])?;
        let verdict = verdicts.pop().context("the eligibility plugin answered nothing")?;
        Ok(self.verdicts.put(number, day, verdict))
    }

    pub async fn get(&self, number: &str) -> anyhow::Result<Option<NumberRow>> {
        self.store.number(number).await
    }

    /// Reads, changes and writes a number, retrying when another writer (a
    /// replica, or a concurrent request) got there first. `change` returns
    /// `Ok(None)` to write nothing.
    pub async fn update<T, E>(
        &self,
        number: &str,
        mut change: impl FnMut(Option<&NumberState>) -> Result<Option<(NumberState, T)>, E>,
    ) -> anyhow::Result<Result<Option<T>, E>> {
        for _ in 0..64 {
            let row = self.store.number(number).await?;
            let (new, out) = match change(row.as_ref().map(|r| &r.state)) {
                Err(e) => return Ok(Err(e)),
                Ok(None) => return Ok(Ok(None)),
                Ok(Some(pair)) => pair,
            };
            if self.store.put_number(number, &new, row.as_ref().map(|r| r.version), self.now_ms()).await? {
                self.forget(number);
                self.remember_span(number, &new);
                return Ok(Ok(Some(out)));
            }
        }
        anyhow::bail!("number {number} kept changing under 64 attempts to update it")
    }

    /// The registry the rater reads the `coexistence` fact from.
    pub fn registry(&self) -> Arc<CoexistenceRegistry> {
        self.registry.clone()
    }

    /// Tells the rater a number's Coexistence span.
    fn remember_span(&self, number: &str, state: &NumberState) {
        if let Ok(phone) = PhoneNumber::parse(number) {
            self.registry.set(&phone, CoexistenceSpan::of(state));
        }
    }

    /// Loads every registered number's span into the rater's registry (at
    /// start). On PostgreSQL, [`follow`] keeps it up to date with what the
    /// other daemons write.
    pub async fn load_registry(&self) -> anyhow::Result<usize> {
        let mut after = String::new();
        let mut count = 0;
        loop {
            let rows = self.store.numbers(NumberFilter::All, None, &after, 1000).await?;
            for row in &rows {
                self.remember_span(&row.number, &row.state);
            }
            count += rows.len();
            match rows.last() {
                Some(last) if rows.len() == 1000 => after.clone_from(&last.number),
                _ => return Ok(count),
            }
        }
    }

    /// Reads a number written elsewhere (another daemon on the same
    /// PostgreSQL) into the rater's registry, and drops its cached profile.
    pub async fn refresh(&self, number: &str) -> anyhow::Result<()> {
        self.forget(number);
        if let Some(row) = self.store.number(number).await? {
            self.remember_span(&row.number, &row.state);
        }
        Ok(())
    }

    /// Drops the cached send profile (after a write) and, for a new
    /// onboarding, the budget.
    pub fn forget(&self, number: &str) {
        self.profiles.write().unwrap_or_else(|p| p.into_inner()).remove(number);
    }

    /// Starts a number's budget afresh (a new registration).
    pub async fn reset_budget(&self, number: &str) -> anyhow::Result<()> {
        self.limiter.reset(number);
        self.store.reset_throughput(number).await
    }

    /// The limit and status of a registered number, from the cache when
    /// fresh. That a number is not registered is cached too: the rate path
    /// asks this for every API send, and most senders are not registered.
    pub async fn send_profile(&self, number: &str) -> anyhow::Result<Option<SendProfile>> {
        if let Some(cached) = self.profiles.read().unwrap_or_else(|p| p.into_inner()).get(number) {
            if cached.loaded.elapsed() < LIMIT_CACHE_TTL {
                return Ok(cached.profile);
            }
        }
        let row = self.store.number(number).await?;
        let profile = row.map(|row| SendProfile {
            gcra: Gcra {
                per_second: row.state.limit_per_second(&self.settings),
                burst: self.settings.throughput.burst,
            },
            coexistence: row.state.in_coexistence(),
            offboarded_at_ms: row.state.offboarded_at_ms,
        });
        let mut profiles = self.profiles.write().unwrap_or_else(|p| p.into_inner());
        if profiles.len() >= PROFILE_CACHE_MAX {
            profiles.retain(|_, c| c.loaded.elapsed() < LIMIT_CACHE_TTL);
        }
        profiles.insert(number.to_owned(), CachedProfile { profile, loaded: Instant::now() });
        Ok(profile)
    }

    /// Decides `count` sends for a number with this profile: in the shared
    /// database row on PostgreSQL, in memory on SQLite.
    pub async fn admit(&self, number: &str, gcra: Gcra, count: u32) -> anyhow::Result<Admission> {
        if self.shared_budget {
            self.store.admit_shared(number, gcra, count).await
        } else {
            Ok(self.limiter.admit(number, gcra, now_us(), count))
        }
    }

    /// Messages of the burst in use now.
    pub async fn in_use(&self, number: &str, gcra: Gcra) -> anyhow::Result<u32> {
        let (tat, now) = if self.shared_budget {
            match self.store.shared_tat(number).await? {
                Some(pair) => pair,
                None => return Ok(0),
            }
        } else {
            match self.limiter.tat(number) {
                Some(tat) => (tat, now_us()),
                None => return Ok(0),
            }
        };
        Ok(gcra.in_use(tat, now))
    }

    /// A cheap in-process check for the rate path: never touches the database.
    pub fn admit_local(&self, number: &str, gcra: Gcra) -> Admission {
        self.limiter.admit(number, gcra, now_us(), 1)
    }

    /// Cut-offs for the list queries at `now`: (stale before, warning before).
    pub fn activity_cutoffs(&self, now_ms: i64) -> (i64, i64) {
        let k = self.settings.keep_alive;
        let stale = now_ms - i64::from(k.days) * DAY_MS;
        (stale, stale + i64::from(k.warn_days_left) * DAY_MS)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// Wall-clock microseconds: admission uses real time even under `--test-clock`.
fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

mod hooks;
pub use hooks::{apply_webhook, prepare_webhook, rate_flags};
