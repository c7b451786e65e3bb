//! Replay and crash: a day of mixed traffic, replayed shuffled, and a daemon
//! killed mid-stream, must leave exactly the ledger of one ordered pass.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use coexist_engine::event::{Direction, Event, Side};
use coexist_engine::synthetic;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::Value;
use support::{meta, Daemon, Database, Options};

/// One thing Meta or the CRM tells us.
#[derive(Clone)]
enum Item {
    Record(String),
    Inbound { waba: String, business: String, message: (String, String, i64, bool) },
    Echo { waba: String, business: String, message: (String, String, i64) },
    Status { waba: String, business: String, status: meta::Status },
}

fn start() -> DateTime<Utc> {
    "2026-03-10T00:00:00Z".parse().unwrap()
}

fn config() -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), synthetic::profiles_toml(3)).unwrap();
    file
}

/// Synthetic messages of 3 WABAs (3 numbers), 30 markets, spread over a day.
fn messages(count: usize, seed: u64) -> Vec<Event> {
    let t0 = start();
    synthetic::traffic(count, 3, 400, t0, seed)
        .into_iter()
        .map(|mut e| {
            e.at = t0 + (e.at - t0) * 8;
            e
        })
        .collect()
}

/// Messages as deliveries: send records for API sends (with their statuses),
/// webhooks for inbound messages and Business App echoes.
fn day_of_traffic(count: usize) -> Vec<Item> {
    let mut items = Vec::new();
    for (i, e) in messages(count, 5).into_iter().enumerate() {
        let waba = e.waba.0.clone();
        let business = e.business_number.as_str().to_owned();
        let user = e.user.display().to_owned();
        let ts = e.at.timestamp();
        match (e.direction, e.side) {
            (Direction::Inbound, _) => {
                items.push(Item::Inbound { waba, business, message: (e.id.to_string(), user, ts, e.referral) })
            }
            (Direction::Outbound, Side::App) => {
                items.push(Item::Echo { waba, business, message: (e.id.to_string(), user, ts) })
            }
            (Direction::Outbound, Side::Api) => {
                items.push(Item::Record(synthetic::to_json_line(&e)));
                let pricing = match e.template_category {
                    Some(c) => {
                        let category = match c {
                            coexist_engine::event::TemplateCategory::Marketing => "marketing",
                            coexist_engine::event::TemplateCategory::Utility => "utility",
                            coexist_engine::event::TemplateCategory::Authentication => "authentication",
                        };
                        Some((true, "regular", category))
                    }
                    None => Some((false, "free_customer_service", "service")),
                };
                let id = e.id.to_string();
                let sent = (id.clone(), user.clone(), "sent", ts + 1, pricing);
                items.push(Item::Status { waba: waba.clone(), business: business.clone(), status: sent });
                let last = if i % 31 == 0 { "failed" } else { "delivered" };
                let pricing = if last == "failed" { None } else { pricing };
                items.push(Item::Status { waba, business, status: (id, user, last, ts + 5, pricing) });
            }
        }
    }
    items
}

