//! Rating inside the committer: the in-order fast path, re-rating after late
//! messages, stand-in replacement, and failed deliveries.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use coexist_engine::event::{decode_normalized, Event, Source, WabaId};
use coexist_engine::rated::Rated;
use coexist_engine::rating::RateOutcome;
use coexist_engine::state::WabaState;
use coexist_engine::status::{mark_failed, mark_failed_json};
use serde_json::Value;

use super::book::{day_start, rebuild_from, Book, OrderKey};
use super::committer::{store_error, Committer, GroupError, Pending, Undo};
use super::statuses::is_failed;
use crate::store::{compact_result, Changes, EntryRow, EventRow, StatusRow, StoredEvent, KIND_CHARGE};

/// Why an entry was written.
const CAUSE_RATED: &str = "rated";
const CAUSE_LATE: &str = "late_event";
const CAUSE_STATUS: &str = "status";
const CAUSE_REPLACED: &str = "send_record";

/// A stored message re-rated after a late one.
struct Rerated {
    stored: StoredEvent,
    event: Event,
}

impl Committer {
    /// Rates the group's messages and fills `changes`; returns each pending
    /// message's result JSON, by pending index.
    pub(super) fn rate_group(
        &mut self,
        pendings: &[Pending],
        failed_marks: &[(String, String)],
        statuses: &HashMap<(String, String), StatusRow>,
        now_ms: i64,
        changes: &mut Changes,
        undo: &mut Vec<Undo>,
    ) -> Result<Vec<Arc<str>>, GroupError> {
        let mut results: Vec<Arc<str>> = vec![Arc::from(""); pendings.len()];
        let mut by_waba: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, p) in pendings.iter().enumerate() {
            by_waba.entry(&p.event.waba.0).or_default().push(i);
        }
        for (waba, _) in failed_marks {
            by_waba.entry(waba).or_default();
        }
        let mut fast: Vec<usize> = Vec::new();
        let mut slow: Vec<(String, Vec<usize>)> = Vec::new();
        for (waba, idx) in by_waba {
            self.ensure_book(waba)?;
            let book = &self.books[waba];
            let earliest = idx
                .iter()
                .flat_map(|&i| {
                    let p = &pendings[i];
                    let old = p.replaces.as_ref().map(|s| (s.at_ms, Arc::from(s.id.as_str())));
                    std::iter::once(p.key()).chain(old)
                })
                .min();
            let late = match (&book.high_water, &earliest) {
                (Some(hw), Some(first)) => first <= hw,
                _ => false,
            };
            if book.warm && !late {
                // Continued in order: the state journals the group, to roll
                // back cheaply if its write fails.
                if let Some((at, _)) = &earliest {
                    undo.push(Undo::Journal { waba: waba.to_owned(), mark: book.mark(*at) });
                    self.rater.begin_journal(&WabaId(waba.to_owned()));
                }
                fast.extend(idx);
            } else if !idx.is_empty() {
                slow.push((waba.to_owned(), idx));
            } else if !book.warm {
                self.ensure_warm(waba)?;
            }
        }

        // In order: continue each WABA's state.
        fast.sort_by_key(|&i| pendings[i].key());
        let events: Vec<&Event> = fast.iter().map(|&i| &pendings[i].event).collect();
        let outcomes = self.rate_segmented(&events);
        // A WABA's messages go to the plugins in their own batches: a failure
        // names the WABAs it hit, and the others' results stand.
        let mut failure: Option<GroupError> = None;
        let mut failing: BTreeSet<String> = BTreeSet::new();
        for (&i, outcome) in fast.iter().zip(&outcomes) {
            if let Err(e) = outcome {
                failing.insert(pendings[i].event.waba.0.clone());
                failure.get_or_insert_with(|| rating_error(&pendings[i], e.clone()));
            }
        }
        if let Some(failure) = failure {
            return Err(failure.hitting(failing));
        }
        for (&i, outcome) in fast.iter().zip(outcomes) {
            let rated = outcome.map_err(|e| rating_error(&pendings[i], e))?;
            results[i] = self.settle_new(&pendings[i], rated, statuses, now_ms, changes)?;
        }

        // Late: re-rate from a checkpoint (or a rebuild) forward.
        for (waba, idx) in slow {
            let earliest = idx.iter().map(|&i| pendings[i].key().0).min().unwrap_or_default();
            let earliest =
                idx.iter().filter_map(|&i| pendings[i].replaces.as_ref().map(|s| s.at_ms)).fold(earliest, i64::min);
            undo.push(Undo::Rewind { waba: waba.clone(), earliest, next_seq: self.books[&waba].next_seq });
            self.rerate(&waba, pendings, &idx, now_ms, changes, &mut results).map_err(|e| e.hitting([waba]))?;
        }

