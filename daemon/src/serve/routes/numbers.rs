//! The number registry and the Coexistence lifecycle:
//! `/v1/numbers/...`, `/v1/eligibility`, and the test clock.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use coexist_engine::decision::Action;
use coexist_engine::event::parse_timestamp;
use coexist_engine::lifecycle::{
    Admission, KeepAliveStatus, LifecycleError, NumberState, SyncKind, SyncState, ThroughputClass, DAY_MS,
};
use coexist_engine::phone::PhoneNumber;
use coexist_engine::plugin::EligibilityVerdict;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::serve::params::rfc3339;
use crate::serve::{ApiError, AppState};
use crate::store::NumberFilter;

/// A body that is JSON of type `T`, or the one error shape.
fn body<T>(b: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    b.map(|Json(v)| v).map_err(|e| {
        let status = match e {
            JsonRejection::JsonSyntaxError(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        let code = if status == StatusCode::BAD_REQUEST { "request.malformed_json" } else { "request.invalid_body" };
        ApiError::new(status, code, e.body_text())
    })
}

/// `+<digits>` (or digits alone) as E.164.
fn number_param(raw: &str) -> Result<String, ApiError> {
    let parsed = if raw.starts_with('+') { PhoneNumber::parse(raw) } else { PhoneNumber::from_wa_id(raw) };
    parsed.map(|p| p.as_str().to_owned()).map_err(|e| ApiError::bad_param("number", format!("`{raw}`: {e}")))
}

fn time_param(name: &str, raw: &str) -> Result<i64, ApiError> {
    parse_timestamp(raw).map(|t| t.timestamp_millis()).map_err(|e| ApiError::bad_param(name, format!("`{name}`: {e}")))
}

fn not_found(number: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "number.not_registered", format!("{number} is not registered"))
        .with_details(json!({ "number": number, "hint": "register it with PUT /v1/numbers/{number}" }))
}

/// The one place a lifecycle refusal becomes HTTP.
pub fn lifecycle_error(number: &str, e: &LifecycleError) -> ApiError {
    let status = match e {
        LifecycleError::Settings { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::CONFLICT,
    };
    let mut details = e.details();
    details["number"] = json!(number);
    ApiError::new(status, e.code(), e.to_string()).with_details(details)
}

fn day_of(ms: i64) -> i32 {
    i32::try_from(ms.div_euclid(DAY_MS)).unwrap_or(i32::MAX)
}

fn date_of_day(day: i32) -> String {
    rfc3339(i64::from(day) * DAY_MS).get(..10).unwrap_or_default().to_owned()
}

/// An eligibility verdict as JSON.
fn verdict_json(number: &str, day: i32, v: &EligibilityVerdict) -> Value {
    json!({
        "number": number,
        "at": date_of_day(day),
        "status": if v.ineligible.is_some() { "ineligible" } else { "eligible" },
        "rule": v.ineligible.as_ref().map(|r| json!({
            "country": r.country, "name": r.name, "prefix": format!("+{}", r.prefix),
            "list_from": v.list_from.map(date_of_day),
        })),
        "list": v.list_from.map(|d| json!({ "effective_from": date_of_day(d), "source": v.source })),
        "alternatives": v.alternatives,
        "note": if v.list_from.is_none() { Some("no eligibility list is in force on this date") } else { None },
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EligibilityQuery {
    /// The business number, E.164 (`+44...`).
    pub number: String,
    /// The date (YYYY-MM-DD, UTC) or an instant; default today.
    pub at: Option<String>,
}

/// Whether a business number may be in Coexistence on a date, decided by the
/// eligibility plugin from the effective-dated lists in `policies/eligibility.toml`.
#[utoipa::path(get, path = "/v1/eligibility", params(EligibilityQuery),
    responses((status = 200, description = "{status: eligible|ineligible, rule, list, alternatives}"),
              (status = 422, description = "A bad number or date"),
              (status = 503, description = "The eligibility plugin failed")),
    security(("bearer" = [])))]
pub async fn eligibility(
    State(state): State<AppState>,
    q: Result<Query<EligibilityQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_param("number", e.body_text()))?;
    let number = number_param(&q.number)?;
    let day = match q.at.as_deref() {
        None | Some("") => day_of(state.lifecycle.now_ms()),
        Some(s) if s.len() == 10 => {
            let date = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map_err(|e| ApiError::bad_param("at", format!("`at`: `{s}`: {e}")))?;
            day_of(date.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp_millis()))
        }
        Some(s) => day_of(time_param("at", s)?),
    };
    let verdict = state.lifecycle.eligibility(&number, day).map_err(plugin_failed)?;
    Ok(Json(verdict_json(&number, day, &verdict)))
}

fn plugin_failed(e: anyhow::Error) -> ApiError {
    ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "plugin.eligibility_failed", crate::report::chain(&e))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// The WABA the number belongs to.
    pub waba: String,
    /// Whether the number runs in Coexistence (app and API on one number).
    pub coexistence: bool,
    /// When it was onboarded (Embedded Signup): RFC 3339 or unix seconds.
    pub onboarded_at: String,
    /// `standard` (default) or `regional` (the lower regional cap).
    #[schema(value_type = Option<String>)]
    pub throughput_class: Option<ThroughputClass>,
}

