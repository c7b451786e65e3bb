//! Progress of re-rating jobs, shared between the committer (which runs
//! them) and the readers (`GET /v1/rerate/{job_id}`, the CLI's progress bar).
//!
//! A job is in memory while it runs and for a while after: the last
//! [`KEPT`] finished jobs, dry runs included. A real run's report is also
//! stored with the ledger, so it outlives a restart.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use serde_json::Value;

/// How many finished jobs stay in memory.
const KEPT: usize = 64;

/// Where a re-rating job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Reading the stored messages from the start of the state they need.
    Loading,
    /// Rating them again, day by day (`rated` of `total`).
    Rating,
    /// Comparing the new results with the stored ones.
    Comparing,
    /// Writing reversals and new charges.
    Writing,
    Done,
    Failed,
}

/// A job's progress, as `GET /v1/rerate/{job_id}` answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobProgress {
    pub job_id: String,
    pub dry_run: bool,
    pub phase: Phase,
    /// Stored messages rated so far: the range, plus the days before it
    /// that rebuild the state the range starts from.
    pub rated: u64,
    /// Stored messages to rate in all.
    pub total: u64,
    /// Unix milliseconds.
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    /// The report (as `POST /v1/rerate` answers it) once done.
    #[schema(value_type = Object)]
    pub report: Option<Value>,
    /// Why it failed, once failed.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
struct Inner {
    jobs: HashMap<String, JobProgress>,
    finished: VecDeque<String>,
}

/// The registry of re-rating jobs; clones share it.
#[derive(Debug, Clone, Default)]
pub struct RerateJobs(Arc<Mutex<Inner>>);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

impl RerateJobs {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records that `job_id` started.
    pub fn start(&self, job_id: &str, dry_run: bool) {
        let mut inner = self.lock();
        inner.finished.retain(|id| id != job_id);
        inner.jobs.insert(
            job_id.to_owned(),
            JobProgress {
                job_id: job_id.to_owned(),
                dry_run,
                phase: Phase::Loading,
                rated: 0,
                total: 0,
                started_ms: now_ms(),
                finished_ms: None,
                report: None,
                error: None,
            },
        );
    }

    /// Moves a running job to `phase`, with its counts.
    pub fn advance(&self, job_id: &str, phase: Phase, rated: u64, total: u64) {
        if let Some(job) = self.lock().jobs.get_mut(job_id) {
            job.phase = phase;
            job.rated = rated;
            job.total = total;
        }
    }

    /// Ends a job with its report or its error.
    pub fn finish(&self, job_id: &str, outcome: Result<&Value, String>) {
        let mut inner = self.lock();
        let Some(job) = inner.jobs.get_mut(job_id) else { return };
        job.finished_ms = Some(now_ms());
        match outcome {
            Ok(report) => {
                job.phase = Phase::Done;
                job.rated = job.total;
                job.report = Some(report.clone());
            }
            Err(e) => {
                job.phase = Phase::Failed;
                job.error = Some(e);
            }
        }
        inner.finished.push_back(job_id.to_owned());
        while inner.finished.len() > KEPT {
            if let Some(old) = inner.finished.pop_front() {
                inner.jobs.remove(&old);
            }
        }
    }

    /// A job's progress, if it runs now or finished recently.
    pub fn get(&self, job_id: &str) -> Option<JobProgress> {
        self.lock().jobs.get(job_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_moves_through_its_phases_and_is_kept_after() {
        let jobs = RerateJobs::default();
        assert!(jobs.get("j1").is_none());
        jobs.start("j1", true);
        assert_eq!(jobs.get("j1").unwrap().phase, Phase::Loading);
        jobs.advance("j1", Phase::Rating, 10, 40);
        let p = jobs.get("j1").unwrap();
        assert_eq!((p.phase, p.rated, p.total), (Phase::Rating, 10, 40));
        jobs.finish("j1", Ok(&serde_json::json!({ "messages_changed": 3 })));
        let p = jobs.get("j1").unwrap();
        assert_eq!((p.phase, p.rated), (Phase::Done, 40));
        assert_eq!(p.report.unwrap()["messages_changed"], 3);
        assert!(p.finished_ms.is_some());
    }

    #[test]
    fn a_failure_keeps_its_reason_and_old_jobs_are_forgotten() {
        let jobs = RerateJobs::default();
        jobs.start("bad", false);
        jobs.finish("bad", Err("the store failed".to_owned()));
        assert_eq!(jobs.get("bad").unwrap().error.as_deref(), Some("the store failed"));
        for k in 0..KEPT {
            let id = format!("j{k}");
            jobs.start(&id, true);
            jobs.finish(&id, Ok(&Value::Null));
        }
        assert!(jobs.get("bad").is_none(), "the oldest finished job is dropped");
        assert!(jobs.get("j0").is_some() && jobs.get(&format!("j{}", KEPT - 1)).is_some());
    }
}
