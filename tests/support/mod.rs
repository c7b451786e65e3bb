//! Black-box harness for `coexist serve`: the real binary on loopback, a real
//! SQLite file or a fresh schema on a real PostgreSQL server, real HTTP.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";

pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

/// Where a test's ledger lives.
pub struct Database {
    pub url: String,
    /// Keeps the SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    /// A new SQLite file in a fresh directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
        Self { url, _dir: Some(dir) }
    }

    /// A database at `url`, which the test owns.
    pub fn at(url: &str) -> Self {
        Self { url: url.to_owned(), _dir: None }
    }

    /// The SQLite file behind [`Database::sqlite`].
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        self.url.strip_prefix("sqlite://").map(PathBuf::from)
    }

    /// A fresh schema on the PostgreSQL server, or `None` (with the reason
    /// printed) when none answers.
    pub async fn postgres(test: &str) -> Option<Self> {
        use sqlx::Connection;
        let base = std::env::var("COEXIST_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let connect = sqlx::PgConnection::connect(&base);
        let mut conn = match tokio::time::timeout(Duration::from_secs(5), connect).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                skip(&format!("skipping {test} on PostgreSQL: cannot connect to {base}: {e}"));
                return None;
            }
            Err(_) => {
                skip(&format!("skipping {test} on PostgreSQL: {base} did not answer within 5 s"));
                return None;
            }
        };
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        let schema = format!(
            "coexist_{}_{}_{nanos}",
            test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id()
        );
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Some(Self { url, _dir: None })
    }
}

/// Says why a test is skipped, on the real stderr: the test harness captures
/// `println!`, and a skip must be seen.
fn skip(reason: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{reason}");
}

/// How to start a daemon.
#[derive(Clone)]
pub struct Options {
    pub config: PathBuf,
    pub tokens: Option<String>,
    pub listen: String,
    pub extra_args: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            config: fixtures().join("w1.toml"),
            tokens: None,
            listen: "127.0.0.1:0".to_owned(),
            extra_args: Vec::new(),
        }
    }
}

/// A running `coexist serve`.
pub struct Daemon {
    child: Child,
    pub base: String,
    pub http: reqwest::Client,
    token: Option<String>,
}

impl Daemon {
    pub fn start(db: &Database, options: &Options) -> Daemon {
        Self::try_start(db, options).unwrap_or_else(|e| panic!("daemon did not start: {e}"))
    }

    /// Starts the binary and waits (at most 120 s) for the address it logs.
    pub fn try_start(db: &Database, options: &Options) -> Result<Daemon, String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_coexist"));
        cmd.arg("serve")
            .args(["--listen", &options.listen, "--database-url", &db.url])
            .arg("--config")
            .arg(&options.config)
            .args(&options.extra_args)
            .env("COEXIST_WEBHOOK_APP_SECRET", APP_SECRET)
            .env("COEXIST_WEBHOOK_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("COEXIST_LOG", "info,sqlx=warn")
            .env_remove("COEXIST_DATABASE_URL")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match &options.tokens {
            Some(t) => cmd.env("COEXIST_API_TOKENS", t),
            None => cmd.env_remove("COEXIST_API_TOKENS"),
        };
        let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[daemon] {line}");
                let _ = tx.send(line);
            }
        });
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        let mut log = String::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(200))) {
                Ok(line) => {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        let token = options.tokens.as_ref().and_then(|t| t.split(',').next()).map(str::to_owned);
                        return Ok(Daemon { child, base: addr.trim().to_owned(), http: client(), token });
                    }
                    log.push_str(&line);
                    log.push('\n');
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().map_err(|e| e.to_string())?;
                    return Err(format!("exited with {status}:\n{log}"));
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Drain what it printed before it went.
                while let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                    log.push_str(&line);
                    log.push('\n');
                }
                return Err(format!("exited with {status}:\n{log}"));
            }
            if left.is_zero() {
                let _ = child.kill();
                return Err(format!("no address logged within 120 s:\n{log}"));
            }
        }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorize(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// POSTs a JSON body to `/v1/rate` (with `query`), returning status and body.
    pub async fn rate(&self, query: &str, body: impl Into<String>) -> (u16, Value) {
        let r = self.authorize(self.http.post(self.url(&format!("/v1/rate{query}"))));
        send(r.header("content-type", "application/json").body(body.into())).await
    }

    /// POSTs a webhook delivery, signed with the test app secret.
    pub async fn webhook(&self, body: &str) -> (u16, Value) {
        let r = self
            .http
            .post(self.url("/v1/webhooks/meta"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sign(body, APP_SECRET))
            .body(body.to_owned());
        send(r).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.authorize(self.http.get(self.url(path)))).await
    }

    /// POSTs a body with a content type, returning status and body.
    pub async fn post(&self, path: &str, content_type: &str, body: impl Into<String>) -> (u16, Value) {
        let r = self.authorize(self.http.post(self.url(path)));
        send(r.header("content-type", content_type).body(body.into())).await
    }

    /// PUTs a JSON body, returning status and body.
    pub async fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        send(self.authorize(self.http.put(self.url(path))).json(body)).await
    }

    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let resp = self.authorize(self.http.get(self.url(path))).send().await.expect("request");
        (resp.status().as_u16(), resp.text().await.unwrap_or_default())
    }

    /// Every ledger entry, following cursors.
    pub async fn ledger(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let sep = if query.is_empty() { "?" } else { "&" };
            let path = match &cursor {
                Some(c) => format!("/v1/ledger{query}{sep}limit=5000&cursor={c}"),
                None => format!("/v1/ledger{query}{sep}limit=5000"),
            };
            let (status, page) = self.get(&path).await;
            assert_eq!(status, 200, "{page}");
            out.extend(page["entries"].as_array().cloned().unwrap_or_default());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
        panic!("the ledger did not end within 10,000 pages");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(120)).build().expect("http client")
}

