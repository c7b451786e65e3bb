//! Black-box tests of `coexist plugin new|build|test|bench`, and the path a
//! platform team takes from nothing to a deployed plugin, without restarting
//! the daemon. The plugins are real crates built for wasm32 by cargo.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::json;
use support::{Daemon, Database, Options};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Guest builds share one target directory (the one the bundled plugins use),
/// so their dependencies compile once.
fn guest_target_dir() -> PathBuf {
    repo().join("target/plugins")
}

fn coexist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_coexist"))
        .args(args)
        .env("CARGO_TARGET_DIR", guest_target_dir())
        .output()
        .expect("coexist runs")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Builds a plugin crate; returns the component's path and its sha256, as printed.
fn build(dir: &Path, out: Option<&Path>) -> (PathBuf, String) {
    let dir_arg = dir.display().to_string();
    let mut args = vec!["plugin", "build", dir_arg.as_str()];
    let out_arg = out.map(|o| o.display().to_string());
    if let Some(o) = &out_arg {
        args.extend(["--out", o.as_str()]);
    }
    let built = coexist(&args);
    let stdout = String::from_utf8_lossy(&built.stdout).into_owned();
    assert!(built.status.success(), "plugin build failed:\n{}", text(&built));
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("built "))
        .and_then(|l| l.rsplit_once(" ("))
        .map(|(p, _)| PathBuf::from(p))
        .expect("build prints the path");
    let sha = stdout.lines().find_map(|l| l.strip_prefix("sha256 ")).expect("build prints the sha256").to_owned();
    assert_eq!(sha.len(), 64, "{stdout}");
    assert!(stdout.contains("[[plugin]]"), "build prints a pipeline entry:\n{stdout}");
    (path, sha)
}

