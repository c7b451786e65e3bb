//! Rating scenarios beyond the foundation table: conversation-based pricing,
//! volume tiers, the service allowance, regime boundaries in two time zones,
//! identities, violations and webhooks.

mod common;

use coexist_engine::decision::Action;
use common::*;

const W1: &str = "[waba.W1]\ncurrency = \"USD\"\ntimezone = \"UTC\"\nprimary_country = \"ID\"\nauth_international_from = 2025-01-01\n";
const NUMBER: &str = "+6221555000";
const ID_USER: &str = "+6281234567890";

fn l(id: &str, user: &str, direction: &str, ts: &str, template: Option<&str>) -> String {
    line(id, "W1", NUMBER, user, direction, "api", ts, template)
}

#[test]
fn conversation_based_pricing_charges_once_per_conversation() {
    let mut rater = rater(Some("policies-cbp"), W1);
    let jsonl = [
        l("c1", ID_USER, "inbound", "2025-03-03T08:00:00Z", None),
        l("c2", ID_USER, "outbound", "2025-03-03T08:10:00Z", Some("marketing")),
        l("c3", ID_USER, "outbound", "2025-03-03T09:00:00Z", Some("marketing")),
        l("c4", ID_USER, "outbound", "2025-03-03T09:30:00Z", Some("utility")),
        l("c5", ID_USER, "outbound", "2025-03-03T10:00:00Z", None),
        // 24 h after c2 the marketing conversation has closed.
        l("c6", ID_USER, "outbound", "2025-03-04T08:10:00Z", Some("marketing")),
    ]
    .join("\n");
    let got = rate_by_id(&mut rater, &events(&jsonl));
    let s = |id: &str| summary(&got[id]);
    assert_eq!(got["c2"].regime.as_ref(), "cbp");
    assert_eq!(
        s("c2"),
        (true, "marketing", "regular", "Indonesia".into(), "0.0411".into()),
        "opens a marketing conversation"
    );
    assert_eq!(s("c3"), (false, "marketing", "regular", "Indonesia".into(), "0".into()), "inside it");
    assert!(got["c3"].note.as_deref().unwrap_or_default().contains("conversation"));
    assert_eq!(
        s("c4"),
        (true, "utility", "regular", "Indonesia".into(), "0.0200".into()),
        "a second category opens its own"
    );
    assert!(!s("c5").0, "service inside open conversations is not charged again");
    assert_eq!(
        s("c6"),
        (true, "marketing", "regular", "Indonesia".into(), "0.0411".into()),
        "a new conversation after 24 h"
    );
}

#[test]
fn conversation_era_service_allowance_and_free_entry_point() {
    let mut rater = rater(Some("policies-cbp"), W1);
    let jsonl = [
        // Until 2024-10-31 the first 1,000 service conversations a month are free.
        l("a1", ID_USER, "inbound", "2024-10-10T08:00:00Z", None),
        l("a2", ID_USER, "outbound", "2024-10-10T08:05:00Z", None),
        // A Click-to-WhatsApp arrival: the reply opens a free 72 h window that closes other conversations.
        r#"{"id":"f1","waba":"W1","business_number":"+6221555000","user":"+919876543210","direction":"inbound","type":"text","timestamp":"2025-03-10T08:00:00Z","referral":{"source_type":"ad"}}"#.to_owned(),
        l("f2", "+919876543210", "outbound", "2025-03-10T09:00:00Z", Some("marketing")),
        l("f3", "+919876543210", "outbound", "2025-03-12T09:00:00Z", Some("utility")),
        l("f4", "+919876543210", "outbound", "2025-03-13T10:00:00Z", Some("utility")),
    ]
    .join("\n");
    let got = rate_by_id(&mut rater, &events(&jsonl));
    assert_eq!(got["a2"].regime.as_ref(), "cbp-2024");
    assert_eq!(summary(&got["a2"]).2, "free_allowance");
    assert_eq!(summary(&got["f2"]).2, "free_entry_point");
    assert_eq!(summary(&got["f3"]).2, "free_entry_point");
    assert_eq!(summary(&got["f4"]), (true, "utility", "regular", "India".into(), "0.0014".into()));
}

