//! Query-parameter parsing shared by the read endpoints.

use coexist_engine::event::parse_timestamp;

use super::ApiError;

/// `from`/`to` as unix milliseconds: RFC 3339 or unix seconds; open ends by default.
pub fn time_range(from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), ApiError> {
    let parse = |name: &str, v: Option<&str>, default: i64| -> Result<i64, ApiError> {
        match v.filter(|s| !s.is_empty()) {
            None => Ok(default),
            Some(s) => parse_timestamp(s)
                .map(|t| t.timestamp_millis())
                .map_err(|e| ApiError::bad_param(name, format!("`{name}`: {e}"))),
        }
    };
    let from_ms = parse("from", from, i64::MIN / 2)?;
    let to_ms = parse("to", to, i64::MAX / 2)?;
    if from_ms > to_ms {
        return Err(ApiError::bad_param("to", "`to` is before `from`"));
    }
    Ok((from_ms, to_ms))
}

/// Milliseconds as RFC 3339.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}
