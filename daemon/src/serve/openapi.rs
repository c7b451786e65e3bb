//! The OpenAPI document, assembled from the handlers' annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "coexist", description = "WhatsApp billing and Coexistence policy engine"),
    paths(
        routes::rate::rate,
        routes::webhooks::verify,
        routes::webhooks::receive,
        routes::ledger::ledger,
        routes::ledger::conflicts,
        routes::usage::usage,
        routes::reconciliation::reconciliation,
        routes::plugins::list,
        routes::plugins::reload,
        routes::finance::import_ratecard,
        routes::finance::list_ratecards,
        routes::finance::import_markets,
        routes::finance::rerate,
        routes::finance::rerate_progress,
        routes::finance::invoice,
        routes::finance::forecast,
        routes::dashboard::page,
        routes::numbers::register,
        routes::numbers::get_number,
        routes::numbers::list,
        routes::numbers::app_activity,
        routes::numbers::sync_request,
        routes::numbers::admit,
        routes::numbers::currency_change,
        routes::numbers::eligibility,
        routes::numbers::set_clock,
        routes::ops::healthz,
        routes::ops::readyz,
        routes::ops::metrics,
        routes::ops::openapi,
    ),
    components(schemas(
        routes::numbers::Registration,
        routes::numbers::AppActivity,
        routes::numbers::SyncRequestBody,
        routes::numbers::AdmitBody,
        routes::numbers::CurrencyChange,
        routes::numbers::ClockBody,
        crate::ledger::JobProgress,
        crate::ledger::Phase,
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as JSON text.
pub fn document() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
