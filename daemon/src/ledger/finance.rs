//! Finance work inside the committer: rate-card and market-map imports
//! (which change the policies the rater uses from then on) and re-rating
//! jobs (reversals and new charges for stored messages whose price changed).
//!
//! These run on the committer thread because it alone writes the ledger and
//! owns the rater: an import takes effect between two groups, never inside one.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use coexist_engine::event::WabaId;
use coexist_engine::finance::imports::{add_rate_card, parse_market_map, ImportError};
use coexist_engine::policy::{Policies, RateCard};
use coexist_engine::state::WabaState;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::book::rebuild_from;
use super::committer::{store_error, Committer, GroupError};
use super::rerate::{apply_status, decode_stored};
use super::{LedgerError, Phase, Reply, Submission};
use crate::store::{usage_of, Changes, EventRow, RowText, StoredCard, Usage, UsageKey};

/// Why re-rating wrote an entry.
const CAUSE_RERATE: &str = "rerate";

/// `POST /v1/rerate`: which stored messages to re-rate, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RerateRequest {
    /// The caller's id for this job: a real run with an id that already ran
    /// answers the stored report and writes nothing.
    pub job_id: String,
    pub waba: String,
    /// First local day (the WABA's time zone), inclusive, `YYYY-MM-DD`.
    #[schema(value_type = String, example = "2026-03-01")]
    pub from: NaiveDate,
    /// Last local day, exclusive.
    #[schema(value_type = String, example = "2026-04-01")]
    pub to: NaiveDate,
    /// Only messages to this market.
    #[serde(default)]
    pub market: Option<String>,
    /// Compute the diff without writing.
    #[serde(default)]
    pub dry_run: bool,
}

fn refused(status: u16, code: &'static str, message: impl Into<String>, details: Value) -> LedgerError {
    LedgerError::Refused { status, code, message: message.into(), details }
}

/// A store failure, told as [`store_error`] tells it.
fn store_failed(e: impl Into<anyhow::Error>) -> LedgerError {
    group_error(store_error(e))
}

fn group_error(e: GroupError) -> LedgerError {
    match e {
        GroupError::Store(m) => LedgerError::Store(m),
        GroupError::Rating { index, code, message, .. } => LedgerError::Rating { index, code, message },
    }
}

/// The import error as a refusal: problems in the file are 422, an overlap
/// or a conflict with stored cards is 409.
pub fn import_refusal(e: ImportError) -> LedgerError {
    let message = e.to_string();
    match e {
        ImportError::Invalid { file, problems } => {
            refused(422, "ratecard.invalid", message, json!({ "file": file, "problems": problems }))
        }
        ImportError::Overlap(_) => refused(409, "ratecard.overlap", message, Value::Null),
        ImportError::Conflict(_) => refused(409, "markets.conflict", message, Value::Null),
    }
}

/// A rate card as listed by `GET /v1/ratecards`.
pub fn card_json(card: &RateCard, imported: Option<&StoredCard>) -> Value {
    json!({
        "id": card.id.to_string(),
        "currency": card.currency.to_string(),
        "effective_from": card.effective.effective_from.map(|d| d.to_string()),
        "effective_to": card.effective.effective_to.map(|d| d.to_string()),
        "declared_effective_to": card.declared_to.map(|d| d.to_string()),
        "markets": card.len(),
        "origin": if imported.is_some() { "imported" } else { "policy_files" },
        "source": imported.map(|c| c.source.clone()),
        "imported_ms": imported.map(|c| c.imported_ms),
    })
}

/// One line of a re-rating diff.
#[derive(Debug, Default, Clone)]
struct DiffLine {
    volume_before: i64,
    volume_after: i64,
    old_cost: Decimal,
    new_cost: Decimal,
}

