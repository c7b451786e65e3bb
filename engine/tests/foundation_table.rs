//! The foundation issue's "must show" table, row by row: WABA W1 (USD, UTC,
//! primary country ID, authentication-international from 2025-01-01),
//! business number +6221555000, rated by the bundled plugins.

mod common;

use common::*;

const CONFIG: &str = include_str!("../../tests/fixtures/w1.toml");
const TABLE: &str = include_str!("../../tests/fixtures/foundation-table.jsonl");

fn codes(r: &coexist_engine::rated::Rated) -> Vec<(String, String)> {
    r.violations.iter().map(|v| (v.code.clone(), format!("{:?}", v.action).to_lowercase())).collect()
}

#[test]
fn every_row_of_the_table() {
    let mut rater = rater(None, CONFIG);
    let events = events(TABLE);
    let got = rate_by_id(&mut rater, &events);
    let row = |id: &str| got.get(id).unwrap_or_else(|| panic!("{id} not rated"));
    let s = |id: &str| summary(row(id));
    let m = |market: &str| market.to_owned();
    let c = |cost: &str| cost.to_owned();

    assert_eq!(s("t01"), (false, "none", "not_billable", m("Indonesia"), c("0")), "inbound text");
    assert_eq!(s("t02"), (false, "utility", "free_customer_service", m("Indonesia"), c("0")), "utility in CSW");
    assert_eq!(s("t03"), (true, "marketing", "regular", m("Indonesia"), c("0.0411")), "marketing");
    assert_eq!(s("t04"), (false, "service", "free_customer_service", m("Indonesia"), c("0")), "service in CSW");
    assert_eq!(s("t05"), (true, "utility", "regular", m("India"), c("0.0014")), "utility to India");
    assert_eq!(s("t06"), (true, "authentication_international", "regular", m("India"), c("0.0280")), "auth-intl");
    assert_eq!(s("t07"), (true, "authentication", "regular", m("Indonesia"), c("0.0250")), "domestic auth");
    assert_eq!(s("t08"), (false, "service", "free_app_side", m("Brazil"), c("0")), "app text");
    assert_eq!(row("t08").side, coexist_engine::event::Side::App);

    assert!(!s("t09").0, "api text outside CSW is not billable");
    assert_eq!(codes(row("t09")), [("pricing.outside_customer_service_window".to_owned(), "block".to_owned())]);

    assert_eq!(s("t10"), (false, "none", "not_billable", m("Brazil"), c("0")), "referral inbound");
    assert_eq!(s("t11"), (false, "marketing", "free_entry_point", m("Brazil"), c("0")), "FEP opens");
    assert_eq!(s("t12"), (false, "marketing", "free_entry_point", m("Brazil"), c("0")), "inside FEP");
    assert_eq!(s("t13"), (true, "marketing", "regular", m("Brazil"), c("0.0625")), "after FEP");

    assert!(!s("t14").0, "marketing to the US is not billable");
    assert_eq!(codes(row("t14")), [("delivery.marketing_to_us_blocked".to_owned(), "block".to_owned())]);

    assert_eq!(s("t15"), (true, "utility", "regular", m("Rest of Latin America"), c("0.0113")), "Dominican Republic");

    assert_eq!(s("t16"), (false, "service", "free_app_side", m("Brazil"), c("0")), "app broadcast stays free");
    assert_eq!(codes(row("t16"))[0].0, "coexistence.broadcast_list_disabled");

    assert_eq!(s("t18"), (false, "service", "free_allowance", m("Indonesia"), c("0")), "service after 2026-10-01");
    assert_eq!(row("t18").regime.as_ref(), "pmp-2026-10");
    assert_eq!(s("t19"), (true, "utility", "regular", m("Indonesia"), c("0.0250")), "utility in CSW after 2026-10-01");

    let unpriced = row("t20");
    assert_eq!((unpriced.billable, unpriced.category.as_str(), unpriced.cost), (true, "marketing", None));
    let reason = unpriced.unpriced_reason.as_deref().unwrap_or_default();
    assert!(reason.contains("no USD rate card") && reason.contains("2025-08-10"), "{reason}");

    assert_eq!(s("t21"), (true, "marketing", "regular", m("Brazil"), c("0.0625")), "BSUID-only user");
    assert_eq!(s("t22"), (true, "marketing", "regular", m("North America"), c("0.0250")), "Canada is not US");
    assert!(row("t22").violations.is_empty());

    // Every result names what produced it.
    for r in got.values() {
        assert_eq!(r.plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["classifier", "coexistence"]);
    }
    assert_eq!(row("t03").rate_card.as_deref(), Some("usd-2026-01-01"));
}

#[test]
fn shuffled_input_gives_the_same_results() {
    let events = events(TABLE);
    let ordered = rate_by_id(&mut rater(None, CONFIG), &events);
    // A fixed permutation: reverse, then interleave halves.
    let mut shuffled: Vec<_> = events.iter().rev().cloned().collect();
    let half = shuffled.split_off(shuffled.len() / 2);
    let shuffled: Vec<_> = half.into_iter().zip(shuffled).flat_map(|(a, b)| [a, b]).collect();
    let again = rate_by_id(&mut rater(None, CONFIG), &shuffled);
    assert_eq!(ordered, again);
}
