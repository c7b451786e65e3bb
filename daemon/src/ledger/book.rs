//! What the committer keeps per WABA between groups.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use coexist_engine::state::WabaState;

/// Where an event sits in its WABA's order: (timestamp ms, message id).
pub type OrderKey = (i64, Arc<str>);

pub const DAY_MS: i64 = 86_400_000;

/// Daily checkpoints kept per WABA: a late event up to this many days back
/// re-rates from one; older ones rebuild from the month's start.
pub const DAILY_CHECKPOINTS: usize = 8;

/// Recent checkpoints kept between the daily ones, so a message a little
/// late (concurrent requests racing) re-rates only the last few events.
pub const RECENT_CHECKPOINTS: usize = 4;

/// Entries (see [`state_entries`]) the recent checkpoints of one WABA hold
/// together, about. Each checkpoint is a whole copy of the WABA's state, so
/// a WABA with many users keeps fewer of them, down to one: 64 WABAs of
/// 5,000 users each held 270-290 MB with four, 183 MB with one
/// (BENCHMARKS.md). A message later than the last recent checkpoint
/// re-rates from a daily one.
pub const RECENT_ENTRIES: usize = 8_192;

/// Events between recent checkpoints, at least; more for WABAs whose state
/// is large, so cloning it stays a small share of the rating work.
pub const CHECKPOINT_EVERY: usize = 1024;

/// A WABA's rating state holding exactly the events before `at`.
#[derive(Debug)]
pub struct Checkpoint {
    pub at: i64,
    pub state: WabaState,
    pub daily: bool,
}

/// The ledger position and rating checkpoints of one WABA.
#[derive(Debug)]
pub struct Book {
    /// The next ledger sequence number.
    pub next_seq: i64,
    /// The latest stored event.
    pub high_water: Option<OrderKey>,
    /// Whether the rater holds this WABA's state up to `high_water`; false
    /// after a restart or a failed write, until the state is rebuilt.
    pub warm: bool,
    /// Oldest first.
    pub checkpoints: Vec<Checkpoint>,
    /// The timestamp of the latest event in the rater's state.
    pub last_rated_at: Option<i64>,
    /// Events rated since the latest checkpoint.
    pub since_checkpoint: usize,
}

/// How big a WABA's state is: its users' identifiers and open windows.
fn state_entries(state: &WabaState) -> usize {
    state.identities.len() + state.windows.len()
}

/// How many recent checkpoints a WABA whose state holds `entries` keeps.
fn recent_checkpoints_for(entries: usize) -> usize {
    (RECENT_ENTRIES / entries.max(1)).clamp(1, RECENT_CHECKPOINTS)
}

impl Book {
    pub fn new(next_seq: i64, high_water: Option<OrderKey>) -> Self {
        // A WABA with nothing stored starts from the empty state: warm.
        let warm = high_water.is_none();
        Self { next_seq, high_water, warm, checkpoints: Vec::new(), last_rated_at: None, since_checkpoint: 0 }
    }

    pub fn take_seq(&mut self) -> i64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Keeps `state` as the state before `at`, unless a checkpoint at or
    /// after `at` exists.
    pub fn checkpoint(&mut self, at: i64, state: &WabaState, daily: bool) {
        if self.checkpoints.last().is_some_and(|c| c.at >= at) {
            return;
        }
        self.checkpoints.push(Checkpoint { at, state: state.clone(), daily });
        self.since_checkpoint = 0;
        let dailies = self.checkpoints.iter().filter(|c| c.daily).count();
        let mut drop_dailies = dailies.saturating_sub(DAILY_CHECKPOINTS);
        let recents = self.checkpoints.len() - dailies;
        let mut drop_recents = recents.saturating_sub(recent_checkpoints_for(state_entries(state)));
        self.checkpoints.retain(|c| {
            let drop = if c.daily { &mut drop_dailies } else { &mut drop_recents };
            if *drop > 0 {
                *drop -= 1;
                false
            } else {
                true
            }
        });
    }

    /// Whether enough events passed to take a recent checkpoint.
    pub fn checkpoint_due(&self, state: Option<&WabaState>) -> bool {
        let size = state.map_or(0, state_entries);
        self.since_checkpoint >= CHECKPOINT_EVERY.max(size / 2)
    }

    /// The latest checkpoint at or before `at_ms`.
    pub fn checkpoint_before(&self, at_ms: i64) -> Option<&Checkpoint> {
        self.checkpoints.iter().rev().find(|c| c.at <= at_ms)
    }

    /// Drops checkpoints after `at_ms`: events before them changed.
    pub fn invalidate_after(&mut self, at_ms: i64) {
        self.checkpoints.retain(|c| c.at <= at_ms);
    }

