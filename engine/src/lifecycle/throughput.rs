//! Throughput admission with GCRA (the generic cell rate algorithm): a
//! per-number "theoretical arrival time" (TAT) is the whole state, so one
//! integer per number is enough, in memory or in one database row.
//!
//! With a limit of `r` messages per second and a burst of `b`, each message
//! advances the TAT by `T = 1/r`; a request for `n` messages is admitted when
//! `max(TAT, now) + n·T − now ≤ b·T`. Over any span `d`, at most `b + d·r`
//! messages are admitted.

use std::sync::Mutex;

use rustc_hash::FxHashMap;
use serde::Serialize;

/// Microseconds: fine enough for 1,000 messages per second.
const US_PER_S: i64 = 1_000_000;

/// One limit: a rate and a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gcra {
    pub per_second: u32,
    pub burst: u32,
}

/// The answer to "may this number send `count` messages now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Admission {
    Allowed {
        /// The new TAT, microseconds since the epoch.
        #[serde(skip)]
        tat_us: i64,
        /// Messages that could still go at once after these.
        remaining: u32,
    },
    Refused {
        /// When the same request would be admitted, from now.
        retry_after_us: i64,
    },
}

impl Gcra {
    /// Microseconds each message takes from the budget.
    pub fn interval_us(&self) -> i64 {
        US_PER_S / i64::from(self.per_second.max(1))
    }

    /// How far ahead of now the TAT may run, in microseconds.
    pub fn capacity_us(&self) -> i64 {
        i64::from(self.burst) * self.interval_us()
    }

    /// Messages of the burst in use at `now_us`: how far the TAT runs ahead, in messages.
    pub fn in_use(&self, tat_us: i64, now_us: i64) -> u32 {
        let ahead = (tat_us - now_us).max(0);
        let t = self.interval_us();
        u32::try_from((ahead + t - 1) / t).unwrap_or(u32::MAX).min(self.burst)
    }

    /// Decides `count` messages at `now_us` against `tat_us`.
    pub fn decide(&self, tat_us: i64, now_us: i64, count: u32) -> Admission {
        let t = self.interval_us();
        let new_tat = tat_us.max(now_us) + i64::from(count) * t;
        let ahead = new_tat - now_us;
        if ahead <= self.capacity_us() {
            let remaining = ((self.capacity_us() - ahead) / t) as u32;
            Admission::Allowed { tat_us: new_tat, remaining }
        } else {
            Admission::Refused { retry_after_us: ahead - self.capacity_us() }
        }
    }

    /// The answer when another store (e.g. PostgreSQL) applied the update:
    /// `Some(tat)` when it admitted, `None` with the TAT it refused against.
    pub fn answer(&self, admitted_tat_us: Option<i64>, current_tat_us: i64, now_us: i64, count: u32) -> Admission {
        match admitted_tat_us {
            Some(tat) => {
                let ahead = (tat - now_us).max(0);
                Admission::Allowed {
                    tat_us: tat,
                    remaining: ((self.capacity_us() - ahead).max(0) / self.interval_us()) as u32,
                }
            }
            None => {
                let ahead = current_tat_us.max(now_us) + i64::from(count) * self.interval_us() - now_us;
                Admission::Refused { retry_after_us: (ahead - self.capacity_us()).max(1) }
            }
        }
    }
}

/// In-memory TATs for one process: the single-daemon path. Sharded so that
/// concurrent requests for different numbers rarely meet on a lock.
#[derive(Debug)]
pub struct Limiter {
    shards: Vec<Mutex<FxHashMap<String, i64>>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Self { shards: (0..64).map(|_| Mutex::new(FxHashMap::default())).collect() }
    }
}

impl Limiter {
    fn shard(&self, number: &str) -> &Mutex<FxHashMap<String, i64>> {
        let h = number.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        &self.shards[(h % self.shards.len() as u64) as usize]
    }

    /// Decides and, when admitted, takes the messages from the budget.
    pub fn admit(&self, number: &str, gcra: Gcra, now_us: i64, count: u32) -> Admission {
        // A poisoned shard only means another request panicked mid-update of
        // one integer; the map itself is still sound.
        let mut map = self.shard(number).lock().unwrap_or_else(|p| p.into_inner());
        let tat = map.get(number).copied().unwrap_or(i64::MIN / 2);
        let answer = gcra.decide(tat, now_us, count);
        if let Admission::Allowed { tat_us, .. } = answer {
            match map.get_mut(number) {
                Some(t) => *t = tat_us,
                None => {
                    map.insert(number.to_owned(), tat_us);
                }
            }
        }
        answer
    }

    /// A number's TAT, if it ever sent.
    pub fn tat(&self, number: &str) -> Option<i64> {
        self.shard(number).lock().unwrap_or_else(|p| p.into_inner()).get(number).copied()
    }

    /// Forgets a number's budget (a new registration starts afresh).
    pub fn reset(&self, number: &str) {
        self.shard(number).lock().unwrap_or_else(|p| p.into_inner()).remove(number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Gcra = Gcra { per_second: 20, burst: 10 };

    #[test]
    fn a_burst_then_the_steady_rate() {
        let limiter = Limiter::default();
        let now = 1_000 * US_PER_S;
        let admitted = (0..50).filter(|_| matches!(limiter.admit("+1", G, now, 1), Admission::Allowed { .. })).count();
        assert_eq!(admitted, 10, "the burst");
        let Admission::Refused { retry_after_us } = limiter.admit("+1", G, now, 1) else { panic!("over budget") };
        assert_eq!(retry_after_us, 50_000, "one interval at 20/s");
        assert!(matches!(limiter.admit("+1", G, now + 50_000, 1), Admission::Allowed { remaining: 0, .. }));
        assert!(matches!(limiter.admit("+2", G, now, 10), Admission::Allowed { remaining: 0, .. }));
        assert!(matches!(limiter.admit("+3", G, now, 11), Admission::Refused { .. }));
        assert_eq!(G.in_use(limiter.tat("+2").unwrap(), now), 10);
        assert_eq!(G.in_use(limiter.tat("+2").unwrap(), now + 120_000), 8);
        assert_eq!(limiter.tat("+3"), None);
    }

    #[test]
    fn over_any_span_at_most_burst_plus_rate_times_span() {
        let limiter = Limiter::default();
        let start = 5_000 * US_PER_S;
        let mut admitted = 0;
        // A request every millisecond for 5 seconds.
        for ms in 0..5_000 {
            if matches!(limiter.admit("+1", G, start + ms * 1_000, 1), Admission::Allowed { .. }) {
                admitted += 1;
            }
        }
        assert!(admitted <= 10 + 20 * 5, "{admitted}");
        assert!(admitted >= 20 * 5, "{admitted}");
    }

    #[test]
    fn answers_from_a_shared_store_match_local_decisions() {
        let now = 10 * US_PER_S;
        let tat = now + 9 * G.interval_us();
        let local = G.decide(tat, now, 2);
        let shared = G.answer(None, tat, now, 2);
        assert_eq!(local, shared);
        let Admission::Allowed { tat_us, remaining } = G.decide(tat, now, 1) else { panic!() };
        assert_eq!(G.answer(Some(tat_us), tat, now, 1), Admission::Allowed { tat_us, remaining });
    }
}
