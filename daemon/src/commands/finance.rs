//! `coexist ratecard`, `coexist markets` and `coexist forecast`: the finance
//! commands, over the ledger database and the engine's finance rules.

use std::process::ExitCode;

use anyhow::Context;
use coexist_engine::finance::forecast::Scenario;
use coexist_engine::finance::imports::{add_rate_card, card_id, parse_market_map, parse_rate_card, ImportError};
use coexist_engine::policy::{Currency, Effective};

use crate::cli::{ForecastArgs, MarketsCommand, RatecardCommand};
use crate::commands::setup;
use crate::store::{Store, StoredCard};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

/// Prints an import refusal with every problem, one a line.
fn refusal(e: ImportError) -> anyhow::Error {
    match &e {
        ImportError::Invalid { file, problems } => {
            let list: Vec<String> = problems.iter().map(|p| format!("  {file}: {p}")).collect();
            anyhow::anyhow!("nothing was imported: {e}\n{}", list.join("\n"))
        }
        _ => anyhow::anyhow!("nothing was imported: {e}"),
    }
}

pub fn ratecard(command: RatecardCommand) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        match command {
            RatecardCommand::Import(args) => {
                let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
                let store = Store::open(&args.store.database_url).await?;
                let policies = setup::with_stored_imports(setup::policies(&args.policy)?, &store).await?;
                let currency = Currency::parse(&args.currency).map_err(|e| anyhow::anyhow!("--currency: {e}"))?;
                let from = args.effective_from.parse().with_context(|| format!("--effective-from {}", args.effective_from))?;
                let to = args
                    .effective_to
                    .as_deref()
                    .map(str::parse)
                    .transpose()
                    .with_context(|| "--effective-to is not a date (YYYY-MM-DD)")?;
                let id = args.id.clone().unwrap_or_else(|| card_id(currency, from));
                let source = args.file.display().to_string();
                let card = parse_rate_card(&id, &source, &text, currency, Effective::new(Some(from), to), &policies.markets)
                    .map_err(refusal)?;
                let book = add_rate_card(&policies.rates, card.clone()).map_err(refusal)?;
                let stored = StoredCard {
                    id: id.clone(),
                    currency: currency.to_string(),
                    effective_from: from.to_string(),
                    effective_to: to.map(|d: chrono::NaiveDate| d.to_string()),
                    csv: text,
                    source,
                    markets: card.len() as i64,
                    imported_ms: chrono::Utc::now().timestamp_millis(),
                };
                store.insert_ratecard(&stored).await?;
                let listed = book.cards().iter().find(|c| *c.id == *id).map(|c| crate::ledger::card_json(c, Some(&stored)));
                println!("{}", listed.unwrap_or_default());
                eprintln!(
                    "imported rate card {id}; a running daemon prices with it after a restart (POST /v1/ratecards applies at once). \
                     Stored messages change only through POST /v1/rerate."
                );
                Ok(ExitCode::SUCCESS)
            }
            RatecardCommand::List(args) => {
                let store = Store::open(&args.store.database_url).await?;
                let policies = setup::with_stored_imports(setup::policies(&args.policy)?, &store).await?;
                let stored = store.ratecards().await?;
                let cards: Vec<serde_json::Value> = policies
                    .rates
                    .cards()
                    .iter()
                    .map(|c| crate::ledger::card_json(c, stored.iter().find(|s| s.id == *c.id)))
                    .collect();
                println!("{}", serde_json::json!({ "ratecards": cards }));
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

pub fn markets(command: MarketsCommand) -> anyhow::Result<ExitCode> {
    let MarketsCommand::Import(args) = command;
    runtime()?.block_on(async move {
        let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
        let store = Store::open(&args.store.database_url).await?;
        let policies = setup::with_stored_imports(setup::policies(&args.policy)?, &store).await?;
        let source = args.file.display().to_string();
        let map = parse_market_map(&source, &text, &policies.rates).map_err(refusal)?;
        let version = store.insert_market_map(&text, &source, chrono::Utc::now().timestamp_millis()).await?;
        println!("{}", serde_json::json!({ "version": version, "markets": map.markets().len(), "source": source }));
        Ok(ExitCode::SUCCESS)
    })
}

pub fn forecast(args: ForecastArgs) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;
    let scenario =
        Scenario::from_toml(&args.scenario.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if !["json", "csv", "svg"].contains(&args.format.as_str()) {
        anyhow::bail!("--format is json, csv or svg, not `{}`", args.format);
    }
    let progress = crate::progress::Spinner::start("forecast: reading the ledger baseline");
    let out = runtime()?.block_on(async {
        let store = Store::open(&args.store.database_url).await?;
        let policies = setup::with_stored_imports(setup::policies(&args.policy)?, &store).await?;
        crate::serve::run_forecast(&scenario, &policies, &store).await.map_err(|e| anyhow::anyhow!("{}", e.message))
    });
    progress.finish();
    let forecast = out?;
    match args.format.as_str() {
        "csv" => print!("{}", forecast.to_csv()),
        "svg" => print!("{}", forecast.to_svg()),
        _ => println!("{}", serde_json::to_string_pretty(&forecast)?),
    }
    for w in &forecast.warnings {
        eprintln!("warning: {w}");
    }
    Ok(ExitCode::SUCCESS)
}
