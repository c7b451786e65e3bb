//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use coexist_engine::report::Rounding;

#[derive(Debug, Parser)]
#[command(name = "coexist", version, about = "WhatsApp billing and Coexistence policy engine")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: the billing endpoint, Meta webhooks and the ledger over HTTP.
    ///
    /// Secrets come from the environment: COEXIST_API_TOKENS (comma-separated bearer
    /// tokens; without them /v1 is served on loopback only), COEXIST_WEBHOOK_APP_SECRET
    /// and COEXIST_WEBHOOK_VERIFY_TOKEN. COEXIST_LOG sets the log filter.
    Serve(ServeArgs),
    /// Rate a JSONL file of events (normalized events or Meta webhook envelopes),
    /// writing one JSON result per message to stdout and a summary to stderr.
    Rate(RateArgs),
    /// Business numbers and their Coexistence lifecycle, from a running daemon
    /// (over its HTTP API): register, show, list those that need a human,
    /// record app activity and sync requests, check eligibility.
    #[command(subcommand)]
    Numbers(NumbersCommand),
    /// Write synthetic mixed traffic (normalized JSON lines) to stdout, for
    /// benchmarks and load tests; `--profiles` writes the WABA profiles it needs.
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free one; the log says which).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The ledger database: sqlite://FILE (created if missing) or postgres://...
    #[arg(long, env = "COEXIST_DATABASE_URL", default_value = "sqlite://coexist.db")]
    pub database_url: String,
    /// Worker threads for rating different WABAs (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Serve numbers, eligibility and throughput admission beside the daemon
    /// that writes the ledger, on the same PostgreSQL database: takes no
    /// writer lock, and refuses ledger writes (503 ledger.replica).
    #[arg(long)]
    pub replica: bool,
    /// Tests only: the lifecycle's clock stands still and PUT /v1/test/clock
    /// sets it (time-travel tests). Never in production.
    #[arg(long, hide = true)]
    pub test_clock: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// How many events.
    #[arg(long, default_value_t = 1_000_000)]
    pub events: usize,
    /// How many WABAs (SW0, SW1, ...), each with one business number.
    #[arg(long, default_value_t = 4)]
    pub wabas: usize,
    /// Distinct users per market prefix.
    #[arg(long, default_value_t = 5_000)]
    pub users: u64,
    /// The first timestamp (RFC 3339); events are one second apart per WABA.
    #[arg(long, default_value = "2026-03-01T00:00:00Z")]
    pub start: String,
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Print the TOML WABA profiles for the generated WABAs instead of events.
    #[arg(long)]
    pub profiles: bool,
}

/// Where policies and WABA profiles come from.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A TOML file of WABA profiles ([waba.<id>]), layered over the bundled defaults.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A policy directory (pipeline.toml, regimes.toml, markets.csv, ratecards.toml, ...);
    /// files it lacks fall back to the bundled defaults.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RateArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Worker threads for decoding and for rating different WABAs (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How the summary rounds each line to the currency's minor unit.
    #[arg(long, value_enum, default_value_t = RoundingArg::HalfEven)]
    pub rounding: RoundingArg,
    /// The events, one JSON object per line; `-` reads stdin.
    #[arg(value_name = "EVENTS.jsonl")]
    pub events: PathBuf,
}

/// The rounding modes of report lines.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoundingArg {
    HalfEven,
    HalfUp,
    Down,
    Up,
}

impl From<RoundingArg> for Rounding {
    fn from(r: RoundingArg) -> Self {
        match r {
            RoundingArg::HalfEven => Rounding::HalfEven,
            RoundingArg::HalfUp => Rounding::HalfUp,
            RoundingArg::Down => Rounding::Down,
            RoundingArg::Up => Rounding::Up,
        }
    }
}

/// Where the daemon is, for the client subcommands.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// The daemon's base URL.
    #[arg(long, env = "COEXIST_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// A bearer token (one of the daemon's COEXIST_API_TOKENS).
    #[arg(long, env = "COEXIST_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum NumbersCommand {
    /// Show a number's whole state (JSON).
    Show {
        number: String,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// List numbers; `--status warning|stale|missed` lists those that need a human.
    List {
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// Register a number (or update its registration).
    Register {
        number: String,
        #[arg(long)]
        waba: String,
        /// The number runs in Coexistence.
        #[arg(long)]
        coexistence: bool,
        /// RFC 3339 or unix seconds.
        #[arg(long)]
        onboarded_at: String,
        /// `standard` or `regional`.
        #[arg(long)]
        throughput_class: Option<String>,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// Record that the WhatsApp Business App was opened (default: now).
    Activity {
        number: String,
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// Record that a data sync (`history` or `contacts`) was triggered.
    Sync {
        number: String,
        #[arg(long = "type", value_name = "history|contacts")]
        kind: String,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
    /// Whether a number may be in Coexistence on a date (YYYY-MM-DD; default today).
    Eligibility {
        number: String,
        #[arg(long)]
        at: Option<String>,
        #[command(flatten)]
        daemon: DaemonArgs,
    },
}
