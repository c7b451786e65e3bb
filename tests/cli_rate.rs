//! Black-box tests of `coexist rate`: the real binary, real files.

use std::path::PathBuf;
use std::process::Command;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn rate(args: &[&str]) -> (i32, Vec<serde_json::Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_coexist")).arg("rate").args(args).output().expect("coexist runs");
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let results = stdout.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    (out.status.code().unwrap_or(-1), results, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn rates_the_foundation_table_exactly() {
    let config = fixtures().join("w1.toml");
    let table = fixtures().join("foundation-table.jsonl");
    let (code, results, stderr) = rate(&["--config", config.to_str().unwrap(), table.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(results.len(), 22);
    let by_id = |id: &str| results.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} missing"));
    let marketing = by_id("t03");
    assert_eq!(marketing["cost"], "0.0411", "money travels as a string");
    assert_eq!(marketing["pricing_type"], "regular");
    assert_eq!(marketing["market"], "Indonesia");
    assert_eq!(marketing["currency"], "USD");
    assert_eq!(marketing["regime"], "pmp");
    assert_eq!(marketing["rate_card"], "usd-2026-01-01");
    assert_eq!(marketing["plugins"], serde_json::json!(["classifier@0.1.0", "coexistence@0.1.0"]));
    let unpriced = by_id("t20");
    assert!(unpriced["cost"].is_null());
    assert!(unpriced["unpriced_reason"].as_str().unwrap().contains("no USD rate card"));
    assert_eq!(by_id("t09")["violations"][0]["code"], "pricing.outside_customer_service_window");
    // Results come back in input order.
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(stderr.contains("rated 22 messages"), "{stderr}");
    assert!(stderr.contains("0.0411") || stderr.contains("marketing"), "the summary has totals: {stderr}");
}

#[test]
fn each_bad_line_names_its_line_and_field_and_good_lines_are_rated() {
    let config = fixtures().join("w1.toml");
    let bad = fixtures().join("bad-lines.jsonl");
    let (code, results, stderr) = rate(&["--config", config.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code, 1, "bad input makes the exit code non-zero");
    let ids: Vec<&str> = results.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["g1", "g2"]);
    for (line, what) in [
        ("line 2: input", "[event.malformed_json]"),
        ("line 3: field `direction`", "[event.unknown_value]"),
        ("line 4: field `user`", "[event.impossible_number]"),
        ("line 5: field `template_category`", "[event.missing_template_category]"),
        ("line 6: field `timestamp`", "[event.invalid_timestamp]"),
        ("line 7: field `colour`", "[event.unknown_field]"),
        ("line 8: field `id`", "[event.missing_field]"),
    ] {
        let found = stderr.lines().any(|l| l.starts_with(line) && l.ends_with(what));
        assert!(found, "no `{line} ... {what}` in:\n{stderr}");
    }
}

#[test]
fn an_unknown_waba_is_a_clear_rating_error() {
    let table = fixtures().join("foundation-table.jsonl");
    let (code, results, stderr) = rate(&[table.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(results.is_empty());
    assert!(stderr.contains("WABA W1 has no profile") && stderr.contains("[rating.unknown_waba]"), "{stderr}");
}

#[test]
fn a_config_typo_names_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("coexist-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("typo.toml");
    std::fs::write(&config, "[waba.W1]\ncurrency = \"USD\"\ntimezone = \"UTC\"\nprimary_contry = \"ID\"\n").unwrap();
    let table = fixtures().join("foundation-table.jsonl");
    let (code, _, stderr) = rate(&["--config", config.to_str().unwrap(), table.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("typo.toml") && stderr.contains("line 4") && stderr.contains("primary_contry"), "{stderr}");
}

#[test]
fn statuses_fold_into_their_messages() {
    let config = fixtures().join("w1.toml");
    let file = fixtures().join("statuses.jsonl");
    let (code, results, stderr) = rate(&["--config", config.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let by_id =
        |id: &str| results.iter().find(|r| r["id"] == id).unwrap_or_else(|| panic!("{id} missing: {results:?}"));
    assert_eq!(results.len(), 3, "one result per message, however many statuses: {results:?}");

    let failed = by_id("wamid.F1");
    assert_eq!(
        (failed["billable"].as_bool(), failed["cost"].as_str()),
        (Some(false), Some("0")),
        "failed is never billable"
    );
    assert_eq!(failed["pricing_type"], "not_billable");

    let disputed = by_id("wamid.D1");
    assert_eq!(disputed["category"], "utility", "our verdict comes from the send record");
    assert_eq!(disputed["cost"], "0.0014");
    assert_eq!(disputed["meta_pricing"]["category"], "marketing", "Meta's verdict is kept beside it");

    let fallback = by_id("wamid.S1");
    assert_eq!(fallback["category"], "marketing", "without a send record, Meta's category rates it");
    assert_eq!(fallback["cost"], "0.0625");
    assert!(stderr.contains("1 rated from Meta's pricing alone"), "{stderr}");
}

#[test]
fn a_pipeline_naming_a_missing_plugin_fails_at_start_and_says_which() {
    let dir = std::env::temp_dir().join(format!("coexist-cli-policies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("pipeline.toml"), "[[plugin]]\nmodule = \"plugins/ours.wasm\"\n").unwrap();
    let config = fixtures().join("w1.toml");
    let table = fixtures().join("foundation-table.jsonl");
    let (code, results, stderr) =
        rate(&["--policies", dir.to_str().unwrap(), "--config", config.to_str().unwrap(), table.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(results.is_empty(), "nothing is rated with a broken pipeline");
    assert!(stderr.contains("plugins/ours.wasm") && stderr.contains("could not be loaded"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
