//! Finance endpoints: rate cards and the market map, re-rating, invoices and
//! forecasts. Thin adapters: the rules live in `coexist_engine::finance`.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Months, NaiveDate, TimeZone};
use coexist_engine::finance::forecast::{DailyVolume, Scenario, Traffic};
use coexist_engine::finance::imports::{card_id, parse_rate_card};
use coexist_engine::finance::{Invoice, UsageRow};
use coexist_engine::policy::{Currency, Effective};
use coexist_engine::report::{csv_field, Rounding};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::ledger::{RerateRequest, Submission};
use crate::serve::params::rfc3339;
use crate::serve::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// The card's currency, e.g. `USD`; every row's `Currency` must match.
    pub currency: String,
    /// The first local day the card is in force, `YYYY-MM-DD`.
    pub effective_from: String,
    /// Exclusive; without it the card runs until the next card of its currency.
    pub effective_to: Option<String>,
    /// The version id (default `<currency>-<effective_from>`, e.g. `usd-2026-10-01`).
    pub id: Option<String>,
}

fn date_param(name: &str, value: &str) -> Result<NaiveDate, ApiError> {
    value.parse().map_err(|_| ApiError::bad_param(name, format!("`{name}`: `{value}` is not a date (YYYY-MM-DD)")))
}

fn utf8<'a>(body: &'a Bytes, what: &str) -> Result<&'a str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "request.not_utf8", format!("the {what} is not UTF-8: {e}"))
    })
}

/// Imports a rate card in Meta's CSV layout, as it is. Every problem is
/// listed with its line and column; a card with any problem, or whose range
/// overlaps a card of its currency, imports nothing. New messages are priced
/// with it at once; stored ones change only through `POST /v1/rerate`.
#[utoipa::path(post, path = "/v1/ratecards", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "Market,Currency,Marketing,Utility,Authentication,Authentication-International,Service"),
    responses(
        (status = 201, description = "The card as listed by GET /v1/ratecards"),
        (status = 409, description = "ratecard.overlap: the range overlaps a stored card of the currency"),
        (status = 422, description = "ratecard.invalid: details.problems lists {line, column, message}")),
    security(("bearer" = [])))]
pub async fn import_ratecard(
    State(state): State<AppState>,
    query: Result<Query<ImportQuery>, axum::extract::rejection::QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_param("currency", e.body_text()))?;
    let body = body?;
    let text = utf8(&body, "rate card")?;
    let currency = Currency::parse(&q.currency).map_err(|e| ApiError::bad_param("currency", e))?;
    let from = date_param("effective_from", &q.effective_from)?;
    let to = q.effective_to.as_deref().filter(|s| !s.is_empty()).map(|s| date_param("effective_to", s)).transpose()?;
    let id = q.id.clone().unwrap_or_else(|| card_id(currency, from));
    let policies = state.ledger.policies();
    let card =
        parse_rate_card(&id, "the request body", text, currency, Effective::new(Some(from), to), &policies.markets)
            .map_err(|e| ApiError::from(crate::ledger::import_refusal(e)))?;
    let reply = state
        .ledger
        .submit(Submission::ImportRateCard {
            card: Box::new(card),
            csv: text.to_owned(),
            source: "POST /v1/ratecards".into(),
        })
        .await?;
    Ok((StatusCode::CREATED, Json(reply.finance.unwrap_or(Value::Null))).into_response())
}

/// Every rate-card version in force or loaded for later, per currency in
/// date order: from the policy files and imported.
#[utoipa::path(get, path = "/v1/ratecards",
    responses((status = 200, description = "{\"ratecards\": [{id, currency, effective_from, effective_to, markets, origin, source, imported_ms}]}")),
    security(("bearer" = [])))]
pub async fn list_ratecards(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stored = state.store.ratecards().await?;
    let policies = state.ledger.policies();
    let cards: Vec<Value> = policies
        .rates
        .cards()
        .iter()
        .map(|c| crate::ledger::card_json(c, stored.iter().find(|s| s.id == *c.id)))
        .collect();
    Ok(Json(json!({ "ratecards": cards })))
}

/// Replaces the market map (`prefix,country,market,effective_from,effective_to,note`).
/// Refused when a loaded rate card prices a market the new map lacks.
#[utoipa::path(post, path = "/v1/markets",
    request_body(content = String, content_type = "text/csv", description = "The market map CSV"),
    responses(
        (status = 201, description = "{version, markets, source}"),
        (status = 409, description = "markets.conflict: a rate card prices a market the map drops"),
        (status = 422, description = "ratecard.invalid: the CSV has a problem (details.problems)")),
    security(("bearer" = [])))]
pub async fn import_markets(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body?;
    let text = utf8(&body, "market map")?;
    let reply = state
        .ledger
        .submit(Submission::ImportMarkets { csv: text.to_owned(), source: "POST /v1/markets".into() })
        .await?;
    Ok((StatusCode::CREATED, Json(reply.finance.unwrap_or(Value::Null))).into_response())
}

