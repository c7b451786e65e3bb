//! `coexist generate`: synthetic traffic for benchmarks and load tests.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;
use coexist_engine::event::parse_timestamp;
use coexist_engine::synthetic;

use crate::cli::GenerateArgs;

pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.profiles {
        out.write_all(synthetic::profiles_toml(args.wabas).as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let start = parse_timestamp(&args.start).map_err(anyhow::Error::msg).context("--start")?;
    for e in synthetic::traffic_iter(args.events, args.wabas, args.users, start, args.seed) {
        writeln!(out, "{}", synthetic::to_json_line(&e))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
