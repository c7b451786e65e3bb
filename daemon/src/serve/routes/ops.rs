//! Health, readiness, metrics, the OpenAPI document, and 404s.

use axum::extract::State;
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::serve::{ApiError, AppState};

/// The process is up.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "{\"status\":\"ok\"}")))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: the store answers and the plugins are loaded.
#[utoipa::path(get, path = "/readyz",
    responses((status = 200, description = "Ready, with the store and plugins"), (status = 503, description = "The store does not answer")))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store.backend().name();
    if state.store.ping().await {
        Json(json!({ "status": "ready", "store": store, "plugins": plugin_names(&state) })).into_response()
    } else {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store.unavailable",
            format!("the {store} store does not answer"),
        )
        .into_response()
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    // Counted at scrape time: "stale" depends on the clock, not on an event.
    let (stale_before, _) = state.lifecycle.activity_cutoffs(state.lifecycle.now_ms());
    match state.store.count_stale(stale_before).await {
        Ok(n) => crate::metrics::stale_numbers(n),
        Err(e) => tracing::warn!("counting stale numbers: {}", crate::report::chain(&e)),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()).into_response()
}

/// This API's OpenAPI 3 description, generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3 document")))]
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::serve::openapi::document()).into_response()
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "request.not_found", format!("no route for {}", uri.path()))
        .with_details(json!({ "see": "/openapi.json" }))
}

/// `name@version` of each plugin of the current set.
fn plugin_names(state: &AppState) -> Vec<String> {
    state.plugins.current().versions().iter().map(|v| format!("{}@{}", v.name, v.version)).collect()
}
