//! `GET /v1/reconciliation`: where Meta's pricing and our verdict disagree.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::serve::params::{rfc3339, time_range};
use crate::serve::{ApiError, AppState};
use crate::store::EntryRow;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationQuery {
    pub waba: Option<String>,
    /// Messages at or after this instant (RFC 3339 or unix seconds).
    pub from: Option<String>,
    /// Messages before this instant.
    pub to: Option<String>,
}

/// Messages whose status webhooks carried Meta's `pricing`, where Meta's
/// billable flag, category or pricing type differs from our live verdict.
#[utoipa::path(get, path = "/v1/reconciliation", params(ReconciliationQuery),
    responses((status = 200, description = "{\"checked\": n, \"mismatches\": [{waba, id, timestamp, ours, meta, differs}]}"),
              (status = 422, description = "A bad parameter")),
    security(("bearer" = [])))]
pub async fn reconciliation(
    State(state): State<AppState>,
    Query(q): Query<ReconciliationQuery>,
) -> Result<Json<Value>, ApiError> {
    let (from_ms, to_ms) = time_range(q.from.as_deref(), q.to.as_deref())?;
    state.ledger.index_staged().await?;
    let rows = state.store.priced_live_entries(q.waba.as_deref(), from_ms, to_ms).await?;
    let checked = rows.len();
    let mismatches: Vec<Value> = rows.iter().filter_map(|(entry, pricing)| mismatch(entry, pricing)).collect();
    Ok(Json(json!({ "checked": checked, "mismatches": mismatches })))
}

/// Meta's category names, in ours.
fn meta_category(c: &str) -> String {
    match c.to_ascii_lowercase().as_str() {
        "authentication-international" | "authentication_international" => "authentication_international".into(),
        "marketing_lite" => "marketing".into(),
        "referral_conversion" => "service".into(),
        other => other.to_owned(),
    }
}

fn mismatch(entry: &EntryRow, pricing: &str) -> Option<Value> {
    let meta: Value = serde_json::from_str(pricing).ok()?;
    let mut differs = Vec::new();
    if let Some(b) = meta.get("billable").and_then(Value::as_bool) {
        if b != (entry.billable != 0) {
            differs.push("billable");
        }
    }
    if let Some(c) = meta.get("category").and_then(Value::as_str) {
        // A message we do not bill has no category to compare.
        if entry.billable != 0 && meta_category(c) != entry.category {
            differs.push("category");
        }
    }
    if let Some(t) = meta.get("type").and_then(Value::as_str) {
        if t.to_ascii_lowercase() != entry.pricing_type {
            differs.push("pricing_type");
        }
    }
    if differs.is_empty() {
        return None;
    }
    Some(json!({
        "waba": entry.waba,
        "id": entry.id,
        "timestamp": rfc3339(entry.at_ms),
        "ours": {
            "billable": entry.billable != 0,
            "category": entry.category,
            "pricing_type": entry.pricing_type,
            "amount": entry.amount,
            "currency": entry.currency,
            "seq": entry.seq,
        },
        "meta": meta,
        "differs": differs,
    }))
}
