//! What the committer keeps per WABA between groups.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use coexist_engine::state::WabaState;

/// Where an event sits in its WABA's order: (timestamp ms, message id).
pub type OrderKey = (i64, Arc<str>);

pub const DAY_MS: i64 = 86_400_000;

/// Day snapshots kept per WABA: a late event up to this many days back
/// re-rates from a snapshot; older ones rebuild from the month's start.
pub const SNAPSHOT_DAYS: usize = 8;

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
    /// The state at the start of recent UTC days, oldest first.
    pub snapshots: Vec<(i64, WabaState)>,
}

impl Book {
    pub fn new(next_seq: i64, high_water: Option<OrderKey>) -> Self {
        // A WABA with nothing stored starts from the empty state: warm.
        let warm = high_water.is_none();
        Self { next_seq, high_water, warm, snapshots: Vec::new() }
    }

    pub fn take_seq(&mut self) -> i64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }

    /// Keeps `state` as the state at the start of day `day_start_ms`.
    pub fn snapshot(&mut self, day_start_ms: i64, state: &WabaState) {
        if self.snapshots.last().is_some_and(|(d, _)| *d >= day_start_ms) {
            return;
        }
        self.snapshots.push((day_start_ms, state.clone()));
        if self.snapshots.len() > SNAPSHOT_DAYS {
            self.snapshots.remove(0);
        }
    }

    /// The latest snapshot at or before `at_ms`.
    pub fn snapshot_before(&self, at_ms: i64) -> Option<&(i64, WabaState)> {
        self.snapshots.iter().rev().find(|(d, _)| *d <= at_ms)
    }

    /// Drops snapshots after `at_ms`: events before them changed.
    pub fn invalidate_after(&mut self, at_ms: i64) {
        self.snapshots.retain(|(d, _)| *d <= at_ms);
    }

    /// Drops snapshots before `at_ms`: a rebuild took them from partial history.
    pub fn drop_before(&mut self, at_ms: i64) {
        self.snapshots.retain(|(d, _)| *d >= at_ms);
    }
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
    fn snapshots_are_bounded_and_ordered() {
        let mut b = Book::new(1, None);
        for d in 0..20 {
            b.snapshot(d * DAY_MS, &WabaState::default());
        }
        assert_eq!(b.snapshots.len(), SNAPSHOT_DAYS);
        assert_eq!(b.snapshot_before(15 * DAY_MS + 5).map(|s| s.0), Some(15 * DAY_MS));
        assert!(b.snapshot_before(DAY_MS).is_none());
        b.invalidate_after(14 * DAY_MS);
        assert_eq!(b.snapshots.last().map(|s| s.0), Some(14 * DAY_MS));
    }
}
