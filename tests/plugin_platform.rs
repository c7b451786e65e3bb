//! Black-box tests of the plugin platform in the daemon: reload (HTTP and
//! policy-file changes), `GET /v1/plugins`, monitor mode, pinned digests, and
//! sandbox failures under load. Real binary, real HTTP, real components.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use support::{Daemon, Database, Options};

/// The user a fixture is triggered by (see `plugins/fixtures/trigger`).
const TRIGGER: &str = "+15550009999";

fn event(id: &str, user: &str) -> String {
    json!({
        "id": id, "waba": "W1", "business_number": "+6221555000", "user": user,
        "direction": "outbound", "side": "api", "type": "template",
        "template_category": "marketing", "timestamp": "2026-03-10T10:00:00Z"
    })
    .to_string()
}

const BUNDLED: &str = "[[plugin]]\nmodule = \"bundled:classifier\"\n\n[[plugin]]\nmodule = \"bundled:coexistence\"\n";

/// Replaces a file in one step, so the daemon's watcher never reads half of it.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// A fixture's pipeline entry. Only `spin` gets a short deadline; the others
/// get a long one, so that on a loaded machine they fail the way they are
/// meant to (filling 16 MiB must hit the memory limit, not the deadline).
fn fixture_entry(name: &str, extra: &str) -> String {
    let timeout_ms = if name == "spin" { 20 } else { 2_000 };
    format!(
        "\n[[plugin]]\nmodule = \"{name}.wasm\"\ntimeout_ms = {timeout_ms}\nmemory_mib = 16\n{extra}\n[plugin.settings]\ntrigger = \"{TRIGGER}\"\n"
    )
}

/// A policy directory with the fixture components beside `pipeline.toml`.
fn policy_dir(pipeline: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["spin", "memory-hog", "trap", "wrong-count", "bad-config"] {
        let bytes = coexist_engine::plugin::fixture_plugin(name).expect("fixture");
        std::fs::write(dir.path().join(format!("{name}.wasm")), bytes).expect("write fixture");
    }
    write_atomically(&dir.path().join("pipeline.toml"), pipeline);
    dir
}

fn with_policies(dir: &Path) -> Options {
    Options { extra_args: vec!["--policies".into(), dir.display().to_string()], ..Options::default() }
}