pub async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = r.send().await.expect("request");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// `X-Hub-Signature-256` for a body.
pub fn sign(body: &str, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The foundation table's lines.
pub fn foundation_lines() -> Vec<String> {
    std::fs::read_to_string(fixtures().join("foundation-table.jsonl"))
        .expect("fixture")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// `{"events":[...]}` of JSON lines.
pub fn batch(lines: &[String]) -> String {
    format!("{{\"events\":[{}]}}", lines.join(","))
}

/// Each message's live charge: the last charge not reversed, by (WABA, id).
pub fn live_entries(entries: &[Value]) -> std::collections::BTreeMap<(String, String), Value> {
    let reversed: std::collections::HashSet<(String, i64)> = entries
        .iter()
        .filter(|e| e["kind"] == "reversal")
        .map(|e| (e["waba"].as_str().unwrap_or_default().to_owned(), e["reverses"].as_i64().unwrap_or_default()))
        .collect();
    let mut live = std::collections::BTreeMap::new();
    for e in entries.iter().filter(|e| e["kind"] == "charge") {
        let waba = e["waba"].as_str().unwrap_or_default().to_owned();
        if reversed.contains(&(waba.clone(), e["seq"].as_i64().unwrap_or_default())) {
            continue;
        }
        let key = (waba, e["id"].as_str().unwrap_or_default().to_owned());
        assert!(!live.contains_key(&key), "two live charges for {key:?}");
        live.insert(key, verdict(e));
    }
    live
}

/// An entry without its bookkeeping (sequence, times, cause), to compare verdicts.
pub fn verdict(e: &Value) -> Value {
    let mut v = e.clone();
    if let Some(m) = v.as_object_mut() {
        for k in ["seq", "recorded_at", "cause", "reverses", "kind", "meta_pricing"] {
            m.remove(k);
        }
    }
    v
}

/// The sum of every entry's amount, exactly.
pub fn ledger_total(entries: &[Value]) -> rust_decimal::Decimal {
    entries
        .iter()
        .filter_map(|e| e["amount"].as_str())
        .map(|a| a.parse::<rust_decimal::Decimal>().expect("amount is a decimal"))
        .sum()
}

pub fn path_of(p: &Path) -> String {
    p.display().to_string()
}

/// Meta webhook deliveries, as Meta sends them.
pub mod meta {
    use serde_json::{json, Value};

    fn envelope(waba: &str, field: &str, business: &str, value: Value) -> String {
        let mut value = value;
        value["messaging_product"] = json!("whatsapp");
        value["metadata"] = json!({ "display_phone_number": business.trim_start_matches('+'), "phone_number_id": "1" });
        json!({ "object": "whatsapp_business_account",
                "entry": [{ "id": waba, "changes": [{ "field": field, "value": value }] }] })
        .to_string()
    }

    /// Inbound messages from users: (id, user, unix seconds, from an ad).
    pub fn inbound(waba: &str, business: &str, messages: &[(String, String, i64, bool)]) -> String {
        let list: Vec<Value> = messages
            .iter()
            .map(|(id, user, ts, referral)| {
                let mut m = json!({ "from": user.trim_start_matches('+'), "id": id, "timestamp": ts.to_string(),
                                    "type": "text", "text": { "body": "hi" } });
                if *referral {
                    m["referral"] = json!({ "source_type": "ad", "source_id": "1", "ctwa_clid": "x" });
                }
                m
            })
            .collect();
        envelope(waba, "messages", business, json!({ "messages": list }))
    }

    /// Messages sent from the Business App: (id, user, unix seconds).
    pub fn echoes(waba: &str, business: &str, messages: &[(String, String, i64)]) -> String {
        let list: Vec<Value> = messages
            .iter()
            .map(|(id, user, ts)| {
                json!({ "from": business.trim_start_matches('+'), "to": user.trim_start_matches('+'), "id": id,
                        "timestamp": ts.to_string(), "type": "text", "text": { "body": "ok" } })
            })
            .collect();
        envelope(waba, "smb_message_echoes", business, json!({ "message_echoes": list }))
    }

    /// A status: (id, user, status, unix seconds, pricing as (billable, type, category)).
    pub type Status = (String, String, &'static str, i64, Option<(bool, &'static str, &'static str)>);

    pub fn statuses(waba: &str, business: &str, statuses: &[Status]) -> String {
        let list: Vec<Value> = statuses
            .iter()
            .map(|(id, user, status, ts, pricing)| {
                let mut s = json!({ "id": id, "status": status, "timestamp": ts.to_string(),
                                    "recipient_id": user.trim_start_matches('+') });
                if let Some((billable, kind, category)) = pricing {
                    s["pricing"] =
                        json!({ "billable": billable, "pricing_model": "PMP", "type": kind, "category": category });
                }
                s
            })
            .collect();
        envelope(waba, "messages", business, json!({ "statuses": list }))
    }
}
