//! `coexist numbers ...`: a client of a running daemon's `/v1/numbers` API.
//!
//! It talks HTTP rather than opening the database, because the daemon owns
//! the state (and the eligibility plugin, the clock and the throughput budget):
//! the CLI then shows exactly what the API answers, for SQLite and PostgreSQL alike.

use std::process::ExitCode;

use reqwest::Method;
use serde_json::{json, Value};

use super::client::{pretty, DaemonClient};
use crate::cli::{DaemonArgs, NumbersCommand};

pub fn run(command: NumbersCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (daemon, method, path, body) = request(command);
        let client = DaemonClient::new(&daemon);
        let mut req = client.request(method.clone(), &path);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let (status, answer) = client.send(req, &format!("{method} {path}")).await?;
        if status.is_success() {
            println!("{}", pretty(&answer));
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{}", pretty(&answer));
            Ok(ExitCode::from(1))
        }
    })
}

/// Percent-encodes the `+` of an E.164 number for a path or query.
fn enc(number: &str) -> String {
    number.replace('+', "%2B")
}

fn request(command: NumbersCommand) -> (DaemonArgs, Method, String, Option<Value>) {
    match command {
        NumbersCommand::Show { number, daemon } => (daemon, Method::GET, format!("/v1/numbers/{}", enc(&number)), None),
        NumbersCommand::List { status, waba, daemon } => {
            let q: Vec<String> = [status.map(|s| format!("status={s}")), waba.map(|w| format!("waba={w}"))]
                .into_iter()
                .flatten()
                .collect();
            let q = if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) };
            (daemon, Method::GET, format!("/v1/numbers{q}"), None)
        }
        NumbersCommand::Register { number, waba, coexistence, onboarded_at, throughput_class, daemon } => (
            daemon,
            Method::PUT,
            format!("/v1/numbers/{}", enc(&number)),
            Some(json!({ "waba": waba, "coexistence": coexistence, "onboarded_at": onboarded_at,
                         "throughput_class": throughput_class })),
        ),
        NumbersCommand::Activity { number, at, daemon } => {
            (daemon, Method::POST, format!("/v1/numbers/{}/app-activity", enc(&number)), Some(json!({ "at": at })))
        }
        NumbersCommand::Sync { number, kind, daemon } => {
            (daemon, Method::POST, format!("/v1/numbers/{}/sync-requests", enc(&number)), Some(json!({ "type": kind })))
        }
        NumbersCommand::Eligibility { number, at, daemon } => {
            let at = at.map(|a| format!("&at={a}")).unwrap_or_default();
            (daemon, Method::GET, format!("/v1/eligibility?number={}{at}", enc(&number)), None)
        }
    }
}
