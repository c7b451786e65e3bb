//! `coexist`: the command line and daemon of the coexist WhatsApp billing and
//! policy engine.

mod cli;
mod commands;
mod ledger;
mod lifecycle;
mod metrics;
mod plugins;
mod progress;
mod report;
mod serve;
mod store;

use std::process::ExitCode;

use clap::Parser;

// Rating allocates many small short-lived values on several threads at once;
// mimalloc handles that pattern markedly better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The rater spreads WABAs over rayon's global pool; named threads tell
    // rating apart from the committer in `top -H` and in profiles. This runs
    // before anything uses the pool, so building it cannot fail for that.
    let _ = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("coexist-rater-{i}")).build_global();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("coexist: {}", report::chain(&err));
            ExitCode::from(2)
        }
    }
}