/// Registers a business number, or updates its registration. Registering an
/// offboarded number (or one with a new `onboarded_at`) starts a new
/// onboarding: new sync windows, new history. An ineligible number is refused
/// as Coexistence (`coexistence.region_ineligible`) unless the eligibility
/// policy's action is `flag` or `allow`.
#[utoipa::path(put, path = "/v1/numbers/{number}",
    params(("number" = String, Path, description = "E.164, e.g. +6221555000")),
    request_body = Registration,
    responses((status = 200, description = "The number's state, as GET answers it"),
              (status = 201, description = "Registered: the number's state"),
              (status = 422, description = "A bad field, or coexistence.region_ineligible (with the rule and alternatives)")),
    security(("bearer" = [])))]
pub async fn register(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    b: Result<Json<Registration>, JsonRejection>,
) -> Result<Response, ApiError> {
    let number = number_param(&raw)?;
    let reg = body(b)?;
    if reg.waba.trim().is_empty() {
        return Err(ApiError::bad_param("waba", "`waba` is empty"));
    }
    let onboarded = time_param("onboarded_at", &reg.onboarded_at)?;
    let lc = &state.lifecycle;
    let day = day_of(onboarded);
    let verdict = lc.eligibility(&number, day).map_err(plugin_failed)?;
    if reg.coexistence && verdict.ineligible.is_some() && lc.eligibility_action == Action::Block {
        let rule = verdict.ineligible.as_ref().map(|r| r.name.clone()).unwrap_or_default();
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "coexistence.region_ineligible",
            format!(
                "{number} is a {rule} number, which cannot be onboarded to Coexistence on {}; \
                 keep it app-only, or move it to API-only",
                date_of_day(day)
            ),
        )
        .with_details(verdict_json(&number, day, &verdict)));
    }
    let outcome = lc
        .update(&number, |existing| {
            let new = match existing {
                Some(s) => s.reregister(&reg.waba, reg.coexistence, onboarded, reg.throughput_class),
                None => NumberState::onboard(&reg.waba, reg.coexistence, onboarded, reg.throughput_class),
            };
            let fresh = existing.is_none_or(|s| s.onboarding != new.onboarding);
            Ok::<_, ApiError>(Some((new, (existing.is_none(), fresh))))
        })
        .await??;
    let (created, fresh) = outcome.unwrap_or((false, false));
    if fresh {
        lc.reset_budget(&number).await?;
    }
    let view = view(&state, &number).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view)).into_response())
}

/// The days each history phase covers, counted back from the onboarding.
const PHASE_DAYS: [&str; 3] = ["0-1", "1-90", "90-180"];

