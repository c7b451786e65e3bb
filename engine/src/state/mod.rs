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

pub use identity::{IdentityDirectory, Resolved, UserKey};
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

/// All rating state of one WABA.
#[derive(Debug, Default, Clone)]
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

    /// Drops windows that can no longer matter, to keep memory flat.
    pub fn expire_windows(&mut self, now_ms: i64) {
        self.windows.retain(|_, w| !w.expired(now_ms));
    }
}
