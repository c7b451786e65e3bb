//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "coexist", version, about = "WhatsApp billing and Coexistence policy engine")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rate a JSONL file of events (normalized events or Meta webhook envelopes),
    /// writing one JSON result per message to stdout and a summary to stderr.
    Rate(RateArgs),
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
    /// The events, one JSON object per line; `-` reads stdin.
    #[arg(value_name = "EVENTS.jsonl")]
    pub events: PathBuf,
}
