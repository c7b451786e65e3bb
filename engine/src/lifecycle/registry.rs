//! Which business numbers the number registry says are in Coexistence, for
//! the rater's `coexistence` fact.
//!
//! A WABA profile can name a number's `coexistence_onboarded_at` in the
//! config file; a number registered at run time (`PUT /v1/numbers/{number}`)
//! says more, and wins: its current onboarding and, once offboarded, the end
//! of it. A number registered as API-only is not in Coexistence, whatever
//! the profile says.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use rustc_hash::FxHashMap;

use super::NumberState;
use crate::phone::PhoneNumber;

/// A registered number's time in Coexistence, in unix milliseconds:
/// `[since, until)`; `None` when it is registered as API-only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoexistenceSpan {
    pub since_ms: i64,
    pub until_ms: Option<i64>,
}

impl CoexistenceSpan {
    /// The span a registry state describes (its current onboarding).
    pub fn of(state: &NumberState) -> Option<Self> {
        state.coexistence.then_some(Self { since_ms: state.onboarded_at_ms, until_ms: state.offboarded_at_ms })
    }

    pub fn covers(&self, at_ms: i64) -> bool {
        self.since_ms <= at_ms && self.until_ms.is_none_or(|until| at_ms < until)
    }
}

/// The registered numbers, by the number's integer value; shared between the
/// registry's writers and the rater's threads.
#[derive(Debug, Default)]
pub struct CoexistenceRegistry {
    spans: RwLock<FxHashMap<u64, Option<CoexistenceSpan>>>,
    /// Whether any number is registered (the rater skips the lock when not).
    any: AtomicBool,
}

impl CoexistenceRegistry {
    /// Records a number's registration (`None`: registered as API-only).
    pub fn set(&self, number: &PhoneNumber, span: Option<CoexistenceSpan>) {
        let mut spans = self.spans.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        spans.insert(number.value(), span);
        self.any.store(true, Ordering::Release);
    }

    /// What the registry says about `number` at `at_ms`: `Some(in
    /// Coexistence or not)` when it is registered, `None` when it is not.
    pub fn in_coexistence(&self, number: &PhoneNumber, at_ms: i64) -> Option<bool> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let spans = self.spans.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        spans.get(&number.value()).map(|span| span.is_some_and(|s| s.covers(at_ms)))
    }

    /// How many numbers are registered.
    pub fn len(&self) -> usize {
        self.spans.read().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_covers_its_onboarding_until_offboarding() {
        let registry = CoexistenceRegistry::default();
        let number = PhoneNumber::parse("+6221555000").unwrap();
        let other = PhoneNumber::parse("+6221555001").unwrap();
        assert_eq!(registry.in_coexistence(&number, 5), None, "nothing registered");
        let mut state = NumberState::onboard("W1", true, 1_000, None);
        registry.set(&number, CoexistenceSpan::of(&state));
        assert_eq!(registry.in_coexistence(&number, 999), Some(false), "before onboarding");
        assert_eq!(registry.in_coexistence(&number, 1_000), Some(true));
        assert_eq!(registry.in_coexistence(&other, 1_000), None, "another number is not registered");
        state.offboarded_at_ms = Some(2_000);
        registry.set(&number, CoexistenceSpan::of(&state));
        assert_eq!(registry.in_coexistence(&number, 1_999), Some(true));
        assert_eq!(registry.in_coexistence(&number, 2_000), Some(false), "offboarded");
        registry.set(&other, CoexistenceSpan::of(&NumberState::onboard("W1", false, 0, None)));
        assert_eq!(registry.in_coexistence(&other, 1_000), Some(false), "registered as API-only");
        assert_eq!(registry.len(), 2);
    }
}
