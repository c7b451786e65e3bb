//! `coexist rate`: rate a JSONL file exactly.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufWriter, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use coexist_engine::event::{decode_line, DecodeError, Decoded, Event};
use coexist_engine::rated::Rated;
use coexist_engine::rating::Rater;
use coexist_engine::report::{round_line, Rounding};
use coexist_engine::status::StatusBook;
use rust_decimal::Decimal;

use super::setup;
use crate::cli::RateArgs;

pub fn run(args: RateArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let policies = Arc::new(setup::policies(&args.policy)?);
    let pipeline = setup::pipeline(&policies)?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));

    let loaded = started.elapsed();
    let text = read_input(&args.events)?;
    let decoded = decode_all(&text, threads);
    let decode_done = started.elapsed();

    let mut events: Vec<Event> = Vec::new();
    let mut statuses = StatusBook::default();
    let mut errors: Vec<DecodeError> = Vec::new();
    let mut notices = 0usize;
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut duplicates = 0usize;
    for result in decoded {
        match result {
            Ok(Decoded { messages, statuses: st, notices: n }) => {
                for m in messages {
                    if seen.insert((m.waba.0.clone(), m.id.clone())) {
                        events.push(m);
                    } else {
                        duplicates += 1;
                    }
                }
                st.into_iter().for_each(|s| statuses.add(s));
                notices += n.len();
            }
            Err(errs) => errors.extend(errs),
        }
    }
    let status_count = statuses.len();
    let fallback = statuses.fallback_events(&|waba, id| seen.contains(&(waba.to_owned(), id.to_owned())));
    let from_statuses = fallback.len();
    events.extend(fallback);

    let mut rater = Rater::new(policies, pipeline).with_threads(threads);
    let outcomes = rater.rate(&events);
    let rate_done = started.elapsed();

    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut summary = Summary::default();
    let mut rate_errors = 0usize;
    let stderr = std::io::stderr();
    let mut err_out = BufWriter::new(stderr.lock());
    for error in &errors {
        writeln!(err_out, "{error} [{}]", error.code())?;
    }
    for (event, outcome) in events.iter().zip(outcomes) {
        match outcome {
            Ok(mut rated) => {
                statuses.apply(&mut rated);
                summary.add(&rated);
                serde_json::to_writer(&mut out, &rated)?;
                out.write_all(b"\n")?;
            }
            Err(e) => {
                rate_errors += 1;
                writeln!(err_out, "message {} (WABA {}): {} [{}]", event.id, event.waba, e.message, e.code)?;
            }
        }
    }
    out.flush()?;

    let elapsed = started.elapsed();
    writeln!(
        err_out,
        "\nphases: load policies and plugins {loaded:.2?}, read and decode {:.2?}, rate {:.2?}, write {:.2?}",
        decode_done - loaded,
        rate_done - decode_done,
        elapsed - rate_done
    )?;
    writeln!(
        err_out,
        "rated {} messages in {:.2?} ({:.0}/s); {} input errors, {} rating errors, {} duplicates skipped, {} statuses ({} rated from Meta's pricing alone), {} other webhook changes",
        summary.rated,
        elapsed,
        summary.rated as f64 / elapsed.as_secs_f64().max(1e-9),
        errors.len(),
        rate_errors,
        duplicates,
        status_count,
        from_statuses,
        notices,
    )?;
    summary.write(&mut err_out)?;
    err_out.flush()?;
    Ok(if errors.is_empty() && rate_errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// Decodes every non-blank line, in parallel, keeping line order.
fn decode_all(text: &str, threads: usize) -> Vec<Result<Decoded, Vec<DecodeError>>> {
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty()).collect();
    let chunk = lines.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(|(n, l)| decode_line(*n, l)).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Totals per (currency, category, pricing type), rounded per line.
#[derive(Default)]
struct Summary {
    rated: usize,
    unpriced: usize,
    lines: BTreeMap<(String, String, String), (usize, Decimal)>,
}

impl Summary {
    fn add(&mut self, r: &Rated) {
        self.rated += 1;
        let key = (r.currency.to_string(), r.category.as_str().to_owned(), r.pricing_type.as_str().to_owned());
        let line = self.lines.entry(key).or_default();
        line.0 += 1;
        match r.cost {
            Some(c) => line.1 += c,
            None => self.unpriced += 1,
        }
    }

    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            w,
            "{:<9}{:<30}{:<22}{:>10}{:>16}{:>12}{:>12}",
            "currency", "category", "pricing_type", "messages", "exact", "rounded", "residual"
        )?;
        for ((currency, category, pricing_type), (count, exact)) in &self.lines {
            let Ok(cur) = coexist_engine::policy::Currency::parse(currency) else { continue };
            let r = round_line(*exact, cur, Rounding::default());
            writeln!(
                w,
                "{currency:<9}{category:<30}{pricing_type:<22}{count:>10}{:>16}{:>12}{:>12}",
                r.exact, r.rounded, r.residual
            )?;
        }
        if self.unpriced > 0 {
            writeln!(
                w,
                "{} billable messages are unpriced (cost null; see unpriced_reason) and are not in the totals",
                self.unpriced
            )?;
        }
        Ok(())
    }
}
