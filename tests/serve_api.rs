//! Black-box tests of the HTTP API: the real daemon on loopback, on SQLite and
//! on PostgreSQL.

mod support;

use serde_json::{json, Value};
use support::{batch, foundation_lines, Daemon, Database, Options};

/// The first table row over HTTP gives what `coexist rate` gives for it.
async fn rates_like_the_cli_and_repeats_change_nothing(db: Database) {
    let daemon = Daemon::start(&db, &Options::default());
    let lines = foundation_lines();
    let (status, first) = daemon.rate("", lines[0].clone()).await;
    assert_eq!(status, 200, "{first}");
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(["rate", "--config"])
        .arg(support::fixtures().join("w1.toml"))
        .arg(support::fixtures().join("foundation-table.jsonl"))
        .output()
        .expect("coexist rate runs");
    let cli_first: Value =
        serde_json::from_str(String::from_utf8_lossy(&cli.stdout).lines().next().expect("a result")).expect("json");
    assert_eq!(first, cli_first);

    // The rest as one batch: results in input order, equal to the CLI's.
    let (status, body) = daemon.rate("", batch(&lines[1..])).await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    let cli_all: Vec<Value> =
        String::from_utf8_lossy(&cli.stdout).lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(results.len(), lines.len() - 1);
    for r in results {
        let expected = cli_all.iter().find(|c| c["id"] == r["id"]).expect("the CLI rated it too");
        assert_eq!(r, expected);
    }
    let marketing = results.iter().find(|r| r["id"] == "t03").expect("t03");
    assert_eq!(marketing["cost"], "0.0411");

    // Replaying everything changes nothing and answers the original results.
    let before = daemon.ledger("").await;
    let (status, again) = daemon.rate("", batch(&lines)).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["results"][0], first);
    assert_eq!(&again["results"].as_array().unwrap()[1..], results.as_slice());
    let after = daemon.ledger("").await;
    assert_eq!(before, after);
    assert_eq!(after.len(), lines.len(), "one entry per message");

    // The same id with other content: 409, recorded, nothing changed.
    let mut changed: Value = serde_json::from_str(&lines[2]).unwrap();
    changed["template_category"] = json!("utility");
    let (status, err) = daemon.rate("", changed.to_string()).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "ledger.conflict");
    assert_eq!(err["error"]["details"]["conflicts"][0]["id"], "t03");
    assert_eq!(err["error"]["details"]["conflicts"][0]["stored"]["template_category"], "marketing");
    let (_, conflicts) = daemon.get("/v1/conflicts?waba=W1").await;
    assert_eq!(conflicts["conflicts"][0]["offered"]["template_category"], "utility");
    assert_eq!(daemon.ledger("").await, after);

    // A dry run answers without storing.
    let mut fresh: Value = serde_json::from_str(&lines[2]).unwrap();
    fresh["id"] = json!("dry-1");
    let (status, dry) = daemon.rate("?dry_run=true", fresh.to_string()).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["cost"], "0.0411");
    assert_eq!(daemon.ledger("").await.len(), lines.len());

    // Usage: volume and rounded cost per line, with the residual.
    let (status, usage) = daemon.get("/v1/usage?waba=W1&granularity=MONTHLY&dimensions=PRICING_CATEGORY,COUNTRY").await;
    assert_eq!(status, 200, "{usage}");
    let points = usage["data_points"].as_array().expect("data points");
    let volume: i64 = points.iter().map(|p| p["volume"].as_i64().unwrap()).sum();
    assert_eq!(volume, lines.len() as i64);
    let id_marketing = points
        .iter()
        .find(|p| p["country"] == "ID" && p["pricing_category"] == "MARKETING" && p["start"] == 1_772_323_200)
        .expect("an Indonesian marketing line in March 2026");
    assert_eq!(id_marketing["cost_exact"], "0.0411");
    assert_eq!(id_marketing["cost"], "0.04");
    assert_eq!(id_marketing["rounding_residual"], "-0.0011", "rounded minus exact");
    let (status, csv) =
        daemon.get_text("/v1/usage?waba=W1&granularity=MONTHLY&dimensions=PRICING_CATEGORY,COUNTRY&format=csv").await;
    assert_eq!(status, 200);
    assert!(
        csv.starts_with("start,end,country,pricing_category,currency,volume,cost,cost_exact,rounding_residual\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), points.len() + 1);
}

#[tokio::test]
async fn rate_on_sqlite() {
    rates_like_the_cli_and_repeats_change_nothing(Database::sqlite()).await;
}

#[tokio::test]
async fn rate_on_postgres() {
    if let Some(db) = Database::postgres("rate").await {
        rates_like_the_cli_and_repeats_change_nothing(db).await;
    }
}

/// Each kind of bad input gets its own status and code, and nothing of a bad
/// batch is stored.
#[tokio::test]
async fn bad_input_is_refused_precisely_and_stores_nothing() {
    let db = Database::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("small.toml");
    let w1 = std::fs::read_to_string(support::fixtures().join("w1.toml")).unwrap();
    std::fs::write(&config, format!("{w1}\n[limits]\nmax_batch_events = 5\nmax_body_bytes = 4096\n")).unwrap();
    let daemon = Daemon::start(&db, &Options { config, ..Options::default() });
    let lines = foundation_lines();

    let (status, e) = daemon.rate("", "{\"id\": \"x\",\n \"waba\": ").await;
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("request.malformed_json")), "{e}");
    assert_eq!(e["error"]["details"]["line"], 2);
    assert!(e["error"]["details"]["column"].as_u64().is_some());

    let mut unknown_field: Value = serde_json::from_str(&lines[0]).unwrap();
    unknown_field["colour"] = json!("red");
    let (status, e) = daemon.rate("", unknown_field.to_string()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("event.unknown_field")), "{e}");
    assert_eq!(e["error"]["details"]["field"], "colour");

    let mut bad_value: Value = serde_json::from_str(&lines[0]).unwrap();
    bad_value["direction"] = json!("sideways");
    let (status, e) = daemon.rate("", batch(&[lines[1].clone(), bad_value.to_string()])).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("event.unknown_value")), "{e}");
    assert_eq!(e["error"]["details"]["field"], "events[1].direction");

    let mut impossible: Value = serde_json::from_str(&lines[0]).unwrap();
    impossible["user"] = json!("+999123");
    let (status, e) = daemon.rate("", impossible.to_string()).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("event.impossible_number")), "{e}");
    assert_eq!(e["error"]["details"]["field"], "user");

    let mut unknown_waba: Value = serde_json::from_str(&lines[0]).unwrap();
    unknown_waba["waba"] = json!("NOPE");
    let (status, e) = daemon.rate("", batch(&[lines[1].clone(), unknown_waba.to_string()])).await;
    assert_eq!((status, e["error"]["code"].as_str()), (422, Some("waba.unknown")), "{e}");
    assert_eq!(e["error"]["details"]["index"], 1);

    let (status, e) = daemon.rate("", batch(&lines[..6])).await;
    assert_eq!((status, e["error"]["code"].as_str()), (413, Some("request.too_many_events")), "{e}");

    let huge = format!("{{\"id\":\"{}\"}}", "x".repeat(8192));
    let (status, e) = daemon.rate("", huge).await;
    assert_eq!((status, e["error"]["code"].as_str()), (413, Some("request.too_large")), "{e}");

    let (status, e) = daemon.get("/v1/usage?granularity=WEEKLY").await;
    assert_eq!((status, e["error"]["details"]["parameter"].as_str()), (422, Some("granularity")), "{e}");
    let (status, e) = daemon.get("/v1/nothing-here").await;
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("request.not_found")), "{e}");

    // None of the refused batches left anything behind; the daemon still serves.
    assert!(daemon.ledger("").await.is_empty());
    let (status, ok) = daemon.rate("", batch(&lines[..2])).await;
    assert_eq!(status, 200, "{ok}");
    assert_eq!(daemon.ledger("").await.len(), 2);
    let (status, _) = daemon.get("/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn tokens_guard_v1_but_not_webhooks_or_health() {
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &Options { tokens: Some("alpha,beta".into()), ..Options::default() });
    let line = foundation_lines().remove(0);
    let post = |token: Option<&str>| {
        let mut r = daemon.http.post(daemon.url("/v1/rate")).body(line.clone());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        support::send(r)
    };
    let (status, e) = post(None).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("auth.missing_token")), "{e}");
    let (status, e) = post(Some("gamma")).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("auth.invalid_token")), "{e}");
    let (status, _) = post(Some("beta")).await;
    assert_eq!(status, 200);
    let (status, _) = support::send(daemon.http.get(daemon.url("/v1/ledger"))).await;
    assert_eq!(status, 401);
    let (status, _) = support::send(daemon.http.get(daemon.url("/healthz"))).await;
    assert_eq!(status, 200);
    // Webhooks are signed by Meta, not token-guarded.
    let (status, e) = support::send(daemon.http.post(daemon.url("/v1/webhooks/meta")).body("{}")).await;
    assert_eq!((status, e["error"]["code"].as_str()), (401, Some("webhook.missing_signature")), "{e}");
}