impl Committer {
    /// Runs a finance submission.
    pub(super) fn finance(&mut self, submission: Submission) -> Result<Reply, LedgerError> {
        // Finance reads the indexed tables, and a re-rating updates events.
        self.index_staged().map_err(group_error)?;
        let answer = match submission {
            Submission::IndexStaged => return Ok(Reply::default()),
            Submission::ImportRateCard { card, csv, source } => self.import_card(*card, csv, source)?,
            Submission::ImportMarkets { csv, source } => self.import_markets(csv, source)?,
            Submission::Rerate(request) => self.rerate_job(request)?,
            _ => return Err(refused(500, "ledger.internal", "not a finance submission", Value::Null)),
        };
        Ok(Reply { finance: Some(answer), ..Reply::default() })
    }

    /// Swaps the rater's policies and what the readers see.
    fn set_policies(&mut self, policies: Policies) {
        let policies = Arc::new(policies);
        self.rater.set_policies(policies.clone());
        match self.policies.write() {
            Ok(mut p) => *p = policies,
            Err(poisoned) => *poisoned.into_inner() = policies,
        }
    }

    fn import_card(&mut self, card: RateCard, csv: String, source: String) -> Result<Value, LedgerError> {
        let current = self.rater.policies_arc();
        let rates = add_rate_card(&current.rates, card.clone()).map_err(import_refusal)?;
        let stored = StoredCard {
            id: card.id.to_string(),
            currency: card.currency.to_string(),
            effective_from: card.effective.effective_from.map(|d| d.to_string()).unwrap_or_default(),
            effective_to: card.declared_to.map(|d| d.to_string()),
            csv,
            source,
            markets: card.len() as i64,
            imported_ms: chrono::Utc::now().timestamp_millis(),
        };
        self.block_on(self.store.insert_ratecard(&stored)).map_err(store_failed)?;
        let mut next = (*current).clone();
        next.rates = rates;
        let listed = next.rates.cards().iter().find(|c| c.id == card.id).map(|c| card_json(c, Some(&stored)));
        self.set_policies(next);
        tracing::info!(card = %card.id, "rate card imported; new messages are priced with it");
        Ok(listed.unwrap_or(Value::Null))
    }

    fn import_markets(&mut self, csv: String, source: String) -> Result<Value, LedgerError> {
        let current = self.rater.policies_arc();
        let map = parse_market_map(&source, &csv, &current.rates).map_err(import_refusal)?;
        let now = chrono::Utc::now().timestamp_millis();
        let version = self.block_on(self.store.insert_market_map(&csv, &source, now)).map_err(store_failed)?;
        let markets = map.markets().len();
        let mut next = (*current).clone();
        next.markets = map;
        self.set_policies(next);
        Ok(json!({ "version": version, "markets": markets, "source": source }))
    }

    /// Daily usage changes of entries, in each WABA's time zone.
    pub(super) fn usage_of(&self, entries: &[crate::store::EntryRow]) -> BTreeMap<UsageKey, Usage> {
        usage_of(entries, |waba| self.timezone(waba))
    }

    /// Re-rates the stored messages of a WABA in `[from, to)` (local days)
    /// under the current policies. Stored messages whose result changes get a
    /// reversal and a new charge (cause `rerate`); a dry run only reports.
    fn rerate_job(&mut self, req: RerateRequest) -> Result<Value, LedgerError> {
        let request_text = serde_json::to_string(&RerateRequest { dry_run: false, ..req.clone() }).unwrap_or_default();
        if req.job_id.trim().is_empty() {
            return Err(refused(
                422,
                "request.invalid_parameter",
                "`job_id` must not be empty",
                json!({ "field": "job_id" }),
            ));
        }
        if req.to <= req.from {
            return Err(refused(
                422,
                "request.invalid_parameter",
                "`to` must be after `from`",
                json!({ "field": "to" }),
            ));
        }
        if !req.dry_run {
            if let Some((request, report)) = self.block_on(self.store.rerate_job(&req.job_id)).map_err(store_failed)? {
                if request != request_text {
                    return Err(refused(
                        409,
                        "rerate.job_conflict",
                        format!("job {} already ran with a different request", req.job_id),
                        json!({ "stored_request": serde_json::from_str::<Value>(&request).unwrap_or_default() }),
                    ));
                }
                let mut report: Value = serde_json::from_str(&report).unwrap_or_default();
                report["repeat"] = json!(true);
                return Ok(report);
            }
        }
        if self.rater.policies().profiles.profile(&req.waba).is_none() {
            return Err(refused(
                422,
                "waba.unknown",
                format!("WABA {} has no profile", req.waba),
                json!({ "field": "waba" }),
            ));
        }
        self.jobs.start(&req.job_id, req.dry_run);
        let outcome = self.rerate_run(&req, request_text);
        self.jobs.finish(&req.job_id, outcome.as_ref().map_err(ToString::to_string));
        outcome
    }

