//! Black-box tests of the ledger's behaviour over time: late events, statuses,
//! webhooks, reconciliation and restarts, on SQLite and on PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::{meta, Daemon, Database, Options};

const BUSINESS: &str = "+6221555000";
const BRAZIL: &str = "+5511987654321";
const INDONESIA: &str = "+6281234567890";

/// 2026-03-10T13:00:00Z.
const T13: i64 = 1_773_147_600;

fn record(id: &str, user: &str, at: i64, template: Option<&str>) -> String {
    let mut e = json!({ "id": id, "waba": "W1", "business_number": BUSINESS, "user": user,
                        "direction": "outbound", "side": "api", "type": "text", "timestamp": at });
    if let Some(c) = template {
        e["type"] = json!("template");
        e["template_category"] = json!(c);
    }
    e.to_string()
}

fn entries_of<'a>(ledger: &'a [Value], id: &str) -> Vec<&'a Value> {
    ledger.iter().filter(|e| e["id"] == id).collect()
}

/// A late inbound opens the window earlier: the reply already stored is
/// re-rated, by a reversal and a new charge, and totals stay exact.
async fn late_inbound_rerates_the_reply(db: Database) {
    let daemon = Daemon::start(&db, &Options::default());
    let (status, reply) = daemon.rate("", record("r1", BRAZIL, T13 + 300, None)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["violations"][0]["code"], "pricing.outside_customer_service_window");

    let inbound = meta::inbound("W1", BUSINESS, &[("in1".into(), BRAZIL.into(), T13, false)]);
    let (status, ack) = daemon.webhook(&inbound).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["messages"], 1);

    let ledger = daemon.ledger("?waba=W1").await;
    let r1 = entries_of(&ledger, "r1");
    let kinds: Vec<(&str, &str)> =
        r1.iter().map(|e| (e["kind"].as_str().unwrap(), e["cause"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("charge", "rated"), ("reversal", "late_event"), ("charge", "late_event")]);
    assert_eq!(r1[1]["reverses"], r1[0]["seq"]);
    assert_eq!(
        r1[1]["amount"],
        r1[0]["amount"].as_str().map(|a| if a == "0" { "0".to_owned() } else { format!("-{a}") }).unwrap_or_default()
    );
    assert_eq!(r1[2]["pricing_type"], "free_customer_service");
    let live = support::live_entries(&ledger);
    let live_total: rust_decimal::Decimal =
        live.values().filter_map(|e| e["amount"].as_str()).map(|a| a.parse::<rust_decimal::Decimal>().unwrap()).sum();
    assert_eq!(support::ledger_total(&ledger), live_total);

    // The delivery again: nothing changes.
    let (status, _) = daemon.webhook(&inbound).await;
    assert_eq!(status, 200);
    assert_eq!(daemon.ledger("?waba=W1").await, ledger);

    // Asking for the reply again answers its current verdict.
    let (_, again) = daemon.rate("", record("r1", BRAZIL, T13 + 300, None)).await;
    assert_eq!(again["pricing_type"], "free_customer_service");
}

#[tokio::test]
async fn late_inbound_on_sqlite() {
    late_inbound_rerates_the_reply(Database::sqlite()).await;
}

#[tokio::test]
async fn late_inbound_on_postgres() {
    if let Some(db) = Database::postgres("late_inbound").await {
        late_inbound_rerates_the_reply(db).await;
    }
}