#[tokio::test]
async fn refuses_to_serve_v1_beyond_loopback_without_tokens() {
    let db = Database::sqlite();
    let err = Daemon::try_start(&db, &Options { listen: "0.0.0.0:0".into(), ..Options::default() })
        .err()
        .expect("startup is refused");
    assert!(err.contains("COEXIST_API_TOKENS") && err.contains("loopback"), "{err}");
}

/// A start-up that cannot go ahead says why, once, and leaves no ledger
/// behind when what the command line names is wrong.
#[tokio::test]
async fn a_refused_start_names_its_cause_and_creates_no_ledger() {
    let refused = |db: &Database, options: &Options| {
        Daemon::try_start(db, options).err().expect("startup is refused").lines().last().unwrap_or_default().to_owned()
    };

    // A port another process holds.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let db = Database::sqlite();
    let options = Options { listen: taken.local_addr().expect("addr").to_string(), ..Options::default() };
    let err = refused(&db, &options);
    assert!(err.starts_with("coexist: binding 127.0.0.1:") && err.contains("in use"), "{err}");
    assert!(!db.sqlite_file().expect("a file").exists(), "a taken port created the ledger: {err}");

    // A config file that is not there: the I/O error is said once.
    let db = Database::sqlite();
    let missing = std::env::temp_dir().join("coexist-no-such-config.toml");
    let err = refused(&db, &Options { config: missing.clone(), ..Options::default() });
    assert!(err.contains(&format!("reading {}", missing.display())), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
    assert!(!db.sqlite_file().expect("a file").exists(), "a missing config created the ledger: {err}");

    // A database server that refuses: the driver's reason, said once, and
    // not the pool's "timed out" ten seconds later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let err = refused(&Database::at(&format!("postgres://postgres@127.0.0.1:{port}/test")), &Options::default());
    assert!(err.contains(&format!("connecting to postgres://postgres@127.0.0.1:{port}/test")), "{err}");
    assert_eq!(err.matches("refused").count(), 1, "{err}");
    assert!(!err.contains("timed out"), "{err}");
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &Options::default());
    let (status, ready) = daemon.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["store"], "sqlite");
    assert_eq!(ready["plugins"], json!(["classifier@0.1.0", "coexistence@0.1.0"]));
    daemon.rate("", foundation_lines()[2].clone()).await;
    let (status, metrics) = daemon.get_text("/metrics").await;
    assert_eq!(status, 200);
    for name in ["coexist_http_requests_total", "coexist_http_request_duration_seconds", "coexist_events_rated_total"] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    assert!(metrics.contains("route=\"/v1/rate\""), "{metrics}");
    let (status, doc) = daemon.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap_or_default().starts_with("3."), "{doc}");
    for path in [
        "/v1/rate",
        "/v1/webhooks/meta",
        "/v1/ledger",
        "/v1/usage",
        "/v1/reconciliation",
        "/v1/conflicts",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(
        doc["paths"]["/v1/webhooks/meta"].get("get").is_some()
            && doc["paths"]["/v1/webhooks/meta"].get("post").is_some()
    );
}

