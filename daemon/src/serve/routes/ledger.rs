//! `GET /v1/ledger`: the ledger entries, paged.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::serve::params::{rfc3339, time_range};
use crate::serve::{ApiError, AppState};
use crate::store::{EntryRow, LedgerFilter};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LedgerQuery {
    /// Only this WABA.
    pub waba: Option<String>,
    /// Messages at or after this instant (RFC 3339 or unix seconds).
    pub from: Option<String>,
    /// Messages before this instant.
    pub to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Entries per page (1 to 5,000; default 500).
    pub limit: Option<i64>,
    /// Only this market (e.g. an invoice line's).
    pub market: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only this pricing type.
    pub pricing_type: Option<String>,
}

/// Ledger entries in (WABA, sequence) order: charges and the reversals that
/// cancel them. Each names what produced it.
#[utoipa::path(get, path = "/v1/ledger", params(LedgerQuery),
    responses((status = 200, description = "{\"entries\": [...], \"next_cursor\": string|null}"),
              (status = 422, description = "A bad parameter")),
    security(("bearer" = [])))]
pub async fn ledger(State(state): State<AppState>, Query(q): Query<LedgerQuery>) -> Result<Json<Value>, ApiError> {
    let (from_ms, to_ms) = time_range(q.from.as_deref(), q.to.as_deref())?;
    let limit = q.limit.unwrap_or(500);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "`limit` must be between 1 and 5000"));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = LedgerFilter {
        waba: q.waba.clone(),
        from_ms,
        to_ms,
        after,
        market: q.market.clone(),
        category: q.category.clone(),
        pricing_type: q.pricing_type.clone(),
    };
    state.ledger.index_staged().await?;
    let rows = state.store.ledger_page(&filter, limit).await?;
    let sets: HashMap<String, Value> = state
        .store
        .plugin_sets()
        .await?
        .into_iter()
        .map(|(k, v)| (k, serde_json::from_str(&v).unwrap_or(Value::Null)))
        .collect();
    let next_cursor =
        (rows.len() as i64 == limit).then(|| rows.last().map(|r| encode_cursor(&r.waba, r.seq))).flatten();
    let entries: Vec<Value> = rows.iter().map(|r| entry_json(r, &sets)).collect();
    Ok(Json(json!({ "entries": entries, "next_cursor": next_cursor })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConflictsQuery {
    pub waba: Option<String>,
    /// At most this many, newest first (1 to 5,000; default 100).
    pub limit: Option<i64>,
}

/// Deliveries that reused a stored message id with different content, with
/// both versions. The stored version stays in force.
#[utoipa::path(get, path = "/v1/conflicts", params(ConflictsQuery),
    responses((status = 200, description = "{\"conflicts\": [{waba, id, received_at, stored, offered}]}")),
    security(("bearer" = [])))]
pub async fn conflicts(
    State(state): State<AppState>,
    Query(q): Query<ConflictsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=5000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "`limit` must be between 1 and 5000"));
    }
    let rows = state.store.conflicts(q.waba.as_deref(), limit).await?;
    let conflicts: Vec<Value> = rows
        .iter()
        .map(|c| {
            json!({
                "waba": c.waba,
                "id": c.id,
                "received_at": rfc3339(c.received_ms),
                "stored": serde_json::from_str::<Value>(&c.stored).unwrap_or(Value::Null),
                "offered": serde_json::from_str::<Value>(&c.offered).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({ "conflicts": conflicts })))
}

fn entry_json(r: &EntryRow, sets: &HashMap<String, Value>) -> Value {
    json!({
        "waba": r.waba,
        "seq": r.seq,
        "id": r.id,
        "kind": r.kind,
        "reverses": r.reverses,
        "cause": r.cause,
        "timestamp": rfc3339(r.at_ms),
        "recorded_at": rfc3339(r.recorded_ms),
        "business_number": r.business_number,
        "billable": r.billable != 0,
        "category": r.category,
        "pricing_type": r.pricing_type,
        "market": r.market,
        "country": r.country,
        "currency": r.currency,
        "amount": r.amount,
        "regime": r.regime,
        "rate_card": r.rate_card,
        "tier": r.tier,
        "plugins": sets.get(&*r.plugin_set).cloned().unwrap_or(Value::Null),
        "meta_pricing": r.meta_pricing.as_deref().and_then(|p| serde_json::from_str::<Value>(p).ok()),
    })
}

/// The cursor is opaque to clients: `<seq>.<hex of the WABA id>`.
fn encode_cursor(waba: &str, seq: i64) -> String {
    format!("{seq}.{}", hex::encode(waba))
}

fn decode_cursor(c: &str) -> Result<(String, i64), ApiError> {
    let bad = || ApiError::bad_param("cursor", "`cursor` must be a `next_cursor` returned by this endpoint");
    let (seq, waba) = c.split_once('.').ok_or_else(bad)?;
    let seq: i64 = seq.parse().map_err(|_| bad())?;
    let waba = String::from_utf8(hex::decode(waba).map_err(|_| bad())?).map_err(|_| bad())?;
    Ok((waba, seq))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cursors_round_trip() {
        let c = super::encode_cursor("W1 x", 42);
        assert_eq!(super::decode_cursor(&c).unwrap(), ("W1 x".to_owned(), 42));
        assert!(super::decode_cursor("nope").is_err());
    }
}
