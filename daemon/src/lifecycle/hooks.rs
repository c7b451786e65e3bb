//! What webhooks and sends mean for registered numbers:
//! - echoes, app state syncs and history deliveries are app activity;
//! - history chunks advance the sync's progress; messages older than the
//!   history reach are refused, and a message whose id is already stored
//!   (the echo of the same message, or a redelivery) is not stored or counted twice;
//! - `account_update` `ACCOUNT_OFFBOARDED` offboards the number;
//! - an API send over the number's budget, or from an offboarded number, is flagged.
//!
//! Numbers that are not registered pass through untouched.

use std::collections::{BTreeMap, HashSet};

use coexist_engine::event::{Decoded, Direction, Event, Feature, Notice, Side, Source};
use coexist_engine::lifecycle::{Admission, HistoryChunk, HistoryMessage, MessageFate};
use serde_json::{json, Value};

use crate::serve::{ApiError, AppState};

/// What a delivery will change, gathered before it is stored and applied after.
#[derive(Debug, Default)]
pub struct WebhookSignals {
    /// (number, event time, source) of app activity.
    activity: Vec<(String, i64, &'static str)>,
    chunks: Vec<(String, HistoryChunk)>,
    /// Per number: the history messages of this delivery, with their fate.
    history: BTreeMap<String, Vec<HistoryMessage>>,
    offboarded: Vec<String>,
    /// Counts for the webhook's answer.
    pub history_refused_too_old: usize,
    pub history_duplicates: usize,
}

/// The number an `account_update` names, in any of the places Meta puts it.
fn account_update_number(value: &Value) -> Option<String> {
    let raw = value
        .get("phone_number")
        .or_else(|| value.get("display_phone_number"))
        .or_else(|| value.get("metadata").and_then(|m| m.get("display_phone_number")))
        .and_then(Value::as_str)?;
    coexist_engine::phone::PhoneNumber::from_wa_id(raw).ok().map(|p| p.as_str().to_owned())
}

/// Reads a decoded delivery, drops the history messages that must not be
/// stored, and returns what to apply once the rest is stored.
pub async fn prepare_webhook(state: &AppState, decoded: &mut Decoded) -> Result<WebhookSignals, ApiError> {
    let lc = &state.lifecycle;
    let now = lc.now_ms();
    let mut signals = WebhookSignals::default();
    for notice in &decoded.notices {
        match notice {
            Notice::AppStateSync { business_number: Some(n), at, .. } => signals.activity.push((
                n.as_str().to_owned(),
                at.map_or(now, |t| t.timestamp_millis()),
                "app_state_sync",
            )),
            Notice::HistoryChunk { business_number: Some(n), phase, chunk_order, progress, declined, .. } => {
                signals.chunks.push((
                    n.as_str().to_owned(),
                    HistoryChunk { phase: *phase, chunk_order: *chunk_order, progress: *progress, declined: *declined },
                ));
                // The app sends history only while it runs: activity now.
                signals.activity.push((n.as_str().to_owned(), now, "history"));
            }
            Notice::AccountUpdate { event, value, waba } if event == "ACCOUNT_OFFBOARDED" => {
                match account_update_number(value) {
                    Some(n) => signals.offboarded.push(n),
                    None => {
                        tracing::warn!(waba = %waba.0, "ACCOUNT_OFFBOARDED names no phone number; no number offboarded")
                    }
                }
            }
            _ => {}
        }
    }
    for e in decoded.messages.iter().filter(|e| e.source == Source::Echo) {
        signals.activity.push((e.business_number.as_str().to_owned(), e.at.timestamp_millis(), "echo"));
    }

    // History messages of registered numbers: decide each one's fate.
    let mut by_number: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, e) in decoded.messages.iter().enumerate() {
        if e.source == Source::History {
            by_number.entry(e.business_number.as_str().to_owned()).or_default().push(i);
        }
    }
    let mut drop = HashSet::new();
    if !by_number.is_empty() {
        // The lookup below reads the indexed tables: index what is staged.
        state.ledger.index_staged().await?;
    }
    for (number, idx) in by_number {
        let Some(row) = lc.get(&number).await? else { continue };
        let waba = &decoded.messages[idx[0]].waba.0;
        let ids: Vec<&str> = idx.iter().map(|&i| &*decoded.messages[i].id).collect();
        let stored: HashSet<String> = state.store.events_by_id(waba, &ids).await?.into_iter().map(|e| e.id).collect();
        // An echo in this same delivery counts as stored too.
        let echoed: HashSet<&str> =
            decoded.messages.iter().filter(|e| e.source == Source::Echo).map(|e| &*e.id).collect();
        let mut scratch = row.state.history.clone();
        let mut messages = Vec::with_capacity(idx.len());
        for &i in &idx {
            let e: &Event = &decoded.messages[i];
            let m = HistoryMessage {
                at_ms: e.at.timestamp_millis(),
                media_placeholder: e.kind == "media_placeholder",
                already_stored: stored.contains(&*e.id) || echoed.contains(&*e.id),
            };
            match scratch.apply_message(&lc.settings, row.state.onboarded_at_ms, m) {
                MessageFate::TooOld => {
                    signals.history_refused_too_old += 1;
                    drop.insert(i);
                }
                MessageFate::Duplicate => {
                    signals.history_duplicates += 1;
                    drop.insert(i);
                }
                MessageFate::Store | MessageFate::StoreUnsyncedMedia => {}
            }
            messages.push(m);
        }
        signals.history.insert(number, messages);
    }
    if !drop.is_empty() {
        let mut i = 0;
        decoded.messages.retain(|_| {
            let keep = !drop.contains(&i);
            i += 1;
            keep
        });
    }
    Ok(signals)
}