#[tokio::test]
async fn one_daemon_writes_a_postgres_ledger() {
    let Some(db) = Database::postgres("single_writer").await else { return };
    let _first = Daemon::start(&db, &Options::default());
    let err = Daemon::try_start(&db, &Options::default()).err().expect("a second writer is refused");
    assert!(err.contains("another coexist daemon"), "{err}");
}

/// A plugin that loops, traps or eats memory on the start-up smoke batch is
/// refused before the daemon serves anything, with the cause named.
#[tokio::test]
async fn a_misbehaving_plugin_is_refused_at_start() {
    for (fixture, cause) in [("spin", "deadline"), ("trap", "trap"), ("memory-hog", "memory")] {
        let policies = tempfile::tempdir().unwrap();
        let bytes = coexist_engine::plugin::fixture_plugin(fixture).expect("fixture exists");
        std::fs::write(policies.path().join("bad.wasm"), bytes).unwrap();
        std::fs::write(
            policies.path().join("pipeline.toml"),
            "[[plugin]]\nmodule = \"bundled:classifier\"\n\n[[plugin]]\nmodule = \"bad.wasm\"\ntimeout_ms = 50\nmemory_mib = 16\n",
        )
        .unwrap();
        let db = Database::sqlite();
        let options =
            Options { extra_args: vec!["--policies".into(), support::path_of(policies.path())], ..Options::default() };
        let err = Daemon::try_start(&db, &options).err().expect("start is refused");
        assert!(err.contains("loading plugins") && err.contains(&format!("fixture-{fixture}")), "{err}");
        assert!(err.to_lowercase().contains(cause), "{fixture}: {err}");
    }
}
