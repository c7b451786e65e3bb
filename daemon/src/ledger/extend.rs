//! Taking late arrivals into the group about to be written.
//!
//! A group's commit starts only once the commit before it is durable. The
//! committer rates a group while that commit is under way, and used to wait
//! for it with the group in hand: a request that arrived meanwhile went
//! into the next group, and waited for the commit in flight, then for this
//! group's, then for its own. Now, while it waits, the committer takes such
//! requests into the group in hand, rated on top of it, so they are written
//! by the very next commit.
//!
//! A request joins only if it cannot see the group in hand: it writes no
//! WABA of that group (rating state, books, keys and usage are all per
//! WABA), and it is a plain write (not a dry run, nor finance, nor one the
//! quarantine lane holds). The first request that does not qualify, and
//! every one after it, waits for the next group in arrival order.

use std::collections::BTreeSet;

use super::committer::{parts, Committer, GroupError};
use super::inflight::Prepared;
use super::quarantine::touches;
use super::{Job, Submission};
use crate::metrics;

/// What woke the committer while a commit was under way.
enum Woken {
    Landed(bool),
    Job(Job),
    Closed,
}

impl Committer {
    /// While the commit in flight is under way, rates queued requests that
    /// can join `jobs` (see the module doc) and adds them to `prepared`.
    /// Returns once that commit settled, the group is full, or a queued
    /// request cannot join.
    pub(super) fn take_late_arrivals(&mut self, jobs: &mut Vec<Job>, prepared: &mut Prepared) {
        let mut wabas: BTreeSet<String> = jobs.iter().flat_map(|j| wabas_of(&j.submission)).collect();
        let mut size: usize = jobs.iter().map(|j| j.submission.len()).sum();
        while size < self.config.max_group_events && self.deferred.is_empty() {
            let Some(first) = self.next_while_in_flight() else { return };
            let mut late = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                if !self.can_join(&job, &wabas) {
                    self.deferred.push_back(job);
                    break;
                }
                size += job.submission.len();
                wabas.extend(wabas_of(&job.submission));
                late.push(job);
                if size < self.config.max_group_events {
                    next = self.queue.as_mut().and_then(|q| q.try_recv().ok());
                }
            }
            if late.is_empty() {
                return;
            }
            match self.try_write(&late) {
                Ok(more) => {
                    metrics::late_joins(late.len());
                    prepared.absorb(more);
                    jobs.append(&mut late);
                }
                Err(e) => {
                    // Rated again as a group of their own, next: the usual
                    // path answers what failed. Nothing of theirs was kept.
                    // WABAs a plugin failed on go to the quarantine lane
                    // first, as after any group.
                    if let GroupError::Rating { code, wabas, .. } = &e {
                        self.suspect_after(code, wabas);
                    }
                    for job in late.into_iter().rev() {
                        self.deferred.push_front(job);
                    }
                    return;
                }
            }
        }
    }

    /// The next queued request, if one arrives before the commit in flight
    /// settles (whose outcome is then kept for [`Committer::settle`]).
    fn next_while_in_flight(&mut self) -> Option<Job> {
        let inflight = self.inflight.as_mut()?;
        if inflight.landed.is_some() {
            return None;
        }
        let queue = self.queue.as_mut()?;
        let woken = self.rt.block_on(async {
            tokio::select! {
                biased;
                landed = &mut inflight.task => Woken::Landed(landed.unwrap_or(false)),
                job = queue.recv() => job.map_or(Woken::Closed, Woken::Job),
            }
        });
        match woken {
            Woken::Job(job) => Some(job),
            Woken::Landed(landed) => {
                inflight.landed = Some(landed);
                None
            }
            Woken::Closed => None,
        }
    }

    fn can_join(&self, job: &Job, wabas: &BTreeSet<String>) -> bool {
        let plain = match &job.submission {
            Submission::Rate { dry_run, .. } => !dry_run,
            Submission::Webhook { .. } => true,
            _ => false,
        };
        plain && !self.suspects.holds(job) && !touches(&job.submission, |w| wabas.contains(w))
    }
}

/// The WABAs a submission writes.
fn wabas_of(submission: &Submission) -> impl Iterator<Item = String> + '_ {
    let (events, statuses) = parts(submission);
    events.iter().map(|e| e.waba.0.clone()).chain(statuses.iter().map(|s| s.waba.0.clone()))
}
