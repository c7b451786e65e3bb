//! `coexist rate`: rate a JSONL file exactly.

use std::collections::BTreeMap;
use std::io::{BufWriter, Read, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use coexist_engine::event::{decode_line, DecodeError, Decoded, Event, StatusReport};
use coexist_engine::rated::Rated;
use coexist_engine::rating::{RateOutcome, Rater};
use coexist_engine::report::{round_line, Rounding};
use coexist_engine::status::StatusBook;
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};

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
    // WABA → message ids: the first occurrence of an id is rated, repeats are skipped.
    let mut seen: FxHashMap<String, FxHashSet<std::sync::Arc<str>>> = FxHashMap::default();
    let mut duplicates = 0usize;
    events.reserve(decoded.iter().map(|p| p.messages.len()).sum());
    for part in decoded {
        for m in part.messages {
            let ids = match seen.get_mut(&m.waba.0) {
                Some(ids) => ids,
                None => seen.entry(m.waba.0.clone()).or_default(),
            };
            if ids.insert(m.id.clone()) {
                events.push(m);
            } else {
                duplicates += 1;
            }
        }
        part.statuses.into_iter().for_each(|s| statuses.add(s));
        notices += part.notices;
        errors.extend(part.errors);
    }
    let status_count = statuses.len();
    let fallback = statuses.fallback_events(&|waba, id| seen.get(waba).is_some_and(|ids| ids.contains(id)));
    let from_statuses = fallback.len();
    events.extend(fallback);

    let mut rater = Rater::new(policies, pipeline).with_threads(threads);
    let outcomes = rate_with_progress(&mut rater, &events);
    let rate_done = started.elapsed();

    // Serialize in parallel, one buffer per part, then write the parts in order.
    let mut pairs: Vec<(&Event, RateOutcome)> = events.iter().zip(outcomes).collect();
    let part_len = pairs.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<Part> = std::thread::scope(|s| {
        let handles: Vec<_> = pairs.chunks_mut(part_len).map(|part| s.spawn(|| render(part, &statuses))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    });
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let stderr = std::io::stderr();
    let mut err_out = BufWriter::new(stderr.lock());
    for error in &errors {
        writeln!(err_out, "{error} [{}]", error.code())?;
    }
    let mut summary = Summary::default();
    let mut rate_errors = 0usize;
    for part in parts {
        out.write_all(&part.json)?;
        err_out.write_all(part.errors.as_bytes())?;
        rate_errors += part.error_count;
        summary.merge(part.summary);
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
    summary.write(&mut err_out, args.rounding.into())?;
    err_out.flush()?;
    Ok(if errors.is_empty() && rate_errors == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Events per rating call when progress is shown.
const PROGRESS_CHUNK: usize = 65_536;

/// Rates in timestamp order, in chunks, advancing a progress bar on a
/// terminal. The rater keeps each WABA's state between calls and orders each
/// call by (timestamp, input order), so chunks of the time-sorted input give
/// the same results as one call.
fn rate_with_progress(rater: &mut Rater, events: &[Event]) -> Vec<RateOutcome> {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].at, i));
    let bar = crate::progress::Bar::messages(events.len() as u64, "rating");
    let mut slots: Vec<Option<RateOutcome>> = (0..events.len()).map(|_| None).collect();
    let mut done = 0u64;
    for chunk in order.chunks(PROGRESS_CHUNK) {
        let batch: Vec<Event> = chunk.iter().map(|&i| events[i].clone()).collect();
        for (&i, outcome) in chunk.iter().zip(rater.rate(&batch)) {
            slots[i] = Some(outcome);
        }
        done += chunk.len() as u64;
        bar.set(done);
    }
    bar.finish();
    slots
        .into_iter()
        .map(|s| {
            s.unwrap_or_else(|| {
                Err(coexist_engine::rated::RateError::new("rating.internal", "a message was not rated"))
            })
        })
        .collect()
}

fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// What one decoding thread produced, in line order.
#[derive(Default)]
struct DecodedPart {
    messages: Vec<Event>,
    statuses: Vec<StatusReport>,
    notices: usize,
    errors: Vec<DecodeError>,
}

/// Decodes every non-blank line, in parallel; the parts come back in line order.
fn decode_all(text: &str, threads: usize) -> Vec<DecodedPart> {
    let lines: Vec<(usize, &str)> =
        text.lines().enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty()).collect();
    let chunk = lines.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = lines
            .chunks(chunk)
            .map(|lines| {
                s.spawn(move || {
                    let mut part = DecodedPart { messages: Vec::with_capacity(lines.len()), ..DecodedPart::default() };
                    for (n, l) in lines {
                        match decode_line(*n, l) {
                            Ok(Decoded { messages, statuses, notices }) => {
                                part.messages.extend(messages);
                                part.statuses.extend(statuses);
                                part.notices += notices.len();
                            }
                            Err(errors) => part.errors.extend(errors),
                        }
                    }
                    part
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// One part of the output, rendered on its own thread.
#[derive(Default)]
struct Part {
    json: Vec<u8>,
    errors: String,
    error_count: usize,
    summary: Summary,
}

fn render(pairs: &mut [(&Event, RateOutcome)], statuses: &StatusBook) -> Part {
    let mut part = Part { json: Vec::with_capacity(pairs.len() * 400), ..Part::default() };
    for (event, outcome) in pairs {
        match outcome {
            Ok(rated) => {
                statuses.apply(rated);
                part.summary.add(rated);
                // Writing into a Vec cannot fail.
                let _ = serde_json::to_writer(&mut part.json, &*rated);
                part.json.push(b'\n');
            }
            Err(e) => {
                part.error_count += 1;
                part.errors
                    .push_str(&format!("message {} (WABA {}): {} [{}]\n", event.id, event.waba, e.message, e.code));
            }
        }
    }
    part
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

    fn merge(&mut self, other: Summary) {
        self.rated += other.rated;
        self.unpriced += other.unpriced;
        for (key, (count, total)) in other.lines {
            let line = self.lines.entry(key).or_default();
            line.0 += count;
            line.1 += total;
        }
    }

    fn write(&self, w: &mut impl Write, rounding: Rounding) -> std::io::Result<()> {
        writeln!(
            w,
            "{:<9}{:<30}{:<22}{:>10}{:>16}{:>12}{:>12}",
            "currency", "category", "pricing_type", "messages", "exact", "rounded", "residual"
        )?;
        for ((currency, category, pricing_type), (count, exact)) in &self.lines {
            let Ok(cur) = coexist_engine::policy::Currency::parse(currency) else { continue };
            let r = round_line(*exact, cur, rounding);
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
