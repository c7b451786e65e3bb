//! Issue 4's "must show", black-box: the real `coexist serve` on loopback, a
//! real SQLite file and (when it answers) a real PostgreSQL server, real HTTP.
//! Time travels through `--test-clock` (PUT /v1/test/clock), never by sleeping.

mod support;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{meta, Daemon, Database, Options};

const NUMBER: &str = "+6221555000";
const DAY: i64 = 86_400;
/// 2026-03-01T00:00:00Z: the first onboarding.
const T0: i64 = 1_772_323_200;

fn clocked() -> Options {
    Options { extra_args: vec!["--test-clock".to_owned()], ..Options::default() }
}

async fn call(d: &Daemon, method: &str, path: &str, body: Option<Value>) -> (u16, Value, Option<String>) {
    let url = d.url(path);
    let mut r = match method {
        "PUT" => d.http.put(url),
        "POST" => d.http.post(url),
        _ => d.http.get(url),
    };
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), retry)
}

async fn set_clock(d: &Daemon, unix: i64) {
    let (status, body, _) = call(d, "PUT", "/v1/test/clock", Some(json!({ "now": unix.to_string() }))).await;
    assert_eq!(status, 200, "{body}");
}

async fn number(d: &Daemon) -> Value {
    let (status, body, _) = call(d, "GET", &format!("/v1/numbers/{NUMBER}"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn listed(d: &Daemon, status: &str) -> Vec<String> {
    let (code, body, _) = call(d, "GET", &format!("/v1/numbers?status={status}"), None).await;
    assert_eq!(code, 200, "{body}");
    body["numbers"].as_array().unwrap().iter().map(|n| n["number"].as_str().unwrap().to_owned()).collect()
}

/// A refusal: its status and code, a sentence, and details.
fn refused(status: u16, body: &Value, want_status: u16, code: &str) -> Value {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.len() > 20), "{body}");
    body["error"]["details"].clone()
}

/// A `history` delivery: chunks of (phase, chunk_order, progress, declined,
/// messages as (id, unix seconds, type)).
type Chunk<'a> = (u8, u32, u8, bool, &'a [(&'a str, i64, &'a str)]);

fn history(chunks: &[Chunk<'_>]) -> String {
    let digits = NUMBER.trim_start_matches('+');
    let list: Vec<Value> = chunks
        .iter()
        .map(|(phase, order, progress, declined, messages)| {
            let meta = json!({ "phase": phase, "chunk_order": order, "progress": progress });
            if *declined {
                return json!({ "metadata": meta, "errors": [{ "code": 2593109, "title": "declined" }] });
            }
            let msgs: Vec<Value> = messages
                .iter()
                .enumerate()
                .map(|(i, (id, ts, kind))| {
                    if i % 2 == 0 {
                        json!({ "from": digits, "to": "6281234567890", "id": id, "timestamp": ts.to_string(),
                                "type": kind, "history_context": { "status": "delivered" } })
                    } else {
                        json!({ "from": "6281234567890", "id": id, "timestamp": ts.to_string(),
                                "type": kind, "history_context": { "status": "read" } })
                    }
                })
                .collect();
            json!({ "metadata": meta, "threads": [{ "id": "6281234567890", "messages": msgs }] })
        })
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "W1", "changes": [{ "field": "history",
        "value": { "messaging_product": "whatsapp",
                   "metadata": { "display_phone_number": digits, "phone_number_id": "1" },
                   "history": list } }] }] })
    .to_string()
}

fn offboarded() -> String {
    json!({ "object": "whatsapp_business_account", "entry": [{ "id": "W1", "changes": [{ "field": "account_update",
        "value": { "phone_number": NUMBER.trim_start_matches('+'), "event": "ACCOUNT_OFFBOARDED" } }] }] })
    .to_string()
}

fn echo(id: &str, at: i64) -> String {
    meta::echoes("W1", NUMBER, &[(id.to_owned(), "+6281234567890".to_owned(), at)])
}

