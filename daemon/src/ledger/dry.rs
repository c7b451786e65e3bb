//! Dry runs: messages rated against the current state, leaving no trace.
//!
//! The dry runs of one group are rated together, in rounds of jobs whose
//! WABAs do not overlap. Each WABA's messages in a round come from one job,
//! so every job gets the answer it would get alone, while the rater spreads
//! the round's WABAs over its worker threads and the journal is opened and
//! rolled back once per round rather than once per request.

use std::collections::HashSet;
use std::sync::Arc;

use coexist_engine::event::{Event, WabaId};
use coexist_engine::rating::RateOutcome;
use tokio::sync::oneshot;

use super::committer::{Committer, GroupError};
use super::{Job, LedgerError, Reply, Submission};

type ReplyTo = oneshot::Sender<Result<Reply, LedgerError>>;

/// Dry-run jobs rated in one call: no two share a WABA.
#[derive(Default)]
struct Round {
    wabas: HashSet<WabaId>,
    events: Vec<Event>,
    /// Each job's reply and how many of `events` are its, in order.
    jobs: Vec<(ReplyTo, usize)>,
}

impl Committer {
    /// Rates one dry-run submission against the current state.
    pub(super) fn dry_run(&mut self, submission: &Submission) -> Result<Reply, LedgerError> {
        let Submission::Rate { events, .. } = submission else { return Ok(Reply::default()) };
        self.prepare_dry_run(events)?;
        answer(self.rater.rate_dry_run(events))
    }

    /// Answers a group's dry-run jobs, in rounds of jobs with disjoint WABAs.
    pub(super) fn dry_runs(&mut self, jobs: Vec<Job>) {
        let mut rounds: Vec<Round> = Vec::new();
        for job in jobs {
            let Job { submission, reply, .. } = job;
            let Submission::Rate { events, .. } = submission else {
                let _ = reply.send(Ok(Reply::default()));
                continue;
            };
            if let Err(e) = self.prepare_dry_run(&events) {
                let _ = reply.send(Err(e));
                continue;
            }
            let wabas: HashSet<WabaId> = events.iter().map(|e| e.waba.clone()).collect();
            let round = match rounds.iter().position(|r| r.wabas.is_disjoint(&wabas)) {
                Some(i) => &mut rounds[i],
                None => {
                    rounds.push(Round::default());
                    rounds.last_mut().expect("a round was just pushed")
                }
            };
            round.wabas.extend(wabas);
            round.jobs.push((reply, events.len()));
            round.events.extend(events);
        }
        for round in rounds {
            let mut outcomes = self.rater.rate_dry_run(&round.events).into_iter();
            for (reply, len) in round.jobs {
                // Taken whole, so that a failing job leaves the next job's outcomes aligned.
                let own: Vec<RateOutcome> = outcomes.by_ref().take(len).collect();
                let _ = reply.send(answer(own));
            }
        }
    }

    /// Refuses unknown WABAs, and warms the state of the others.
    fn prepare_dry_run(&mut self, events: &[Event]) -> Result<(), LedgerError> {
        for (index, e) in events.iter().enumerate() {
            if self.rater.policies().profiles.profile(&e.waba.0).is_none() {
                return Err(LedgerError::UnknownWaba { index, waba: e.waba.0.clone() });
            }
        }
        let mut wabas: Vec<&str> = events.iter().map(|e| e.waba.0.as_str()).collect();
        wabas.sort_unstable();
        wabas.dedup();
        for waba in wabas {
            self.ensure_warm(waba).map_err(|e| match e {
                GroupError::Store(m) => LedgerError::Store(m),
                GroupError::Rating { index, code, message, .. } => LedgerError::Rating { index, code, message },
            })?;
        }
        Ok(())
    }
}

/// One job's answer from its messages' outcomes, in its input order: the
/// results, or the first message that could not be rated.
fn answer(outcomes: Vec<RateOutcome>) -> Result<Reply, LedgerError> {
    let mut reply = Reply { results: Vec::with_capacity(outcomes.len()), ..Reply::default() };
    for (index, o) in outcomes.into_iter().enumerate() {
        let rated = o.map_err(|e| LedgerError::Rating { index, code: e.code, message: e.message })?;
        reply.results.push(Arc::from(serde_json::to_string(&rated).unwrap_or_default()));
    }
    Ok(reply)
}
