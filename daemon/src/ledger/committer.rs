//! The committer thread: group commit, classification, replies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use coexist_engine::event::{to_canonical_json, Event, Source};
use coexist_engine::plugin::Pipeline;
use coexist_engine::rating::Rater;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::book::{Book, OrderKey};
use super::statuses::{is_failed, merge, stand_in};
use super::{Conflict, Job, Ledger, LedgerError, Reply, Submission};
use crate::metrics;
use crate::plugins::PluginHost;
use crate::store::{Changes, ConflictRow, StatusRow, Store, StoredEvent};

/// How the committer groups requests.
#[derive(Debug, Clone, Copy)]
pub struct CommitterConfig {
    /// Stop taking more queued requests into a group past this many events.
    pub max_group_events: usize,
}

impl Default for CommitterConfig {
    fn default() -> Self {
        Self { max_group_events: 20_000 }
    }
}

/// Starts the committer thread; it runs until every [`Ledger`] handle is dropped.
/// It rates with `plugins`' current set, and picks up a reloaded set between groups.
pub fn spawn(
    store: Store,
    rater: Rater,
    plugins: Arc<PluginHost>,
    runtime: Handle,
    config: CommitterConfig,
) -> std::io::Result<Ledger> {
    let (tx, rx) = mpsc::channel::<Job>(4096);
    let generation = plugins.generation();
    let plugin_set = plugin_set_of(rater.pipeline());
    let policies: super::SharedPolicies = Arc::new(std::sync::RwLock::new(rater.policies_arc()));
    let jobs = super::RerateJobs::default();
    let committer = Committer {
        policies: policies.clone(),
        jobs: jobs.clone(),
        store,
        rater,
        rt: runtime,
        books: HashMap::new(),
        plugin_set,
        plugin_set_stored: false,
        plugins,
        generation,
        config,
    };
    std::thread::Builder::new().name("coexist-committer".into()).spawn(move || committer.run(rx))?;
    Ok(Ledger { jobs: tx, policies, replica: false, rerates: jobs })
}

pub(super) struct Committer {
    pub(super) store: Store,
    pub(super) rater: Rater,
    pub(super) rt: Handle,
    pub(super) books: HashMap<String, Book>,
    /// (key, JSON of name/version/digest) of the loaded plugins.
    pub(super) plugin_set: (String, String),
    plugin_set_stored: bool,
    plugins: Arc<PluginHost>,
    /// The plugin host's generation `rater` was last given.
    generation: u64,
    config: CommitterConfig,
    /// What readers see of the rater's policies.
    pub(super) policies: super::SharedPolicies,
    /// Progress of re-rating jobs, for the readers.
    pub(super) jobs: super::RerateJobs,
}

/// The (key, JSON of name/version/digest) that ledger entries cite for a set.
fn plugin_set_of(pipeline: &Pipeline) -> (String, String) {
    let plugins = serde_json::to_string(pipeline.versions()).unwrap_or_else(|_| "[]".to_owned());
    let key = hex::encode(&Sha256::digest(plugins.as_bytes())[..8]);
    (key, plugins)
}

/// A message to rate in this group.
pub(super) struct Pending {
    pub event: Event,
    pub body: String,
    /// (job, event index) whose answer is this message's result.
    pub slots: Vec<(usize, usize)>,
    /// The stored stand-in (from statuses) this replaces.
    pub replaces: Option<StoredEvent>,
}

impl Pending {
    pub fn key(&self) -> OrderKey {
        (self.event.at.timestamp_millis(), self.event.id.clone())
    }
}

/// What one job's event turned out to be.
enum Slot {
    /// Rated in this group: the result comes from `pendings[i]`.
    Rated(usize),
    /// A repeat of a stored message: its stored result.
    Repeat(Arc<str>),
    /// A conflict (webhooks): skipped.
    Skipped,
}

/// A group-level failure.
pub(super) enum GroupError {
    /// A message could not be rated; retry the jobs one by one.
    Rating {
        job: usize,
        index: usize,
        code: &'static str,
        message: String,
    },
    Store(String),
}

