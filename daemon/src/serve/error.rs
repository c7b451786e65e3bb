//! The one error shape of the HTTP API: `{"error":{"code","message","details"}}`.

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use coexist_engine::event::DecodeError;
use serde_json::{json, Value};

use crate::ledger::LedgerError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: Value::Null }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn bad_param(name: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_parameter", message)
            .with_details(json!({ "parameter": name }))
    }

    /// A JSON syntax error: 400 with the position.
    pub fn malformed(err: &serde_json::Error) -> Self {
        let text = err.to_string();
        let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
        Self::new(StatusCode::BAD_REQUEST, "request.malformed_json", format!("the body is not valid JSON: {message}"))
            .with_details(json!({ "line": err.line(), "column": err.column() }))
    }

    /// A bad event; `prefix` places its field in the request (`events[3]`).
    pub fn decode(err: &DecodeError, prefix: Option<&str>) -> Self {
        use coexist_engine::event::DecodeErrorKind;
        let field = match (prefix, &err.field) {
            (Some(p), Some(f)) => Some(format!("{p}.{f}")),
            (Some(p), None) => Some(p.to_owned()),
            (None, f) => f.clone(),
        };
        let status = match err.kind {
            DecodeErrorKind::MalformedJson => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let mut details = json!({ "field": field });
        if let Some(c) = err.column {
            details["column"] = json!(c);
        }
        let message = match &field {
            Some(f) => format!("field `{f}`: {}", err.message),
            None => err.message.clone(),
        };
        Self::new(status, err.code(), message).with_details(details)
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "request.too_large", "the request body is over the limit")
                .with_details(json!({ "hint": "set [limits] max_body_bytes in the config, or send smaller batches" }))
        } else {
            ApiError::new(r.status(), "request.unreadable_body", r.body_text())
        }
    }
}

impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let message = e.to_string();
        match e {
            LedgerError::Conflict(conflicts) => ApiError::new(StatusCode::CONFLICT, "ledger.conflict", message)
                .with_details(json!({ "conflicts": conflicts })),
            LedgerError::UnknownWaba { index, waba } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "waba.unknown", message)
                    .with_details(json!({ "index": index, "waba": waba }))
            }
            LedgerError::Rating { index, code, .. } => {
                let status = if code.starts_with("plugin.") {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::UNPROCESSABLE_ENTITY
                };
                ApiError::new(status, code, message).with_details(json!({ "index": index }))
            }
            LedgerError::Store(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ledger.store_failed", message),
            LedgerError::Unavailable => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ledger.unavailable", message),
            LedgerError::Refused { status, code, details, .. } => {
                ApiError::new(StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY), code, message)
                    .with_details(details)
            }
            LedgerError::Replica => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "ledger.replica", message),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "store.query_failed", crate::report::chain(&e))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": { "code": self.code, "message": self.message, "details": self.details } });
        (self.status, Json(body)).into_response()
    }
}
