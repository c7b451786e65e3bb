//! The quarantine lane: WABAs whose plugin batches failed lately have their
//! jobs dry-rated on a helper thread before the committer writes them, so a
//! plugin that spins to its deadline (or fills its memory) on one WABA's
//! messages burns the helper's time, not the time of every other request.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use coexist_engine::event::WabaId;
use coexist_engine::rating::Rater;
use tokio::sync::mpsc;

use super::committer::{parts, Committer};
use super::{Job, LedgerError, Submission};
use crate::metrics;

/// How long a WABA whose plugin batch failed stays in quarantine.
const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// WABAs whose plugin batches failed in the last [`SUSPECT_FOR`], shared
/// by the committer and the lane.
#[derive(Clone, Default)]
pub(super) struct Suspects(Arc<Mutex<HashMap<String, Instant>>>);

impl Suspects {
    pub(super) fn failed<'a>(&self, wabas: impl IntoIterator<Item = &'a String>) {
        let now = Instant::now();
        if let Ok(mut map) = self.0.lock() {
            map.extend(wabas.into_iter().map(|w| (w.clone(), now)));
        }
    }

    /// Whether a job should be cleared in the lane first: a rate submission
    /// (not a dry run: those are answered, not written) that touches a
    /// suspect WABA, and did not come back from the lane already.
    pub(super) fn holds(&self, job: &Job) -> bool {
        if job.cleared || !matches!(job.submission, Submission::Rate { dry_run: false, .. }) {
            return false;
        }
        let Ok(mut map) = self.0.lock() else { return false };
        if map.is_empty() {
            return false;
        }
        map.retain(|_, at| at.elapsed() < SUSPECT_FOR);
        touches(&job.submission, |w| map.contains_key(w))
    }
}

/// Whether any message or status of `submission` belongs to a WABA `hit` names.
pub(super) fn touches(submission: &Submission, hit: impl Fn(&str) -> bool) -> bool {
    let (events, statuses) = parts(submission);
    events.iter().map(|e| &e.waba.0).chain(statuses.iter().map(|s| &s.waba.0)).any(|w| hit(w))
}

/// Jobs to clear, with a rater that holds a copy of their WABAs' state.
pub(super) struct Batch {
    rater: Rater,
    jobs: Vec<Job>,
}

/// The helper thread and how to reach it.
pub(super) struct Lane {
    batches: std::sync::mpsc::Sender<Batch>,
}

impl Lane {
    /// Starts the helper thread. Cleared jobs go back to the committer
    /// through `queue` (weak: the lane does not keep the ledger open).
    pub(super) fn start(queue: mpsc::WeakSender<Job>, suspects: Suspects) -> std::io::Result<Self> {
        let (batches, rx) = std::sync::mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("coexist-quarantine".into())
            .spawn(move || clear_batches(rx, queue, suspects))?;
        Ok(Self { batches })
    }
}

/// Dry-rates each job in order: a job a plugin fails on is refused with the
/// plugin's code (the write would fail the same way on the same state);
/// the others go back to the committer, marked cleared.
fn clear_batches(rx: std::sync::mpsc::Receiver<Batch>, queue: mpsc::WeakSender<Job>, suspects: Suspects) {
    while let Ok(Batch { mut rater, jobs }) = rx.recv() {
        for mut job in jobs {
            let failure = match &job.submission {
                Submission::Rate { events, .. } => {
                    rater.rate_dry_run(events).into_iter().enumerate().find_map(|(index, outcome)| {
                        outcome.err().filter(|e| e.code.starts_with("plugin.")).map(|e| (index, e))
                    })
                }
                _ => None,
            };
            if let Some((index, e)) = failure {
                let (events, _) = parts(&job.submission);
                suspects.failed(events.iter().map(|e| &e.waba.0));
                metrics::plugin_error(e.code);
                let _ = job.reply.send(Err(LedgerError::Rating { index, code: e.code, message: e.message }));
                continue;
            }
            job.cleared = true;
            match queue.upgrade() {
                Some(queue) => {
                    if let Err(returned) = queue.blocking_send(job) {
                        let _ = returned.0.reply.send(Err(LedgerError::Unavailable));
                    }
                }
                None => {
                    let _ = job.reply.send(Err(LedgerError::Unavailable));
                }
            }
        }
    }
}

impl Committer {
    /// Sends `jobs` (of suspect WABAs) to the lane with a copy of their
    /// WABAs' current state. Without a lane they are written here.
    pub(super) fn quarantine(&mut self, jobs: Vec<Job>) {
        let Some(lane) = &self.lane else {
            return self.write_group(jobs);
        };
        let mut wabas: BTreeSet<&str> = BTreeSet::new();
        for job in &jobs {
            wabas.extend(parts(&job.submission).0.iter().map(|e| e.waba.0.as_str()));
        }
        let ids: Vec<WabaId> = wabas.into_iter().map(|w| WabaId(w.to_owned())).collect();
        let rater = self.rater.copy_for(&ids);
        if let Err(returned) = lane.batches.send(Batch { rater, jobs }) {
            // The lane is gone: write them here.
            self.lane = None;
            self.write_group(returned.0.jobs);
        }
    }
}
