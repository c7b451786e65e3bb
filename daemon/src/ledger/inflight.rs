//! The commit in flight: the committer rates group *n + 1* while group *n*
//! is written.
//!
//! A group is answered only once its own commit is durable, and its commit
//! starts only once the group before it is durable. What the committer
//! believes about the WABAs of a group in flight (windows, counters, books)
//! already includes that group, so the next group is rated on top of it;
//! its key lookups read the store beside the commit and lay the rows in
//! flight over what they read. If a commit fails, its jobs are refused, the
//! WABAs it touched are rebuilt from the store, and the group rated on top
//! of it is rated again from there.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use tokio::task::JoinHandle;

use super::committer::{Committer, Undo};
use super::{Job, LedgerError, Reply};
use crate::metrics;
use crate::store::{Changes, StatusRow, StoredEvent};

/// A group rated and ready to write.
pub(super) struct Prepared {
    /// The answer of each job, in order, once the write is durable.
    pub replies: Vec<Result<Reply, LedgerError>>,
    pub changes: Changes,
    pub now_ms: i64,
    /// The WABAs whose rating state the group changed.
    pub touched: BTreeSet<String>,
    /// The journals to keep once the write is under way.
    pub undo: Vec<Undo>,
}

/// The rows a commit in flight writes, by (WABA, id).
#[derive(Default)]
pub(super) struct Overlay {
    events: HashMap<(String, String), StoredEvent>,
    statuses: HashMap<(String, String), StatusRow>,
}

impl Overlay {
    fn of(changes: &Changes) -> Self {
        let mut events = HashMap::with_capacity(changes.new_events.len() + changes.updated_events.len());
        for e in changes.new_events.iter().chain(&changes.updated_events) {
            let stored = StoredEvent {
                id: e.id.clone(),
                at_ms: e.at_ms,
                source: e.source.clone(),
                body: e.body.clone(),
                result: e.result.clone(),
                entry_seq: e.entry_seq,
            };
            events.insert((e.waba.clone(), e.id.clone()), stored);
        }
        let statuses = changes.statuses.iter().map(|(waba, s)| ((waba.clone(), s.id.clone()), s.clone())).collect();
        Self { events, statuses }
    }

    /// Puts what is in flight for `keys` over what the store returned.
    pub fn lay_over(
        &self,
        keys: &[(&str, &str)],
        stored: &mut HashMap<(String, String), StoredEvent>,
        statuses: &mut HashMap<(String, String), StatusRow>,
    ) {
        for &(waba, id) in keys {
            let key = (waba.to_owned(), id.to_owned());
            if let Some(e) = self.events.get(&key) {
                stored.insert(key.clone(), e.clone());
            }
            if let Some(s) = self.statuses.get(&key) {
                statuses.insert(key, s.clone());
            }
        }
    }
}

/// A commit under way on the runtime.
pub(super) struct InFlight {
    /// Whether it became durable (its jobs are answered either way).
    task: JoinHandle<bool>,
    touched: BTreeSet<String>,
    pub overlay: Overlay,
}

impl Committer {
    /// Writes a prepared group once the one before it is durable, and
    /// answers its jobs when it is. Unless pipelined, waits for it.
    pub(super) fn launch(&mut self, jobs: Vec<Job>, prepared: Prepared, started: Instant) {
        if !self.settle() {
            // The group before did not land, and this one was rated on top
            // of it: rate it again from what the store holds.
            self.forget(prepared.touched);
            return self.write_group(jobs);
        }
        let Prepared { replies, changes, now_ms, touched, undo } = prepared;
        for u in undo {
            if let Undo::Journal { waba, .. } = u {
                self.rater.keep(&coexist_engine::event::WabaId(waba));
            }
        }
        let overlay = if self.pipelined { Overlay::of(&changes) } else { Overlay::default() };
        let counts = metrics::RatedCounts::of(&changes.entries);
        self.plugin_set_stored = true;
        let store = self.store.clone();
        let task = self.rt.spawn(async move {
            match store.commit(changes, now_ms).await {
                Ok(()) => {
                    metrics::commit_latency(started.elapsed());
                    counts.record();
                    for (job, reply) in jobs.into_iter().zip(replies) {
                        let _ = job.reply.send(reply);
                    }
                    true
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    tracing::error!(%message, "ledger write failed; the affected WABAs rebuild their state from the store");
                    for job in jobs {
                        let _ = job.reply.send(Err(LedgerError::Store(message.clone())));
                    }
                    false
                }
            }
        });
        self.inflight = Some(InFlight { task, touched, overlay });
        if !self.pipelined {
            self.settle();
        }
    }

    /// Waits for the commit in flight, if any. Returns whether it (or
    /// nothing) landed; if it failed, what it touched is forgotten.
    pub(super) fn settle(&mut self) -> bool {
        let Some(inflight) = self.inflight.take() else { return true };
        let landed = self.block_on(inflight.task).unwrap_or(false);
        if !landed {
            self.forget(inflight.touched);
            self.plugin_set_stored = false;
        }
        landed
    }
}
