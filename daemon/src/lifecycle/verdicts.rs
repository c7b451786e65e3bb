//! A cache of eligibility verdicts. The eligibility plugin is a pure
//! function of (number, day): the sandbox gives it no clock, randomness or
//! I/O, and its lists are fixed when it loads. So a verdict, once asked for,
//! is kept, and `GET /v1/numbers/{number}` skips a plugin instance.
//!
//! Verdicts are shared: numbers of one country on one day almost always get
//! the same answer, so the map holds a pointer per (number, day), not a copy.

use std::sync::{Arc, Mutex};

use coexist_engine::plugin::EligibilityVerdict;
use rustc_hash::FxHashMap;

/// Entries kept before the cache starts over (about 64 bytes each).
const CAPACITY: usize = 1 << 18;
/// Distinct verdicts shared before new ones are kept unshared.
const DISTINCT: usize = 256;

#[derive(Default)]
struct Inner {
    /// Day → number → verdict (nested, so a lookup borrows the number).
    by_day: FxHashMap<i32, FxHashMap<Box<str>, Arc<EligibilityVerdict>>>,
    len: usize,
    distinct: Vec<Arc<EligibilityVerdict>>,
}

/// Verdicts by (number, day).
#[derive(Default)]
pub struct VerdictCache(Mutex<Inner>);

impl VerdictCache {
    pub fn get(&self, number: &str, day: i32) -> Option<Arc<EligibilityVerdict>> {
        let inner = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.by_day.get(&day)?.get(number).cloned()
    }

    pub fn put(&self, number: &str, day: i32, verdict: EligibilityVerdict) -> Arc<EligibilityVerdict> {
        let mut inner = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.len >= CAPACITY {
            inner.by_day.clear();
            inner.len = 0;
        }
        let shared = match inner.distinct.iter().find(|v| ***v == verdict) {
            Some(v) => v.clone(),
            None => {
                let v = Arc::new(verdict);
                if inner.distinct.len() < DISTINCT {
                    inner.distinct.push(v.clone());
                }
                v
            }
        };
        if inner.by_day.entry(day).or_default().insert(number.into(), shared.clone()).is_none() {
            inner.len += 1;
        }
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(source: &str) -> EligibilityVerdict {
        EligibilityVerdict { list_from: Some(1), source: source.to_owned(), ineligible: None, alternatives: vec![] }
    }

    #[test]
    fn equal_verdicts_are_shared_and_days_are_apart() {
        let cache = VerdictCache::default();
        assert!(cache.get("+6221555000", 10).is_none());
        let a = cache.put("+6221555000", 10, verdict("list A"));
        let b = cache.put("+6221555001", 10, verdict("list A"));
        assert!(Arc::ptr_eq(&a, &b), "one copy of an equal verdict");
        cache.put("+6221555000", 11, verdict("list B"));
        assert_eq!(cache.get("+6221555000", 10).unwrap().source, "list A");
        assert_eq!(cache.get("+6221555000", 11).unwrap().source, "list B");
    }
}
