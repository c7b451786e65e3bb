//! The finance dashboard at `/`: static HTML, JavaScript and CSS compiled
//! into the binary. It reads the public JSON API only; no CDN, no internet.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const HTML: &str = include_str!("../../../assets/dashboard.html");
const JS: &str = include_str!("../../../assets/dashboard.js");
const CSS: &str = include_str!("../../../assets/dashboard.css");

/// The dashboard page.
#[utoipa::path(get, path = "/", responses((status = 200, description = "The finance dashboard (HTML)")))]
pub async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], HTML).into_response()
}

pub async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], JS).into_response()
}

pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], CSS).into_response()
}
