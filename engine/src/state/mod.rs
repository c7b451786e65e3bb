//! Host state: identities, windows and monthly counters, per WABA.
//!
//! State changes follow Meta's world, not plugin verdicts: windows open from
//! events, conversations and the service allowance count delivered traffic.
//! That keeps every fact computable before the plugins run, so a whole batch
//! goes to the plugins in one call.

mod identity;
mod windows;

use std::sync::Arc;

use rustc_hash::FxHashMap as HashMap;

pub use identity::{IdentityDirectory, IdentityUndo, Resolved, UserKey};
pub use windows::*;

use crate::decision::BilledCategory;
use crate::phone::PhoneNumber;
use crate::policy::Market;

/// A calendar month in the WABA's time zone, as `year * 12 + month0`.
pub type MonthKey = i32;

/// A business number within one WABA.
pub type NumberKey = u32;

/// What the monthly free service allowance is counted over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowanceKey {
    Waba,
    Number(NumberKey),
}

/// Below this many windows a WABA's map is not swept: too small to matter.
const MIN_SWEEP_WINDOWS: usize = 64;

/// All rating state of one WABA.
///
/// A clone never carries the journal: a checkpoint taken while changes are
/// journaled holds the state as it is, not a way back.
#[derive(Debug, Default)]
pub struct WabaState {
    pub identities: IdentityDirectory,
    numbers: HashMap<PhoneNumber, NumberKey>,
    number_names: Vec<Arc<str>>,
    waba_name: Option<Arc<str>>,
    pub windows: HashMap<(NumberKey, UserKey), UserWindows>,
    pub allowance: HashMap<(AllowanceKey, MonthKey), u32>,
    pub tiers: HashMap<(Market, BilledCategory, MonthKey), u64>,
    /// The latest event instant applied, for expiring windows.
    pub high_water_ms: i64,
    /// How many windows the map may hold before the next sweep of expired
    /// ones (see [`WabaState::expire_windows`]).
    sweep_at: usize,
    /// Set while changes are journaled (a dry run, or a group not yet
    /// committed): what to restore if they are undone.
    journal: Option<Box<Journal>>,
}

impl Clone for WabaState {
    fn clone(&self) -> Self {
        Self {
            identities: self.identities.clone(),
            numbers: self.numbers.clone(),
            number_names: self.number_names.clone(),
            waba_name: self.waba_name.clone(),
            windows: self.windows.clone(),
            allowance: self.allowance.clone(),
            tiers: self.tiers.clone(),
            high_water_ms: self.high_water_ms,
            sweep_at: self.sweep_at,
            journal: None,
        }
    }
}

/// The values journaled changes overwrote, to put back on a rollback.
#[derive(Debug)]
struct Journal {
    windows: Vec<((NumberKey, UserKey), Option<UserWindows>)>,
    all_windows: Option<HashMap<(NumberKey, UserKey), UserWindows>>,
    allowance: Vec<((AllowanceKey, MonthKey), Option<u32>)>,
    tiers: Vec<((Market, BilledCategory, MonthKey), Option<u64>)>,
    /// The whole directory, copied before the first merge of two users.
    identities: Option<IdentityDirectory>,
    /// The identifiers learned (new users), when no merge copied the directory.
    learned: IdentityUndo,
    numbers: usize,
    high_water_ms: i64,
}

impl WabaState {
    /// The key of a business number, interning it on first sight.
    pub fn number_key(&mut self, number: &PhoneNumber) -> NumberKey {
        if let Some(k) = self.numbers.get(number) {
            return *k;
        }
        let k = self.numbers.len() as NumberKey;
        self.numbers.insert(number.clone(), k);
        self.number_names.push(Arc::from(number.as_str()));
        k
    }

    /// The business number as a shared string, for results.
    pub fn number_name(&mut self, number: &PhoneNumber) -> Arc<str> {
        let k = self.number_key(number);
        self.number_names[k as usize].clone()
    }

    /// The WABA id as a shared string, for results.
    pub fn waba_name(&mut self, waba: &crate::event::WabaId) -> Arc<str> {
        self.waba_name.get_or_insert_with(|| Arc::from(waba.0.as_str())).clone()
    }

    /// Folds user `from` into user `into` after an identity link.
    pub fn merge_users(&mut self, from: UserKey, into: UserKey) {
        let moved: Vec<((NumberKey, UserKey), UserWindows)> =
            self.windows.iter().filter(|((_, u), _)| *u == from).map(|(k, w)| (*k, *w)).collect();
        for ((number, _), w) in moved {
            self.windows.remove(&(number, from));
            self.windows.entry((number, into)).or_default().merge(&w);
        }
    }

    /// Drops windows that can no longer matter, to keep memory flat: once
    /// the map has grown by half since the last sweep. A sweep reads every
    /// window, and the committer asks for one after each group of each WABA:
    /// sweeping every time would cost a stream of single events a pass over
    /// all of its WABA's users per message. To a message at or after the
    /// latest one applied, an expired window that stays behaves as a missing
    /// one (its instants are all past), so when it goes changes no verdict.
    /// Does nothing while changes are journaled: a rollback must find them.
    pub fn expire_windows(&mut self, now_ms: i64) {
        if self.journal.is_none() && self.windows.len() >= self.sweep_at {
            self.windows.retain(|_, w| !w.expired(now_ms));
            self.sweep_at = (self.windows.len() + self.windows.len() / 2).max(MIN_SWEEP_WINDOWS);
        }
    }

