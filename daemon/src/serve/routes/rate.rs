//! `POST /v1/rate`: the billing endpoint.

use std::borrow::Cow;
use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use coexist_engine::event::{decode_normalized, Event};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::ledger::Submission;
use crate::serve::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RateQuery {
    /// Rate against the current state without storing anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Rates one normalized event, or `{"events":[...]}` (up to the batch limit).
/// A `200` means every result is durably in the ledger (unless `dry_run`).
#[utoipa::path(post, path = "/v1/rate", params(RateQuery),
    request_body(content = Object, description = "One normalized event, or {\"events\": [event, ...]}"),
    responses(
        (status = 200, description = "The result object, or {\"results\": [...]} in input order. For a registered number, an API send over its throughput budget carries coexistence.throughput_exceeded, one from an offboarded number coexistence.number_offboarded"),
        (status = 400, description = "Malformed JSON (with line and column)"),
        (status = 401, description = "Missing or invalid bearer token"),
        (status = 409, description = "A message id already stored with different content"),
        (status = 413, description = "Body or batch over the limit"),
        (status = 422, description = "Unknown field or value, impossible number, unknown WABA"),
        (status = 503, description = "A plugin or the store failed; nothing was stored")),
    security(("bearer" = [])))]
pub async fn rate(
    State(state): State<AppState>,
    query: Result<Query<RateQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_param("dry_run", e.body_text()))?;
    let body = body?;
    let text = std::str::from_utf8(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "request.malformed_json", format!("the body is not UTF-8: {e}"))
    })?;
    let (events, batch) = parse(text, state.limits.max_batch_events)?;
    // Lifecycle flags (throughput, offboarded, MM Lite on a registered
    // Coexistence number) for the answer; the stored verdict is the ledger's.
    let flags = crate::lifecycle::rate_flags(&state, &events).await?;
    let mut reply = state.ledger.submit(Submission::Rate { events, dry_run: query.dry_run }).await?;
    for (result, flags) in reply.results.iter_mut().zip(flags) {
        if !flags.is_empty() {
            *result = with_flags(result, flags);
        }
    }
    let json = if batch {
        let mut out = String::with_capacity(reply.results.iter().map(|r| r.len() + 1).sum::<usize>() + 16);
        out.push_str("{\"results\":[");
        for (i, r) in reply.results.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(r);
        }
        out.push_str("]}");
        out
    } else {
        reply.results.first().map(|r| r.to_string()).unwrap_or_default()
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// A result with lifecycle violations appended (codes it already has are kept once).
fn with_flags(result: &str, flags: Vec<serde_json::Value>) -> std::sync::Arc<str> {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(result) else { return result.into() };
    if let Some(list) = value.get_mut("violations").and_then(serde_json::Value::as_array_mut) {
        for flag in flags {
            if !list.iter().any(|v| v.get("code") == flag.get("code")) {
                list.push(flag);
            }
        }
    }
    value.to_string().into()
}

/// Decodes the body: one event, or a batch under `events`.
fn parse(text: &str, max_batch: usize) -> Result<(Vec<Event>, bool), ApiError> {
    let top: BTreeMap<Cow<'_, str>, &RawValue> = serde_json::from_str(text).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            ApiError::malformed(&e)
        } else {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.not_an_object",
                "the body must be a JSON object: one event, or {\"events\": [...]}",
            )
        }
    })?;
    if top.len() != 1 || !top.contains_key("events") {
        let event = decode_normalized(text).map_err(|e| ApiError::decode(&e, None))?;
        return Ok((vec![event], false));
    }
    let raw = top["events"];
    let list: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "event.invalid_value", "`events` must be an array of events")
            .with_details(serde_json::json!({ "field": "events" }))
    })?;
    if list.is_empty() {
        return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.empty_batch", "`events` is empty")
            .with_details(serde_json::json!({ "field": "events" })));
    }
    if list.len() > max_batch {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request.too_many_events",
            format!("a batch holds at most {max_batch} events; this one has {}", list.len()),
        )
        .with_details(serde_json::json!({ "limit": max_batch, "events": list.len() })));
    }
    let mut events = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        let e = decode_normalized(raw.get()).map_err(|e| ApiError::decode(&e, Some(&format!("events[{i}]"))))?;
        events.push(e);
    }
    Ok((events, true))
}
