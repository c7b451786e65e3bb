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
    /// Write, build, test and measure policy plugins.
    ///
    /// From nothing to a deployed plugin:
    ///   coexist plugin new acme-test-numbers        # a crate that builds right away
    ///   coexist plugin build acme-test-numbers      # prints the .wasm path and its sha256
    ///   coexist plugin test acme-test-numbers/acme_test_numbers.wasm --cases acme-test-numbers/cases.jsonl
    /// then add the printed [[plugin]] entry to pipeline.toml in the daemon's
    /// --policies directory; the daemon reloads on the change (or on SIGHUP, or
    /// POST /v1/plugins/reload).
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Rate-card versions in the ledger database: import Meta's CSV, list them.
    #[command(subcommand)]
    Ratecard(RatecardCommand),
    /// The market map in the ledger database: import a new one.
    #[command(subcommand)]
    Markets(MarketsCommand),
    /// Forecast a WABA's cost for a scenario (TOML): JSON, CSV or an SVG chart on stdout.
    Forecast(ForecastArgs),
    /// Re-rate a WABA's stored messages under the rate cards in force now, on a
    /// running daemon (POST /v1/rerate), with a progress bar on a terminal.
    ///
    /// A dry run prints the per-line diff (old cost, new cost, delta) and writes
    /// nothing. A real run appends reversals and new charges; it is idempotent per
    /// --job-id, so rerun a failed or interrupted job with the same id.
    Rerate(RerateArgs),
}

#[derive(Debug, Args)]
pub struct RerateArgs {
    /// The WABA whose messages to re-rate.
    #[arg(long)]
    pub waba: String,
    /// First local day (the WABA's time zone), inclusive, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// Last local day, exclusive, YYYY-MM-DD.
    #[arg(long)]
    pub to: String,
    /// Only messages to this market.
    #[arg(long)]
    pub market: Option<String>,
    /// Compute the diff without writing.
    #[arg(long)]
    pub dry_run: bool,
    /// The job id (default: `cli-` and the current time in milliseconds; it is
    /// printed, so an interrupted run can be repeated with it).
    #[arg(long)]
    pub job_id: Option<String>,
    #[command(flatten)]
    pub daemon: DaemonArgs,
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Scaffold a plugin crate (with the SDK, the contract and golden cases) that builds right away.
    New(PluginNewArgs),
    /// Build a plugin crate into a WebAssembly component and print its path and sha256.
    Build(PluginBuildArgs),
    /// Run golden cases against a built plugin; exits 1 when any case fails.
    Test(PluginTestArgs),
    /// Measure a built plugin: instantiation, and per-message cost at batch sizes 1, 64 and 1,024.
    Bench(PluginBenchArgs),
}

#[derive(Debug, Args)]
pub struct PluginNewArgs {
    /// The plugin's name: lowercase letters, digits and dashes (e.g. `acme-test-numbers`).
    pub name: String,
    /// Where to create it (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginBuildArgs {
    /// The plugin crate (the directory holding its Cargo.toml).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where to write the component (default: DIR/<crate_name>.wasm).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginTestArgs {
    /// The built component.
    #[arg(value_name = "PLUGIN.wasm")]
    pub plugin: PathBuf,
    /// Golden cases, one JSON object per line (see `cases.jsonl` of a new plugin).
    #[arg(long, value_name = "CASES.jsonl")]
    pub cases: PathBuf,
    /// Settings for every case that brings none: a TOML file (the `settings` table of a pipeline entry).
    #[arg(long, value_name = "FILE.toml")]
    pub settings: Option<PathBuf>,
    /// A policy directory whose regimes.toml the cases' regimes come from (default: the bundled one).
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PluginBenchArgs {
    /// The built component.
    #[arg(value_name = "PLUGIN.wasm")]
    pub plugin: PathBuf,
    /// Settings, as for `coexist plugin test`.
    #[arg(long, value_name = "FILE.toml")]
    pub settings: Option<PathBuf>,
    /// Calls measured per batch size.
    #[arg(long, default_value_t = 2_000)]
    pub iterations: usize,
}

/// Where the ledger database is, for the finance commands.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The ledger database: sqlite://FILE (created if missing) or postgres://...
    #[arg(long, env = "COEXIST_DATABASE_URL", default_value = "sqlite://coexist.db")]
    pub database_url: String,
}

#[derive(Debug, Subcommand)]
pub enum RatecardCommand {
    /// Validate and store a rate card in Meta's CSV layout. A running daemon
    /// prices with it after a restart; `POST /v1/ratecards` takes effect at once.
    Import(RatecardImportArgs),
    /// List the rate-card versions (policy files and imported), as JSON.
    List(RatecardListArgs),
}

#[derive(Debug, Args)]
pub struct RatecardImportArgs {
    /// The CSV: Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    /// The card's currency; every row's Currency must match.
    #[arg(long)]
    pub currency: String,
    /// The first local day the card is in force (YYYY-MM-DD).
    #[arg(long)]
    pub effective_from: String,
    /// Exclusive; without it the card runs until the next card of its currency.
    #[arg(long)]
    pub effective_to: Option<String>,
    /// The version id (default <currency>-<effective_from>).
    #[arg(long)]
    pub id: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct RatecardListArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Subcommand)]
pub enum MarketsCommand {
    /// Validate and store a market map (prefix,country,market,effective_from,effective_to,note).
    Import(MarketsImportArgs),
}

#[derive(Debug, Args)]
pub struct MarketsImportArgs {
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
}

#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// The scenario (see the README's Forecasts section).
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    /// json (default), csv or svg.
    #[arg(long, default_value = "json")]
    pub format: String,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
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
        /// `warning`, `stale` or `missed`: only the numbers that need a human.
        #[arg(long)]
        status: Option<String>,
        /// Only the numbers of this WABA.
        #[arg(long)]
        waba: Option<String>,
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
