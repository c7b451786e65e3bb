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
//! of it is rated again from there. While the group in hand waits for the
//! commit before it, requests of other WABAs that arrive meanwhile join it
//! (see [`super::extend`]).
//!
//! On SQLite a small group's new rows are staged: appended, in the same
//! durable transaction, to tables without indexes, and moved into the
//! indexed tables a few WABAs per commit later (see [`super::staging`]).
//! The committer keeps the staged events by key, as it keeps those in
//! flight, for the next groups' repeat checks.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

use tokio::task::JoinHandle;

use super::committer::{Committer, Undo};
use super::overlay::Overlay;
use super::staging::StagingPlan;
use super::{Job, LedgerError, Reply};
use crate::metrics;
use crate::store::Changes;

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

impl Prepared {
    /// Takes in a group rated on top of this one, of other WABAs, whose
    /// jobs come after this one's.
    pub fn absorb(&mut self, later: Prepared) {
        self.replies.extend(later.replies);
        self.changes.absorb(later.changes);
        self.now_ms = self.now_ms.max(later.now_ms);
        self.touched.extend(later.touched);
        self.undo.extend(later.undo);
    }
}

/// A commit under way on the runtime.
pub(super) struct InFlight {
    /// Whether it became durable (its jobs are answered either way).
    pub(super) task: JoinHandle<bool>,
    /// The task's answer, once waited for.
    pub(super) landed: Option<bool>,
    touched: BTreeSet<String>,
    pub overlay: Overlay,
    /// What it does to the staging tables, until recorded once it landed.
    staging: Option<StagingPlan>,
    /// Its rows, kept until it settles, so that the committer's thread,
    /// which allocated them, frees them (see `Store::commit`).
    rows: Option<Arc<Changes>>,
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
        let Prepared { replies, mut changes, now_ms, touched, undo } = prepared;
        let staging = self.store.stages_small_groups().then(|| self.staging.plan(&mut changes, touched.len()));
        for u in undo {
            if let Undo::Journal { waba, .. } = u {
                self.rater.keep(&coexist_engine::event::WabaId(waba));
            }
        }
        let changes = Arc::new(changes);
        let overlay =
            if self.pipelined || changes.staged.is_some() { Overlay::of(&changes) } else { Overlay::default() };
        let counts = metrics::RatedCounts::of(&changes.entries);
        self.plugin_set_stored = true;
        let store = self.store.clone();
        let rows = Arc::clone(&changes);
        let task = self.writes.spawn(async move {
            match store.commit(&changes, now_ms).await {
                Ok(()) => {
                    metrics::commit_latency(started.elapsed());
                    counts.record();
                    for (job, reply) in jobs.into_iter().zip(replies) {
                        let _ = job.reply.send(reply);
                    }
                    true
                }
                Err(e) => {
                    let message = crate::report::chain(&e);
                    tracing::error!(%message, "ledger write failed; the affected WABAs rebuild their state from the store");
                    for job in jobs {
                        let _ = job.reply.send(Err(LedgerError::Store(message.clone())));
                    }
                    false
                }
            }
        });
        self.inflight = Some(InFlight { task, landed: None, touched, overlay, staging, rows: Some(rows) });
        if !self.pipelined {
            self.settle();
        }
    }

    /// Waits for the commit in flight, if any. Returns whether it (or
    /// nothing) landed; if it failed, what it touched is forgotten.
    pub(super) fn settle(&mut self) -> bool {
        let Some(mut inflight) = self.inflight.take() else { return true };
        let landed = self.wait_for(&mut inflight);
        if landed {
            self.record_staging(&mut inflight);
        } else {
            self.forget(inflight.touched);
            self.plugin_set_stored = false;
        }
        landed
    }

    /// Records what a landed commit did to the staging tables (once).
    fn record_staging(&mut self, inflight: &mut InFlight) {
        if let Some(plan) = inflight.staging.take() {
            self.staging.landed(plan, std::mem::take(&mut inflight.overlay));
        }
    }

    /// Waits for a commit's task (once) and returns whether it landed.
    fn wait_for(&self, inflight: &mut InFlight) -> bool {
        if let Some(landed) = inflight.landed {
            return landed;
        }
        let landed = self.block_on(&mut inflight.task).unwrap_or(false);
        inflight.landed = Some(landed);
        inflight.rows = None;
        landed
    }

    /// Makes the indexed tables complete, for a read that needs more than
    /// the keys the committer keeps (a WABA's messages since a time, entries
    /// by sequence, a WABA's cursor, finance, the HTTP readers): waits for
    /// the commit in flight, then moves every staged row into the indexed
    /// tables. It may run while a group is rated on top of the commit in
    /// flight: if that commit failed, its rows are nowhere, and the group is
    /// rated again when it is launched ([`Committer::settle`] reports it).
    pub(super) fn index_staged(&mut self) -> Result<(), super::committer::GroupError> {
        if let Some(mut inflight) = self.inflight.take() {
            if self.wait_for(&mut inflight) {
                self.record_staging(&mut inflight);
            }
            self.inflight = Some(inflight);
        }
        let moves = self.staging.moves_for_all();
        if moves.is_empty() {
            return Ok(());
        }
        self.block_on(self.store.move_staged(moves)).map_err(super::committer::store_error)?;
        self.staging.clear();
        Ok(())
    }
}