#[test]
fn volume_tiers_are_graduated_per_month() {
    let mut rater = rater(Some("policies-tiers"), W1);
    let mut lines: Vec<String> = (1..=7)
        .map(|i| l(&format!("u{i}"), "+919876543210", "outbound", &format!("2026-03-1{i}T10:00:00Z"), Some("utility")))
        .collect();
    lines.push(l("next-month", "+919876543210", "outbound", "2026-04-01T10:00:00Z", Some("utility")));
    let got = rate_by_id(&mut rater, &events(&lines.join("\n")));
    let costs: Vec<String> = (1..=7).map(|i| got[&format!("u{i}")].cost.unwrap().to_string()).collect();
    assert_eq!(costs, ["0.0014", "0.0014", "0.0014", "0.0010", "0.0010", "0.0008", "0.0008"]);
    assert_eq!(got["u4"].tier.as_deref(), Some("4:5"));
    assert_eq!(got["u7"].tier.as_deref(), Some("6:MAX"));
    assert_eq!(got["next-month"].cost.unwrap().to_string(), "0.0014", "tiers restart each month");
    assert_eq!(got["next-month"].tier.as_deref(), Some("1:3"));
}

#[test]
fn the_service_allowance_crosses_at_message_1001() {
    let mut rater = rater(None, W1);
    let mut lines = vec![l("in", ID_USER, "inbound", "2026-11-02T08:00:00Z", None)];
    let start = chrono::DateTime::parse_from_rfc3339("2026-11-02T08:00:01Z").unwrap();
    for i in 0..1002 {
        let ts = (start + chrono::Duration::seconds(i)).to_rfc3339();
        lines.push(l(&format!("s{i}"), ID_USER, "outbound", &ts, None));
    }
    // A second number of the same WABA has an allowance of its own.
    lines.push(line("in2", "W1", "+6221555001", ID_USER, "inbound", "api", "2026-11-02T09:00:00Z", None));
    lines.push(line("other", "W1", "+6221555001", ID_USER, "outbound", "api", "2026-11-02T09:00:01Z", None));
    let got = rate_by_id(&mut rater, &events(&lines.join("\n")));
    assert_eq!(summary(&got["s0"]).2, "free_allowance");
    assert_eq!(summary(&got["s999"]).2, "free_allowance", "message 1,000 is the last free one");
    assert_eq!(
        summary(&got["s1000"]),
        (true, "service", "regular", "Indonesia".into(), "0.0250".into()),
        "message 1,001"
    );
    assert_eq!(summary(&got["s1001"]).4, "0.0250", "service is charged at the utility rate");
    assert_eq!(summary(&got["other"]).2, "free_allowance");
}

#[test]
fn a_regime_boundary_falls_on_different_days_in_two_time_zones() {
    let config =
        format!("{W1}\n[waba.WJ]\ncurrency = \"USD\"\ntimezone = \"Asia/Jakarta\"\nprimary_country = \"ID\"\n");
    let mut rater = rater(None, &config);
    let jsonl = [
        l("u-in", ID_USER, "inbound", "2026-09-30T19:00:00Z", None),
        l("u-out", ID_USER, "outbound", "2026-09-30T20:00:00Z", None),
        line("j-in", "WJ", NUMBER, ID_USER, "inbound", "api", "2026-09-30T19:00:00Z", None),
        line("j-out", "WJ", NUMBER, ID_USER, "outbound", "api", "2026-09-30T20:00:00Z", None),
    ]
    .join("\n");
    let got = rate_by_id(&mut rater, &events(&jsonl));
    // 20:00 UTC on 30 September is 03:00 on 1 October in Jakarta (UTC+7).
    assert_eq!((got["u-out"].regime.as_ref(), summary(&got["u-out"]).2), ("pmp", "free_customer_service"));
    assert_eq!((got["j-out"].regime.as_ref(), summary(&got["j-out"]).2), ("pmp-2026-10", "free_allowance"));
}

#[test]
fn a_bsuid_link_carries_the_window() {
    let mut rater = rater(None, W1);
    let jsonl = [
        r#"{"id":"b1","waba":"W1","business_number":"+6221555000","user":"+6281234567890","user_id":"ID.77001","direction":"inbound","type":"text","timestamp":"2026-07-10T08:00:00Z"}"#.to_owned(),
        l("b2", "ID.77001", "outbound", "2026-07-10T09:00:00Z", None),
        l("b3", "ID.99999", "outbound", "2026-07-10T09:00:00Z", None),
    ]
    .join("\n");
    let got = rate_by_id(&mut rater, &events(&jsonl));
    assert_eq!(summary(&got["b2"]).2, "free_customer_service", "the window belongs to the user, not the identifier");
    assert_eq!(got["b2"].market.as_ref(), "Indonesia");
    assert!(got["b3"].violations.iter().any(|v| v.code == "pricing.outside_customer_service_window"));
}