/// The number's whole state at the lifecycle's "now".
async fn view(state: &AppState, number: &str) -> Result<Value, ApiError> {
    let lc = &state.lifecycle;
    let row = lc.get(number).await?.ok_or_else(|| not_found(number))?;
    let now = lc.now_ms();
    let s = &row.state;
    let settings = &lc.settings;
    let day = day_of(now);
    let verdict = lc.eligibility(number, day).map_err(plugin_failed)?;
    let keep = s.keep_alive(settings, now);
    let sync = |kind: SyncKind| {
        let st = s.sync_status(settings, kind, now);
        json!({
            "state": st.state,
            "requested": st.requested_at_ms.is_some(),
            "requested_at": st.requested_at_ms.map(rfc3339),
            "hours_left": st.hours_left,
            "hours_late": st.hours_late,
        })
    };
    let h = &s.history;
    let mut history = sync(SyncKind::History);
    history["progress"] = json!({
        "state": h.state(),
        "percent": h.progress,
        "phase": h.current_phase(),
        "phases": (0..3).map(|p| json!({
            "phase": p,
            "days": PHASE_DAYS[p],
            "chunks": h.phases[p].chunks.len(),
            "missing_chunks": h.missing_chunks(p),
        })).collect::<Vec<_>>(),
        "declined": h.declined,
        "messages_stored": h.messages_stored,
        "messages_refused_too_old": h.messages_refused_too_old,
        "unsynced_media": h.unsynced_media,
        "duplicates": h.duplicates,
    });
    let gcra =
        coexist_engine::lifecycle::Gcra { per_second: s.limit_per_second(settings), burst: settings.throughput.burst };
    let in_use = lc.in_use(number, gcra).await?;
    let mut attention = Vec::new();
    if matches!(keep.status, KeepAliveStatus::Warning | KeepAliveStatus::Stale) {
        attention.push(json!(keep.status));
    }
    if s.in_coexistence()
        && [SyncKind::Contacts, SyncKind::History]
            .iter()
            .any(|k| s.sync_status(settings, *k, now).state == SyncState::Missed)
    {
        attention.push(json!("missed"));
    }
    Ok(json!({
        "number": number,
        "waba": s.waba,
        "coexistence": s.coexistence,
        "onboarded_at": rfc3339(s.onboarded_at_ms),
        "onboarding": s.onboarding,
        "now": rfc3339(now),
        "eligibility": verdict_json(number, day, &verdict),
        "keep_alive": {
            "status": keep.status,
            "last_app_activity": rfc3339(keep.last_app_activity_ms),
            "source": keep.source,
            "days_since": keep.days_since,
            "days_left": keep.days_left,
            "days_stale": keep.days_stale,
            "limit_days": keep.limit_days,
        },
        "sync": {
            "deadline": rfc3339(s.sync_deadline_ms(settings)),
            "window_hours": settings.sync.window_hours,
            "contacts": sync(SyncKind::Contacts),
            "history": history,
        },
        "throughput": {
            "class": s.throughput_class,
            "limit_per_second": gcra.per_second,
            "burst": gcra.burst,
            "in_use": in_use,
            "shared_across_replicas": lc.shared_budget(),
        },
        "companion_devices": {
            "unlinked_at": s.companions_unlinked_at_ms.map(rfc3339),
            "relink_limit": 4,
        },
        "offboarded": s.offboarded_at_ms.is_some(),
        "offboarded_at": s.offboarded_at_ms.map(rfc3339),
        "needs_attention": attention,
    }))
}

/// A number's whole state: eligibility, keep-alive, sync windows and history
/// progress, throughput limit and use, offboarding.
#[utoipa::path(get, path = "/v1/numbers/{number}",
    params(("number" = String, Path, description = "E.164, e.g. +6221555000")),
    responses((status = 200, description = "The number's state"),
              (status = 404, description = "number.not_registered")),
    security(("bearer" = [])))]
pub async fn get_number(State(state): State<AppState>, Path(raw): Path<String>) -> Result<Json<Value>, ApiError> {
    let number = number_param(&raw)?;
    Ok(Json(view(&state, &number).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `warning`, `stale` or `missed` (a sync window closed without a request); all numbers when absent.
    pub status: Option<String>,
    /// Only the numbers of this WABA.
    pub waba: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Numbers per page (1 to 1,000; default 100).
    pub limit: Option<i64>,
}

/// The numbers that need a human: keep-alive `warning` or `stale`, or a
/// missed sync window. Each item is the number's full state.
#[utoipa::path(get, path = "/v1/numbers", params(ListQuery),
    responses((status = 200, description = "{numbers: [...], next_cursor}"),
              (status = 422, description = "A bad parameter")),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_param("status", e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_param("limit", "`limit` must be between 1 and 1000"));
    }
    let lc = &state.lifecycle;
    let now = lc.now_ms();
    let (stale_before, warn_before) = lc.activity_cutoffs(now);
    let filter = match q.status.as_deref() {
        None | Some("") => NumberFilter::All,
        Some("stale") => NumberFilter::ActivityBefore(stale_before),
        Some("warning") => NumberFilter::ActivityBetween(stale_before, warn_before),
        Some("missed") => NumberFilter::SyncMissed(
            now - i64::from(lc.settings.sync.window_hours) * coexist_engine::lifecycle::HOUR_MS,
        ),
        Some(other) => {
            return Err(ApiError::bad_param(
                "status",
                format!("`status` must be warning, stale or missed, not `{other}`"),
            ))
        }
    };
    let rows = lc.store().numbers(filter, q.waba.as_deref(), q.cursor.as_deref().unwrap_or(""), limit).await?;
    let next = (rows.len() as i64 == limit).then(|| rows.last().map(|r| r.number.clone())).flatten();
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        out.push(view(&state, &r.number).await?);
    }
    Ok(Json(json!({ "numbers": out, "next_cursor": next })))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppActivity {
    /// When the app was opened (RFC 3339 or unix seconds); default now.
    pub at: Option<String>,
}