    /// The work of a re-rating job, reporting its progress to `self.jobs`.
    fn rerate_run(&mut self, req: &RerateRequest, request_text: String) -> Result<Value, LedgerError> {
        let tz = self.timezone(&req.waba);
        let local_ms = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| tz.from_local_datetime(&t).earliest())
                .map_or(0, |t| t.timestamp_millis())
        };
        let (from_ms, to_ms) = (local_ms(req.from), local_ms(req.to));
        let waba = req.waba.clone();
        self.ensure_book(&waba).map_err(group_error)?;
        self.ensure_warm(&waba).map_err(group_error)?;
        let started = std::time::Instant::now();
        let saved_seq = self.books[&waba].next_seq;

        let (load_from, exact_from) = rebuild_from(from_ms, tz);
        let stored = self.block_on(self.store.events_since(&waba, load_from)).map_err(store_failed)?;
        let events = decode_stored(&stored).map_err(group_error)?;
        let total = events.len() as u64;
        let jobs = self.jobs.clone();
        jobs.advance(&req.job_id, Phase::Rating, 0, total);
        self.rater.put_state(WabaId(waba.clone()), WabaState::default());
        if let Some(b) = self.books.get_mut(&waba) {
            b.invalidate_after(load_from);
            b.last_rated_at = Some(load_from - 1);
            b.since_checkpoint = 0;
        }
        let outcomes = self.rate_segmented_with(&events, &mut |done| {
            jobs.advance(&req.job_id, Phase::Rating, done as u64, total);
        });
        if let Some(b) = self.books.get_mut(&waba) {
            b.drop_before(exact_from);
        }
        jobs.advance(&req.job_id, Phase::Comparing, total, total);

        let in_range: Vec<usize> =
            (0..stored.len()).filter(|&k| stored[k].at_ms >= from_ms && stored[k].at_ms < to_ms).collect();
        let ids: Vec<&str> = in_range.iter().map(|&k| stored[k].id.as_str()).collect();
        let statuses: HashMap<String, crate::store::StatusRow> = self
            .block_on(self.store.statuses_by_id(&waba, &ids))
            .map_err(store_failed)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut changed = Vec::new();
        let mut examined = 0usize;
        for &k in &in_range {
            let rated = match &outcomes[k] {
                Ok(r) => r.clone(),
                Err(e) => {
                    return Err(LedgerError::Store(format!(
                        "re-rating stored message {} of WABA {waba}: {e}",
                        stored[k].id
                    )))
                }
            };
            let before: Value = serde_json::from_str(&stored[k].result).unwrap_or_default();
            let wanted = |m: &str| req.market.as_deref().is_none_or(|want| want == m);
            if !wanted(&rated.market) && !wanted(before["market"].as_str().unwrap_or_default()) {
                continue;
            }
            examined += 1;
            let mut rated = rated;
            apply_status(&mut rated, statuses.get(&stored[k].id));
            let now = serde_json::to_value(&rated).unwrap_or_default();
            if now != before {
                changed.push((k, rated, now));
            }
        }
        let seqs: Vec<i64> = changed.iter().map(|(k, _, _)| stored[*k].entry_seq).collect();
        let old_entries = self.entries(&waba, &seqs).map_err(group_error)?;
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut changes = Changes::default();
        let mut diff: BTreeMap<(RowText, RowText, RowText, String), DiffLine> = BTreeMap::new();
        let amount = |a: &Option<String>| a.as_deref().and_then(|a| a.parse::<Decimal>().ok()).unwrap_or_default();
        for (k, rated, now) in changed {
            let s = &stored[k];
            let Some(old) = old_entries.get(&s.entry_seq) else { continue };
            let seq = self.books.get_mut(&waba).map_or(0, super::book::Book::take_seq);
            changes.entries.push(old.reversal(seq, CAUSE_RERATE, now_ms));
            let entry = self.entry(&events[k], &rated, statuses.get(&s.id), CAUSE_RERATE, now_ms);
            let line = diff
                .entry((old.market.clone(), old.category.clone(), old.pricing_type.clone(), old.currency.clone()))
                .or_default();
            line.volume_before += 1;
            line.old_cost += amount(&old.amount);
            let line = diff
                .entry((
                    entry.market.clone(),
                    entry.category.clone(),
                    entry.pricing_type.clone(),
                    entry.currency.clone(),
                ))
                .or_default();
            line.volume_after += 1;
            line.new_cost += amount(&entry.amount);
            changes.updated_events.push(EventRow {
                waba: waba.clone(),
                id: s.id.clone(),
                at_ms: s.at_ms,
                source: s.source.clone().into(),
                body: s.body.clone(),
                result: Arc::from(now.to_string()),
                compact: None,
                entry_seq: entry.seq,
            });
            changes.entries.push(entry);
        }
        let messages_changed = changes.updated_events.len();
        let (mut old_total, mut new_total) = (Decimal::ZERO, Decimal::ZERO);
        let lines: Vec<Value> = diff
            .into_iter()
            .map(|((market, category, pricing_type, currency), l)| {
                old_total += l.old_cost;
                new_total += l.new_cost;
                json!({
                    "market": market, "category": category, "pricing_type": pricing_type, "currency": currency,
                    "messages_before": l.volume_before, "messages_after": l.volume_after,
                    "old_cost": l.old_cost.normalize().to_string(), "new_cost": l.new_cost.normalize().to_string(),
                    "delta": (l.new_cost - l.old_cost).normalize().to_string(),
                })
            })
            .collect();
        let report = json!({
            "job_id": req.job_id,
            "waba": waba,
            "from": req.from.to_string(),
            "to": req.to.to_string(),
            "market": req.market,
            "dry_run": req.dry_run,
            "repeat": false,
            "progress": { "examined": examined, "total": examined, "done": true },
            "messages_changed": messages_changed,
            "entries_written": if req.dry_run { 0 } else { changes.entries.len() },
            "lines": lines,
            "total": {
                "old_cost": old_total.normalize().to_string(),
                "new_cost": new_total.normalize().to_string(),
                "delta": (new_total - old_total).normalize().to_string(),
            },
            "took_ms": started.elapsed().as_millis() as u64,
        });
        tracing::info!(job = %req.job_id, waba = %waba, examined, messages_changed, dry_run = req.dry_run, "re-rating job");
        if req.dry_run {
            if let Some(b) = self.books.get_mut(&waba) {
                b.next_seq = saved_seq;
            }
            return Ok(report);
        }
        jobs.advance(&req.job_id, Phase::Writing, total, total);
        changes.usage = self.usage_of(&changes.entries);
        changes.rerate_job = Some((req.job_id.clone(), request_text, report.to_string()));
        if let Err(e) = self.block_on(self.store.commit(&changes, now_ms)) {
            self.forget([waba]);
            return Err(store_failed(e));
        }
        Ok(report)
    }
}