#[test]
fn every_violation_code_with_its_default_action() {
    let config = format!(
        "{W1}\n[[waba.W1.numbers]]\nnumber = \"+6221555000\"\ncoexistence_onboarded_at = 2026-01-05T00:00:00Z\n"
    );
    let mut rater = rater(None, &config);
    let app = |id: &str, feature: &str| {
        format!(
            r#"{{"id":"{id}","waba":"W1","business_number":"+6221555000","user":"+6281234567890","direction":"outbound","side":"app","type":"text","timestamp":"2026-03-10T10:00:00Z","features":["{feature}"]}}"#
        )
    };
    let jsonl = [
        app("v-group", "group"),
        app("v-broadcast", "broadcast"),
        app("v-edit", "edit"),
        app("v-revoke", "revoke"),
        app("v-view-once", "view_once"),
        app("v-disappearing", "disappearing"),
        app("v-live", "live_location"),
        r#"{"id":"v-mm-lite","waba":"W1","business_number":"+6221555000","user":"+6281234567890","direction":"outbound","side":"api","type":"template","template_category":"marketing","timestamp":"2026-03-10T10:00:00Z","features":["mm_lite"]}"#.to_owned(),
        l("v-csw", "+5511987654321", "outbound", "2026-03-10T10:00:00Z", None),
        l("v-us", "+12125551234", "outbound", "2026-03-10T10:00:00Z", Some("marketing")),
    ]
    .join("\n");
    let got = rate_by_id(&mut rater, &events(&jsonl));
    let expect = [
        ("v-group", "coexistence.group_not_mirrored", Action::Flag),
        ("v-broadcast", "coexistence.broadcast_list_disabled", Action::Block),
        ("v-edit", "coexistence.edit_disabled", Action::Block),
        ("v-revoke", "coexistence.revoke_disabled", Action::Block),
        ("v-view-once", "coexistence.view_once_disabled", Action::Block),
        ("v-disappearing", "coexistence.disappearing_disabled", Action::Block),
        ("v-live", "coexistence.live_location_disabled", Action::Block),
        ("v-mm-lite", "coexistence.mm_lite_ineligible", Action::Block),
        ("v-csw", "pricing.outside_customer_service_window", Action::Block),
        ("v-us", "delivery.marketing_to_us_blocked", Action::Block),
    ];
    for (id, code, action) in expect {
        let v = &got[id].violations;
        assert_eq!(v.len(), 1, "{id}: {v:?}");
        assert_eq!((v[0].code.as_str(), v[0].action), (code, action), "{id}");
        assert!(!v[0].message.is_empty() && !v[0].feature.is_empty(), "{id}");
    }
    assert!(!got["v-mm-lite"].billable, "a blocked API send is not billed");
    assert_eq!(summary(&got["v-broadcast"]).2, "free_app_side", "app-side stays free");
}

#[test]
fn webhook_envelopes_rate_like_records() {
    let mut rater =
        rater(None, "[waba.102290129340398]\ncurrency = \"USD\"\ntimezone = \"UTC\"\nprimary_country = \"ID\"\n");
    let inbound = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6221555000","phone_number_id":"1"},"contacts":[{"wa_id":"6281234567890"}],"messages":[{"from":"6281234567890","id":"wamid.IN1","timestamp":"1767225600","type":"text","text":{"body":"Halo"}}]}}]}]}"#;
    let echo = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"smb_message_echoes","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6221555000","phone_number_id":"1"},"message_echoes":[{"from":"6221555000","to":"6281234567890","id":"wamid.ECHO1","timestamp":"1767225700","type":"text"}]}}]}]}"#;
    let history = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"history","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"6221555000","phone_number_id":"1"},"history":[{"metadata":{"phase":0,"chunk_order":1,"progress":100},"threads":[{"id":"919876543210","messages":[{"from":"919876543210","id":"wamid.H1","timestamp":"1767220000","type":"text"}]}]}]}}]}]}"#;
    let reply = line("wamid.OUT1", "102290129340398", NUMBER, ID_USER, "outbound", "api", "2026-01-01T00:05:00Z", None);
    let to_history_user =
        line("wamid.OUT2", "102290129340398", NUMBER, "+919876543210", "outbound", "api", "2026-01-01T00:05:00Z", None);
    let got = rate_by_id(&mut rater, &events(&[inbound, echo, history, &reply, &to_history_user].join("\n")));
    assert_eq!(summary(&got["wamid.ECHO1"]).2, "free_app_side");
    assert!(!summary(&got["wamid.H1"]).0);
    assert_eq!(summary(&got["wamid.OUT1"]).2, "free_customer_service", "the webhook inbound opened the window");
    assert!(
        got["wamid.OUT2"].violations.iter().any(|v| v.code == "pricing.outside_customer_service_window"),
        "a synced history message opens no API window"
    );
}

