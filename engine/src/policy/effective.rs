//! Effective dating: every rule carries `effective_from` (inclusive) and
//! `effective_to` (exclusive), both calendar dates in the WABA's time zone.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A half-open range of local dates; `None` means unbounded on that side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effective {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::dates::opt_date")]
    pub effective_from: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::dates::opt_date")]
    pub effective_to: Option<NaiveDate>,
}

impl Effective {
    pub fn new(from: Option<NaiveDate>, to: Option<NaiveDate>) -> Self {
        Self { effective_from: from, effective_to: to }
    }

    /// Whether `date` falls in `[from, to)`.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.effective_from.is_none_or(|f| date >= f) && self.effective_to.is_none_or(|t| date < t)
    }

    /// Whether two ranges share at least one day.
    pub fn overlaps(&self, other: &Effective) -> bool {
        let starts_before_other_ends = match (self.effective_from, other.effective_to) {
            (Some(f), Some(t)) => f < t,
            _ => true,
        };
        let other_starts_before_self_ends = match (other.effective_from, self.effective_to) {
            (Some(f), Some(t)) => f < t,
            _ => true,
        };
        starts_before_other_ends && other_starts_before_self_ends
    }

    /// `from..to` for messages, with `…` for an open end.
    pub fn describe(&self) -> String {
        let show = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(|| "…".to_owned());
        format!("{}..{}", show(self.effective_from), show(self.effective_to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn half_open() {
        let r = Effective::new(Some(d("2025-07-01")), Some(d("2026-10-01")));
        assert!(!r.contains(d("2025-06-30")));
        assert!(r.contains(d("2025-07-01")));
        assert!(r.contains(d("2026-09-30")));
        assert!(!r.contains(d("2026-10-01")));
        assert!(Effective::default().contains(d("1999-01-01")));
    }

    #[test]
    fn overlap() {
        let a = Effective::new(Some(d("2026-01-01")), Some(d("2026-07-01")));
        let b = Effective::new(Some(d("2026-07-01")), None);
        let c = Effective::new(Some(d("2026-06-30")), None);
        assert!(!a.overlaps(&b));
        assert!(a.overlaps(&c));
        assert!(Effective::default().overlaps(&a));
    }
}
