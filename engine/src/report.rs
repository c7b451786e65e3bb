//! Report lines: exact per-message costs summed, then rounded once per line to
//! the currency's minor unit, with the rounding residual shown.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::policy::Currency;

/// A value as one CSV field: quoted (with inner quotes doubled) when it
/// holds a comma, a quote or a line break, as RFC 4180 asks. Every CSV
/// report (usage, invoices, forecasts) writes its text fields through this.
pub fn csv_field(v: &str) -> std::borrow::Cow<'_, str> {
    if v.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", v.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

/// How report lines are rounded. Default: half-even (banker's rounding).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    HalfEven,
    HalfUp,
    Down,
    Up,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::Down => RoundingStrategy::ToZero,
            Rounding::Up => RoundingStrategy::AwayFromZero,
        }
    }
}

/// A rounded total and what rounding changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RoundedTotal {
    /// The exact sum of the line's per-message costs.
    #[serde(with = "rust_decimal::serde::str")]
    pub exact: Decimal,
    /// Rounded to the currency's minor unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub rounded: Decimal,
    /// `rounded - exact`.
    #[serde(with = "rust_decimal::serde::str")]
    pub residual: Decimal,
}

/// Rounds an exact line total for `currency`.
pub fn round_line(exact: Decimal, currency: Currency, rounding: Rounding) -> RoundedTotal {
    let rounded = exact.round_dp_with_strategy(currency.minor_unit(), rounding.strategy());
    RoundedTotal { exact, rounded, residual: rounded - exact }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv_field("India"), "India");
        assert_eq!(csv_field("Rest of Latin America, Other"), "\"Rest of Latin America, Other\"");
        assert_eq!(csv_field("a \"b\""), "\"a \"\"b\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn half_even_by_default() {
        let usd = Currency::parse("USD").unwrap();
        let cases = [("0.125", "0.12"), ("0.135", "0.14"), ("1.0411", "1.04"), ("0.0050", "0.00")];
        for (exact, want) in cases {
            let r = round_line(d(exact), usd, Rounding::default());
            assert_eq!(r.rounded, d(want), "{exact}");
            assert_eq!(r.exact + r.residual, r.rounded);
        }
        assert_eq!(round_line(d("0.125"), usd, Rounding::HalfUp).rounded, d("0.13"));
        let clp = Currency::parse("CLP").unwrap();
        assert_eq!(round_line(d("12.5"), clp, Rounding::HalfEven).rounded, d("12"));
    }
}
