//! `coexist`: the command line and daemon of the coexist WhatsApp billing and
//! policy engine.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("coexist: {err:#}");
            ExitCode::from(2)
        }
    }
}
