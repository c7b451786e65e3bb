//! `coexist serve`: the HTTP daemon.

mod auth;
mod error;
mod openapi;
pub(crate) mod params;
mod routes;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use axum::extract::{MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use coexist_engine::plugin::Pipeline;
use coexist_engine::policy::Limits;
use coexist_engine::rating::Rater;
use metrics_exporter_prometheus::PrometheusHandle;

pub use error::ApiError;
pub use routes::finance::run_forecast;

use crate::cli::ServeArgs;
use crate::commands::setup;
use crate::ledger::{self, CommitterConfig, Ledger};
use crate::lifecycle::Lifecycle;
use crate::plugins::PluginHost;
use crate::store::Store;

/// Secrets, from the environment.
#[derive(Clone, Default)]
pub struct Secrets {
    /// Bearer tokens for `/v1` (`COEXIST_API_TOKENS`, comma-separated).
    pub api_tokens: Vec<String>,
    /// Meta app secret for `X-Hub-Signature-256` (`COEXIST_WEBHOOK_APP_SECRET`).
    pub webhook_app_secret: Option<String>,
    /// The verify token of the subscription handshake (`COEXIST_WEBHOOK_VERIFY_TOKEN`).
    pub webhook_verify_token: Option<String>,
}

impl Secrets {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        Self {
            api_tokens: var("COEXIST_API_TOKENS")
                .map(|v| v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            webhook_app_secret: var("COEXIST_WEBHOOK_APP_SECRET"),
            webhook_verify_token: var("COEXIST_WEBHOOK_VERIFY_TOKEN"),
        }
    }
}

/// What every handler shares. axum clones the state several times per
/// request; behind one `Arc` a clone is one atomic increment, not one per
/// handle inside.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The handles behind [`AppState`].
pub struct Shared {
    pub ledger: Ledger,
    pub store: Store,
    pub secrets: Secrets,
    pub limits: Limits,
    pub metrics: PrometheusHandle,
    pub plugins: Arc<PluginHost>,
    /// Numbers, eligibility, keep-alive, syncs and throughput.
    pub lifecycle: Arc<Lifecycle>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COEXIST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
    let secrets = Secrets::from_env();
    let listen: SocketAddr =
        args.listen.parse().with_context(|| format!("--listen {} is not an address", args.listen))?;
    if secrets.api_tokens.is_empty() && !listen.ip().is_loopback() {
        anyhow::bail!(
            "refusing to serve /v1 on {listen} without authentication: set COEXIST_API_TOKENS \
             (comma-separated bearer tokens), or listen on a loopback address such as 127.0.0.1"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("coexist-http").build()?;
    runtime.block_on(serve(args, listen, secrets))?;
    Ok(std::process::ExitCode::SUCCESS)
}

async fn serve(args: ServeArgs, listen: SocketAddr, secrets: Secrets) -> anyhow::Result<()> {
    let mut startup = Startup::begin();
    let metrics = crate::metrics::install()?;
    crate::metrics::spawn_upkeep(metrics.clone());
    // What the command line names is checked before the ledger is opened, so
    // a wrong config file or a taken port creates no database and runs no
    // migration. Connections made before the daemon is ready wait in the
    // listen backlog.
    let files = setup::policies(&args.policy)?;
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
    startup.phase("config_and_listen");
    let store = if args.replica {
        Store::open_replica(&args.database_url).await?
    } else {
        Store::open(&args.database_url).await?
    };
    tracing::info!(store = store.backend().name(), url = %crate::store::redact(&args.database_url), "ledger store ready");
    startup.phase("store");
    let policies = setup::with_stored_imports(files, &store).await?;
    let policies = Arc::new(policies);
    startup.phase("stored_imports");
    if !args.replica && store.daily_usage_missing().await? {
        let zones = policies.clone();
        let tz = move |waba: &str| zones.profiles.profile(waba).map_or(chrono_tz::Tz::UTC, |p| p.timezone);
        let rows = store.rebuild_daily_usage(tz).await?;
        tracing::info!(rows, "built the daily usage summary from the existing ledger");
    }
    startup.phase("usage_summary");
    let limits = policies.profiles.limits;
    let plugin_runtime = setup::plugin_runtime()?;
    let pipeline =
        Pipeline::load(&plugin_runtime, &policies.pipeline, policies.source.base_dir()).context("loading plugins")?;
    startup.phase("plugins");
    let lifecycle = Lifecycle::load(&plugin_runtime, args.policy.policies.as_deref(), store.clone(), args.test_clock)
        .context("loading the Coexistence lifecycle")?;
    startup.phase("lifecycle");
    let plugins = PluginHost::new(plugin_runtime, policies.source.clone(), pipeline.clone());
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    let registered = lifecycle.load_registry().await.context("loading the number registry")?;
    tracing::info!(registered, "numbers in the registry");
    startup.phase("registry");
    let rater = Rater::new(policies.clone(), pipeline).with_threads(threads).with_registry(lifecycle.registry());
    let ledger = if args.replica {
        anyhow::ensure!(
            store.backend() == crate::store::Backend::Postgres,
            "--replica needs a PostgreSQL --database-url shared with the daemon that writes the ledger"
        );
        tracing::info!("--replica: serving numbers, eligibility and admission; ledger writes are refused");
        Ledger::replica(policies.clone())
    } else {
        ledger::spawn(
            store.clone(),
            rater,
            plugins.clone(),
            tokio::runtime::Handle::current(),
            CommitterConfig::default(),
        )?
    };
    reload_on_sighup(plugins.clone());
    // Dropping the watcher stops it, so it lives as long as `serve`.
    let _watcher = match &args.policy.policies {
        Some(dir) => Some(
            crate::plugins::watch_policy_files(plugins.clone(), dir)
                .with_context(|| format!("watching {} for changes", dir.display()))?,
        ),
        None => None,
    };
    if args.test_clock {
        tracing::warn!("--test-clock: PUT /v1/test/clock sets the lifecycle's time; never use this in production");
    }
    let state =
        AppState(Arc::new(Shared { ledger, store, secrets, limits, metrics, plugins, lifecycle: Arc::new(lifecycle) }));
    if state.store.backend() == crate::store::Backend::Postgres {
        crate::lifecycle::follow(state.lifecycle.clone(), args.database_url.clone());
    }
    if state.secrets.api_tokens.is_empty() {
        tracing::warn!("COEXIST_API_TOKENS is not set: /v1 is open to anyone who can reach this loopback address");
    }
    if state.secrets.webhook_app_secret.is_none() {
        tracing::warn!("COEXIST_WEBHOOK_APP_SECRET is not set: POST /v1/webhooks/meta refuses every delivery");
    }
    let app = router(state);
    let bound = listener.local_addr()?;
    tracing::info!(took_ms = startup.total_ms(), phases = %startup, "ready");
    tracing::info!("listening on http://{bound}");
    axum::serve(listener, app).with_graceful_shutdown(shutdown()).await?;
    tracing::info!("stopped");
    Ok(())
}

/// How long each start-up phase took, for the "ready" log line.
struct Startup {
    began: std::time::Instant,
    last: std::time::Instant,
    phases: Vec<(&'static str, u128)>,
}

impl Startup {
    fn begin() -> Self {
        let now = std::time::Instant::now();
        Self { began: now, last: now, phases: Vec::new() }
    }

    /// Ends the phase `name` (it began where the last one ended).
    fn phase(&mut self, name: &'static str) {
        let now = std::time::Instant::now();
        self.phases.push((name, now.duration_since(self.last).as_micros()));
        self.last = now;
    }

    fn total_ms(&self) -> u128 {
        self.began.elapsed().as_millis()
    }
}

impl std::fmt::Display for Startup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, (name, micros)) in self.phases.iter().enumerate() {
            let sep = if k == 0 { "" } else { " " };
            write!(f, "{sep}{name}={}.{}ms", micros / 1000, (micros % 1000) / 100)?;
        }
        Ok(())
    }
}

pub fn router(state: AppState) -> Router {
    let max_body = state.limits.max_body_bytes;
    let protected = Router::new()
        .route("/v1/rate", post(routes::rate::rate))
        .route("/v1/ledger", get(routes::ledger::ledger))
        .route("/v1/usage", get(routes::usage::usage))
        .route("/v1/reconciliation", get(routes::reconciliation::reconciliation))
        .route("/v1/conflicts", get(routes::ledger::conflicts))
        .route("/v1/plugins", get(routes::plugins::list))
        .route("/v1/plugins/reload", post(routes::plugins::reload))
        .route("/v1/ratecards", get(routes::finance::list_ratecards).post(routes::finance::import_ratecard))
        .route("/v1/markets", post(routes::finance::import_markets))
        .route("/v1/rerate", post(routes::finance::rerate))
        .route("/v1/rerate/{job_id}", get(routes::finance::rerate_progress))
        .route("/v1/invoices/{waba}/{month}", get(routes::finance::invoice))
        .route("/v1/forecasts", post(routes::finance::forecast))
        .route("/v1/eligibility", get(routes::numbers::eligibility))
        .route("/v1/numbers", get(routes::numbers::list))
        .route("/v1/numbers/{number}", put(routes::numbers::register).get(routes::numbers::get_number))
        .route("/v1/numbers/{number}/app-activity", post(routes::numbers::app_activity))
        .route("/v1/numbers/{number}/sync-requests", post(routes::numbers::sync_request))
        .route("/v1/numbers/{number}/admit", post(routes::numbers::admit))
        .route("/v1/numbers/{number}/currency-change", post(routes::numbers::currency_change));
    // The test clock exists only when the daemon was started with --test-clock.
    let protected = if state.lifecycle.test_clock.is_some() {
        protected.route("/v1/test/clock", put(routes::numbers::set_clock))
    } else {
        protected
    };
    let protected = protected.route_layer(middleware::from_fn_with_state(state.clone(), auth::require_token));
    let open = Router::new()
        .route("/v1/webhooks/meta", get(routes::webhooks::verify).post(routes::webhooks::receive))
        .route("/", get(routes::dashboard::page))
        .route("/dashboard.js", get(routes::dashboard::script))
        .route("/dashboard.css", get(routes::dashboard::style))
        .route("/healthz", get(routes::ops::healthz))
        .route("/readyz", get(routes::ops::readyz))
        .route("/metrics", get(routes::ops::metrics))
        .route("/openapi.json", get(routes::ops::openapi));
    protected
        .merge(open)
        .fallback(routes::ops::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn(track))
        .with_state(state)
}

/// Counts and times every request by its route template.
async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let response = next.run(request).await;
    crate::metrics::request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// `SIGHUP` reloads the plugin set (the outcome is logged).
fn reload_on_sighup(plugins: Arc<PluginHost>) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            tracing::warn!("could not listen for SIGHUP; reload with POST /v1/plugins/reload");
            return;
        };
        while hangups.recv().await.is_some() {
            let plugins = plugins.clone();
            // Failures are logged and recorded by `reload`.
            let _ = tokio::task::spawn_blocking(move || plugins.reload("sighup")).await;
        }
    });
    #[cfg(not(unix))]
    let _ = plugins;
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down: finishing requests in flight");
}