/// Records that the WhatsApp Business App was opened on the phone: the
/// keep-alive counts from it.
#[utoipa::path(post, path = "/v1/numbers/{number}/app-activity",
    params(("number" = String, Path, description = "E.164")),
    request_body = AppActivity,
    responses((status = 200, description = "The number's state"),
              (status = 404, description = "number.not_registered")),
    security(("bearer" = [])))]
pub async fn app_activity(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    b: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let number = number_param(&raw)?;
    // The body is optional: none means "opened now".
    let activity: AppActivity = if b.iter().all(u8::is_ascii_whitespace) {
        AppActivity::default()
    } else {
        serde_json::from_slice(&b).map_err(|e| {
            if e.is_syntax() || e.is_eof() {
                ApiError::malformed(&e)
            } else {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "request.invalid_body", e.to_string())
            }
        })?
    };
    let at = match activity.at {
        Some(s) => time_param("at", &s)?,
        None => state.lifecycle.now_ms(),
    };
    record_activity(&state, &number, at, "app_opened").await?.ok_or_else(|| not_found(&number))?;
    Ok(Json(view(&state, &number).await?))
}

/// Records app activity on a registered number; `None` when it is not registered.
pub async fn record_activity(state: &AppState, number: &str, at_ms: i64, source: &str) -> Result<Option<()>, ApiError> {
    let done = state
        .lifecycle
        .update(number, |s| {
            let Some(s) = s else { return Ok::<_, ApiError>(None) };
            let mut s = s.clone();
            s.app_activity(at_ms, source);
            Ok(Some((s, ())))
        })
        .await??;
    Ok(done)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequestBody {
    /// `history` (chats) or `contacts` (`smb_app_state_sync`).
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub kind: SyncKind,
}

/// Records that a data sync was triggered (`POST /<PHONE_NUMBER_ID>/smb_app_data`
/// at Meta). Each type once per onboarding, within the window after onboarding.
#[utoipa::path(post, path = "/v1/numbers/{number}/sync-requests",
    params(("number" = String, Path, description = "E.164")),
    request_body = SyncRequestBody,
    responses((status = 201, description = "Recorded: type, requested_at, deadline, meta_sync_type"),
              (status = 404, description = "number.not_registered"),
              (status = 409, description = "coexistence.sync_window_missed (with hours_late), coexistence.sync_already_requested, coexistence.offboarded")),
    security(("bearer" = [])))]
pub async fn sync_request(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    b: Result<Json<SyncRequestBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let number = number_param(&raw)?;
    let kind = body(b)?.kind;
    let lc = &state.lifecycle;
    let now = lc.now_ms();
    let recorded = lc
        .update(&number, |s| {
            let Some(s) = s else { return Err(not_found(&number)) };
            let mut s = s.clone();
            let req = s.request_sync(&lc.settings, kind, now).map_err(|e| lifecycle_error(&number, &e))?;
            Ok(Some((s, req)))
        })
        .await??
        .ok_or_else(|| not_found(&number))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "number": number,
            "type": recorded.kind,
            "meta_sync_type": recorded.kind.meta_sync_type(),
            "requested_at": rfc3339(recorded.requested_at_ms),
            "deadline": rfc3339(recorded.deadline_ms),
        })),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmitBody {
    /// How many messages the number wants to send now (1 or more).
    pub count: u32,
}

/// Throughput admission: may this number send `count` API messages now? GCRA
/// per number: 20/s in Coexistence, 5/s for the `regional` class, 80/s
/// API-only, each with a small burst. On PostgreSQL the budget is one row
/// shared by every replica.
#[utoipa::path(post, path = "/v1/numbers/{number}/admit",
    params(("number" = String, Path, description = "E.164")),
    request_body = AdmitBody,
    responses((status = 200, description = "{decision: allowed, limit_per_second, burst, remaining}"),
              (status = 404, description = "number.not_registered"),
              (status = 409, description = "coexistence.offboarded"),
              (status = 422, description = "count is 0 or above the burst"),
              (status = 429, description = "coexistence.throughput_exceeded, with Retry-After and the limit")),
    security(("bearer" = [])))]