        // Failed deliveries of stored messages: only that message changes.
        let mut marks: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (waba, id) in failed_marks {
            marks.entry(waba).or_default().push(id);
        }
        for (waba, ids) in marks {
            self.index_staged()?;
            let stored = self.block_on(self.store.events_by_id(waba, &ids)).map_err(store_error)?;
            let seqs: Vec<i64> = stored.iter().map(|s| s.entry_seq).collect();
            let entries = self.entries(waba, &seqs)?;
            for s in stored {
                let Ok(Value::Object(mut result)) = serde_json::from_str::<Value>(&s.result) else { continue };
                if result.get("direction").and_then(Value::as_str) != Some("outbound") {
                    continue;
                }
                let before = result.clone();
                mark_failed_json(&mut result);
                if result == before {
                    continue;
                }
                let Some(old) = entries.get(&s.entry_seq) else { continue };
                let book = self.books.get_mut(waba).expect("book loaded above");
                let reversal = old.reversal(book.take_seq(), CAUSE_STATUS, now_ms);
                let charge = EntryRow {
                    seq: book.take_seq(),
                    kind: KIND_CHARGE.into(),
                    reverses: None,
                    cause: CAUSE_STATUS.into(),
                    recorded_ms: now_ms,
                    billable: 0,
                    pricing_type: "not_billable".into(),
                    amount: Some("0".into()),
                    meta_pricing: statuses.get(&(waba.to_owned(), s.id.clone())).and_then(|r| r.pricing.clone()),
                    ..old.clone()
                };
                let result = Arc::from(Value::Object(result).to_string());
                changes.updated_events.push(EventRow {
                    waba: waba.to_owned(),
                    id: s.id.clone(),
                    at_ms: s.at_ms,
                    source: s.source.clone().into(),
                    body: s.body.clone(),
                    result,
                    compact: None,
                    entry_seq: charge.seq,
                });
                changes.entries.push(reversal);
                changes.entries.push(charge);
            }
        }
        Ok(results)
    }

    /// Loads a WABA's ledger position on first sight.
    pub(super) fn ensure_book(&mut self, waba: &str) -> Result<(), GroupError> {
        if !self.books.contains_key(waba) {
            self.index_staged()?;
            let (next_seq, hw) = self.block_on(self.store.waba_cursor(waba)).map_err(store_error)?;
            let book = Book::new(next_seq, hw.map(|(at, id)| (at, Arc::from(id.as_str()))));
            if book.warm {
                self.rater.take_state(&WabaId(waba.to_owned()));
            }
            self.books.insert(waba.to_owned(), book);
        }
        Ok(())
    }

    /// Rebuilds a WABA's state from the store (after a restart).
    pub(super) fn ensure_warm(&mut self, waba: &str) -> Result<(), GroupError> {
        self.ensure_book(waba)?;
        let book = &self.books[waba];
        if book.warm {
            return Ok(());
        }
        let Some((hw_at, _)) = book.high_water.clone() else { return Ok(()) };
        let (from, exact_from) = rebuild_from(hw_at, self.timezone(waba));
        self.index_staged()?;
        let stored = self.block_on(self.store.events_since(waba, from)).map_err(store_error)?;
        let events = decode_stored(&stored)?;
        self.rater.take_state(&WabaId(waba.to_owned()));
        if let Some(b) = self.books.get_mut(waba) {
            b.checkpoints.clear();
            b.last_rated_at = None;
            b.since_checkpoint = 0;
        }
        let outcomes = self.rate_segmented(&events);
        if let Some(Err(e)) = outcomes.iter().find(|o| o.is_err()) {
            return Err(GroupError::Store(format!("rebuilding WABA {waba} from the store: {e}")));
        }
        if let Some(b) = self.books.get_mut(waba) {
            b.warm = true;
            b.drop_before(exact_from);
        }
        tracing::info!(waba, events = events.len(), "rebuilt rating state from the store");
        Ok(())
    }

    /// Rates events sorted by (timestamp, id), one UTC day at a time, taking
    /// checkpoints of each WABA's state: at the start of each day, and every
    /// so many events.
    pub(super) fn rate_segmented<E: Borrow<Event> + Sync>(&mut self, events: &[E]) -> Vec<RateOutcome> {
        self.rate_segmented_with(events, &mut |_| {})
    }

    /// [`Self::rate_segmented`], telling `progress` how many events are
    /// rated after each day.
    pub(super) fn rate_segmented_with<E: Borrow<Event> + Sync>(
        &mut self,
        events: &[E],
        progress: &mut dyn FnMut(usize),
    ) -> Vec<RateOutcome> {
        let mut out = Vec::with_capacity(events.len());
        let mut start = 0;
        while start < events.len() {
            let day = day_start(events[start].borrow().at.timestamp_millis());
            let end = events[start..]
                .iter()
                .position(|e| day_start(e.borrow().at.timestamp_millis()) != day)
                .map_or(events.len(), |n| start + n);
            let segment = &events[start..end];
            // Each WABA's first and last instant and count in the segment.
            let mut spans: BTreeMap<&str, (i64, i64, usize)> = BTreeMap::new();
            for e in segment {
                let e = e.borrow();
                let at = e.at.timestamp_millis();
                let span = spans.entry(&e.waba.0).or_insert((at, at, 0));
                span.1 = at;
                span.2 += 1;
            }
            for (&waba, &(first, _, _)) in &spans {
                let Some(book) = self.books.get_mut(waba) else { continue };
                // Only where no event at or after the boundary is in the state.
                let clean = |at: i64| book.last_rated_at.is_none_or(|last| last < at);
                let state = self.rater.state(&WabaId(waba.to_owned()));
                let empty = WabaState::default();
                if clean(day) && book.checkpoints.last().is_none_or(|c| c.at < day) {
                    book.checkpoint(day, state.unwrap_or(&empty), true);
                } else if clean(first) && book.checkpoint_due(state) {
                    book.checkpoint(first, state.unwrap_or(&empty), false);
                }
            }
            out.extend(self.rater.rate(segment));
            for (waba, (_, last, count)) in spans {
                if let Some(book) = self.books.get_mut(waba) {
                    book.last_rated_at = Some(book.last_rated_at.map_or(last, |l| l.max(last)));
                    book.since_checkpoint += count;
                }
            }
            start = end;
            progress(end);
        }
        out
    }

    /// Re-rates a WABA from before its earliest late message to now.
    fn rerate(
        &mut self,
        waba: &str,
        pendings: &[Pending],
        idx: &[usize],
        now_ms: i64,
        changes: &mut Changes,
        results: &mut [Arc<str>],
    ) -> Result<(), GroupError> {
        let book = &self.books[waba];
        let earliest: OrderKey = idx
            .iter()
            .flat_map(|&i| {
                let p = &pendings[i];
                let old = p.replaces.as_ref().map(|s| (s.at_ms, Arc::from(s.id.as_str())));
                std::iter::once(p.key()).chain(old)
            })
            .min()
            .expect("a late WABA has pending messages");
        // Stored messages from `compare_from` on may change; earlier ones only
        // rebuild the state.
        let late = book.high_water.as_ref().is_some_and(|hw| earliest <= *hw);
        let compare_from: Option<OrderKey> = late.then(|| earliest.clone());
        let tz = self.timezone(waba);
        let book = &self.books[waba];
        let (base, load_from, exact_from) = match book.checkpoint_before(earliest.0).filter(|_| book.warm) {
            Some(c) => (c.state.clone(), c.at, c.at),
            None => {
                let hw_at = book.high_water.as_ref().map_or(earliest.0, |h| h.0);
                let (from, exact) = rebuild_from(earliest.0.min(hw_at), tz);
                (WabaState::default(), from, exact)
            }
        };
        tracing::debug!(waba, late, load_from, earliest = earliest.0, "re-rating from a checkpoint");
        self.index_staged()?;
        let stored = self.block_on(self.store.events_since(waba, load_from)).map_err(store_error)?;
        let replaced: HashMap<&str, ()> =
            idx.iter().filter(|&&i| pendings[i].replaces.is_some()).map(|&i| (&*pendings[i].event.id, ())).collect();
        let stored: Vec<StoredEvent> = stored.into_iter().filter(|s| !replaced.contains_key(s.id.as_str())).collect();
        let stored_events = decode_stored(&stored)?;

        // Merge stored and new, in (timestamp, id) order.
        enum Origin {
            Stored(usize),
            New(usize),
        }
        let mut merged: Vec<(OrderKey, Origin)> = stored
            .iter()
            .enumerate()
            .map(|(k, s)| ((s.at_ms, Arc::from(s.id.as_str())), Origin::Stored(k)))
            .chain(idx.iter().map(|&i| (pendings[i].key(), Origin::New(i))))
            .collect();
        merged.sort_by(|a, b| a.0.cmp(&b.0));
        let events: Vec<Event> = merged
            .iter()
            .map(|(_, o)| match o {
                Origin::Stored(k) => stored_events[*k].clone(),
                Origin::New(i) => pendings[*i].event.clone(),
            })
            .collect();

        let waba_id = WabaId(waba.to_owned());
        self.rater.put_state(waba_id, base);
        if let Some(b) = self.books.get_mut(waba) {
            b.invalidate_after(load_from);
            // The base holds exactly the events before `load_from`.
            b.last_rated_at = Some(load_from - 1);
            b.since_checkpoint = 0;
        }
        let outcomes = self.rate_segmented(&events);
        if let Some(b) = self.books.get_mut(waba) {
            b.drop_before(exact_from);
        }

        // Stored messages whose verdict may have changed, with their statuses.
        let mut candidates: Vec<(Rerated, Rated)> = Vec::new();
        let mut new_results: Vec<(usize, Rated)> = Vec::new();
        for ((key, origin), outcome) in merged.into_iter().zip(outcomes) {
            match origin {
                Origin::New(i) => new_results.push((i, outcome.map_err(|e| rating_error(&pendings[i], e))?)),
                Origin::Stored(k) if compare_from.as_ref().is_some_and(|c| key >= *c) => {
                    let rated = outcome.map_err(|e| {
                        GroupError::Store(format!("re-rating stored message {} of WABA {waba}: {e}", stored[k].id))
                    })?;
                    candidates.push((Rerated { stored: stored[k].clone(), event: stored_events[k].clone() }, rated));
                }
                Origin::Stored(_) => {}
            }
        }
        let ids: Vec<&str> = candidates
            .iter()
            .map(|(r, _)| r.stored.id.as_str())
            .chain(new_results.iter().filter_map(|(i, _)| pendings[*i].replaces.as_ref().map(|s| s.id.as_str())))
            .collect();
        let status_rows: HashMap<String, StatusRow> = self
            .block_on(self.store.statuses_by_id(waba, &ids))
            .map_err(store_error)?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect();
        let mut changed: Vec<(Rerated, Rated, Value)> = Vec::new();
        for (r, mut rated) in candidates {
            let status = status_rows.get(&r.stored.id);
            apply_status(&mut rated, status);
            let now = serde_json::to_value(&rated).unwrap_or_default();
            let before: Value = serde_json::from_str(&r.stored.result).unwrap_or_default();
            if now != before {
                changed.push((r, rated, now));
            }
        }
        let mut old_seqs: Vec<i64> = changed.iter().map(|(r, _, _)| r.stored.entry_seq).collect();
        old_seqs.extend(new_results.iter().filter_map(|(i, _)| pendings[*i].replaces.as_ref().map(|s| s.entry_seq)));
        let old_entries = self.entries(waba, &old_seqs)?;

        let group_statuses: HashMap<(String, String), StatusRow> =
            status_rows.iter().map(|(id, r)| ((waba.to_owned(), id.clone()), r.clone())).collect();
        for (i, rated) in new_results {
            let p = &pendings[i];
            if let Some(old) = p.replaces.as_ref().and_then(|s| old_entries.get(&s.entry_seq)) {
                let seq = self.books.get_mut(waba).expect("book").take_seq();
                changes.entries.push(old.reversal(seq, CAUSE_REPLACED, now_ms));
            }
            results[i] = self.settle_new(p, rated, &group_statuses, now_ms, changes)?;
        }
        for (r, rated, now) in changed {
            let Some(old) = old_entries.get(&r.stored.entry_seq) else { continue };
            let status = status_rows.get(&r.stored.id);
            let book = self.books.get_mut(waba).expect("book");
            changes.entries.push(old.reversal(book.take_seq(), CAUSE_LATE, now_ms));
            let entry = self.entry(&r.event, &rated, status, CAUSE_LATE, now_ms);
            changes.updated_events.push(EventRow {
                waba: waba.to_owned(),
                id: r.stored.id.clone(),
                at_ms: r.stored.at_ms,
                source: r.stored.source.clone().into(),
                body: r.stored.body.clone(),
                result: Arc::from(now.to_string()),
                compact: None,
                entry_seq: entry.seq,
            });
            changes.entries.push(entry);
        }
        if let Some(b) = self.books.get_mut(waba) {
            b.warm = true;
        }
        Ok(())
    }

    /// Records a newly rated message: its charge and its event row (or the
    /// update of the stand-in it replaces).
    pub(super) fn settle_new(
        &mut self,
        p: &Pending,
        mut rated: Rated,
        statuses: &HashMap<(String, String), StatusRow>,
        now_ms: i64,
        changes: &mut Changes,
    ) -> Result<Arc<str>, GroupError> {
        let waba = p.event.waba.0.as_str();
        // Usually no stored status touches the group: then build no key per message.
        let status = if statuses.is_empty() { None } else { statuses.get(&(waba.to_owned(), p.event.id.to_string())) };
        apply_status(&mut rated, status);
        self.result_json.clear();
        serde_json::to_writer(&mut self.result_json, &rated).map_err(store_error)?;
        let result: Arc<str> = Arc::from(std::str::from_utf8(&self.result_json).map_err(store_error)?);
        let cause = if p.replaces.is_some() { CAUSE_REPLACED } else { CAUSE_RATED };
        let entry = self.entry(&p.event, &rated, status, cause, now_ms);
        let at_ms = p.event.at.timestamp_millis();
        // A new message's row goes where its charge goes, so it may store
        // only what the charge does not hold (see `compact_result`).
        let compact = if p.replaces.is_none() { compact_result::compact(&rated, &entry) } else { None };
        debug_assert!(
            compact.as_deref().is_none_or(|c| compact_result::rebuilds(&entry, &self.plugin_set.1, c, &result)),
            "the result of {} does not rebuild from its charge: {result}",
            p.event.id
        );
        let row = EventRow {
            waba: waba.to_owned(),
            id: p.event.id.to_string(),
            at_ms,
            source: source_name(p.event.source).into(),
            body: p.body.clone(),
            result: Arc::clone(&result),
            compact,
            entry_seq: entry.seq,
        };
        if p.replaces.is_some() {
            changes.updated_events.push(row);
        } else {
            changes.new_events.push(row);
        }
        changes.entries.push(entry);
        if let Some(book) = self.books.get_mut(waba) {
            let key = p.key();
            if book.high_water.as_ref().is_none_or(|hw| key > *hw) {
                book.high_water = Some(key);
            }
        }
        Ok(result)
    }

    /// A charge for a rated message, taking the next sequence number.
    pub(super) fn entry(
        &mut self,
        e: &Event,
        r: &Rated,
        status: Option<&StatusRow>,
        cause: &'static str,
        now_ms: i64,
    ) -> EntryRow {
        let seq = self.books.get_mut(&e.waba.0).map_or(0, Book::take_seq);
        let meta_pricing = status.and_then(|s| s.pricing.clone());
        EntryRow::charge(e, r, seq, cause, now_ms, Arc::clone(&self.plugin_set.0), meta_pricing)
    }

    /// The time zone of a WABA's profile (UTC when it has none).
    pub(super) fn timezone(&self, waba: &str) -> chrono_tz::Tz {
        self.rater.policies().profiles.profile(waba).map_or(chrono_tz::Tz::UTC, |p| p.timezone)
    }

    /// Ledger entries by seq.
    pub(super) fn entries(&mut self, waba: &str, seqs: &[i64]) -> Result<HashMap<i64, EntryRow>, GroupError> {
        if seqs.is_empty() {
            return Ok(HashMap::new());
        }
        self.index_staged()?;
        let rows = self.block_on(self.store.entries_by_seq(waba, seqs)).map_err(store_error)?;
        Ok(rows.into_iter().map(|r| (r.seq, r)).collect())
    }
}

