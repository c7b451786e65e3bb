//! The HTTP client of the subcommands that talk to a running daemon
//! (`numbers`, `rerate`): its base URL and bearer token from [`DaemonArgs`].

use anyhow::Context;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

use crate::cli::DaemonArgs;

pub struct DaemonClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl DaemonClient {
    pub fn new(daemon: &DaemonArgs) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: daemon.url.trim_end_matches('/').to_owned(),
            token: daemon.token.clone(),
        }
    }

    /// A request to `path` (which starts with `/`), with the token.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let req = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => req.bearer_auth(token),
            None => req,
        }
    }

    /// Sends `req` and reads the answer: its status and its body (JSON when
    /// it parses, else the text as a JSON string).
    pub async fn send(&self, req: RequestBuilder, what: &str) -> anyhow::Result<(StatusCode, Value)> {
        let response = req.send().await.with_context(|| {
            format!("{what} on {}: is `coexist serve` running there? (--url or COEXIST_URL)", self.base)
        })?;
        let status = response.status();
        let text = response.text().await.context("reading the daemon's answer")?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }
}

/// A JSON answer as people read it.
pub fn pretty(body: &Value) -> String {
    match body {
        Value::String(text) => text.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    }
}
