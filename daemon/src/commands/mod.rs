//! One module per subcommand; each is a thin adapter over the engine.

mod client;
mod finance;
mod generate;
mod numbers;
mod plugin;
mod rate;
mod rerate;
pub mod setup;

use std::process::ExitCode;

use crate::cli::{Cli, Command};

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => crate::serve::run(args),
        Command::Rate(args) => rate::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Plugin(command) => plugin::run(command),
        Command::Ratecard(c) => finance::ratecard(c),
        Command::Markets(c) => finance::markets(c),
        Command::Forecast(args) => finance::forecast(args),
        Command::Numbers(command) => numbers::run(command),
        Command::Rerate(args) => rerate::run(args),
    }
}
