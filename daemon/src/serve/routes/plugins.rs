//! `GET /v1/plugins` and `POST /v1/plugins/reload`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use serde_json::json;

use crate::plugins::{ReloadError, ReloadRecord};
use crate::serve::{ApiError, AppState};

/// One plugin of the current set.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginView {
    pub name: String,
    pub version: String,
    /// sha256 of the component, hex.
    pub digest: String,
    /// Where it came from: `bundled:<name>` or a path.
    pub module: String,
    /// `enforce` or `monitor`.
    pub mode: &'static str,
    pub timeout_ms: u64,
    pub memory_mib: u64,
    /// When this set was loaded (RFC 3339).
    pub loaded_at: String,
    /// Batches evaluated since `loaded_at`.
    pub evaluations: u64,
    /// Messages in those batches.
    pub messages: u64,
    /// Failed calls by code (`plugin.timeout`, ...); absent codes are zero.
    #[schema(value_type = Object)]
    pub errors: std::collections::BTreeMap<&'static str, u64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PluginsView {
    pub plugins: Vec<PluginView>,
    /// How many times a new set was published since start.
    pub generation: u64,
    /// The last reload attempt, if any.
    #[schema(value_type = Option<Object>)]
    pub last_reload: Option<ReloadRecord>,
}

fn view(state: &AppState) -> PluginsView {
    let published = state.plugins.published();
    let pipeline = &published.pipeline;
    let loaded_at = pipeline.loaded_at().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let plugins = pipeline
        .plugins()
        .iter()
        .map(|p| {
            let stats = p.stats.snapshot();
            PluginView {
                name: p.name.clone(),
                version: p.version.clone(),
                digest: p.digest.clone(),
                module: p.spec.module.clone(),
                mode: p.spec.mode.as_str(),
                timeout_ms: p.spec.timeout_ms,
                memory_mib: p.spec.memory_mib,
                loaded_at: loaded_at.clone(),
                evaluations: stats.evaluations,
                messages: stats.messages,
                errors: stats.errors,
            }
        })
        .collect();
    PluginsView { plugins, generation: published.generation, last_reload: published.last_reload }
}

/// The loaded plugins, in pipeline order, with their counters.
#[utoipa::path(get, path = "/v1/plugins", responses((status = 200, body = PluginsView)))]
pub async fn list(State(state): State<AppState>) -> Json<PluginsView> {
    Json(view(&state))
}

/// Reloads the plugin set from the policy files: compiled, configured and
/// smoke-tested off the request path, then swapped in. On failure the old set
/// stays and the error says why.
#[utoipa::path(post, path = "/v1/plugins/reload",
    responses(
        (status = 200, description = "Reloaded, or unchanged; with the set now serving", body = PluginsView),
        (status = 422, description = "The new set was refused (`policy.invalid` or `plugin.*`); the old set keeps serving"),
    ))]
pub async fn reload(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let host = state.plugins.clone();
    let outcome = tokio::task::spawn_blocking(move || host.reload("http")).await.map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("the reload task failed: {e}"))
    })?;
    match outcome {
        Ok(changed) => {
            let current = view(&state);
            Ok(Json(json!({
                "outcome": if changed { "reloaded" } else { "unchanged" },
                "took_ms": current.last_reload.as_ref().map(|r| r.took_ms),
                "plugins": current.plugins,
                "generation": current.generation,
            })))
        }
        Err(e) => Err(refused(&e)),
    }
}

fn refused(e: &ReloadError) -> ApiError {
    let mut details = json!({ "kept": "the previous plugin set keeps serving" });
    if let ReloadError::Plugin(p) = e {
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(p) {
            for (k, v) in fields {
                if k != "code" {
                    details[k] = v;
                }
            }
        }
    }
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.code(), format!("reload refused: {e}")).with_details(details)
}
