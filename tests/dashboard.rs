//! The dashboard in a real browser: headless Chromium loads `/` from a
//! daemon with data, and the numbers in its tables and charts must be the
//! ones the JSON API returns. A screenshot is saved under the test output
//! (`target/tmp/dashboard.png`). Without Chromium the test says so and skips.

mod support;

use std::path::PathBuf;
use std::process::Command;

use rust_decimal::Decimal;
use serde_json::{json, Value};
use support::{Daemon, Database, Options};

/// The browser: `COEXIST_CHROMIUM`, or the first of the usual names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("COEXIST_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

/// Runs headless Chromium on `url` with `extra` flags; returns stdout.
fn browse(browser: &PathBuf, profile: &std::path::Path, url: &str, extra: &[&str]) -> String {
    let out = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--virtual-time-budget=20000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The text of the element with `data-key="key"` in the dumped DOM.
fn cell(dom: &str, key: &str) -> Option<String> {
    let start = dom.find(&format!("data-key=\"{key}\""))?;
    let rest = &dom[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].to_owned())
}

fn template(id: &str, user: &str, at: &str, category: &str) -> Value {
    json!({ "id": id, "waba": "W1", "business_number": "+6221555000", "user": user, "direction": "outbound",
            "side": "api", "type": "template", "template_category": category, "timestamp": at })
}

#[tokio::test]
async fn the_dashboard_shows_the_api_numbers() {
    let Some(browser) = chromium() else {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipping the_dashboard_shows_the_api_numbers: no Chromium found (install Debian's `chromium`, or set COEXIST_CHROMIUM)"
        );
        return;
    };
    let db = Database::sqlite();
    let daemon = Daemon::start(&db, &Options::default());
    // March 2026: templates to India and Indonesia, most days.
    let mut events = Vec::new();
    for day in 1..=31 {
        for (k, (user, category)) in
            [("+919876543210", "marketing"), ("+6281234567890", "utility"), ("+6281234567890", "marketing")]
                .iter()
                .enumerate()
        {
            if (day + k) % 4 != 0 {
                events.push(template(&format!("d{day}-{k}"), user, &format!("2026-03-{day:02}T09:{k}0:00Z"), category));
            }
        }
    }
    let (status, body) = daemon.rate("", json!({ "events": events }).to_string()).await;
    assert_eq!(status, 200, "{body}");

    let (_, invoice) = daemon.get("/v1/invoices/W1/2026-03").await;
    let scenario = json!({ "waba": "W1", "start": "2026-04", "months": 3, "baseline": { "window_days": 28, "until": "2026-04-01" } });
    let (status, forecast) = daemon.post("/v1/forecasts", "application/json", scenario.to_string()).await;
    assert_eq!(status, 200, "{forecast}");

    // Numbers: one of W1 onboarded 20 days ago with no app activity and no
    // sync (stale, and both sync windows missed), one of W1 onboarded now
    // (fine), and a stale one of another WABA (not W1's business).
    let long_ago = (chrono::Utc::now() - chrono::Duration::days(20)).to_rfc3339();
    let now = chrono::Utc::now().to_rfc3339();
    for (number, waba, at) in
        [("+6221555000", "W1", &long_ago), ("+6221555001", "W1", &now), ("+6221555002", "W2", &long_ago)]
    {
        let reg = json!({ "waba": waba, "coexistence": true, "onboarded_at": at });
        let (status, body) = daemon.put(&format!("/v1/numbers/{}", number.replace('+', "%2B")), &reg).await;
        assert_eq!(status, 201, "{body}");
    }
    let (_, stale) = daemon.get("/v1/numbers?status=stale&waba=W1").await;
    let stale = stale["numbers"].as_array().unwrap().clone();
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0]["number"], "+6221555000");

    let profile = tempfile::tempdir().unwrap();
    let url = daemon.url("/#waba=W1&month=2026-03");
    let dom = browse(&browser, profile.path(), &url, &["--dump-dom"]);
    assert!(dom.contains("data-loaded=\"true\""), "the page did not finish loading:\n{dom}");

    // The invoice table: every line's volume and cost, and the total.
    let lines = invoice["lines"].as_array().unwrap();
    assert!(lines.len() >= 3, "{invoice}");
    for l in lines {
        let key = format!(
            "line:{}:{}:{}",
            l["market"].as_str().unwrap(),
            l["category"].as_str().unwrap(),
            l["pricing_type"].as_str().unwrap()
        );
        assert_eq!(cell(&dom, &format!("{key}:cost")).as_deref(), l["cost"].as_str(), "{key}");
        assert_eq!(cell(&dom, &format!("{key}:volume")), Some(l["volume"].to_string()), "{key}");
    }
    assert_eq!(cell(&dom, "invoice:total").as_deref(), invoice["totals"][0]["cost"].as_str());

    // The monthly table and chart: March's marketing is the sum of its lines.
    let marketing: Decimal = lines
        .iter()
        .filter(|l| l["category"] == "marketing")
        .map(|l| l["cost"].as_str().unwrap().parse::<Decimal>().unwrap())
        .sum();
    let shown: Decimal = cell(&dom, "month:2026-03:marketing").unwrap().parse().unwrap();
    assert_eq!(shown, marketing);
    assert!(
        dom.contains(&format!(
            "data-group=\"2026-03\" data-series=\"marketing\" data-value=\"{}\"",
            cell(&dom, "month:2026-03:marketing").unwrap()
        )),
        "no chart bar for March marketing"
    );

    // The forecast: the same numbers as POST /v1/forecasts.
    for m in forecast["months"].as_array().unwrap() {
        let month = m["month"].as_str().unwrap();
        assert_eq!(cell(&dom, &format!("forecast:{month}:expected")).as_deref(), m["cost"].as_str(), "{month}");
        assert_eq!(cell(&dom, &format!("forecast:{month}:low")).as_deref(), m["cost_low"].as_str(), "{month}");
        assert_eq!(cell(&dom, &format!("forecast:{month}:high")).as_deref(), m["cost_high"].as_str(), "{month}");
    }
    assert!(forecast["months"][0]["cost"].as_str().unwrap().parse::<Decimal>().unwrap() > Decimal::ZERO);
    assert!(cell(&dom, "recon:none").is_some_and(|t| t.starts_with("none")), "reconciliation table missing");

    // Numbers needing attention: W1's stale number, with why and the days
    // left the API gives; not the fine one, nor the other WABA's.
    assert_eq!(cell(&dom, "attention:+6221555000:needs").as_deref(), Some("stale, missed"));
    assert_eq!(cell(&dom, "attention:+6221555000:days_left"), Some(stale[0]["keep_alive"]["days_left"].to_string()));
    assert!(cell(&dom, "attention:+6221555001").is_none(), "a number in good standing is listed");
    assert!(cell(&dom, "attention:+6221555002").is_none(), "another WABA's number is listed");

    // A screenshot at a laptop's size, kept with the test output.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let _ = std::fs::remove_file(&shot);
    browse(
        &browser,
        profile.path(),
        &url,
        &[&format!("--screenshot={}", shot.display()), "--window-size=1366,900", "--hide-scrollbars"],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "screenshot is not a PNG of a drawn page");
    eprintln!("dashboard screenshot: {}", shot.display());
}