impl Committer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        while let Some(first) = rx.blocking_recv() {
            self.pick_up_reloaded_plugins();
            let mut size = first.submission.len();
            let mut jobs = vec![first];
            while size < self.config.max_group_events {
                match rx.try_recv() {
                    Ok(job) => {
                        size += job.submission.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            metrics::group_size(size);
            let (finance, jobs): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.submission.is_finance());
            let (dry, write): (Vec<Job>, Vec<Job>) =
                jobs.into_iter().partition(|j| matches!(j.submission, Submission::Rate { dry_run: true, .. }));
            for job in dry {
                let answer = self.dry_run(&job.submission);
                let _ = job.reply.send(answer);
            }
            if !write.is_empty() {
                self.write_group(write);
            }
            for job in finance {
                let answer = self.finance(job.submission);
                let _ = job.reply.send(answer);
            }
        }
    }

    /// Switches to the plugin host's current set if it was reloaded. Called
    /// between groups, so a group is rated with one set from start to end.
    fn pick_up_reloaded_plugins(&mut self) {
        let generation = self.plugins.generation();
        if generation == self.generation {
            return;
        }
        let pipeline = self.plugins.current();
        self.plugin_set = plugin_set_of(&pipeline);
        self.plugin_set_stored = false;
        self.rater.set_pipeline(pipeline);
        self.generation = generation;
    }

    pub(super) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Writes a group; if one message cannot be rated, each job is retried
    /// alone so only the job that carries it fails.
    fn write_group(&mut self, jobs: Vec<Job>) {
        let started = std::time::Instant::now();
        match self.try_write(&jobs) {
            Ok(replies) => {
                metrics::commit_latency(started.elapsed());
                for (job, reply) in jobs.into_iter().zip(replies) {
                    let _ = job.reply.send(reply);
                }
            }
            Err(GroupError::Rating { job, index, code, message }) => {
                if jobs.len() > 1 {
                    self.isolate_failure(jobs);
                } else if let Some(j) = jobs.into_iter().nth(job) {
                    if code.starts_with("plugin.") {
                        metrics::plugin_error(code);
                    }
                    let _ = j.reply.send(Err(LedgerError::Rating { index, code, message }));
                }
            }
            Err(GroupError::Store(message)) => {
                tracing::error!(%message, "ledger write failed; the affected WABAs rebuild their state from the store");
                for job in jobs {
                    let _ = job.reply.send(Err(LedgerError::Store(message.clone())));
                }
            }
        }
    }

    /// After a group failed to rate: finds the jobs that fail on their own
    /// with a dry run (no commit, nothing kept), commits the others together
    /// in one group, then answers each failing job. A dry run of a new
    /// message that fails in a plugin is its answer; anything else (a
    /// repeat, a webhook) is written alone, as the real path decides.
    ///
    /// Compared with writing every job alone, the jobs that did nothing wrong
    /// share one commit, and a plugin that spins to its deadline runs on the
    /// failing job once more, not once per retry.
    fn isolate_failure(&mut self, jobs: Vec<Job>) {
        let (mut passed, mut failed) = (Vec::new(), Vec::new());
        for job in jobs {
            match self.dry_run(&job.submission) {
                Err(e @ LedgerError::Rating { .. }) => failed.push((job, e)),
                _ => passed.push(job),
            }
        }
        if passed.is_empty() || failed.is_empty() {
            // The dry runs could not tell them apart: each job alone.
            for job in passed.into_iter().chain(failed.into_iter().map(|(job, _)| job)) {
                self.write_group(vec![job]);
            }
            return;
        }
        self.write_group(passed);
        for (job, error) in failed {
            let code = match &error {
                LedgerError::Rating { code, .. } => *code,
                _ => "",
            };
            if code.starts_with("plugin.") && self.all_new(&job.submission) {
                metrics::plugin_error(code);
                let _ = job.reply.send(Err(error));
            } else {
                self.write_group(vec![job]);
            }
        }
    }

    /// Whether none of a rate submission's messages is stored yet (a stored
    /// one is answered with its stored result, so it must take the real path).
    fn all_new(&self, submission: &Submission) -> bool {
        let Submission::Rate { events, .. } = submission else { return false };
        let keys: Vec<(&str, &str)> = events.iter().map(|e| (e.waba.0.as_str(), &*e.id)).collect();
        self.block_on(self.store.events_by_key(&keys)).is_ok_and(|stored| stored.is_empty())
    }