/// Parses a JSON body, 400 for bad syntax and 422 naming the field otherwise.
fn json_body<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "request.invalid",
                format!("the body does not fit the schema: {e}"),
            )
            .with_details(json!({ "line": e.line(), "column": e.column() }))
        } else {
            ApiError::malformed(&e)
        }
    })
}

/// Re-rates a WABA's stored messages in a range of local days (optionally
/// one market) under the rate cards and rules in force now. `dry_run`
/// answers the per-line diff (old cost, new cost, delta) and writes nothing;
/// a real run appends a reversal and a new charge for each changed message,
/// never an update, and answers the same diff. A real run is idempotent per
/// `job_id`: repeating it answers the stored report with `repeat: true`.
/// The run is synchronous; while it runs, `GET /v1/rerate/{job_id}` answers
/// its phase and how many stored messages are rated so far.
#[utoipa::path(post, path = "/v1/rerate", request_body = RerateRequest,
    responses(
        (status = 200, description = "{job_id, dry_run, repeat, progress, messages_changed, entries_written, lines: [{market, category, pricing_type, currency, old_cost, new_cost, delta}], total}"),
        (status = 409, description = "rerate.job_conflict: the job id ran with another request"),
        (status = 422, description = "A bad field or an unknown WABA")),
    security(("bearer" = [])))]
pub async fn rerate(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let request: RerateRequest = json_body(&body?)?;
    let reply = state.ledger.submit(Submission::Rerate(request)).await?;
    Ok(Json(reply.finance.unwrap_or(Value::Null)))
}

/// A re-rating job's progress: its phase (`loading`, `rating`, `comparing`,
/// `writing`, `done`, `failed`), the stored messages rated of the total,
/// and the report once done. Running and recently finished jobs (dry runs
/// too) come from memory; older real runs from the ledger's job records.
#[utoipa::path(get, path = "/v1/rerate/{job_id}",
    params(("job_id" = String, Path, description = "The job id given to POST /v1/rerate")),
    responses(
        (status = 200, description = "The job's progress", body = crate::ledger::JobProgress),
        (status = 404, description = "rerate.unknown_job")),
    security(("bearer" = [])))]
pub async fn rerate_progress(
    State(state): State<AppState>,
    Path(job_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if let Some(progress) = state.ledger.rerate_progress(&job_id) {
        return Ok(Json(json!(progress)));
    }
    let stored = state.store.rerate_job(&job_id).await?;
    let Some((_, report)) = stored else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "rerate.unknown_job",
            format!("no re-rating job `{job_id}` runs now, finished recently, or was stored"),
        ));
    };
    let report: Value = serde_json::from_str(&report).unwrap_or_default();
    let examined = report["progress"]["examined"].as_u64().unwrap_or_default();
    Ok(Json(json!({
        "job_id": job_id, "dry_run": false, "phase": "done", "rated": examined, "total": examined,
        "started_ms": null, "finished_ms": null, "report": report, "error": null,
    })))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// `json` (default) or `csv` (forecasts also `svg`).
    pub format: Option<String>,
}

/// The local days of a month `YYYY-MM`: [first, first of next).
fn month_days(month: &str) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| ApiError::bad_param("month", format!("`{month}` is not a month (YYYY-MM)")))?;
    let next = first.checked_add_months(Months::new(1)).ok_or_else(|| ApiError::bad_param("month", "out of range"))?;
    Ok((first, next))
}

/// Percent-encodes a query value.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A WABA's invoice for a calendar month in its time zone: volume and cost
/// per market × category × pricing type, each line rounded once (half-even)
/// with its residual, in the WABA's currency. Each line links to its ledger
/// entries. Read from the daily summary kept with the ledger.
#[utoipa::path(get, path = "/v1/invoices/{waba}/{month}",
    params(("waba" = String, Path), ("month" = String, Path, description = "YYYY-MM, in the WABA's time zone"), FormatQuery),
    responses(
        (status = 200, description = "{waba, month, currency, timezone, from, to, lines: [{market, category, pricing_type, currency, volume, unpriced, cost, cost_exact, rounding_residual, entries}], totals}"),
        (status = 404, description = "waba.unknown: no profile for the WABA"),
        (status = 422, description = "A bad month or format")),
    security(("bearer" = [])))]