fn marketing(id: &str, user: &str) -> String {
    json!({
        "id": id, "waba": "W1", "business_number": "+6221555000", "user": user,
        "direction": "outbound", "side": "api", "type": "template",
        "template_category": "marketing", "timestamp": "2026-03-10T10:00:00Z"
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_nothing_to_a_deployed_plugin_without_a_restart() {
    let work = tempfile::tempdir().expect("temp dir");
    let policies = work.path().join("policies");
    std::fs::create_dir_all(&policies).expect("mkdir");
    let bundled = "[[plugin]]\nmodule = \"bundled:classifier\"\n\n[[plugin]]\nmodule = \"bundled:coexistence\"\n";
    std::fs::write(policies.join("pipeline.toml"), bundled).expect("write");
    let db = Database::sqlite();
    let options =
        Options { extra_args: vec!["--policies".into(), policies.display().to_string()], ..Options::default() };
    let daemon = Daemon::start(&db, &options);
    let test_number = "+5511999990000";
    let (status, before) = daemon.rate("", marketing("before", test_number)).await;
    assert_eq!((status, &before["billable"]), (200, &json!(true)), "{before}");

    // 1. Scaffold.
    let crate_dir = work.path().join("acme-test-numbers");
    let crate_arg = crate_dir.display().to_string();
    let created = coexist(&["plugin", "new", "acme-test-numbers", "--dir", &crate_arg]);
    assert!(created.status.success(), "{}", text(&created));
    assert!(crate_dir.join("src/lib.rs").is_file() && crate_dir.join("cases.jsonl").is_file());
    // 2. Build.
    let (wasm, sha) = build(&crate_dir, None);
    // 3. Golden cases.
    let cases = crate_dir.join("cases.jsonl").display().to_string();
    let tested = coexist(&["plugin", "test", &wasm.display().to_string(), "--cases", &cases]);
    assert!(tested.status.success(), "{}", text(&tested));
    assert!(String::from_utf8_lossy(&tested.stdout).contains("passed, 0 failed"), "{}", text(&tested));
    // 4. Into the policy file, pinned by digest, with the test number.
    let entry = format!(
        "\n[[plugin]]\nmodule = {:?}\nsha256 = \"{sha}\"\nmode = \"enforce\"\n\n[plugin.settings]\nnumbers = [\"{test_number}\"]\n",
        wasm.display().to_string()
    );
    let tmp = policies.join("pipeline.toml.new");
    std::fs::write(&tmp, format!("{bundled}{entry}")).expect("write");
    std::fs::rename(&tmp, policies.join("pipeline.toml")).expect("rename");
    // 5. Reload (the file watcher may have done it already: then nothing is new).
    let (status, reloaded) = daemon.post("/v1/plugins/reload", "application/json", "").await;
    assert_eq!(status, 200, "{reloaded}");
    let (_, list) = daemon.get("/v1/plugins").await;
    let names: Vec<&str> =
        list["plugins"].as_array().expect("plugins").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["classifier", "coexistence", "acme-test-numbers"], "{list}");
    assert_eq!(list["plugins"][2]["digest"], sha.as_str(), "{list}");

    // The next call shows the effect; other numbers are billed as before.
    let (status, after) = daemon.rate("", marketing("after", test_number)).await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["billable"], false, "{after}");
    assert_eq!(after["pricing_type"], "not_billable", "{after}");
    assert_eq!(after["note"], "internal test number", "{after}");
    assert!(after["plugins"].as_array().is_some_and(|p| p.contains(&json!("acme-test-numbers@0.1.0"))), "{after}");
    let (status, other) = daemon.rate("", marketing("other", "+6281234567890")).await;
    assert_eq!((status, &other["billable"]), (200, &json!(true)), "{other}");
}

#[test]
fn the_example_plugins_pass_their_golden_cases() {
    let out = tempfile::tempdir().expect("temp dir");
    for example in ["test-numbers-free", "opt-out-marketing"] {
        let dir = repo().join("plugins/examples").join(example);
        let (wasm, _) = build(&dir, Some(&out.path().join(format!("{example}.wasm"))));
        let cases = dir.join("cases.jsonl").display().to_string();
        let tested = coexist(&["plugin", "test", &wasm.display().to_string(), "--cases", &cases]);
        assert!(tested.status.success(), "{example}:\n{}", text(&tested));
        let stdout = String::from_utf8_lossy(&tested.stdout);
        assert!(stdout.contains("passed, 0 failed") && !stdout.contains("FAIL"), "{example}:\n{stdout}");
    }
}

#[test]
fn a_failing_case_shows_a_diff_and_fails_the_run() {
    let out = tempfile::tempdir().expect("temp dir");
    let dir = repo().join("plugins/examples/test-numbers-free");
    let (wasm, _) = build(&dir, Some(&out.path().join("t.wasm")));
    let cases = out.path().join("wrong.jsonl");
    let wrong = json!({
        "name": "claims a test number is billed",
        "settings": {"numbers": ["+5511999990000"]},
        "fact": {"user": "+5511999990000", "at": "2026-10-05T12:00:00Z", "kind": "template", "template_category": "marketing"},
        "so_far": {"billable": true, "category": "marketing", "pricing_type": "regular"},
        "expect": {"billable": true, "category": "marketing", "pricing_type": "regular"}
    });
    let right = json!({
        "name": "an unlisted number stays billed",
        "settings": {"numbers": ["+5511999990000"]},
        "fact": {"user": "+5511911112222", "at": "2026-10-05T12:00:00Z", "kind": "template", "template_category": "marketing"},
        "so_far": {"billable": true, "category": "marketing", "pricing_type": "regular"},
        "expect": {"billable": true, "category": "marketing", "pricing_type": "regular", "violations": [], "note": null}
    });
    std::fs::write(&cases, format!("{wrong}\n{right}\n")).expect("write");
    let tested = coexist(&["plugin", "test", &wasm.display().to_string(), "--cases", &cases.display().to_string()]);
    assert_eq!(tested.status.code(), Some(1), "{}", text(&tested));
    let stdout = String::from_utf8_lossy(&tested.stdout);
    assert!(stdout.contains("FAIL  claims a test number is billed (line 1)"), "{stdout}");
    assert!(stdout.contains("billable:     expected true, got false"), "{stdout}");
    assert!(stdout.contains("pricing_type: expected regular, got not_billable"), "{stdout}");
    assert!(stdout.contains("ok    an unlisted number stays billed (line 2)"), "{stdout}");
    assert!(stdout.contains("2 cases: 1 passed, 1 failed"), "{stdout}");

    // A malformed case file names the line and the field.
    std::fs::write(&cases, format!("{right}\n{{\"name\": \"x\", \"fact\": {{\"user\": \"+55\"}}}}\n")).expect("write");
    let bad = coexist(&["plugin", "test", &wasm.display().to_string(), "--cases", &cases.display().to_string()]);
    assert!(!bad.status.success());
    let err = text(&bad);
    assert!(err.contains("wrong.jsonl:2") && err.contains("fact"), "{err}");
}

#[test]
fn bench_reports_instantiation_and_each_batch_size() {
    let out = coexist(&["plugin", "bench", "bundled:coexistence", "--iterations", "20"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("fresh instance: p50"), "{stdout}");
    assert!(stdout.contains("bundled native"), "no native baseline:\n{stdout}");
    for n in ["     1  ", "    64  ", "  1024  "] {
        let row = stdout.lines().find(|l| l.starts_with(n));
        let row = row.unwrap_or_else(|| panic!("no row for batch {n:?}:\n{stdout}"));
        // batch, p50, p99, bundled wasm, bundled native, then the ratio to native.
        let cells: Vec<f64> =
            row.split_whitespace().map(|c| c.trim_end_matches('×').parse().expect("number")).collect();
        assert_eq!(cells.len(), 6, "{row}");
        assert!(cells[1..].iter().all(|c| *c > 0.0), "{row}");
        assert!((cells[5] - cells[1] / cells[4]).abs() <= 0.05 * cells[5] + 0.1, "ratio = p50 / native: {row}");
    }
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let work = tempfile::tempdir().expect("temp dir");
    let bad = coexist(&["plugin", "new", "Acme_Plugin", "--dir", &work.path().join("x").display().to_string()]);
    assert!(!bad.status.success());
    assert!(text(&bad).contains("is not a plugin name"), "{}", text(&bad));
    std::fs::write(work.path().join("file"), "taken").expect("write");
    let taken = coexist(&["plugin", "new", "acme", "--dir", &work.path().display().to_string()]);
    assert!(!taken.status.success());
    assert!(text(&taken).contains("already exists"), "{}", text(&taken));
}