/// A failed delivery makes an outbound message not billable.
pub(super) fn apply_status(rated: &mut Rated, status: Option<&StatusRow>) {
    if status.is_some_and(is_failed) && rated.direction == coexist_engine::event::Direction::Outbound {
        mark_failed(rated);
    }
}

fn rating_error(p: &Pending, e: coexist_engine::rated::RateError) -> GroupError {
    let (job, index) = p.slots.first().copied().unwrap_or((0, 0));
    GroupError::Rating { job, index, code: e.code, message: e.message, wabas: BTreeSet::new() }
}

/// Decodes stored bodies back into events.
pub(super) fn decode_stored(stored: &[StoredEvent]) -> Result<Vec<Event>, GroupError> {
    stored
        .iter()
        .map(|s| {
            let mut e = decode_normalized(&s.body)
                .map_err(|err| GroupError::Store(format!("stored message {} does not decode: {err}", s.id)))?;
            e.source = parse_source(&s.source);
            Ok(e)
        })
        .collect()
}

pub fn source_name(s: Source) -> &'static str {
    match s {
        Source::Record => "record",
        Source::Webhook => "webhook",
        Source::Echo => "echo",
        Source::History => "history",
        Source::Status => "status",
    }
}

fn parse_source(s: &str) -> Source {
    match s {
        "webhook" => Source::Webhook,
        "echo" => Source::Echo,
        "history" => Source::History,
        "status" => Source::Status,
        _ => Source::Record,
    }
}
