//! `coexist rerate`: a re-rating job on a running daemon. The request runs
//! on `POST /v1/rerate`; meanwhile `GET /v1/rerate/{job_id}` drives a
//! progress bar (on a terminal only). The report goes to stdout.

use std::process::ExitCode;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{pretty, DaemonClient};
use crate::cli::RerateArgs;
use crate::progress::Bar;

/// How often the progress is asked for.
const POLL: Duration = Duration::from_millis(250);

pub fn run(args: RerateArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let client = DaemonClient::new(&args.daemon);
        let job_id = args.job_id.clone().unwrap_or_else(|| format!("cli-{}", chrono::Utc::now().timestamp_millis()));
        let request = json!({
            "job_id": job_id, "waba": args.waba, "from": args.from, "to": args.to,
            "market": args.market, "dry_run": args.dry_run,
        });
        eprintln!("re-rating job {job_id}{}", if args.dry_run { " (dry run)" } else { "" });
        let run = client.send(client.request(Method::POST, "/v1/rerate").json(&request), "POST /v1/rerate");
        let bar = Bar::messages(0, "re-rating");
        let progress_path = format!("/v1/rerate/{job_id}");
        let watch = async {
            loop {
                tokio::time::sleep(POLL).await;
                let Ok((status, p)) = client.send(client.request(Method::GET, &progress_path), "progress").await else {
                    continue;
                };
                if status.is_success() {
                    show(&bar, &p);
                }
            }
        };
        let outcome = tokio::select! {
            outcome = run => outcome,
            () = watch => unreachable!("the progress loop never ends"),
        };
        bar.finish();
        let (status, report) = outcome?;
        if status.is_success() {
            println!("{}", pretty(&report));
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{}", pretty(&report));
            Ok(ExitCode::from(1))
        }
    })
}

/// Draws a progress answer on the bar.
fn show(bar: &Bar, progress: &Value) {
    let total = progress["total"].as_u64().unwrap_or_default();
    bar.set_total(total);
    bar.set(progress["rated"].as_u64().unwrap_or_default());
    bar.set_message(&format!("re-rating: {}", progress["phase"].as_str().unwrap_or("running")));
}