/// Applies a stored delivery's signals to the registered numbers.
pub async fn apply_webhook(state: &AppState, signals: WebhookSignals) -> Result<(), ApiError> {
    let lc = &state.lifecycle;
    let now = lc.now_ms();
    let mut numbers: Vec<&String> = signals
        .activity
        .iter()
        .map(|a| &a.0)
        .chain(signals.chunks.iter().map(|c| &c.0))
        .chain(signals.history.keys())
        .chain(signals.offboarded.iter())
        .collect();
    numbers.sort();
    numbers.dedup();
    for number in numbers {
        lc.update(number, |s| {
            let Some(s) = s else { return Ok::<_, ApiError>(None) };
            let mut s = s.clone();
            for (_, at, source) in signals.activity.iter().filter(|a| &a.0 == number) {
                s.app_activity(*at, source);
            }
            for (_, chunk) in signals.chunks.iter().filter(|c| &c.0 == number) {
                s.history.apply_chunk(*chunk);
            }
            for m in signals.history.get(number).into_iter().flatten() {
                s.history.apply_message(&lc.settings, s.onboarded_at_ms, *m);
            }
            if signals.offboarded.contains(number) {
                s.offboard(now);
            }
            Ok(Some((s, ())))
        })
        .await??;
    }
    Ok(())
}

/// Lifecycle violations for each event of a `/v1/rate` request (same order):
/// API sends over the number's budget, from an offboarded number, or MM Lite
/// sends from a number registered in Coexistence. Cheap: a cached profile and
/// an in-memory budget, no database write.
pub async fn rate_flags(state: &AppState, events: &[Event]) -> Result<Vec<Vec<Value>>, ApiError> {
    let lc = &state.lifecycle;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let mut flags = Vec::new();
        if e.direction == Direction::Outbound && e.side == Side::Api && e.source == Source::Record {
            let number = e.business_number.as_str();
            if let Some(p) = lc.send_profile(number).await? {
                if let Some(at) = p.offboarded_at_ms {
                    flags.push(json!({
                        "code": "coexistence.number_offboarded", "feature": "coexistence", "action": "flag",
                        "message": format!("{number} was offboarded from Coexistence at {}; API sends from it are not expected", crate::serve::params::rfc3339(at)),
                    }));
                } else {
                    if let Admission::Refused { retry_after_us } = lc.admit_local(number, p.gcra) {
                        flags.push(json!({
                            "code": "coexistence.throughput_exceeded", "feature": "throughput", "action": "flag",
                            "message": format!("{number} is over its limit of {} messages per second (burst {}); retry in {} ms",
                                p.gcra.per_second, p.gcra.burst, (retry_after_us + 999) / 1000),
                        }));
                    }
                    if p.coexistence && e.features.contains(Feature::MmLite) {
                        flags.push(json!({
                            "code": "coexistence.mm_lite_ineligible", "feature": "mm_lite", "action": "block",
                            "message": format!("{number} is registered in Coexistence, and Coexistence numbers are generally not eligible for the Marketing Messages Lite API"),
                        }));
                    }
                }
            }
        }
        out.push(flags);
    }
    Ok(out)
}