/// One number's whole life, on a given database.
async fn whole_life(db: &Database) {
    let d = Daemon::start(db, &clocked());

    // Onboarding.
    set_clock(&d, T0 + 2 * 3600).await;
    let reg = json!({ "waba": "W1", "coexistence": true, "onboarded_at": T0.to_string() });
    let (status, body, _) = call(&d, "PUT", &format!("/v1/numbers/{NUMBER}"), Some(reg.clone())).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["eligibility"]["status"], "eligible");
    assert_eq!(body["keep_alive"]["status"], "ok");
    assert_eq!(body["keep_alive"]["days_left"], 13);
    assert_eq!(body["sync"]["history"]["state"], "open");
    assert_eq!(body["sync"]["history"]["hours_left"], 22.0);
    assert_eq!(body["companion_devices"]["unlinked_at"], "2026-03-01T00:00:00Z");
    assert_eq!(body["throughput"]["limit_per_second"], 20);

    // A sync requested in time, then the same type again, then one too late.
    let sync = |kind: &str| json!({ "type": kind });
    let path = format!("/v1/numbers/{NUMBER}/sync-requests");
    let (status, body, _) = call(&d, "POST", &path, Some(sync("history"))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["meta_sync_type"], "history");
    let (status, body, _) = call(&d, "POST", &path, Some(sync("history"))).await;
    let details = refused(status, &body, 409, "coexistence.sync_already_requested");
    assert_eq!(details["requested_at"], "2026-03-01T02:00:00+00:00");
    set_clock(&d, T0 + 30 * 3600).await;
    let (status, body, _) = call(&d, "POST", &path, Some(sync("contacts"))).await;
    let details = refused(status, &body, 409, "coexistence.sync_window_missed");
    assert_eq!(details["hours_late"], 6.0, "{details}");
    assert_eq!(details["window_hours"], 24);
    let state = number(&d).await;
    assert_eq!(state["sync"]["contacts"]["state"], "missed");
    assert_eq!(state["sync"]["contacts"]["hours_late"], 6.0);
    assert_eq!(state["sync"]["history"]["state"], "requested");
    assert_eq!(listed(&d, "missed").await, [NUMBER]);

    // An echo, then history chunks out of order: one repeats the echo, one
    // message is older than 180 days, one is media older than 14 days; then a decline.
    let (status, body) = d.webhook(&echo("wamid.E1", T0 + 3600)).await;
    assert_eq!(status, 200, "{body}");
    let second: &[(&str, i64, &str)] =
        &[("wamid.H3", T0 - 30 * DAY, "media_placeholder"), ("wamid.H4", T0 - 200 * DAY, "text")];
    let first: &[(&str, i64, &str)] = &[("wamid.H1", T0 - 3600, "text"), ("wamid.E1", T0 + 3600, "text")];
    let (status, body) = d.webhook(&history(&[(1, 2, 60, false, second)])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["history_refused_too_old"], 1, "{body}");
    let (status, body) = d.webhook(&history(&[(0, 1, 30, false, first)])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["history_duplicates"], 1, "{body}");
    let progress = number(&d).await["sync"]["history"]["progress"].clone();
    assert_eq!(progress["state"], "in_progress", "{progress}");
    assert_eq!((progress["percent"].as_u64(), progress["phase"].as_u64()), (Some(60), Some(1)));
    assert_eq!(progress["phases"][1]["missing_chunks"], json!([1]));
    assert_eq!((progress["messages_stored"].as_u64(), progress["unsynced_media"].as_u64()), (Some(2), Some(1)));
    assert_eq!((progress["messages_refused_too_old"].as_u64(), progress["duplicates"].as_u64()), (Some(1), Some(1)));
    let (status, body) = d.webhook(&history(&[(2, 1, 60, true, &[])])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(number(&d).await["sync"]["history"]["progress"]["state"], "declined");
    // History is app-side and free; the echo's id is stored once.
    let entries = d.ledger("?waba=W1").await;
    let ids: Vec<&str> = entries.iter().filter_map(|e| e["id"].as_str()).collect();
    assert_eq!(ids.iter().filter(|id| **id == "wamid.E1").count(), 1, "{ids:?}");
    assert!(!ids.contains(&"wamid.H4"), "a message older than 180 days is refused: {ids:?}");
    for e in entries.iter().filter(|e| e["id"].as_str().is_some_and(|i| i.starts_with("wamid.H"))) {
        assert_eq!((e["billable"].as_bool(), e["amount"].as_str()), (Some(false), Some("0")), "{e}");
        assert_eq!(e["pricing_type"], "free_app_side", "{e}");
    }

    // The history delivery was app activity at T0+30h. 12 days later: warning.
    let last = T0 + 30 * 3600;
    set_clock(&d, last + 12 * DAY).await;
    let keep = number(&d).await["keep_alive"].clone();
    assert_eq!(
        (keep["status"].as_str(), keep["days_since"].as_i64(), keep["days_left"].as_i64()),
        (Some("warning"), Some(12), Some(1))
    );
    assert_eq!(listed(&d, "warning").await, [NUMBER]);
    assert!(listed(&d, "stale").await.is_empty());
    // 14 days: stale, in the list and in the metric.
    set_clock(&d, last + 14 * DAY).await;
    let keep = number(&d).await["keep_alive"].clone();
    assert_eq!(
        (keep["status"].as_str(), keep["days_left"].as_i64(), keep["days_stale"].as_i64()),
        (Some("stale"), Some(0), Some(1))
    );
    assert_eq!(listed(&d, "stale").await, [NUMBER]);
    let (_, metrics) = d.get_text("/metrics").await;
    assert!(metrics.lines().any(|l| l == "coexist_numbers_stale 1"), "{metrics}");

    // An echo: back to ok.
    let (status, body) = d.webhook(&echo("wamid.E2", last + 14 * DAY)).await;
    assert_eq!(status, 200, "{body}");
    let keep = number(&d).await["keep_alive"].clone();
    assert_eq!(
        (keep["status"].as_str(), keep["source"].as_str(), keep["days_left"].as_i64()),
        (Some("ok"), Some("echo"), Some(13))
    );
    assert!(listed(&d, "stale").await.is_empty());

    // Offboarding: flagged API sends, no more syncs.
    set_clock(&d, last + 15 * DAY).await;
    let (status, body) = d.webhook(&offboarded()).await;
    assert_eq!(status, 200, "{body}");
    let state = number(&d).await;
    assert_eq!(
        (state["offboarded"].as_bool(), state["keep_alive"]["status"].as_str()),
        (Some(true), Some("not_applicable"))
    );
    let send = json!({"id":"api-after-offboarding","waba":"W1","business_number":NUMBER,"user":"+6281234567890",
        "direction":"outbound","type":"template","template_category":"utility","timestamp":"2026-03-20T10:00:00Z"});
    let (status, body) = d.rate("", send.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["violations"].as_array().unwrap().iter().any(|v| v["code"] == "coexistence.number_offboarded"),
        "{body}"
    );
    let (status, body, _) = call(&d, "POST", &path, Some(sync("history"))).await;
    refused(status, &body, 409, "coexistence.offboarded");

    // Re-onboarding: a new onboarding with new sync windows.
    let again = T0 + 40 * DAY;
    set_clock(&d, again + 3600).await;
    let reg = json!({ "waba": "W1", "coexistence": true, "onboarded_at": again.to_string() });
    let (status, body, _) = call(&d, "PUT", &format!("/v1/numbers/{NUMBER}"), Some(reg)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["onboarding"].as_u64(), body["offboarded"].as_bool()), (Some(2), Some(false)));
    assert_eq!(body["sync"]["history"]["state"], "open");
    assert_eq!(body["sync"]["history"]["progress"]["state"], "not_started");
    let (status, body, _) = call(&d, "POST", &path, Some(sync("contacts"))).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_number_lives_its_whole_life_on_sqlite() {
    whole_life(&Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_number_lives_its_whole_life_on_postgres() {
    let Some(db) = Database::postgres("lifecycle_life").await else { return };
    whole_life(&db).await;
}

async fn eligibility(d: &Daemon, number: &str, at: &str) -> Value {
    let (status, body, _) = call(d, "GET", &format!("/v1/eligibility?number=%2B{}&at={at}", &number[1..]), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eligibility_follows_the_list_in_force() {
    let db = Database::sqlite();
    let d = Daemon::start(&db, &Options::default());
    for (number, country) in
        [("+447700900123", "GB"), ("+4915123456789", "DE"), ("+61412345678", "AU"), ("+27821234567", "ZA")]
    {
        let v = eligibility(&d, number, "2025-10-01").await;
        assert_eq!(v["status"], "ineligible", "{v}");
        assert_eq!(v["rule"]["country"], country, "{v}");
        assert_eq!(v["rule"]["list_from"], "2025-09-13", "{v}");
        assert_eq!(v["alternatives"], json!(["app_only", "api_only"]), "{v}");
    }
    for number in ["+6281234567890", "+5511988887777"] {
        let v = eligibility(&d, number, "2025-10-01").await;
        assert_eq!((v["status"].as_str(), v["rule"].is_null()), (Some("eligible"), true), "{v}");
    }
    let uk = eligibility(&d, "+447700900123", "2026-04-01").await;
    assert_eq!(
        (uk["status"].as_str(), uk["list"]["effective_from"].as_str()),
        (Some("eligible"), Some("2026-03-20")),
        "{uk}"
    );
    assert_eq!(eligibility(&d, "+27821234567", "2026-04-01").await["status"], "ineligible");

    // Registering an ineligible number in Coexistence is refused, with the rule.
    let reg = |coexistence| json!({ "waba": "W1", "coexistence": coexistence, "onboarded_at": "2025-10-01T09:00:00Z" });
    let (status, body, _) = call(&d, "PUT", "/v1/numbers/+447700900123", Some(reg(true))).await;
    let details = refused(status, &body, 422, "coexistence.region_ineligible");
    assert_eq!(
        (details["rule"]["country"].as_str(), details["at"].as_str()),
        (Some("GB"), Some("2025-10-01")),
        "{details}"
    );
    assert_eq!(details["alternatives"], json!(["app_only", "api_only"]));
    let (status, body, _) = call(&d, "PUT", "/v1/numbers/+447700900123", Some(reg(false))).await;
    assert_eq!(status, 201, "API-only is fine: {body}");
    let (status, body, _) = call(&d, "GET", "/v1/eligibility?number=447", None).await;
    refused(status, &body, 422, "request.invalid_parameter");

    // Unless the policy says `flag`.
    let dir = tempfile::tempdir().unwrap();
    let bundled = std::fs::read_to_string(support::fixtures().join("../../policies/eligibility.toml")).unwrap();
    std::fs::write(dir.path().join("eligibility.toml"), bundled.replace("action = \"block\"", "action = \"flag\""))
        .unwrap();
    let flagged =
        Options { extra_args: vec!["--policies".to_owned(), dir.path().display().to_string()], ..Options::default() };
    let db = Database::sqlite();
    let d = Daemon::start(&db, &flagged);
    let (status, body, _) = call(&d, "PUT", "/v1/numbers/+447700900123", Some(reg(true))).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["coexistence"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_states_the_limit_and_when_to_retry() {
    let db = Database::sqlite();
    let d = Daemon::start(&db, &Options::default());
    for (number, coexistence, class, limit) in
        [("+6221555000", true, None, 20), ("+6221555001", true, Some("regional"), 5), ("+6221555002", false, None, 80)]
    {
        let reg = json!({ "waba": "W1", "coexistence": coexistence, "onboarded_at": "2026-03-01T00:00:00Z",
                          "throughput_class": class });
        let (status, body, _) = call(&d, "PUT", &format!("/v1/numbers/{number}"), Some(reg)).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["throughput"]["limit_per_second"], limit, "{body}");
    }
    let admit = |n: u32| Some(json!({ "count": n }));
    let (status, body, _) = call(&d, "POST", "/v1/numbers/+6221555000/admit", admit(10)).await;
    assert_eq!(
        (status, body["decision"].as_str(), body["remaining"].as_u64()),
        (200, Some("allowed"), Some(0)),
        "{body}"
    );
    let (status, body, retry) = call(&d, "POST", "/v1/numbers/+6221555000/admit", admit(1)).await;
    let details = refused(status, &body, 429, "coexistence.throughput_exceeded");
    assert_eq!((details["limit_per_second"].as_u64(), details["burst"].as_u64()), (Some(20), Some(10)));
    let retry_ms = details["retry_after_ms"].as_i64().unwrap();
    assert!((1..=50).contains(&retry_ms), "{details}");
    assert_eq!(retry.as_deref(), Some("1"));
    let (status, body, _) = call(&d, "POST", "/v1/numbers/+6221555000/admit", admit(11)).await;
    assert_eq!(refused(status, &body, 422, "request.invalid_parameter")["burst"], 10);
    let (status, body, _) = call(&d, "POST", "/v1/numbers/+6299999999/admit", admit(1)).await;
    refused(status, &body, 404, "number.not_registered");

    // The rate path flags an API send over the budget.
    let send = json!({"id":"over-budget","waba":"W1","business_number":"+6221555000","user":"+6281234567890",
        "direction":"outbound","type":"template","template_category":"utility","timestamp":"2026-03-02T10:00:00Z"});
    let (status, body) = d.rate("", send.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let flag = body["violations"].as_array().unwrap().iter().find(|v| v["code"] == "coexistence.throughput_exceeded");
    assert_eq!(flag.map(|f| f["action"].clone()), Some(json!("flag")), "{body}");

    // MM Lite and a currency change on a Coexistence number are refused with their codes.
    let mm = json!({"id":"mm-lite","waba":"W1","business_number":"+6221555001","user":"+6281234567890",
        "direction":"outbound","type":"template","template_category":"marketing","features":["mm_lite"],
        "timestamp":"2026-03-02T10:00:00Z"});
    let (status, body) = d.rate("", mm.to_string()).await;
    assert_eq!(status, 200, "{body}");
    let v =
        body["violations"].as_array().unwrap().iter().find(|v| v["code"] == "coexistence.mm_lite_ineligible").cloned();
    assert_eq!(v.map(|v| v["action"].clone()), Some(json!("block")), "{body}");
    let (status, body, _) =
        call(&d, "POST", "/v1/numbers/+6221555000/currency-change", Some(json!({ "currency": "EUR" }))).await;
    refused(status, &body, 409, "coexistence.currency_change_unavailable");

    // Echoes are checked against the feature trade-offs like API messages.
    let edit =
        meta::echoes("W1", "+6221555000", &[("wamid.EDIT".to_owned(), "+6281234567890".to_owned(), 1_772_409_600)])
            .replace("\"type\":\"text\"", "\"type\":\"edit\"");
    let (status, body) = d.webhook(&edit).await;
    assert_eq!(status, 200, "{body}");
    let (_, entries) = d.get("/v1/ledger?waba=W1").await;
    assert!(entries["entries"].as_array().unwrap().iter().any(|e| e["id"] == "wamid.EDIT"), "{entries}");
}

/// Hammers `admit` for one number for `for_` from `tasks` concurrent loops;
/// returns (admitted, first request sent, last answer received).
async fn hammer(d: &Daemon, number: &str, tasks: usize, for_: Duration) -> (u64, Instant, Instant) {
    let start = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (http, url) = (d.http.clone(), d.url(&format!("/v1/numbers/{number}/admit")));
        handles.push(tokio::spawn(async move {
            let mut admitted = 0u64;
            while start.elapsed() < for_ {
                let resp = http.post(&url).json(&json!({ "count": 1 })).send().await.expect("admit");
                match resp.status().as_u16() {
                    200 => admitted += 1,
                    429 => {}
                    other => panic!("admit answered {other}: {}", resp.text().await.unwrap_or_default()),
                }
            }
            admitted
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.expect("task");
    }
    (total, start, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_postgres_share_one_budget() {
    let Some(db) = Database::postgres("lifecycle_replicas").await else { return };
    let writer = Daemon::start(&db, &Options::default());
    let replica = Daemon::start(&db, &Options { extra_args: vec!["--replica".to_owned()], ..Options::default() });
    let reg = json!({ "waba": "W1", "coexistence": true, "onboarded_at": "2026-03-01T00:00:00Z" });
    let (status, body, _) = call(&writer, "PUT", "/v1/numbers/+6221555000", Some(reg)).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["throughput"]["shared_across_replicas"], true);
    // The replica sees the registration and refuses ledger writes.
    let (status, body, _) = call(&replica, "GET", "/v1/numbers/+6221555000", None).await;
    assert_eq!(status, 200, "{body}");
    let send = json!({"id":"r1","waba":"W1","business_number":"+6221555000","user":"+6281234567890",
        "direction":"outbound","type":"template","template_category":"utility","timestamp":"2026-03-02T10:00:00Z"});
    let (status, body) = replica.rate("", send.to_string()).await;
    refused(status, &body, 503, "ledger.replica");

    let five = Duration::from_secs(5);
    let (a, b) = tokio::join!(hammer(&writer, "+6221555000", 4, five), hammer(&replica, "+6221555000", 4, five));
    let span = a.2.max(b.2).duration_since(a.1.min(b.1)).as_secs_f64();
    let admitted = a.0 + b.0;
    let bound = (20.0 * span).ceil() as u64 + 10;
    eprintln!("two replicas admitted {admitted} ({} + {}) in {span:.2} s; bound {bound}", a.0, b.0);
    assert!(admitted <= bound, "admitted {admitted} > 20/s × {span:.2} s + burst 10");
    assert!(a.0 > 0 && b.0 > 0, "both replicas admitted some: {} and {}", a.0, b.0);
    assert!(admitted >= 90, "the budget was used: {admitted}");

    // A number registered through the replica reaches the writer's rating
    // without a restart: the writer hears of it.
    let reg = json!({ "waba": "W1", "coexistence": true, "onboarded_at": "2026-03-01T00:00:00Z" });
    let (status, body, _) = call(&replica, "PUT", "/v1/numbers/+6221555001", Some(reg)).await;
    assert_eq!(status, 201, "{body}");
    let view_once = json!({"id":"r2","waba":"W1","business_number":"+6221555001","user":"+6281234567890",
        "direction":"outbound","type":"template","template_category":"utility","features":["view_once"],
        "timestamp":"2026-03-02T10:00:00Z"});
    let flagged = |body: &Value| {
        body["violations"].as_array().is_some_and(|v| v.iter().any(|v| v["code"] == "coexistence.view_once_disabled"))
    };
    let mut heard = None;
    for attempt in 0..100 {
        let (status, body) = writer.rate("?dry_run=true", view_once.to_string()).await;
        assert_eq!(status, 200, "{body}");
        if flagged(&body) {
            heard = Some(attempt);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let heard = heard.expect("the writer rated the replica's registration as Coexistence within 5 s");
    eprintln!("the writer heard of the replica's registration after {heard} dry runs 50 ms apart");
    let (status, body) = writer.rate("", view_once.to_string()).await;
    assert!(status == 200 && flagged(&body), "{status} {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_what_the_api_answers() {
    let db = Database::sqlite();
    let d = Daemon::start(&db, &Options::default());
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_coexist"))
            .arg("numbers")
            .args(args)
            .args(["--url", &d.base])
            .env_remove("COEXIST_TOKEN")
            .output()
            .expect("run coexist numbers");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) =
        cli(&["register", NUMBER, "--waba", "W1", "--coexistence", "--onboarded-at", "2026-03-01T00:00:00Z"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = cli(&["show", NUMBER]);
    assert_eq!(code, Some(0), "{err}");
    let shown: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((shown["number"].as_str(), shown["waba"].as_str()), (Some(NUMBER), Some("W1")));
    let (code, out, _) = cli(&["eligibility", "+447700900123", "--at", "2025-10-01"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"ineligible\""), "{out}");
    let (code, _, err) = cli(&["sync", NUMBER, "--type", "history"]);
    assert_eq!(code, Some(1), "the window closed long ago");
    assert!(err.contains("coexistence.sync_window_missed"), "{err}");
    let (code, out, _) = cli(&["list", "--status", "missed"]);
    assert_eq!(code, Some(0));
    assert!(out.contains(NUMBER), "{out}");
}

/// The registry feeds the rating: a number registered in Coexistence (and
/// not in the WABA profile) gets the Coexistence trade-offs on its API
/// sends from its onboarding on, also after a restart; before it, and once
/// registered as API-only, it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_number_is_rated_as_coexistence() {
    let db = Database::sqlite();
    let send = |id: &str, at: &str| {
        json!({"id": id, "waba": "W1", "business_number": "+6221555007", "user": "+6281234567890",
            "direction": "outbound", "type": "template", "template_category": "utility",
            "features": ["view_once"], "timestamp": at})
        .to_string()
    };
    let flagged = |body: &Value| {
        body["violations"].as_array().unwrap().iter().any(|v| v["code"] == "coexistence.view_once_disabled")
    };
    let d = Daemon::start(&db, &Options::default());
    let (status, body) = d.rate("", send("before-registration", "2026-03-02T09:00:00Z")).await;
    assert_eq!(status, 200, "{body}");
    assert!(!flagged(&body), "an unregistered API-only number has no trade-offs: {body}");

    let reg = json!({"waba": "W1", "coexistence": true, "onboarded_at": "2026-03-01T00:00:00Z"});
    let (status, body, _) = call(&d, "PUT", "/v1/numbers/+6221555007", Some(reg)).await;
    assert_eq!(status, 201, "{body}");
    let (_, body) = d.rate("", send("registered", "2026-03-02T10:00:00Z")).await;
    assert!(flagged(&body), "a registered Coexistence number: {body}");
    let (_, body) = d.rate("", send("before-onboarding", "2026-02-27T10:00:00Z")).await;
    assert!(!flagged(&body), "a send before the onboarding: {body}");
    d.kill();

    // After a restart the registry is read back from the store.
    let d = Daemon::start(&db, &Options::default());
    let (_, body) = d.rate("", send("after-restart", "2026-03-02T11:00:00Z")).await;
    assert!(flagged(&body), "after a restart: {body}");
    let reg = json!({"waba": "W1", "coexistence": false, "onboarded_at": "2026-03-01T00:00:00Z"});
    let (status, body, _) = call(&d, "PUT", "/v1/numbers/+6221555007", Some(reg)).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = d.rate("", send("api-only", "2026-03-02T12:00:00Z")).await;
    assert!(!flagged(&body), "registered as API-only: {body}");
}
