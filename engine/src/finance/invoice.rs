//! A month's invoice: the ledger's volume and exact cost per market ×
//! category × pricing type, each line rounded once to the currency's minor
//! unit, with the rounding residual shown per line and in the totals.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::policy::Currency;
use crate::report::{round_line, Rounding};

/// Volume and exact cost of one (market, category, pricing type, currency)
/// over some days, as the daemon's daily summary holds it. Reversals count
/// negative, so a re-rated message counts once, at its current verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRow {
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub currency: String,
    pub volume: i64,
    /// The exact sum of the priced entries.
    pub amount: Decimal,
    /// Entries without a price (no card or no rate), net of reversals.
    pub unpriced: i64,
}

/// One invoice line.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceLine {
    pub market: String,
    pub category: String,
    pub pricing_type: String,
    pub currency: String,
    pub volume: i64,
    pub unpriced: i64,
    /// Rounded to the currency's minor unit.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_exact: Decimal,
    /// `cost - cost_exact`.
    #[serde(with = "rust_decimal::serde::str")]
    pub rounding_residual: Decimal,
}

/// The totals of one currency.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceTotal {
    pub currency: String,
    pub volume: i64,
    pub unpriced: i64,
    /// The sum of the rounded lines: what the invoice charges.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub cost_exact: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub rounding_residual: Decimal,
}

/// Lines in (market, category, pricing type) order, and totals per currency.
#[derive(Debug, Clone, Serialize)]
pub struct Invoice {
    pub lines: Vec<InvoiceLine>,
    pub totals: Vec<InvoiceTotal>,
}

impl Invoice {
    /// Folds usage rows into lines; lines that net to nothing are left out.
    pub fn build(rows: impl IntoIterator<Item = UsageRow>, rounding: Rounding) -> Invoice {
        type Key = (String, String, String, String);
        let mut lines: BTreeMap<Key, (i64, Decimal, i64)> = BTreeMap::new();
        for r in rows {
            let line = lines.entry((r.market, r.category, r.pricing_type, r.currency)).or_default();
            line.0 += r.volume;
            line.1 += r.amount;
            line.2 += r.unpriced;
        }
        let mut totals: BTreeMap<String, InvoiceTotal> = BTreeMap::new();
        let mut out = Vec::with_capacity(lines.len());
        for ((market, category, pricing_type, currency), (volume, exact, unpriced)) in lines {
            if volume == 0 && exact.is_zero() && unpriced == 0 {
                continue;
            }
            let (cost, residual) = match Currency::parse(&currency) {
                Ok(c) => {
                    let r = round_line(exact, c, rounding);
                    (r.rounded, r.residual)
                }
                Err(_) => (exact, Decimal::ZERO),
            };
            let t = totals.entry(currency.clone()).or_insert_with(|| InvoiceTotal {
                currency: currency.clone(),
                volume: 0,
                unpriced: 0,
                cost: Decimal::ZERO,
                cost_exact: Decimal::ZERO,
                rounding_residual: Decimal::ZERO,
            });
            t.volume += volume;
            t.unpriced += unpriced;
            t.cost += cost;
            t.cost_exact += exact;
            t.rounding_residual += residual;
            out.push(InvoiceLine {
                market,
                category,
                pricing_type,
                currency,
                volume,
                unpriced,
                cost,
                cost_exact: exact.normalize(),
                rounding_residual: residual.normalize(),
            });
        }
        let totals = totals
            .into_values()
            .map(|mut t| {
                t.cost_exact = t.cost_exact.normalize();
                t.rounding_residual = t.rounding_residual.normalize();
                t
            })
            .collect();
        Invoice { lines: out, totals }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(market: &str, category: &str, volume: i64, amount: &str) -> UsageRow {
        UsageRow {
            market: market.into(),
            category: category.into(),
            pricing_type: "regular".into(),
            currency: "USD".into(),
            volume,
            amount: amount.parse().unwrap(),
            unpriced: 0,
        }
    }

    #[test]
    fn lines_round_once_and_the_residuals_add_up() {
        // Two days of India marketing at 0.0118 and one day of Indonesia utility at 0.025.
        let rows = vec![
            row("India", "marketing", 3, "0.0354"),
            row("India", "marketing", 2, "0.0236"),
            row("Indonesia", "utility", 1, "0.025"),
            row("Brazil", "marketing", 0, "0"),
        ];
        let inv = Invoice::build(rows, Rounding::HalfEven);
        assert_eq!(inv.lines.len(), 2);
        // 0.0354 + 0.0236 = 0.0590 -> 0.06, residual 0.001.
        assert_eq!(inv.lines[0].volume, 5);
        assert_eq!(inv.lines[0].cost.to_string(), "0.06");
        assert_eq!(inv.lines[0].rounding_residual.to_string(), "0.001");
        // 0.025 -> 0.02 (half-even), residual -0.005.
        assert_eq!(inv.lines[1].cost.to_string(), "0.02");
        assert_eq!(inv.totals[0].cost.to_string(), "0.08");
        assert_eq!(inv.totals[0].cost_exact.to_string(), "0.084");
        assert_eq!(inv.totals[0].rounding_residual.to_string(), "-0.004");
    }
}
