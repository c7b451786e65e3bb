//! `GET|POST /v1/webhooks/meta`: Meta's subscription handshake and deliveries.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coexist_engine::event::{decode_envelope, DecodeErrorKind};
use hmac::{Hmac, Mac};
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;

use crate::ledger::Submission;
use crate::serve::auth::same_secret;
use crate::serve::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerifyQuery {
    #[serde(rename = "hub.mode")]
    #[param(rename = "hub.mode")]
    pub mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    #[param(rename = "hub.verify_token")]
    pub verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    #[param(rename = "hub.challenge")]
    pub challenge: Option<String>,
}

/// The subscription handshake: echoes `hub.challenge` when the verify token matches.
#[utoipa::path(get, path = "/v1/webhooks/meta", params(VerifyQuery),
    responses((status = 200, description = "The challenge, as text"),
              (status = 403, description = "Wrong mode or verify token, or none configured")))]
pub async fn verify(State(state): State<AppState>, Query(q): Query<VerifyQuery>) -> Result<Response, ApiError> {
    let Some(expected) = &state.secrets.webhook_verify_token else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "webhook.not_configured",
            "COEXIST_WEBHOOK_VERIFY_TOKEN is not set, so no subscription can be verified",
        ));
    };
    let token_ok = q.verify_token.as_deref().is_some_and(|t| same_secret(expected, t));
    match (q.mode.as_deref(), token_ok, q.challenge) {
        (Some("subscribe"), true, Some(challenge)) => Ok(challenge.into_response()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "webhook.verify_failed",
            "hub.mode must be `subscribe` with the configured hub.verify_token and a hub.challenge",
        )),
    }
}

/// A Meta delivery, unchanged. The signature is checked (in constant time)
/// before the body is parsed; messages and statuses are stored and rated.
#[utoipa::path(post, path = "/v1/webhooks/meta",
    request_body(content = Object, description = "A Meta webhook delivery (object: whatsapp_business_account)"),
    responses(
        (status = 200, description = "Stored: counts of messages, statuses, repeats, and any conflicts"),
        (status = 400, description = "Malformed JSON"),
        (status = 401, description = "Missing or bad X-Hub-Signature-256"),
        (status = 422, description = "A delivery this version cannot read, or an unknown WABA"),
        (status = 503, description = "No app secret configured, or the store failed")))]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let Some(secret) = &state.secrets.webhook_app_secret else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "webhook.not_configured",
            "COEXIST_WEBHOOK_APP_SECRET is not set, so no delivery can be verified",
        ));
    };
    verify_signature(secret, &headers, &body)?;
    let mut decoded = decode_envelope(&body).map_err(|errors| {
        let first = &errors[0];
        let mut e = ApiError::decode(first, None);
        if first.kind == DecodeErrorKind::MalformedJson {
            e.code = "request.malformed_json";
        }
        e.details["errors"] = json!(errors);
        e
    })?;
    // Registered numbers: drop history messages that must not be stored, and
    // note the app activity, history progress and offboardings to apply.
    let signals = crate::lifecycle::prepare_webhook(&state, &mut decoded).await?;
    let (too_old, duplicates) = (signals.history_refused_too_old, signals.history_duplicates);
    let messages = decoded.messages.len();
    let reply =
        state.ledger.submit(Submission::Webhook { events: decoded.messages, statuses: decoded.statuses }).await?;
    crate::lifecycle::apply_webhook(&state, signals).await?;
    Ok(Json(json!({
        "messages": messages,
        "statuses": reply.statuses,
        "repeats": reply.repeats,
        "other_changes": decoded.notices.len(),
        "conflicts": reply.conflicts,
        "history_refused_too_old": too_old,
        "history_duplicates": duplicates,
    }))
    .into_response())
}

fn verify_signature(secret: &str, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let header = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        ApiError::new(StatusCode::UNAUTHORIZED, "webhook.missing_signature", "X-Hub-Signature-256 is missing")
    })?;
    let bad = || {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "webhook.bad_signature",
            "X-Hub-Signature-256 does not match the body signed with the app secret",
        )
    };
    let hex_sig = header.trim().strip_prefix("sha256=").ok_or_else(bad)?;
    let sig = hex::decode(hex_sig).map_err(|_| bad())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| bad())?;
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig).map_err(|_| bad())
}