    /// Starts recording what changes, so [`WabaState::rollback`] can undo
    /// it, until [`WabaState::keep`]. A journal already open stays as it is.
    pub fn begin_journal(&mut self) {
        if self.journal.is_some() {
            return;
        }
        self.journal = Some(Box::new(Journal {
            windows: Vec::new(),
            all_windows: None,
            allowance: Vec::new(),
            tiers: Vec::new(),
            identities: None,
            learned: self.identities.undo_point(),
            numbers: self.number_names.len(),
            high_water_ms: self.high_water_ms,
        }));
    }

    /// Keeps the changes since [`WabaState::begin_journal`]: drops the
    /// journal, and the windows that expired meanwhile.
    pub fn keep(&mut self) {
        if self.journal.take().is_some() {
            self.expire_windows(self.high_water_ms);
        }
    }

    /// Undoes everything since [`WabaState::begin_journal`].
    pub fn rollback(&mut self) {
        let Some(j) = self.journal.take() else { return };
        let j = *j;
        if let Some(all) = j.all_windows {
            self.windows = all;
        } else {
            for (key, old) in j.windows.into_iter().rev() {
                match old {
                    Some(w) => self.windows.insert(key, w),
                    None => self.windows.remove(&key),
                };
            }
        }
        for (key, old) in j.allowance.into_iter().rev() {
            match old {
                Some(v) => self.allowance.insert(key, v),
                None => self.allowance.remove(&key),
            };
        }
        for (key, old) in j.tiers.into_iter().rev() {
            match old {
                Some(v) => self.tiers.insert(key, v),
                None => self.tiers.remove(&key),
            };
        }
        if let Some(identities) = j.identities {
            self.identities = identities;
        }
        self.identities.undo(j.learned);
        if self.number_names.len() > j.numbers {
            self.numbers.retain(|_, k| (*k as usize) < j.numbers);
            self.number_names.truncate(j.numbers);
        }
        self.high_water_ms = j.high_water_ms;
    }

    /// Before resolving `user`: notes the identifiers it learns, or keeps
    /// the whole directory before the first merge (merges are rare).
    pub(crate) fn remember_identities(&mut self, user: &crate::phone::UserRef) {
        if let Some(j) = &mut self.journal {
            if !self.identities.would_change(user) {
                return;
            }
            if self.identities.would_merge(user) {
                if j.identities.is_none() {
                    j.identities = Some(self.identities.clone());
                }
            } else {
                self.identities.note_learned(user, &mut j.learned);
            }
        }
    }

    /// Before merging users: keeps every window (merges are rare).
    pub(crate) fn remember_all_windows(&mut self) {
        if let Some(j) = &mut self.journal {
            if j.all_windows.is_none() {
                j.all_windows = Some(self.windows.clone());
            }
        }
    }

    pub(crate) fn remember_window(&mut self, key: (NumberKey, UserKey)) {
        if let Some(j) = &mut self.journal {
            if j.all_windows.is_none() {
                j.windows.push((key, self.windows.get(&key).copied()));
            }
        }
    }

    pub(crate) fn remember_allowance(&mut self, key: (AllowanceKey, MonthKey)) {
        if let Some(j) = &mut self.journal {
            j.allowance.push((key, self.allowance.get(&key).copied()));
        }
    }

    pub(crate) fn remember_tier(&mut self, key: (Market, BilledCategory, MonthKey)) {
        if let Some(j) = &mut self.journal {
            j.tiers.push((key, self.tiers.get(&key).copied()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window of user `u` that closes at `until`.
    fn open(state: &mut WabaState, u: UserKey, until: i64) {
        state.windows.insert((0, u), UserWindows { csw_until: until, ..UserWindows::default() });
    }

    #[test]
    fn expired_windows_are_swept_once_the_map_has_grown_by_half() {
        let mut state = WabaState::default();
        // 100 users, each window closing at its own instant.
        for u in 0..100 {
            open(&mut state, u, 1_000 + i64::from(u));
        }
        state.expire_windows(1_049);
        assert_eq!(state.windows.len(), 50, "the first call sweeps: windows closed by 1,049 go");
        // Growing to 74 (under 75, half again) sweeps nothing, even with
        // every window expired.
        for u in 100..124 {
            open(&mut state, u, 2_000);
        }
        state.expire_windows(5_000);
        assert_eq!(state.windows.len(), 74, "below the threshold nothing is read");
        open(&mut state, 124, 9_000);
        state.expire_windows(5_000);
        assert_eq!(state.windows.len(), 1, "at 75 the sweep runs: only the open window stays");
    }

    #[test]
    fn a_stream_of_new_users_keeps_the_map_within_half_again_of_the_open_windows() {
        let mut state = WabaState::default();
        // One new user per millisecond, each window open for 1,000 ms:
        // 1,000 open at any time.
        let mut most = 0;
        for t in 0..20_000i64 {
            open(&mut state, t as UserKey, t + 1_000);
            state.expire_windows(t);
            most = most.max(state.windows.len());
        }
        assert!(most <= 1_000 * 3 / 2 + 2, "the map peaked at {most} windows");
    }

    #[test]
    fn nothing_is_swept_while_changes_are_journaled() {
        let mut state = WabaState::default();
        for u in 0..100 {
            open(&mut state, u, 10);
        }
        state.high_water_ms = 1_000;
        state.begin_journal();
        state.expire_windows(1_000);
        assert_eq!(state.windows.len(), 100);
        state.keep();
        assert_eq!(state.windows.len(), 0, "keeping the changes sweeps what expired");
    }
}
