//! Bearer tokens for `/v1` (all but the webhooks, which Meta signs).

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::{ApiError, AppState};

pub async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let tokens = &state.secrets.api_tokens;
    if tokens.is_empty() {
        // Only possible on a loopback address: startup refuses anything else.
        return next.run(request).await;
    }
    let offered = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(offered) = offered else {
        return ApiError::new(StatusCode::UNAUTHORIZED, "auth.missing_token", "send `Authorization: Bearer <token>`")
            .into_response();
    };
    if !tokens.iter().any(|t| same_secret(t, offered)) {
        return ApiError::new(StatusCode::UNAUTHORIZED, "auth.invalid_token", "the bearer token is not accepted")
            .into_response();
    }
    next.run(request).await
}

/// Compares two secrets by their digests, so the time taken says nothing
/// about how much of the secret matched.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter().zip(db.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_compare() {
        assert!(super::same_secret("abc", "abc"));
        assert!(!super::same_secret("abc", "abd"));
        assert!(!super::same_secret("abc", ""));
    }
}