/// The requests of one chunk of items: a rate batch and one webhook per kind and WABA.
async fn deliver(daemon_base: &str, http: &reqwest::Client, chunk: &[Item]) {
    let records: Vec<String> =
        chunk.iter().filter_map(|i| if let Item::Record(r) = i { Some(r.clone()) } else { None }).collect();
    if !records.is_empty() {
        let r = http.post(format!("{daemon_base}/v1/rate")).body(support::batch(&records));
        let (status, body) = support::send(r).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut hooks: BTreeMap<(String, String, u8), Vec<&Item>> = BTreeMap::new();
    for item in chunk {
        let key = match item {
            Item::Record(_) => continue,
            Item::Inbound { waba, business, .. } => (waba.clone(), business.clone(), 0),
            Item::Echo { waba, business, .. } => (waba.clone(), business.clone(), 1),
            Item::Status { waba, business, .. } => (waba.clone(), business.clone(), 2),
        };
        hooks.entry(key).or_default().push(item);
    }
    for ((waba, business, kind), items) in hooks {
        let body = match kind {
            0 => meta::inbound(
                &waba,
                &business,
                &items
                    .iter()
                    .filter_map(|i| if let Item::Inbound { message, .. } = i { Some(message.clone()) } else { None })
                    .collect::<Vec<_>>(),
            ),
            1 => meta::echoes(
                &waba,
                &business,
                &items
                    .iter()
                    .filter_map(|i| if let Item::Echo { message, .. } = i { Some(message.clone()) } else { None })
                    .collect::<Vec<_>>(),
            ),
            _ => meta::statuses(
                &waba,
                &business,
                &items
                    .iter()
                    .filter_map(|i| if let Item::Status { status, .. } = i { Some(status.clone()) } else { None })
                    .collect::<Vec<_>>(),
            ),
        };
        let r = http
            .post(format!("{daemon_base}/v1/webhooks/meta"))
            .header("x-hub-signature-256", support::sign(&body, support::APP_SECRET))
            .body(body);
        let (status, ack) = support::send(r).await;
        assert_eq!(status, 200, "{ack}");
    }
}

/// Sends chunks with `concurrency` chunks in flight.
async fn send_all(daemon: &Daemon, items: &[Item], chunk: usize, concurrency: usize) {
    let chunks: Vec<Vec<Item>> = items.chunks(chunk).map(<[Item]>::to_vec).collect();
    let next = Arc::new(AtomicUsize::new(0));
    let chunks = Arc::new(chunks);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (next, chunks, base, http) = (next.clone(), chunks.clone(), daemon.base.clone(), daemon.http.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(c) = chunks.get(i) else { break };
                deliver(&base, &http, c).await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
}

async fn usage_views(daemon: &Daemon) -> Vec<Value> {
    let mut out = Vec::new();
    for q in [
        "/v1/usage?granularity=DAILY&dimensions=COUNTRY,PHONE,PRICING_CATEGORY,PRICING_TYPE,MARKET",
        "/v1/usage?granularity=HALF_HOUR&dimensions=PRICING_CATEGORY",
        "/v1/usage?granularity=MONTHLY",
    ] {
        let (status, body) = daemon.get(q).await;
        assert_eq!(status, 200, "{body}");
        out.push(body);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shuffled_replays_give_the_ordered_ledger() {
    let config = config();
    let options = Options { config: config.path().to_owned(), ..Options::default() };
    let items = day_of_traffic(26_000);
    let messages = items.iter().filter(|i| !matches!(i, Item::Status { .. })).count();
    println!("{} items: {messages} messages, {} statuses", items.len(), items.len() - messages);

    let ordered_db = Database::sqlite();
    let ordered = Daemon::start(&ordered_db, &options);
    send_all(&ordered, &items, 1000, 1).await;
    let ordered_ledger = ordered.ledger("").await;
    let expected = support::live_entries(&ordered_ledger);
    assert_eq!(expected.len(), messages, "one live entry per message");
    let expected_usage = usage_views(&ordered).await;

    let shuffled_db = Database::sqlite();
    let shuffled = Daemon::start(&shuffled_db, &options);
    for seed in [1u64, 2, 3] {
        let mut order = items.clone();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        send_all(&shuffled, &order, 1000, 4).await;
        let ledger = shuffled.ledger("").await;
        let live = support::live_entries(&ledger);
        assert_eq!(live.len(), expected.len(), "pass {seed}");
        for (key, verdict) in &expected {
            assert_eq!(live.get(key), Some(verdict), "pass {seed}: {key:?}");
        }
        assert_eq!(usage_views(&shuffled).await, expected_usage, "pass {seed}");
        let live_total: rust_decimal::Decimal = live
            .values()
            .filter_map(|e| e["amount"].as_str())
            .map(|a| a.parse::<rust_decimal::Decimal>().unwrap())
            .sum();
        assert_eq!(support::ledger_total(&ledger), live_total, "pass {seed}: reversals cancel exactly");
    }
}

/// Streams send records from three clients (one per WABA), kills the daemon
/// with SIGKILL mid-stream, restarts it and retries: every acknowledged
/// event is stored once, and the ledger equals an uninterrupted run's.
async fn crash_mid_stream(db: Database, clean_db: Database) {
    let config = config();
    let options = Options { config: config.path().to_owned(), ..Options::default() };
    let events = messages(6_000, 9);
    let mut streams: Vec<Vec<String>> = vec![Vec::new(); 3];
    for e in &events {
        let w: usize = e.waba.0.trim_start_matches("SW").parse().unwrap();
        streams[w].push(synthetic::to_json_line(e));
    }
    let per_stream: Vec<Vec<String>> = streams.iter().map(|s| s.chunks(25).map(support::batch).collect()).collect();

    let daemon = Daemon::start(&db, &options);
    let acked = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for stream in per_stream.clone() {
        let (acked, base, http) = (acked.clone(), daemon.base.clone(), daemon.http.clone());
        tasks.push(tokio::spawn(async move {
            // Returns how many batches of this stream were acknowledged.
            for (i, body) in stream.iter().enumerate() {
                match http.post(format!("{base}/v1/rate")).body(body.clone()).send().await {
                    Ok(r) if r.status() == 200 => {
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => return i,
                }
            }
            stream.len()
        }));
    }
    let total: usize = per_stream.iter().map(Vec::len).sum();
    for _ in 0..6_000 {
        if acked.load(Ordering::SeqCst) >= total / 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    daemon.kill();
    let mut resume = Vec::new();
    for t in tasks {
        resume.push(t.await.expect("stream"));
    }
    assert!(resume.iter().any(|&n| n > 0), "some batches were acknowledged before the kill");
    assert!(resume.iter().zip(&per_stream).any(|(&n, s)| n < s.len()), "the kill interrupted the streams");

    // Restart; each client retries from its last acknowledged batch (a repeat).
    let daemon = Daemon::start(&db, &options);
    for (stream, &from) in per_stream.iter().zip(&resume) {
        for body in &stream[from.saturating_sub(1)..] {
            let (status, r) = daemon.rate("", body.clone()).await;
            assert_eq!(status, 200, "{r}");
        }
    }
    let ledger = daemon.ledger("").await;
    let live = support::live_entries(&ledger);
    assert_eq!(live.len(), events.len(), "every event once");
    assert_eq!(ledger.len(), events.len(), "in-order streams need no reversals; nothing doubled");

    let clean = Daemon::start(&clean_db, &options);
    for stream in &per_stream {
        for body in stream {
            assert_eq!(clean.rate("", body.clone()).await.0, 200);
        }
    }
    assert_eq!(support::live_entries(&clean.ledger("").await), live, "the same verdicts as without the crash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_on_sqlite() {
    crash_mid_stream(Database::sqlite(), Database::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_on_postgres() {
    let Some(db) = Database::postgres("crash").await else { return };
    let Some(clean) = Database::postgres("crash_clean").await else { return };
    crash_mid_stream(db, clean).await;
}