    /// Puts a WABA's rating state back to what the store holds, after a
    /// group that rated its messages from `earliest` on failed: from the
    /// latest checkpoint at or before `earliest` (it holds committed messages
    /// only), re-rating the stored messages after it. Without such a
    /// checkpoint, or if that fails, the WABA is forgotten and rebuilt from
    /// the store when next needed. `next_seq` is where its ledger sequence
    /// stood before the group (`None`: the group opened its book).
    fn rewind(&mut self, waba: &str, earliest: i64, next_seq: Option<i64>) {
        let rewound = next_seq.is_some_and(|seq| self.rewind_to_checkpoint(waba, earliest, seq).is_ok());
        if !rewound {
            self.forget([waba.to_owned()]);
        }
    }

    fn rewind_to_checkpoint(&mut self, waba: &str, earliest: i64, next_seq: i64) -> Result<(), GroupError> {
        let unusable = || GroupError::Store(format!("WABA {waba} has no checkpoint to rewind to"));
        let book = self.books.get(waba).ok_or_else(unusable)?;
        let checkpoint = book.checkpoint_before(earliest).filter(|_| book.warm).ok_or_else(unusable)?;
        let (state, at) = (checkpoint.state.clone(), checkpoint.at);
        let stored = self.block_on(self.store.events_since(waba, at)).map_err(store_error)?;
        let events = super::rerate::decode_stored(&stored)?;
        self.rater.put_state(coexist_engine::event::WabaId(waba.to_owned()), state);
        if let Some(b) = self.books.get_mut(waba) {
            b.next_seq = next_seq;
            b.invalidate_after(at);
            b.last_rated_at = Some(at - 1);
            b.since_checkpoint = 0;
        }
        let outcomes = self.rate_segmented(&events);
        if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
            return Err(GroupError::Store(format!("re-rating WABA {waba} from its checkpoint: {e}")));
        }
        tracing::debug!(waba, from = at, events = events.len(), "rewound the rating state after a failed group");
        Ok(())
    }

    /// Drops what the committer believes about WABAs whose write did not land.
    pub(super) fn forget(&mut self, wabas: impl IntoIterator<Item = String>) {
        for waba in wabas {
            self.books.remove(&waba);
            self.rater.take_state(&coexist_engine::event::WabaId(waba));
        }
    }

    fn try_write(&mut self, jobs: &[Job]) -> Result<Vec<Result<Reply, LedgerError>>, GroupError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut answers: Vec<Option<Result<Reply, LedgerError>>> = jobs.iter().map(|_| None).collect();
        let mut changes = Changes::default();

        // Every WABA must have a profile.
        for (j, job) in jobs.iter().enumerate() {
            let (events, statuses) = parts(&job.submission);
            let wabas = events.iter().map(|e| &e.waba.0).chain(statuses.iter().map(|s| &s.waba.0));
            for (index, waba) in wabas.enumerate() {
                if self.rater.policies().profiles.profile(waba).is_none() {
                    answers[j] = Some(Err(LedgerError::UnknownWaba { index, waba: waba.clone() }));
                    break;
                }
            }
        }

        // What the store already holds about every id in the group.
        let mut ids: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (j, job) in jobs.iter().enumerate() {
            if answers[j].is_some() {
                continue;
            }
            let (events, statuses) = parts(&job.submission);
            for e in events {
                ids.entry(&e.waba.0).or_default().insert(&e.id);
            }
            for s in statuses {
                ids.entry(&s.waba.0).or_default().insert(&s.id);
            }
        }
        let keys: Vec<(&str, &str)> =
            ids.iter().flat_map(|(waba, set)| set.iter().map(move |id| (*waba, *id))).collect();
        let mut stored: HashMap<(String, String), StoredEvent> = HashMap::new();
        let mut status_rows: HashMap<(String, String), StatusRow> = HashMap::new();
        if !keys.is_empty() {
            let events = self.block_on(self.store.events_by_key(&keys)).map_err(store_error)?;
            stored.extend(events.into_iter().map(|(waba, e)| ((waba, e.id.clone()), e)));
            let rows = self.block_on(self.store.statuses_by_key(&keys)).map_err(store_error)?;
            status_rows.extend(rows.into_iter().map(|(waba, r)| ((waba, r.id.clone()), r)));
        }

        // Classify each message: new, repeat, conflict, or a stand-in's replacement.
        let mut pendings: Vec<Pending> = Vec::new();
        let mut in_group: HashMap<(String, String), usize> = HashMap::new();
        let mut slots: Vec<Vec<Slot>> = jobs.iter().map(|_| Vec::new()).collect();
        for (j, job) in jobs.iter().enumerate() {
            if answers[j].is_some() {
                continue;
            }
            let (events, _) = parts(&job.submission);
            let webhook = matches!(job.submission, Submission::Webhook { .. });
            let mut local: Vec<Pending> = Vec::new();
            let mut local_index: HashMap<(String, String), usize> = HashMap::new();
            let mut job_slots = Vec::with_capacity(events.len());
            let mut conflicts = Vec::new();
            for (i, e) in events.iter().enumerate() {
                let body = to_canonical_json(e);
                let key = (e.waba.0.clone(), e.id.to_string());
                let earlier = local_index
                    .get(&key)
                    .map(|&p| (&local[p].body, Some(Err(p))))
                    .or_else(|| in_group.get(&key).map(|&p| (&pendings[p].body, Some(Ok(p)))));
                let conflict_with = match (earlier, stored.get(&key)) {
                    (Some((earlier_body, which)), _) => {
                        if *earlier_body == body {
                            match which {
                                Some(Err(p)) => {
                                    local[p].slots.push((j, i));
                                    job_slots.push(Slot::Rated(pendings.len() + p));
                                }
                                _ => {
                                    let p = in_group[&key];
                                    pendings[p].slots.push((j, i));
                                    job_slots.push(Slot::Rated(p));
                                }
                            }
                            None
                        } else {
                            Some(earlier_body.clone())
                        }
                    }
                    (None, Some(s)) if s.source == "status" && e.source != Source::Status => {
                        local_index.insert(key, local.len());
                        job_slots.push(Slot::Rated(pendings.len() + local.len()));
                        local.push(Pending { event: e.clone(), body, slots: vec![(j, i)], replaces: Some(s.clone()) });
                        None
                    }
                    (None, Some(s)) if s.body == body => {
                        job_slots.push(Slot::Repeat(Arc::from(s.result.as_str())));
                        None
                    }
                    (None, Some(s)) => Some(s.body.clone()),
                    (None, None) => {
                        local_index.insert(key, local.len());
                        job_slots.push(Slot::Rated(pendings.len() + local.len()));
                        local.push(Pending { event: e.clone(), body, slots: vec![(j, i)], replaces: None });
                        None
                    }
                };
                if let Some(stored_body) = conflict_with {
                    let offered = to_canonical_json(e);
                    changes.conflicts.push(ConflictRow {
                        waba: e.waba.0.clone(),
                        id: e.id.to_string(),
                        stored_body: stored_body.clone(),
                        offered_body: offered.clone(),
                    });
                    conflicts.push(Conflict {
                        index: i,
                        waba: e.waba.0.clone(),
                        id: e.id.to_string(),
                        stored: serde_json::from_str(&stored_body).unwrap_or_default(),
                        offered: serde_json::from_str(&offered).unwrap_or_default(),
                    });
                    job_slots.push(Slot::Skipped);
                }
            }
            metrics::conflicts(conflicts.len());
            if !conflicts.is_empty() && !webhook {
                answers[j] = Some(Err(LedgerError::Conflict(conflicts)));
                continue;
            }
            for (key, p) in local_index {
                in_group.insert(key, pendings.len() + p);
            }
            pendings.extend(local);
            slots[j] = job_slots;
            if !conflicts.is_empty() {
                answers[j] = Some(Ok(Reply { conflicts, ..Reply::default() }));
            }
        }

        // Statuses: merge, then stand in for messages without a send record,
        // and mark stored messages whose delivery failed.
        let mut failed_marks: Vec<(String, String)> = Vec::new();
        let mut status_counts = vec![0usize; jobs.len()];
        let mut changed: BTreeMap<(String, String), bool> = BTreeMap::new();
        for (j, job) in jobs.iter().enumerate() {
            if answers[j].as_ref().is_some_and(|a| a.is_err()) {
                continue;
            }
            for s in parts(&job.submission).1 {
                let key = (s.waba.0.clone(), s.id.clone());
                let old = status_rows.get(&key);
                let was_failed = old.is_some_and(is_failed);
                let row = merge(old, s);
                status_counts[j] += 1;
                if old != Some(&row) {
                    changed.entry(key.clone()).or_insert(was_failed);
                    status_rows.insert(key, row);
                }
            }
        }
        for (key, was_failed) in changed {
            let row = &status_rows[&key];
            changes.statuses.push((key.0.clone(), row.clone()));
            let real_in_group = in_group.get(&key).map(|&p| pendings[p].event.source != Source::Status);
            let real_stored = stored.get(&key).map(|s| s.source != "status");
            if real_in_group == Some(true) {
                continue; // rated below with this status applied
            }
            if real_stored == Some(true) {
                if is_failed(row) && !was_failed {
                    failed_marks.push(key);
                }
                continue;
            }
            let Some(event) = stand_in(&key.0, row) else { continue };
            let body = to_canonical_json(&event);
            match (in_group.get(&key), stored.get(&key)) {
                (Some(&p), _) => {
                    pendings[p].event = event;
                    pendings[p].body = body;
                }
                (None, Some(s)) if s.body == body => {}
                (None, s) => {
                    in_group.insert(key, pendings.len());
                    pendings.push(Pending { event, body, slots: Vec::new(), replaces: s.cloned() });
                }
            }
        }

        if !self.plugin_set_stored {
            changes.plugin_sets.push(self.plugin_set.clone());
        }
        let touched: BTreeSet<String> =
            pendings.iter().map(|p| p.event.waba.0.clone()).chain(failed_marks.iter().map(|k| k.0.clone())).collect();
        // Where each WABA stood, to go back there if the rating fails.
        let mut earliest: BTreeMap<&str, i64> = BTreeMap::new();
        for p in &pendings {
            let at = p.replaces.as_ref().map_or(p.key().0, |s| s.at_ms.min(p.key().0));
            earliest.entry(&p.event.waba.0).and_modify(|e| *e = (*e).min(at)).or_insert(at);
        }
        let marks_only: Vec<String> =
            failed_marks.iter().map(|k| k.0.clone()).filter(|w| !earliest.contains_key(w.as_str())).collect();
        let before: Vec<(String, i64, Option<i64>)> =
            earliest.iter().map(|(w, at)| ((*w).to_owned(), *at, self.books.get(*w).map(|b| b.next_seq))).collect();
        let results = match self.rate_group(&pendings, &failed_marks, &status_rows, now_ms, &mut changes) {
            Ok(r) => r,
            Err(e) => {
                self.forget(marks_only);
                for (waba, at, next_seq) in before {
                    self.rewind(&waba, at, next_seq);
                }
                return Err(e);
            }
        };
        changes.usage = self.usage_of(&changes.entries);
        let counts = metrics::RatedCounts::of(&changes.entries);
        if let Err(e) = self.block_on(self.store.commit(changes, now_ms)) {
            self.forget(touched);
            return Err(store_error(e));
        }
        self.plugin_set_stored = true;
        counts.record();

        // Answer in input order.
        for (j, job) in jobs.iter().enumerate() {
            if answers[j].as_ref().is_some_and(|a| a.is_err()) {
                continue;
            }
            let mut reply = match answers[j].take() {
                Some(Ok(r)) => r,
                _ => Reply::default(),
            };
            reply.statuses = status_counts[j];
            for slot in &slots[j] {
                match slot {
                    Slot::Rated(p) => reply.results.push(results[*p].clone()),
                    Slot::Repeat(r) => {
                        reply.repeats += 1;
                        reply.results.push(r.clone());
                    }
                    Slot::Skipped => {}
                }
            }
            let _ = job;
            answers[j] = Some(Ok(reply));
        }
        Ok(answers.into_iter().map(|a| a.unwrap_or_else(|| Ok(Reply::default()))).collect())
    }
}

/// The events and statuses a submission carries.
fn parts(s: &Submission) -> (&[Event], &[coexist_engine::event::StatusReport]) {
    match s {
        Submission::Rate { events, .. } => (events, &[]),
        Submission::Webhook { events, statuses } => (events, statuses),
        _ => (&[], &[]),
    }
}

impl GroupError {
    /// The error's text.
    pub(super) fn message(self) -> String {
        match self {
            GroupError::Store(m) => m,
            GroupError::Rating { message, .. } => message,
        }
    }
}

pub(super) fn store_error(e: impl std::fmt::Display) -> GroupError {
    GroupError::Store(format!("{e:#}"))
}