/// A delivery that arrives before its send record is billed from Meta's
/// pricing; the send record then replaces it. A failed delivery reverses a
/// charge. Meta's disagreement shows in reconciliation.
async fn statuses_stand_in_fail_and_reconcile(db: Database) {
    let daemon = Daemon::start(&db, &Options::default());
    let delivered: meta::Status =
        ("s1".into(), INDONESIA.into(), "delivered", T13 + 60, Some((true, "regular", "marketing")));
    let (status, ack) = daemon.webhook(&meta::statuses("W1", BUSINESS, &[delivered])).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(ack["statuses"], 1);
    let ledger = daemon.ledger("?waba=W1").await;
    let s1 = entries_of(&ledger, "s1");
    assert_eq!(s1.len(), 1);
    assert_eq!((s1[0]["category"].as_str(), s1[0]["amount"].as_str()), (Some("marketing"), Some("0.0411")));

    // The send record says utility: it replaces the stand-in.
    let (status, result) = daemon.rate("", record("s1", INDONESIA, T13, Some("utility"))).await;
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["category"], "utility");
    let ledger = daemon.ledger("?waba=W1").await;
    let s1 = entries_of(&ledger, "s1");
    let kinds: Vec<(&str, &str)> =
        s1.iter().map(|e| (e["kind"].as_str().unwrap(), e["cause"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("charge", "rated"), ("reversal", "send_record"), ("charge", "send_record")]);
    assert_eq!(s1[2]["category"], "utility");
    assert_eq!(s1[2]["meta_pricing"]["category"], "marketing", "the entry keeps Meta's pricing");

    // Meta said marketing, we say utility: reconciliation shows both sides.
    let (status, rec) = daemon.get("/v1/reconciliation?waba=W1").await;
    assert_eq!(status, 200, "{rec}");
    let m = rec["mismatches"].as_array().unwrap().iter().find(|m| m["id"] == "s1").expect("s1 disagrees");
    assert_eq!(m["ours"]["category"], "utility");
    assert_eq!(m["meta"]["category"], "marketing");
    assert_eq!(m["differs"], json!(["category"]));

    // A marketing send that then fails: reversed to zero.
    let (_, sent) = daemon.rate("", record("f1", INDONESIA, T13 + 600, Some("marketing"))).await;
    assert_eq!(sent["cost"], "0.0411");
    let failed: meta::Status = ("f1".into(), INDONESIA.into(), "failed", T13 + 605, None);
    let (status, _) = daemon.webhook(&meta::statuses("W1", BUSINESS, std::slice::from_ref(&failed))).await;
    assert_eq!(status, 200);
    let ledger = daemon.ledger("?waba=W1").await;
    let f1 = entries_of(&ledger, "f1");
    let amounts: Vec<&str> = f1.iter().map(|e| e["amount"].as_str().unwrap()).collect();
    assert_eq!(amounts, ["0.0411", "-0.0411", "0"]);
    assert_eq!(f1[2]["pricing_type"], "not_billable");
    // The same failure again changes nothing.
    daemon.webhook(&meta::statuses("W1", BUSINESS, &[failed])).await;
    assert_eq!(daemon.ledger("?waba=W1").await.len(), ledger.len());
}

#[tokio::test]
async fn statuses_on_sqlite() {
    statuses_stand_in_fail_and_reconcile(Database::sqlite()).await;
}

#[tokio::test]
async fn statuses_on_postgres() {
    if let Some(db) = Database::postgres("statuses").await {
        statuses_stand_in_fail_and_reconcile(db).await;
    }
}

/// Windows survive a SIGKILL: a reply after the restart is still free.
async fn state_survives_a_restart(db: Database) {
    let daemon = Daemon::start(&db, &Options::default());
    let inbound = meta::inbound("W1", BUSINESS, &[("in1".into(), INDONESIA.into(), T13, false)]);
    assert_eq!(daemon.webhook(&inbound).await.0, 200);
    daemon.kill();
    let daemon = Daemon::start(&db, &Options::default());
    let (status, reply) = daemon.rate("", record("r1", INDONESIA, T13 + 3600, None)).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["pricing_type"], "free_customer_service");
    assert_eq!(reply["violations"], json!([]));
    let ledger = daemon.ledger("").await;
    let seqs: Vec<i64> = ledger.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [1, 2], "sequence numbers continue after the restart");
}

#[tokio::test]
async fn restart_on_sqlite() {
    state_survives_a_restart(Database::sqlite()).await;
}

#[tokio::test]
async fn restart_on_postgres() {
    if let Some(db) = Database::postgres("restart").await {
        state_survives_a_restart(db).await;
    }
}

#[tokio::test]
async fn webhook_handshake_and_signatures() {
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &Options::default());
    let (status, text) = daemon
        .get_text(&format!(
            "/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token={}&hub.challenge=42abc",
            support::VERIFY_TOKEN
        ))
        .await;
    assert_eq!((status, text.as_str()), (200, "42abc"));
    let (status, e) = daemon.get("/v1/webhooks/meta?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").await;
    assert_eq!((status, e["error"]["code"].as_str()), (403, Some("webhook.verify_failed")), "{e}");

    let body = meta::inbound("W1", BUSINESS, &[("in1".into(), INDONESIA.into(), T13, false)]);
    let post = |sig: String, body: String| {
        support::send(daemon.http.post(daemon.url("/v1/webhooks/meta")).header("x-hub-signature-256", sig).body(body))
    };
    let (status, e) = post(support::sign(&body, "another secret"), body.clone()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("webhook.bad_signature")), "{e}");
    let tampered = body.replace("in1", "in2");
    let (status, _) = post(support::sign(&body, support::APP_SECRET), tampered).await;
    assert_eq!(status, 401);
    let (status, _) = post("sha256=zz".into(), body.clone()).await;
    assert_eq!(status, 401);
    assert!(daemon.ledger("").await.is_empty(), "nothing unsigned is stored");

    let garbage = "{\"object\": \"whatsapp_business_account\", \"entry\": [";
    let (status, e) = post(support::sign(garbage, support::APP_SECRET), garbage.into()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("request.malformed_json")), "{e}");

    let (status, ack) = daemon.webhook(&body).await;
    assert_eq!(status, 200, "{ack}");
    assert_eq!(daemon.ledger("").await.len(), 1);
}