/// Reloads and waits until `GET /v1/plugins` lists `names` (the watcher may
/// have reloaded first, in which case the HTTP reload finds nothing new).
async fn reload_to(daemon: &Daemon, names: &[&str]) -> Value {
    let (status, body) = daemon.post("/v1/plugins/reload", "application/json", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(["reloaded", "unchanged"].contains(&body["outcome"].as_str().unwrap_or_default()), "{body}");
    let (_, list) = daemon.get("/v1/plugins").await;
    let listed: Vec<&str> =
        list["plugins"].as_array().expect("plugins").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(listed, names, "{list}");
    list
}

/// `tasks` × `each` ordinary requests; returns the statuses that were not 200, with bodies.
async fn ordinary_load(daemon: &Daemon, label: &str, tasks: usize, each: usize) -> Vec<(u16, Value)> {
    let mut handles = Vec::new();
    for t in 0..tasks {
        let (http, url) = (daemon.http.clone(), daemon.url("/v1/rate"));
        let label = label.to_owned();
        handles.push(tokio::spawn(async move {
            let mut bad = Vec::new();
            for i in 0..each {
                let body = event(&format!("{label}-{t}-{i}"), "+6281234567890");
                let r = http.post(&url).header("content-type", "application/json").body(body);
                let (status, value) = support::send(r).await;
                if status != 200 {
                    bad.push((status, value));
                }
            }
            bad
        }));
    }
    let mut bad = Vec::new();
    for h in handles {
        bad.extend(h.await.expect("load task"));
    }
    bad
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sandbox_failure_gets_its_code_while_other_requests_keep_working() {
    let policies = policy_dir(BUNDLED);
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &with_policies(policies.path()));
    let cases = [
        ("spin", "fixture-spin", "plugin.timeout"),
        ("memory-hog", "fixture-memory-hog", "plugin.memory_limit"),
        ("trap", "fixture-trap", "plugin.trap"),
        ("wrong-count", "fixture-wrong-count", "plugin.contract"),
    ];
    for (file, name, code) in cases {
        write_atomically(&policies.path().join("pipeline.toml"), &format!("{BUNDLED}{}", fixture_entry(file, "")));
        reload_to(&daemon, &["classifier", "coexistence", name]).await;

        let load = ordinary_load(&daemon, file, 4, 20);
        let triggers = async {
            let mut answers = Vec::new();
            for i in 0..3 {
                answers.push(daemon.rate("", event(&format!("{file}-trigger-{i}"), TRIGGER)).await);
            }
            answers
        };
        let (bad, answers) = tokio::join!(load, triggers);
        assert!(bad.is_empty(), "{name}: ordinary requests failed: {bad:?}");
        for (status, body) in answers {
            assert_eq!(status, 503, "{name}: {body}");
            assert_eq!(body["error"]["code"], code, "{name}: {body}");
            assert!(body["error"]["message"].as_str().unwrap_or_default().contains(name), "{body}");
        }
        let (_, list) = daemon.get("/v1/plugins").await;
        let fixture = &list["plugins"][2];
        assert!(fixture["errors"][code].as_u64().unwrap_or(0) >= 3, "{list}");
        assert!(fixture["evaluations"].as_u64().unwrap_or(0) >= 3, "{list}");
    }
    // Every ordinary request is in the ledger exactly once (the ones that
    // shared a group with a failing request were committed after it was set
    // apart); no triggering request left an entry.
    // (A late message re-rates later ones: a reversal and a new charge, so
    // an id's charges less its reversals is what must be one.)
    let entries = daemon.ledger("?waba=W1").await;
    let mut net: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
    for e in &entries {
        let id = e["id"].as_str().unwrap();
        *net.entry(id).or_default() += if e["kind"] == "reversal" { -1 } else { 1 };
    }
    assert!(!net.keys().any(|id| id.contains("trigger")), "a failed request was stored");
    assert_eq!(net.len(), cases.len() * 4 * 20, "lost entries");
    assert!(net.values().all(|&n| n == 1), "an id is charged other than once: {net:?}");

    // The plugin errors are in the Prometheus metrics, by plugin and code.
    let (_, metrics) = daemon.get_text("/metrics").await;
    assert!(
        metrics.lines().any(|l| l.starts_with("coexist_plugin_errors_total")
            && l.contains("plugin=\"fixture-spin\"")
            && l.contains("code=\"plugin.timeout\"")),
        "{metrics}"
    );
    assert!(metrics.contains("coexist_plugin_call_seconds"), "latency histogram missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_reload_under_load_is_refused_and_the_old_set_keeps_rating() {
    let policies = policy_dir(BUNDLED);
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &with_policies(policies.path()));
    let (status, before) = daemon.rate("", event("before", "+6281234567890")).await;
    assert_eq!(status, 200, "{before}");

    let load = ordinary_load(&daemon, "load", 4, 40);
    let reloads = async {
        // A plugin that refuses its settings.
        write_atomically(
            &policies.path().join("pipeline.toml"),
            &format!("{BUNDLED}\n[[plugin]]\nmodule = \"bad-config.wasm\"\n"),
        );
        let config = daemon.post("/v1/plugins/reload", "application/json", "").await;
        // A module whose bytes do not match the pinned digest.
        let pinned = format!("{BUNDLED}\n[[plugin]]\nmodule = \"trap.wasm\"\nsha256 = \"{}\"\n", "0".repeat(64));
        write_atomically(&policies.path().join("pipeline.toml"), &pinned);
        let digest = daemon.post("/v1/plugins/reload", "application/json", "").await;
        // A policy file with a typo.
        write_atomically(
            &policies.path().join("pipeline.toml"),
            "[[plugin]]\nmodule = \"bundled:classifier\"\nmdoe = \"monitor\"\n",
        );
        let typo = daemon.post("/v1/plugins/reload", "application/json", "").await;
        (config, digest, typo)
    };
    let (bad, (config, digest, typo)) = tokio::join!(load, reloads);
    assert!(bad.is_empty(), "requests failed during the refused reloads: {bad:?}");
    assert_eq!((config.0, config.1["error"]["code"].as_str()), (422, Some("plugin.config")), "{}", config.1);
    assert!(config.1["error"]["details"]["kept"].is_string(), "{}", config.1);
    assert_eq!((digest.0, digest.1["error"]["code"].as_str()), (422, Some("plugin.digest_mismatch")), "{}", digest.1);
    assert!(digest.1["error"]["message"].as_str().unwrap_or_default().contains(&"0".repeat(64)), "{}", digest.1);
    assert_eq!((typo.0, typo.1["error"]["code"].as_str()), (422, Some("policy.invalid")), "{}", typo.1);
    assert!(typo.1["error"]["message"].as_str().unwrap_or_default().contains("mdoe"), "{}", typo.1);

    // The old set still serves, and rates as before.
    let (_, list) = daemon.get("/v1/plugins").await;
    assert_eq!(list["plugins"].as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list["generation"], 0, "{list}");
    assert_eq!(list["last_reload"]["outcome"], "failed", "{list}");
    let (status, after) = daemon.rate("", event("after", "+6281234567890")).await;
    assert_eq!(status, 200, "{after}");
    for field in ["billable", "category", "pricing_type", "cost", "plugins"] {
        assert_eq!(before[field], after[field], "{field}: {before} vs {after}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn monitor_mode_records_without_deciding_and_survives_a_failing_plugin() {
    let monitored = format!(
        "[[plugin]]\nmodule = \"bundled:classifier\"\n\n[[plugin]]\nmodule = \"bundled:coexistence\"\nmode = \"monitor\"\n{}",
        fixture_entry("trap", "mode = \"monitor\"")
    );
    let policies = policy_dir(&monitored);
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &with_policies(policies.path()));

    // An edit from the app: the coexistence plugin would block it; in monitor
    // mode the message is rated as the classifier decided (app side, free),
    // with the violation recorded as a flag.
    let mut edit: Value = serde_json::from_str(&event("edit-1", "+6281234567890")).expect("json");
    edit["features"] = json!(["edit"]);
    edit["side"] = json!("app");
    let (status, body) = daemon.rate("", edit.to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((&body["billable"], &body["pricing_type"]), (&json!(false), &json!("free_app_side")), "{body}");
    let violation = &body["violations"][0];
    assert_eq!(violation["code"], "coexistence.edit_disabled", "{body}");
    assert_eq!(violation["action"], "flag", "{body}");
    assert!(violation["message"].as_str().unwrap_or_default().contains("would block"), "{body}");

    // The monitored fixture traps on this message; the message is still rated.
    let (status, body) = daemon.rate("", event("trap-1", TRIGGER)).await;
    assert_eq!(status, 200, "{body}");
    let (_, list) = daemon.get("/v1/plugins").await;
    let trap = &list["plugins"][2];
    assert_eq!((trap["name"].as_str(), trap["mode"].as_str()), (Some("fixture-trap"), Some("monitor")), "{list}");
    assert!(trap["errors"]["plugin.trap"].as_u64().unwrap_or(0) >= 1, "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_file_reloads_by_itself() {
    let policies = policy_dir(BUNDLED);
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &with_policies(policies.path()));
    write_atomically(
        &policies.path().join("pipeline.toml"),
        &format!("{BUNDLED}{}", fixture_entry("trap", "mode = \"monitor\"")),
    );
    // The watcher waits for the file to be quiet, then reloads: poll, bounded.
    let mut names = Vec::new();
    for _ in 0..100 {
        let (_, list) = daemon.get("/v1/plugins").await;
        names = list["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect();
        if names.len() == 3 {
            assert_eq!(list["last_reload"]["trigger"], "file", "{list}");
            assert_eq!(list["generation"], 1, "{list}");
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the policy change was not picked up within 10 s: {names:?}");
}

/// A failed request leaves no trace in the rating state: the inbound message
/// of a batch a plugin trapped on opens no window, while one stored before
/// still does (the committer rewinds the WABA to a checkpoint and re-rates
/// what is stored).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_leaves_no_trace_in_the_rating_state() {
    let policies = policy_dir(&format!("{BUNDLED}{}", fixture_entry("trap", "")));
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &with_policies(policies.path()));
    let message = |id: &str, user: &str, direction: &str, at: &str| {
        json!({ "id": id, "waba": "W1", "business_number": "+6221555000", "user": user,
                "direction": direction, "side": "api", "type": "text", "timestamp": at })
    };
    let (u, v) = ("+6281234567890", "+6281234567891");
    let outside = |body: &Value| {
        body["violations"].as_array().unwrap().iter().any(|x| x["code"] == "pricing.outside_customer_service_window")
    };
    let (status, body) = daemon.rate("", message("in-u", u, "inbound", "2026-03-10T10:00:00Z").to_string()).await;
    assert_eq!(status, 200, "{body}");
    let failing = json!({ "events": [
        message("in-v", v, "inbound", "2026-03-10T10:05:00Z"),
        message("to-trigger", TRIGGER, "outbound", "2026-03-10T10:06:00Z"),
    ]});
    let (status, body) = daemon.rate("", failing.to_string()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("plugin.trap")), "{body}");

    let (status, body) = daemon.rate("", message("reply-v", v, "outbound", "2026-03-10T10:10:00Z").to_string()).await;
    assert_eq!(status, 200, "{body}");
    assert!(outside(&body), "the failed batch's inbound opened a window: {body}");
    let (_, body) = daemon.rate("", message("reply-u", u, "outbound", "2026-03-10T10:11:00Z").to_string()).await;
    assert!(!outside(&body), "the stored inbound's window was lost: {body}");
    assert_eq!(body["category"], "service", "{body}");
}