/// A dry run answers what a real run would, and leaves no trace: the same
/// events rated for real afterwards get the same results.
#[test]
fn dry_run_matches_the_real_run_and_changes_nothing() {
    use coexist_engine::synthetic;
    let start = coexist_engine::event::parse_timestamp("2026-03-01T00:00:00Z").unwrap();
    let traffic = synthetic::traffic(6_000, 3, 200, start, 11);
    let mut rater = common::rater(None, &synthetic::profiles_toml(3));
    let (first, second) = traffic.split_at(3_000);
    rater.rate(first);
    let dry_once = rater.rate_dry_run(second);
    let dry_twice = rater.rate_dry_run(second);
    let real = rater.rate(second);
    assert_eq!(dry_once, dry_twice);
    assert_eq!(dry_once, real);
    assert!(real.iter().filter_map(|r| r.as_ref().ok()).any(|r| r.cost.is_some_and(|c| !c.is_zero())));
}

/// A group rated under a journal and rolled back (its write failed) leaves
/// no trace: what comes after rates exactly as if it never happened, through
/// a BSUID link that merges two users, new users, windows and tiers. Kept,
/// it is the ordinary rating.
#[test]
fn a_rolled_back_group_leaves_no_trace() {
    let waba = coexist_engine::event::WabaId("W1".to_owned());
    let before = events(
        &[
            l("a1", ID_USER, "inbound", "2026-07-10T08:00:00Z", None),
            l("a2", "ID.77001", "outbound", "2026-07-10T08:10:00Z", Some("marketing")),
        ]
        .join("\n"),
    );
    let group = events(&[
        r#"{"id":"g1","waba":"W1","business_number":"+6221555000","user":"+6281234567890","user_id":"ID.77001","direction":"inbound","type":"text","timestamp":"2026-07-10T09:00:00Z"}"#.to_owned(),
        l("g2", "+6281200000001", "inbound", "2026-07-10T09:05:00Z", None),
        l("g3", "+6281200000002", "outbound", "2026-07-10T09:06:00Z", Some("marketing")),
    ]
    .join("\n"));
    let after = events(
        &[
            l("x1", "ID.77001", "outbound", "2026-07-10T10:00:00Z", None),
            l("x2", "+6281200000001", "outbound", "2026-07-10T10:00:00Z", None),
            l("x3", ID_USER, "outbound", "2026-07-10T10:00:00Z", None),
            l("x4", "+6281200000003", "outbound", "2026-07-10T10:01:00Z", Some("marketing")),
        ]
        .join("\n"),
    );

    let mut straight = rater(None, W1);
    rate_by_id(&mut straight, &before);
    let without_group = rate_by_id(&mut straight, &after);

    let mut rolled_back = rater(None, W1);
    rate_by_id(&mut rolled_back, &before);
    rolled_back.begin_journal(&waba);
    rate_by_id(&mut rolled_back, &group);
    rolled_back.rollback(&waba);
    assert_eq!(rate_by_id(&mut rolled_back, &after), without_group);
    assert!(without_group["x1"].violations.iter().any(|v| v.code == "pricing.outside_customer_service_window"));

    let mut kept = rater(None, W1);
    rate_by_id(&mut kept, &before);
    kept.begin_journal(&waba);
    rate_by_id(&mut kept, &group);
    kept.keep(&waba);
    let mut all = rater(None, W1);
    rate_by_id(&mut all, &before);
    rate_by_id(&mut all, &group);
    let with_group = rate_by_id(&mut all, &after);
    assert_eq!(rate_by_id(&mut kept, &after), with_group);
    assert_eq!(summary(&with_group["x1"]).2, "free_customer_service", "the link carried the window");
    assert_ne!(with_group, without_group);
}
