//! An open-loop load generator for `POST /v1/rate`: single events (stored, or
//! with `--dry-run` not) at a fixed rate, with latency measured from when
//! each request was due.
//!
//!   cargo run --release -p coexist --example paced_load -- \
//!       --url http://127.0.0.1:18080 --rate 10000 --connections 64 --seconds 15
//!
//! wrk (bench/serve.sh) sends the next request as soon as the last is
//! answered: it measures the daemon at its limit, where every request also
//! waits behind the others. This tool asks the other question, the one a
//! target like "10,000 requests per second with p99 at or under 10 ms" asks:
//! what latency do requests see when they arrive at that rate?
//!
//! Each connection is one WABA and has at most one request in flight, so a
//! WABA's events arrive in timestamp order, as from bench/rate_stored.lua
//! (same bodies). Connection k sends its i-th request at
//! `start + k / rate + i * connections / rate`. A request that could not go
//! out on time, because the one before it was still unanswered, goes as soon
//! as it can, and its latency still counts from when it was due (as wrk2
//! counts it, so a stall shows up in every request it delayed). Tokio's
//! timer wakes on whole milliseconds, so a request can also go out up to
//! about 1 ms after it was due: that much of the due-time latency is this
//! tool's. Requests due in the first `--warmup-seconds` are sent but not
//! counted.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

#[derive(Parser)]
struct Args {
    /// The daemon's address.
    #[arg(long, default_value = "http://127.0.0.1:18080")]
    url: String,
    /// Requests per second, over all connections.
    #[arg(long, default_value_t = 10_000)]
    rate: u32,
    /// Connections, one WABA (SW0, SW1, ...) each.
    #[arg(long, default_value_t = 64)]
    connections: u32,
    /// How long to send, counted requests only.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Sent first and not counted.
    #[arg(long, default_value_t = 2)]
    warmup_seconds: u64,
    /// Names this run in message ids, so runs on one database don't collide.
    #[arg(long)]
    run: Option<String>,
    /// Adds `?dry_run=true`.
    #[arg(long)]
    dry_run: bool,
}

/// What one connection saw.
#[derive(Default)]
struct Seen {
    /// Due-to-answered times of counted requests, in microseconds.
    latency_us: Vec<u64>,
    /// Sent-to-answered times of counted requests, in microseconds.
    service_us: Vec<u64>,
    /// Counted requests that went out more than 2 ms after they were due.
    late: u64,
    /// When the last counted request was answered.
    last_answer: Option<Instant>,
}

const PREFIXES: [&str; 10] = ["62812", "91987", "55119", "52155", "57300", "20100", "23480", "92300", "96650", "27820"];

/// The n-th event of WABA k, as bench/rate_single.lua writes it.
fn event(run: &str, k: u32, n: u64) -> String {
    let prefix = PREFIXES[(n % PREFIXES.len() as u64) as usize];
    let user = format!("+{prefix}{:07}", (n * 7919) % 5000);
    let (direction, side, kind, category) = match n % 100 {
        0..=29 => ("inbound", "api", "text", ""),
        30..=54 => ("outbound", "api", "text", ""),
        55..=64 => ("outbound", "api", "template", r#","template_category":"marketing""#),
        65..=79 => ("outbound", "api", "template", r#","template_category":"utility""#),
        80..=87 => ("outbound", "api", "template", r#","template_category":"authentication""#),
        _ => ("outbound", "app", "text", ""),
    };
    let timestamp = 1_772_323_200 + n; // 2026-03-01T00:00:00Z onwards
    format!(
        r#"{{"id":"wamid.{run}.SW{k}.{n}","waba":"SW{k}","business_number":"+62215550{k:03}","user":"{user}","direction":"{direction}","side":"{side}","type":"{kind}"{category},"timestamp":{timestamp}}}"#
    )
}

async fn drive(args: &Args, authority: &str, run: &str, k: u32, start: Instant) -> anyhow::Result<Seen> {
    let stream = TcpStream::connect(authority).await.with_context(|| format!("connecting to {authority}"))?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let path = if args.dry_run { "/v1/rate?dry_run=true" } else { "/v1/rate" };
    let interval = Duration::from_secs_f64(f64::from(args.connections) / f64::from(args.rate));
    let first = start + Duration::from_secs_f64(f64::from(k) / f64::from(args.rate));
    let counted_from = start + Duration::from_secs(args.warmup_seconds);
    let end = counted_from + Duration::from_secs(args.seconds);
    let mut seen = Seen::default();
    for i in 0u32.. {
        let due = first + interval * i;
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        let sent = Instant::now();
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(event(run, k, u64::from(i) + 1))))?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        let answered = Instant::now();
        if status != StatusCode::OK {
            bail!("WABA SW{k}, request {}: {status} {}", i + 1, String::from_utf8_lossy(&body));
        }
        if due >= counted_from {
            seen.latency_us.push(micros(answered - due));
            seen.service_us.push(micros(answered - sent));
            seen.late += u64::from(sent - due > Duration::from_millis(2));
            seen.last_answer = Some(answered);
        }
    }
    Ok(seen)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// "p50 1.23 ms" and so on, from sorted microseconds.
fn percentiles(sorted: &[u64]) -> String {
    let at = |q: f64| {
        let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[i] as f64 / 1000.0
    };
    format!(
        "p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        at(0.50),
        at(0.90),
        at(0.99),
        at(0.999),
        at(1.0)
    )
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.rate == 0 || args.connections == 0 || args.seconds == 0 {
        bail!("--rate, --connections and --seconds must be above zero");
    }
    let url: hyper::Uri = args.url.parse().context("--url")?;
    let authority = url.authority().context("--url has no host")?.to_string();
    let run = args.run.clone().unwrap_or_else(|| chrono::Utc::now().timestamp().to_string());
    // One thread, like `wrk -t1`: the daemon shares the machine's cores.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let start = Instant::now() + Duration::from_millis(100);
    let seen: Vec<Seen> = runtime.block_on(async {
        let tasks = (0..args.connections).map(|k| drive(&args, &authority, &run, k, start));
        futures_util::future::try_join_all(tasks).await
    })?;
    let counted_from = start + Duration::from_secs(args.warmup_seconds);
    let last_answer = seen.iter().filter_map(|s| s.last_answer).max().unwrap_or(counted_from);
    let took = (last_answer - counted_from).as_secs_f64();
    let mut latency: Vec<u64> = seen.iter().flat_map(|s| s.latency_us.iter().copied()).collect();
    let mut service: Vec<u64> = seen.iter().flat_map(|s| s.service_us.iter().copied()).collect();
    let late: u64 = seen.iter().map(|s| s.late).sum();
    if latency.is_empty() {
        bail!("no request was counted");
    }
    latency.sort_unstable();
    service.sort_unstable();
    println!(
        "offered {} requests/s on {} connections for {} s (after {} s not counted)",
        args.rate, args.connections, args.seconds, args.warmup_seconds
    );
    println!(
        "answered {} counted requests in {took:.2} s: {:.0} requests/s",
        latency.len(),
        latency.len() as f64 / took
    );
    println!("latency from when due:  {}", percentiles(&latency));
    println!("latency from when sent: {}", percentiles(&service));
    println!("sent more than 2 ms late: {late} ({:.2} %)", late as f64 * 100.0 / latency.len() as f64);
    Ok(())
}
