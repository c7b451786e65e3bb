//! The ledger: every rated message lands exactly once, in timestamp order per
//! WABA, durably before it is acknowledged.
//!
//! One committer thread owns the [`Rater`](coexist_engine::rating::Rater) and
//! is the only writer. Requests queue up; the committer takes every request
//! waiting (group commit), classifies each message (new, repeat, conflict,
//! stand-in replaced), rates, writes one transaction, and only then answers.
//! While one group's transaction is written, the next group is rated on top
//! of it ([`inflight`]); each group is answered when its own write is durable.
//! Late messages re-rate what they affect from a checkpoint of the state;
//! changed verdicts become a reversal plus a new charge.

mod book;
mod committer;
mod dry;
mod extend;
mod finance;
mod inflight;
mod jobs;
mod overlay;
mod quarantine;
mod rerate;
mod staging;
mod statuses;
mod writer;

use std::sync::{Arc, RwLock};

use coexist_engine::event::{Event, StatusReport};
use coexist_engine::policy::{Policies, RateCard};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot};

pub use committer::{spawn, CommitterConfig};
pub use finance::{card_json, import_refusal, RerateRequest};
pub use jobs::{JobProgress, Phase, RerateJobs};

/// What a request asks the ledger to do.
#[derive(Debug)]
pub enum Submission {
    /// Send records from `POST /v1/rate`: all or nothing.
    Rate { events: Vec<Event>, dry_run: bool },
    /// A Meta webhook delivery: messages and statuses. A message whose id is
    /// taken by different content is recorded as a conflict and skipped; the
    /// rest is stored (Meta cannot correct a delivery).
    Webhook { events: Vec<Event>, statuses: Vec<StatusReport> },
    /// A validated rate card to add to the book (refused if it overlaps).
    ImportRateCard { card: Box<RateCard>, csv: String, source: String },
    /// A market map (CSV) to replace the current one.
    ImportMarkets { csv: String, source: String },
    /// Re-rate stored messages under the current policies.
    Rerate(RerateRequest),
    /// Make every acknowledged write visible in the indexed tables, before
    /// a reader queries them (see [`Ledger::index_staged`]).
    IndexStaged,
}

impl Submission {
    fn len(&self) -> usize {
        match self {
            Submission::Rate { events, .. } => events.len(),
            Submission::Webhook { events, statuses } => events.len() + statuses.len(),
            _ => 1,
        }
    }

    /// Finance work runs alone, after the group's writes.
    fn is_finance(&self) -> bool {
        matches!(
            self,
            Submission::ImportRateCard { .. }
                | Submission::ImportMarkets { .. }
                | Submission::Rerate(_)
                | Submission::IndexStaged
        )
    }
}

/// The answer to a submission.
#[derive(Debug, Default)]
pub struct Reply {
    /// One rating result (JSON text) per submitted event, in input order.
    pub results: Vec<Arc<str>>,
    /// Events that were repeats of stored ones.
    pub repeats: usize,
    /// Statuses recorded.
    pub statuses: usize,
    /// Conflicts recorded and skipped (webhooks only).
    pub conflicts: Vec<Conflict>,
    /// The answer of a finance submission (import, re-rate), as JSON.
    pub finance: Option<serde_json::Value>,
}

/// A message id that arrived again with different content.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    /// The index of the event in the request.
    pub index: usize,
    pub waba: String,
    pub id: String,
    pub stored: serde_json::Value,
    pub offered: serde_json::Value,
}

/// Why the ledger refused a submission; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{} message id(s) were already stored with different content", .0.len())]
    Conflict(Vec<Conflict>),
    #[error("WABA {waba} (events[{index}]) has no profile, and the config sets no [default_waba]")]
    UnknownWaba { index: usize, waba: String },
    #[error("events[{index}] could not be rated: {message}")]
    Rating { index: usize, code: &'static str, message: String },
    #[error("the ledger store failed: {0}")]
    Store(String),
    #[error("the ledger is shutting down")]
    Unavailable,
    /// A finance submission was refused: `status` is the HTTP status.
    #[error("{message}")]
    Refused { status: u16, code: &'static str, message: String, details: serde_json::Value },
    #[error("this daemon runs with --replica: it serves numbers, eligibility and admission, not the ledger; send ledger writes to the daemon that owns the ledger")]
    Replica,
}

/// A request and where to send its answer.
struct Job {
    submission: Submission,
    reply: oneshot::Sender<Result<Reply, LedgerError>>,
    /// Came back cleared from the quarantine lane: write it, do not hold it again.
    cleared: bool,
}

/// The policies the committer rates with, shared with the readers; a rate
/// card or market map import replaces them.
pub type SharedPolicies = Arc<RwLock<Arc<Policies>>>;

/// The HTTP side's handle on the committer.
#[derive(Clone)]
pub struct Ledger {
    jobs: mpsc::Sender<Job>,
    policies: SharedPolicies,
    replica: bool,
    rerates: RerateJobs,
    /// Whether the store stages small groups (SQLite): readers of the
    /// indexed tables ask the committer to index them first.
    stages: bool,
}

impl Ledger {
    /// The handle of a `--replica` daemon: it refuses every submission.
    pub fn replica(policies: Arc<Policies>) -> Self {
        let (jobs, _) = mpsc::channel(1);
        Self {
            jobs,
            policies: Arc::new(std::sync::RwLock::new(policies)),
            replica: true,
            rerates: RerateJobs::default(),
            stages: false,
        }
    }

    /// The policies in force now.
    pub fn policies(&self) -> Arc<Policies> {
        match self.policies.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// A re-rating job's progress, while it runs or shortly after.
    pub fn rerate_progress(&self, job_id: &str) -> Option<JobProgress> {
        self.rerates.get(job_id)
    }

    /// Moves the rows the committer staged (small groups on SQLite are
    /// appended to unindexed tables and indexed in bulk) into the indexed
    /// tables, so that a reader of the store sees every acknowledged write.
    /// A replica has nothing staged: it writes no ledger.
    pub async fn index_staged(&self) -> Result<(), LedgerError> {
        if self.replica || !self.stages {
            return Ok(());
        }
        self.submit(Submission::IndexStaged).await.map(|_| ())
    }

    /// Queues a submission and waits until it is committed (or refused).
    pub async fn submit(&self, submission: Submission) -> Result<Reply, LedgerError> {
        if self.replica {
            return Err(LedgerError::Replica);
        }
        let (tx, rx) = oneshot::channel();
        self.jobs.send(Job { submission, reply: tx, cleared: false }).await.map_err(|_| LedgerError::Unavailable)?;
        rx.await.map_err(|_| LedgerError::Unavailable)?
    }
}