    /// Where the book stands before a group rates `earliest` onwards, to
    /// [`Book::restore`] if the group's write fails.
    pub fn mark(&self, earliest: i64) -> BookMark {
        BookMark {
            next_seq: self.next_seq,
            high_water: self.high_water.clone(),
            last_rated_at: self.last_rated_at,
            since_checkpoint: self.since_checkpoint,
            earliest,
        }
    }

    /// Goes back to `mark`: the checkpoints taken since it may hold the
    /// group's messages, so those after its earliest message go.
    pub fn restore(&mut self, mark: BookMark) {
        self.next_seq = mark.next_seq;
        self.high_water = mark.high_water;
        self.last_rated_at = mark.last_rated_at;
        self.since_checkpoint = mark.since_checkpoint;
        self.invalidate_after(mark.earliest);
    }

    /// Drops checkpoints before `at_ms`: a rebuild took them from partial history.
    pub fn drop_before(&mut self, at_ms: i64) {
        self.checkpoints.retain(|c| c.at >= at_ms);
    }
}

/// A book's position before a group, see [`Book::mark`].
#[derive(Debug, Clone)]
pub struct BookMark {
    next_seq: i64,
    high_water: Option<OrderKey>,
    last_rated_at: Option<i64>,
    since_checkpoint: usize,
    earliest: i64,
}

/// The start of the UTC day of `at_ms`.
pub fn day_start(at_ms: i64) -> i64 {
    at_ms.div_euclid(DAY_MS) * DAY_MS
}

/// How far before the month a rebuild starts: windows reach back 72 h
/// (a referral reply window of 24 h, then 72 h of free entry point).
pub const WINDOW_REACH_MS: i64 = 4 * DAY_MS;

/// Where a rebuild from nothing must start so the state at `at_ms` is exact,
/// and from where on it is exact: monthly counters need the whole month in
/// the WABA's time zone, windows the days before it.
pub fn rebuild_from(at_ms: i64, tz: Tz) -> (i64, i64) {
    let at: DateTime<Tz> = Utc.timestamp_millis_opt(at_ms).single().unwrap_or_default().with_timezone(&tz);
    let month_start = NaiveDate::from_ymd_opt(at.year(), at.month(), 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| tz.from_local_datetime(&t).earliest())
        .map_or(at_ms, |d| d.timestamp_millis());
    (month_start - WINDOW_REACH_MS, month_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_start_before_the_local_month() {
        // 2026-03-10T10:00:00Z in UTC: the month starts 2026-03-01T00:00Z.
        let (from, exact) = rebuild_from(1_773_136_800_000, Tz::UTC);
        assert_eq!(exact, 1_772_323_200_000);
        assert_eq!(from, exact - WINDOW_REACH_MS);
        // 2026-03-01T05:00:00Z is still February in Mexico City (UTC-6):
        // February began 2026-02-01T06:00:00Z.
        let (_, exact) = rebuild_from(1_772_341_200_000, Tz::America__Mexico_City);
        assert_eq!(exact, 1_769_925_600_000);
        assert_eq!(day_start(1_773_136_800_000), 1_773_100_800_000);
    }

    #[test]
    fn wabas_with_many_users_keep_fewer_recent_checkpoints() {
        assert_eq!(recent_checkpoints_for(0), RECENT_CHECKPOINTS);
        assert_eq!(recent_checkpoints_for(RECENT_ENTRIES / RECENT_CHECKPOINTS), RECENT_CHECKPOINTS);
        assert_eq!(recent_checkpoints_for(RECENT_ENTRIES / 2), 2);
        assert_eq!(recent_checkpoints_for(5_000), 1);
        assert_eq!(recent_checkpoints_for(1_000_000), 1, "never none");
    }

    #[test]
    fn checkpoints_are_bounded_and_ordered() {
        let mut b = Book::new(1, None);
        for d in 0..20 {
            b.checkpoint(d * DAY_MS, &WabaState::default(), true);
            b.checkpoint(d * DAY_MS + 5, &WabaState::default(), false);
        }
        assert_eq!(b.checkpoints.iter().filter(|c| c.daily).count(), DAILY_CHECKPOINTS);
        assert_eq!(b.checkpoints.iter().filter(|c| !c.daily).count(), RECENT_CHECKPOINTS);
        assert!(b.checkpoints.windows(2).all(|w| w[0].at < w[1].at));
        assert_eq!(b.checkpoint_before(19 * DAY_MS + 7).map(|c| c.at), Some(19 * DAY_MS + 5));
        assert_eq!(b.checkpoint_before(15 * DAY_MS + 2).map(|c| c.at), Some(15 * DAY_MS));
        assert!(b.checkpoint_before(DAY_MS).is_none());
        b.invalidate_after(14 * DAY_MS);
        assert_eq!(b.checkpoints.last().map(|c| c.at), Some(14 * DAY_MS));
        // A checkpoint never goes back in time.
        b.checkpoint(13 * DAY_MS, &WabaState::default(), true);
        assert_eq!(b.checkpoints.last().map(|c| c.at), Some(14 * DAY_MS));
    }
}
