//! The committer thread: group commit, classification, replies.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use coexist_engine::event::{to_canonical_json, Event, Source};
use coexist_engine::plugin::Pipeline;
use coexist_engine::rating::Rater;
use sha2::{Digest, Sha256};
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::book::{Book, BookMark, OrderKey};
use super::inflight::{InFlight, Prepared};
use super::overlay::Overlay;
use super::quarantine::{touches, Lane, Suspects};
use super::statuses::{is_failed, merge, stand_in};
use super::{Conflict, Job, Ledger, LedgerError, Reply, Submission};
use crate::metrics;
use crate::plugins::PluginHost;
use crate::store::{Changes, ConflictRow, StatusRow, Store, StoredEvent, Via};

/// How the committer groups requests.
#[derive(Debug, Clone, Copy)]
pub struct CommitterConfig {
    /// Stop taking more queued requests into a group once it holds this
    /// many events (its first request is taken whole, whatever its size).
    pub max_group_events: usize,
}

impl Default for CommitterConfig {
    /// 1,000 events: enough to spread a commit's `fsync` thin. Bigger
    /// groups only coarsen the pipeline: while one group is written the
    /// committer rates the next, and two stages of uneven length leave one
    /// of them waiting. Batches of 1,000 on 4 connections: 112,500–119,900
    /// events/s against 101,700–111,500 with 20,000 (BENCHMARKS.md,
    /// 2026-12-06).
    fn default() -> Self {
        Self { max_group_events: 1_000 }
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
    let mut committer = Committer::new(store, rater, plugins, runtime, config);
    committer.pipelined = true;
    committer.writes = super::writer::WriterThread::start()?;
    committer.lane = Some(Lane::start(tx.downgrade(), committer.suspects.clone())?);
    let (policies, jobs) = (committer.policies.clone(), committer.jobs.clone());
    let stages = committer.store.stages_small_groups();
    std::thread::Builder::new().name("coexist-committer".into()).spawn(move || committer.run(rx))?;
    Ok(Ledger { jobs: tx, policies, replica: false, rerates: jobs, stages })
}

pub(super) struct Committer {
    pub(super) store: Store,
    pub(super) rater: Rater,
    pub(super) rt: Handle,
    /// Where commits run: a thread of their own in the daemon, so a
    /// commit's statements are not queued behind HTTP work.
    pub(super) writes: super::writer::WriterThread,
    pub(super) books: HashMap<String, Book>,
    /// (key, JSON of name/version/digest) of the loaded plugins.
    pub(super) plugin_set: (Arc<str>, String),
    pub(super) plugin_set_stored: bool,
    plugins: Arc<PluginHost>,
    /// The plugin host's generation `rater` was last given.
    generation: u64,
    pub(super) config: CommitterConfig,
    /// What readers see of the rater's policies.
    pub(super) policies: super::SharedPolicies,
    /// Progress of re-rating jobs, for the readers.
    pub(super) jobs: super::RerateJobs,
    /// WABAs whose plugin batches failed lately.
    pub(super) suspects: Suspects,
    /// Where their jobs are cleared first (none in unit tests).
    pub(super) lane: Option<Lane>,
    /// The commit under way, while the next group is rated.
    pub(super) inflight: Option<InFlight>,
    /// The rows durably staged in the unindexed tables (SQLite).
    pub(super) staging: super::staging::Staging,
    /// Whether a group's commit may still be under way when the next group
    /// is rated (the committer thread); otherwise each waits for its own.
    pub(super) pipelined: bool,
    /// The queue of requests, while the committer thread runs.
    pub(super) queue: Option<mpsc::Receiver<Job>>,
    /// Requests taken from the queue but not yet into a group, in order:
    /// they come before anything still queued.
    pub(super) deferred: VecDeque<Job>,
    /// Where each new result is written before it is shared: one buffer
    /// for all, not one grown per message.
    pub(super) result_json: Vec<u8>,
}

/// The (key, JSON of name/version/digest) that ledger entries cite for a set.
fn plugin_set_of(pipeline: &Pipeline) -> (Arc<str>, String) {
    let plugins = serde_json::to_string(pipeline.versions()).unwrap_or_else(|_| "[]".to_owned());
    let key = hex::encode(&Sha256::digest(plugins.as_bytes())[..8]);
    (key.into(), plugins)
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
    /// A message could not be rated: the jobs of the other WABAs are
    /// written again without it.
    Rating {
        /// The first failing message: (job, event index) in the group.
        job: usize,
        index: usize,
        code: &'static str,
        message: String,
        /// The WABAs whose rating failed; empty when not known.
        wabas: BTreeSet<String>,
    },
    Store(String),
}

/// How to take back what a failed group did to one WABA's rating state.
pub(super) enum Undo {
    /// Rated in order under a journal: roll it back, and the book to its mark.
    Journal { waba: String, mark: BookMark },
    /// Re-rated from a checkpoint: rewind to what the store holds.
    Rewind { waba: String, earliest: i64, next_seq: i64 },
}

impl Committer {
    fn new(store: Store, rater: Rater, plugins: Arc<PluginHost>, runtime: Handle, config: CommitterConfig) -> Self {
        let generation = plugins.generation();
        let plugin_set = plugin_set_of(rater.pipeline());
        let policies: super::SharedPolicies = Arc::new(std::sync::RwLock::new(rater.policies_arc()));
        Committer {
            policies,
            jobs: super::RerateJobs::default(),
            suspects: Suspects::default(),
            lane: None,
            inflight: None,
            staging: Default::default(),
            pipelined: false,
            queue: None,
            deferred: VecDeque::new(),
            result_json: Vec::new(),
            store,
            rater,
            writes: super::writer::WriterThread::on(runtime.clone()),
            rt: runtime,
            books: HashMap::new(),
            plugin_set,
            plugin_set_stored: false,
            plugins,
            generation,
            config,
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Job>) {
        self.queue = Some(rx);
        while let Some(first) = self.next_job() {
            self.pick_up_reloaded_plugins();
            let mut size = first.submission.len();
            let mut jobs = vec![first];
            while size < self.config.max_group_events {
                match self.queued_job() {
                    Some(job) => {
                        size += job.submission.len();
                        jobs.push(job);
                    }
                    None => break,
                }
            }
            metrics::group_size(size);
            let (finance, jobs): (Vec<Job>, Vec<Job>) = jobs.into_iter().partition(|j| j.submission.is_finance());
            let (dry, write): (Vec<Job>, Vec<Job>) =
                jobs.into_iter().partition(|j| matches!(j.submission, Submission::Rate { dry_run: true, .. }));
            if !dry.is_empty() {
                self.dry_runs(dry);
            }
            // Jobs of WABAs whose plugin batches failed lately are cleared
            // on the quarantine lane first: a plugin that spins to its
            // deadline on one WABA's messages does not hold up the rest.
            let (held, write): (Vec<Job>, Vec<Job>) = write.into_iter().partition(|j| self.suspects.holds(j));
            if !held.is_empty() {
                // The lane copies the rating state: only what is durable.
                self.settle();
                self.quarantine(held);
            }
            if !write.is_empty() {
                self.write_jobs(write, true);
            }
            if !finance.is_empty() {
                self.settle();
            }
            for job in finance {
                let answer = self.finance(job.submission);
                let _ = job.reply.send(answer);
            }
        }
        self.settle();
    }

    /// The next request: one taken earlier, or from the queue (waiting for one).
    fn next_job(&mut self) -> Option<Job> {
        self.deferred.pop_front().or_else(|| self.queue.as_mut()?.blocking_recv())
    }

    /// The next request if one is waiting.
    fn queued_job(&mut self) -> Option<Job> {
        self.deferred.pop_front().or_else(|| self.queue.as_mut()?.try_recv().ok())
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

    /// Writes a group. If messages cannot be rated, only the jobs that
    /// carry them fail: the others are written again without them.
    pub(super) fn write_group(&mut self, jobs: Vec<Job>) {
        self.write_jobs(jobs, false);
    }

    /// [`Committer::write_group`]; with `take_late`, requests that arrive
    /// while the commit before is under way may join the group (see
    /// [`super::extend`]). Only for a group taken from the queue in order:
    /// a group split off a failed one may have jobs of its WABAs held apart.
    fn write_jobs(&mut self, mut jobs: Vec<Job>, take_late: bool) {
        let started = std::time::Instant::now();
        match self.try_write(&jobs) {
            Ok(mut prepared) => {
                if take_late && self.pipelined {
                    self.take_late_arrivals(&mut jobs, &mut prepared);
                }
                self.launch(jobs, prepared, started)
            }
            Err(GroupError::Rating { job, index, code, message, wabas }) => {
                self.suspect_after(code, &wabas);
                let failure = LedgerError::Rating { index, code, message };
                if jobs.len() == 1 {
                    if let Some(job) = jobs.into_iter().next() {
                        refuse(job, failure);
                    }
                } else if wabas.is_empty() {
                    self.isolate_failure(jobs);
                } else {
                    self.set_apart(jobs, job, failure, &wabas);
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

    /// Sends `wabas` to the quarantine lane for a while when a plugin
    /// (not the data) failed on their messages.
    pub(super) fn suspect_after(&self, code: &str, wabas: &BTreeSet<String>) {
        if code.starts_with("plugin.") {
            self.suspects.failed(wabas);
        }
    }

    /// After a group failed to rate the messages of `wabas`: writes the
    /// jobs that touch none of them again, as one group, without waiting on
    /// the failing plugin a second time. The one job that touches them is
    /// refused with the failure, when it is the job the failure came from
    /// (nothing else went into those WABAs' plugin batches, so alone it
    /// fails the same way); several such jobs are told apart one by one.
    fn set_apart(&mut self, jobs: Vec<Job>, failed_job: usize, failure: LedgerError, wabas: &BTreeSet<String>) {
        let (mut suspects, mut clean) = (Vec::new(), Vec::new());
        for (j, job) in jobs.into_iter().enumerate() {
            if touches(&job.submission, |w| wabas.contains(w)) {
                suspects.push((j, job));
            } else {
                clean.push(job);
            }
        }
        if suspects.is_empty() {
            // The failure named no job here: tell them all apart.
            return self.isolate_failure(clean);
        }
        if !clean.is_empty() {
            self.write_group(clean);
        }
        if suspects.len() > 1 {
            self.isolate_failure(suspects.into_iter().map(|(_, job)| job).collect());
        } else if let Some((j, job)) = suspects.pop() {
            if j == failed_job && matches!(job.submission, Submission::Rate { .. }) {
                refuse(job, failure);
            } else {
                self.write_group(vec![job]);
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
        let held = |o: &Overlay| keys.iter().any(|(waba, id)| o.has_event(waba, id));
        !keys.iter().any(|(waba, id)| self.staging.has_event(waba, id))
            && !self.inflight.as_ref().is_some_and(|i| held(&i.overlay))
            && self.block_on(self.store.events_by_key(&keys)).is_ok_and(|stored| stored.is_empty())
    }

    /// Takes back what a failed group did to each WABA it touched.
    fn undo(&mut self, undo: Vec<Undo>) {
        for u in undo {
            match u {
                Undo::Journal { waba, mark } => {
                    self.rater.rollback(&coexist_engine::event::WabaId(waba.clone()));
                    if let Some(book) = self.books.get_mut(&waba) {
                        book.restore(mark);
                    }
                }
                Undo::Rewind { waba, earliest, next_seq } => self.rewind(&waba, earliest, next_seq),
            }
        }
    }

    /// Puts a WABA's rating state back to what the store holds, after a
    /// group that re-rated it from `earliest` on failed: from the latest
    /// checkpoint at or before `earliest` (it holds committed messages only),
    /// re-rating the stored messages after it. Without such a checkpoint, or
    /// if that fails, the WABA is forgotten and rebuilt from the store when
    /// next needed. `next_seq` is where its ledger sequence stood before.
    fn rewind(&mut self, waba: &str, earliest: i64, next_seq: i64) {
        if self.rewind_to_checkpoint(waba, earliest, next_seq).is_err() {
            self.forget([waba.to_owned()]);
        }
    }

    fn rewind_to_checkpoint(&mut self, waba: &str, earliest: i64, next_seq: i64) -> Result<(), GroupError> {
        let unusable = || GroupError::Store(format!("WABA {waba} has no checkpoint to rewind to"));
        let book = self.books.get(waba).ok_or_else(unusable)?;
        let checkpoint = book.checkpoint_before(earliest).filter(|_| book.warm).ok_or_else(unusable)?;
        let (state, at) = (checkpoint.state.clone(), checkpoint.at);
        self.index_staged()?;
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

    /// Classifies and rates a group, and prepares its write.
    pub(super) fn try_write(&mut self, jobs: &[Job]) -> Result<Prepared, GroupError> {
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
            // With a commit under way, read beside it, and lay what it
            // writes over what is read.
            let via = if self.inflight.is_some() { Via::Pool } else { Via::Writer };
            let (events, rows) = self.block_on(self.store.keyed_rows(&keys, via)).map_err(store_error)?;
            stored.extend(events.into_iter().map(|(waba, e)| ((waba, e.id.clone()), e)));
            status_rows.extend(rows.into_iter().map(|(waba, r)| ((waba, r.id.clone()), r)));
            // Staged rows, then the commit in flight (newer still).
            self.staging.lay_over(&keys, &mut stored, &mut status_rows);
            if let Some(inflight) = &self.inflight {
                inflight.overlay.lay_over(&keys, &mut stored, &mut status_rows);
            }
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
            let mut local_index: HashMap<(String, String), usize> = HashMap::with_capacity(events.len());
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
            if in_group.is_empty() {
                // The group's first job (often its only one): its index as it is.
                debug_assert!(pendings.is_empty());
                in_group = local_index;
            } else {
                in_group.reserve(local_index.len());
                for (key, p) in local_index {
                    in_group.insert(key, pendings.len() + p);
                }
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
            changes.plugin_sets.push((self.plugin_set.0.to_string(), self.plugin_set.1.clone()));
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
        let opened: Vec<String> =
            earliest.keys().filter(|w| !self.books.contains_key(**w)).map(|w| (*w).to_owned()).collect();
        let mut undo = Vec::new();
        let results = match self.rate_group(&pendings, &failed_marks, &status_rows, now_ms, &mut changes, &mut undo) {
            Ok(r) => r,
            Err(e) => {
                self.forget(marks_only);
                // A book the group opened has nothing stored behind it yet.
                self.forget(opened);
                self.undo(undo);
                return Err(e);
            }
        };
        changes.usage = self.usage_of(&changes.entries);

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
        let replies = answers.into_iter().map(|a| a.unwrap_or_else(|| Ok(Reply::default()))).collect();
        Ok(Prepared { replies, changes, now_ms, touched, undo })
    }
}

/// The events and statuses a submission carries.
pub(super) fn parts(s: &Submission) -> (&[Event], &[coexist_engine::event::StatusReport]) {
    match s {
        Submission::Rate { events, .. } => (events, &[]),
        Submission::Webhook { events, statuses } => (events, statuses),
        _ => (&[], &[]),
    }
}

/// Answers `job` with a rating failure.
fn refuse(job: Job, failure: LedgerError) {
    if let LedgerError::Rating { code, .. } = &failure {
        if code.starts_with("plugin.") {
            metrics::plugin_error(code);
        }
    }
    let _ = job.reply.send(Err(failure));
}

impl GroupError {
    /// The same failure, naming the WABAs it hit.
    pub(super) fn hitting(self, hit: impl IntoIterator<Item = String>) -> Self {
        match self {
            GroupError::Rating { job, index, code, message, mut wabas } => {
                wabas.extend(hit);
                GroupError::Rating { job, index, code, message, wabas }
            }
            store => store,
        }
    }
}

pub(super) fn store_error(e: impl Into<anyhow::Error>) -> GroupError {
    GroupError::Store(crate::report::chain(&e.into()))
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
