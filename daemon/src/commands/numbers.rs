//! `coexist numbers ...`: a client of a running daemon's `/v1/numbers` API.
//!
//! It talks HTTP rather than opening the database, because the daemon owns
//! the state (and the eligibility plugin, the clock and the throughput budget):
//! the CLI then shows exactly what the API answers, for SQLite and PostgreSQL alike.

use std::process::ExitCode;

use anyhow::Context;
use serde_json::{json, Value};

use crate::cli::{DaemonArgs, NumbersCommand};

pub fn run(command: NumbersCommand) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let (daemon, method, path, body) = request(command);
        let client = reqwest::Client::new();
        let url = format!("{}{}", daemon.url.trim_end_matches('/'), path);
        let mut req = match method {
            "PUT" => client.put(&url),
            "POST" => client.post(&url),
            _ => client.get(&url),
        };
        if let Some(token) = &daemon.token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let response =
            req.send().await.with_context(|| format!("{method} {url}: is `coexist serve` running there?"))?;
        let status = response.status();
        let text = response.text().await.context("reading the daemon's answer")?;
        let pretty = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or(text);
        if status.is_success() {
            println!("{pretty}");
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!("{pretty}");
            Ok(ExitCode::from(1))
        }
    })
}

/// Percent-encodes the `+` of an E.164 number for a path or query.
fn enc(number: &str) -> String {
    number.replace('+', "%2B")
}

fn request(command: NumbersCommand) -> (DaemonArgs, &'static str, String, Option<Value>) {
    match command {
        NumbersCommand::Show { number, daemon } => (daemon, "GET", format!("/v1/numbers/{}", enc(&number)), None),
        NumbersCommand::List { status, daemon } => {
            let q = status.map(|s| format!("?status={s}")).unwrap_or_default();
            (daemon, "GET", format!("/v1/numbers{q}"), None)
        }
        NumbersCommand::Register { number, waba, coexistence, onboarded_at, throughput_class, daemon } => (
            daemon,
            "PUT",
            format!("/v1/numbers/{}", enc(&number)),
            Some(json!({ "waba": waba, "coexistence": coexistence, "onboarded_at": onboarded_at,
                         "throughput_class": throughput_class })),
        ),
        NumbersCommand::Activity { number, at, daemon } => {
            (daemon, "POST", format!("/v1/numbers/{}/app-activity", enc(&number)), Some(json!({ "at": at })))
        }
        NumbersCommand::Sync { number, kind, daemon } => {
            (daemon, "POST", format!("/v1/numbers/{}/sync-requests", enc(&number)), Some(json!({ "type": kind })))
        }
        NumbersCommand::Eligibility { number, at, daemon } => {
            let at = at.map(|a| format!("&at={a}")).unwrap_or_default();
            (daemon, "GET", format!("/v1/eligibility?number={}{at}", enc(&number)), None)
        }
    }
}