pub async fn invoice(
    State(state): State<AppState>,
    Path((waba, month)): Path<(String, String)>,
    Query(q): Query<FormatQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref().unwrap_or("json") {
        "json" => false,
        "csv" => true,
        other => return Err(ApiError::bad_param("format", format!("`format` is json or csv, not `{other}`"))),
    };
    let (first, next) = month_days(&month)?;
    let policies = state.ledger.policies();
    let profile = policies.profiles.profile(&waba).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "waba.unknown", format!("WABA {waba} has no profile"))
            .with_details(json!({ "waba": waba }))
    })?;
    let tz = profile.timezone;
    let instant = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0).and_then(|t| tz.from_local_datetime(&t).earliest()).map_or(0, |t| t.timestamp_millis())
    };
    let (from_ms, to_ms) = (instant(first), instant(next));
    let rows = state.store.daily_usage(&waba, first, next).await?;
    let invoice = Invoice::build(
        rows.into_iter().map(|r| UsageRow {
            market: r.market,
            category: r.category,
            pricing_type: r.pricing_type,
            currency: r.currency,
            volume: r.usage.volume,
            amount: r.usage.amount,
            unpriced: r.usage.unpriced,
        }),
        Rounding::default(),
    );
    let link = |l: &coexist_engine::finance::InvoiceLine| {
        format!(
            "/v1/ledger?waba={}&from={}&to={}&market={}&category={}&pricing_type={}",
            encode(&waba),
            encode(&rfc3339(from_ms)),
            encode(&rfc3339(to_ms)),
            encode(&l.market),
            encode(&l.category),
            encode(&l.pricing_type)
        )
    };
    if csv {
        let mut out = String::from(
            "market,category,pricing_type,currency,volume,unpriced,cost,cost_exact,rounding_residual,entries\n",
        );
        for l in &invoice.lines {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                csv_field(&l.market),
                l.category,
                l.pricing_type,
                l.currency,
                l.volume,
                l.unpriced,
                l.cost,
                l.cost_exact,
                l.rounding_residual,
                link(l)
            );
        }
        for t in &invoice.totals {
            let _ = writeln!(
                out,
                "total,,,{},{},{},{},{},{},",
                t.currency, t.volume, t.unpriced, t.cost, t.cost_exact, t.rounding_residual
            );
        }
        return Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response());
    }
    let lines: Vec<Value> = invoice
        .lines
        .iter()
        .map(|l| {
            let mut v = serde_json::to_value(l).unwrap_or_default();
            v["entries"] = json!(link(l));
            v
        })
        .collect();
    Ok(Json(json!({
        "waba": waba,
        "month": month,
        "currency": profile.currency.to_string(),
        "timezone": tz.name(),
        "from": rfc3339(from_ms),
        "to": rfc3339(to_ms),
        "rounding": "half_even",
        "lines": lines,
        "totals": invoice.totals,
    }))
    .into_response())
}

/// A cost forecast for a scenario (the schema of `coexist forecast`, as
/// JSON): volumes stated or taken from the ledger's run-rate with weekday
/// seasonality and low/expected/high bands; each month priced under the
/// regime, rate card, tiers and service allowance in force then.
#[utoipa::path(post, path = "/v1/forecasts", params(FormatQuery),
    request_body(content = Object, description = "{waba, start: \"YYYY-MM\", months, currency?, business_numbers?, levers?: {app_reply_share, ctwa_marketing_share}, volumes?: [{market, category, monthly | base+growth}], baseline?: {window_days, until, growth}}"),
    responses(
        (status = 200, description = "{lines, months, total_cost, savings_from_app_side_replies, warnings} (or CSV, or an SVG chart)"),
        (status = 422, description = "A bad field, an unknown WABA, or a month the policies cannot price")),
    security(("bearer" = [])))]
pub async fn forecast(
    State(state): State<AppState>,
    Query(q): Query<FormatQuery>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let scenario: Scenario = json_body(&body?)?;
    let policies = state.ledger.policies();
    let forecast = run_forecast(&scenario, &policies, &state.store).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => Ok(Json(forecast).into_response()),
        "csv" => Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], forecast.to_csv()).into_response()),
        "svg" => Ok(([(header::CONTENT_TYPE, "image/svg+xml")], forecast.to_svg()).into_response()),
        other => Err(ApiError::bad_param("format", format!("`format` is json, csv or svg, not `{other}`"))),
    }
}

/// Plans and prices a scenario, reading the baseline from the daily summary.
pub async fn run_forecast(
    scenario: &Scenario,
    policies: &coexist_engine::policy::Policies,
    store: &crate::store::Store,
) -> Result<coexist_engine::finance::forecast::Forecast, ApiError> {
    let forecast_error = |e: coexist_engine::finance::forecast::ForecastError| {
        let details = match &e {
            coexist_engine::finance::forecast::ForecastError::Invalid { field, .. } => json!({ "field": field }),
            _ => Value::Null,
        };
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "forecast.invalid", e.to_string()).with_details(details)
    };
    let profile = policies.profiles.profile(&scenario.waba).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "waba.unknown",
            format!("WABA {} has no profile", scenario.waba),
        )
        .with_details(json!({ "field": "waba" }))
    })?;
    let mut history = Vec::new();
    if let Some((from, until)) = scenario.baseline_window().map_err(forecast_error)? {
        for r in store.daily_usage(&scenario.waba, from, until).await? {
            if let Some(traffic) = Traffic::of_entry(&r.category, &r.pricing_type) {
                history.push(DailyVolume { day: r.day, market: r.market, traffic, volume: r.usage.volume });
            }
        }
    }
    let plan = scenario.plan(profile.currency, &history).map_err(forecast_error)?;
    plan.run(policies, Rounding::default()).map_err(forecast_error)
}