pub async fn admit(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    b: Result<Json<AdmitBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let number = if raw.starts_with('+') && raw.len() <= 16 && raw[1..].bytes().all(|c| c.is_ascii_digit()) {
        raw
    } else {
        number_param(&raw)?
    };
    let count = body(b)?.count;
    let lc = &state.lifecycle;
    let profile = lc.send_profile(&number).await?.ok_or_else(|| not_found(&number))?;
    if let Some(at) = profile.offboarded_at_ms {
        return Err(lifecycle_error(&number, &LifecycleError::Offboarded { offboarded_at_ms: at }));
    }
    let gcra = profile.gcra;
    if count == 0 || count > gcra.burst {
        return Err(ApiError::bad_param(
            "count",
            format!("`count` must be between 1 and the burst ({}); ask for larger sends in steps", gcra.burst),
        )
        .with_details(json!({ "parameter": "count", "burst": gcra.burst, "limit_per_second": gcra.per_second })));
    }
    match lc.admit(&number, gcra, count).await? {
        Admission::Allowed { remaining, .. } => Ok(Json(Allowed {
            decision: "allowed",
            count,
            limit_per_second: gcra.per_second,
            burst: gcra.burst,
            remaining,
        })
        .into_response()),
        Admission::Refused { retry_after_us } => {
            let retry_ms = (retry_after_us + 999) / 1000;
            let secs = ((retry_after_us + 999_999) / 1_000_000).max(1);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "coexistence.throughput_exceeded",
                format!(
                    "{number} may send {} messages per second (burst {}); retry in {retry_ms} ms",
                    gcra.per_second, gcra.burst
                ),
            )
            .with_details(json!({
                "number": number, "count": count, "limit_per_second": gcra.per_second,
                "burst": gcra.burst, "retry_after_ms": retry_ms,
                "coexistence": profile.coexistence,
            }))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Ok(response)
        }
    }
}

/// The answer of an admitted send, serialized as it is (the hot path of
/// `admit`: no intermediate JSON value).
#[derive(Serialize)]
struct Allowed {
    decision: &'static str,
    count: u32,
    limit_per_second: u32,
    burst: u32,
    remaining: u32,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrencyChange {
    /// The currency asked for, ISO 4217.
    pub currency: String,
}

/// Asks to change the billing currency of a number's WABA. Refused for a
/// Coexistence number (`coexistence.currency_change_unavailable`). For other
/// numbers coexist does not change currencies itself: the WABA's currency is
/// the `currency` of its profile in the `--config` file, so the answer says so
/// (`currency.change_not_supported`).
#[utoipa::path(post, path = "/v1/numbers/{number}/currency-change",
    params(("number" = String, Path, description = "E.164")),
    request_body = CurrencyChange,
    responses((status = 404, description = "number.not_registered"),
              (status = 409, description = "coexistence.currency_change_unavailable"),
              (status = 422, description = "currency.change_not_supported: change the WABA profile")),
    security(("bearer" = [])))]
pub async fn currency_change(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    b: Result<Json<CurrencyChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let number = number_param(&raw)?;
    let wanted = body(b)?.currency;
    let row = state.lifecycle.get(&number).await?.ok_or_else(|| not_found(&number))?;
    if row.state.in_coexistence() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "coexistence.currency_change_unavailable",
            format!(
                "{number} is in Coexistence, and Meta does not offer a billing-currency change for Coexistence numbers"
            ),
        )
        .with_details(
            json!({ "number": number, "waba": row.state.waba, "currency": wanted, "feature": "billing_currency" }),
        ));
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "currency.change_not_supported",
        "coexist does not change billing currencies: set `currency` in the WABA's profile ([waba.<id>] in --config) and restart",
    )
    .with_details(json!({ "number": number, "waba": row.state.waba, "currency": wanted })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockBody {
    /// The new "now" (RFC 3339 or unix seconds).
    pub now: String,
}

/// Test only (`coexist serve --test-clock`): sets the lifecycle's clock.
/// Without the flag the route does not exist.
#[utoipa::path(put, path = "/v1/test/clock", request_body = ClockBody,
    responses((status = 200, description = "{now}"), (status = 404, description = "Not started with --test-clock")),
    security(("bearer" = [])))]
pub async fn set_clock(
    State(state): State<AppState>,
    b: Result<Json<ClockBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Some(clock) = &state.lifecycle.test_clock else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "request.not_found",
            "the daemon was not started with --test-clock",
        ));
    };
    let now = time_param("now", &body(b)?.now)?;
    clock.set(now);
    Ok(Json(json!({ "now": rfc3339(now) })))
}
