//! wagw's HTTP API as a library (axum): routes, token authentication, body limits,
//! validation, JSON errors, the event stream, the OpenAPI document, the console's files and
//! the `/metrics` route, all over one seam, [`GatewayApi`]. The `wagw` daemon serves it;
//! an embedder nests [`router`] in their own axum app with their own [`GatewayApi`].
//!
//! Must not depend directly (`.ci/run` checks it) on: the daemon or CLI (`bins/wagw`), a transport (`wagw-socket`), a
//! database (`wagw-store`) or the gateway's internals. Everything it needs from a running
//! gateway goes through [`GatewayApi`], so its tests run over a fake.
//!
//! `docs/http-api.md` describes every route with a curl example.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post};
use tokio_util::sync::CancellationToken;

pub mod api;
pub mod auth;
pub mod cloud;
pub mod console;
pub mod deliveries;
pub mod error;
pub mod events;
pub mod extract;
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
pub mod model;
pub mod model_access;
pub mod model_agents;
pub mod model_resources;
pub mod openapi;
pub mod qr;
pub mod routes;
pub mod serve;
pub mod sim_fault;
pub mod sim_scan;
pub mod validate;

#[cfg(test)]
mod tests;

pub use api::GatewayApi;
pub use auth::ApiToken;

/// What every handler gets.
#[derive(Clone)]
pub struct AppState {
    /// The gateway.
    pub api: Arc<dyn GatewayApi>,
    /// The bearer token.
    pub token: Arc<ApiToken>,
    /// Cancelled when the daemon shuts down: long-lived responses (the event stream) end,
    /// so the server's graceful shutdown is not held open by a connected client.
    pub closing: CancellationToken,
    /// Failed token attempts per client address (backoff after repeated failures).
    pub attempts: Arc<auth::FailedAttempts>,
}

/// Options of the router.
#[derive(Debug, Clone, Copy, Default)]
pub struct RouterOptions {
    /// Mount `/v1/sim/*` (the gateway runs on the simulator).
    pub sim: bool,
}

/// The full API: `/healthz` and the console's files open, everything else behind the
/// bearer token.
pub fn router(api: Arc<dyn GatewayApi>, token: ApiToken, options: RouterOptions) -> Router {
    router_until(api, token, options, CancellationToken::new())
}

/// [`router`] whose event streams end when `closing` is cancelled (on SIGTERM).
pub fn router_until(
    api: Arc<dyn GatewayApi>,
    token: ApiToken,
    options: RouterOptions,
    closing: CancellationToken,
) -> Router {
    let state = AppState {
        api,
        token: Arc::new(token),
        closing,
        attempts: Arc::new(auth::FailedAttempts::default()),
    };
    let mut protected = Router::new()
        .route("/readyz", get(routes::readyz))
        .route("/v1/accounts", get(routes::accounts))
        .route("/v1/accounts/{id}", get(routes::account))
        .route("/v1/accounts/{id}/resources", get(routes::resources))
        .route("/v1/accounts/{id}/probe", post(routes::probe))
        .route(
            "/v1/accounts/{id}/login",
            post(routes::login_start).get(routes::login_status),
        )
        .route(
            "/v1/accounts/{id}/login/passkey",
            post(routes::login_passkey),
        )
        .route(
            "/v1/accounts/{id}/login/passkey/confirm",
            post(routes::login_passkey_confirm),
        )
        .route("/v1/accounts/{id}/logout", post(routes::logout))
        .route("/v1/accounts/{id}/messages", post(routes::send))
        .route("/v1/accounts/{id}/reactions", post(routes::react))
        .route("/v1/accounts/{id}/polls", post(routes::poll))
        .route("/v1/accounts/{id}/read", post(routes::read))
        .route("/v1/accounts/{id}/presence", post(routes::presence))
        .route("/v1/pairing/whatsapp", get(routes::pairing_list))
        .route(
            "/v1/pairing/whatsapp/approve",
            post(routes::pairing_approve),
        )
        .route("/v1/pairing/whatsapp/reject", post(routes::pairing_reject))
        .route("/v1/access/explain", post(routes::access_explain))
        .route(
            "/v1/allow/whatsapp",
            get(routes::allow_list).post(routes::allow_add),
        )
        .route("/v1/allow/whatsapp/{entry}", delete(routes::allow_remove))
        .route("/v1/deliveries", get(routes::deliveries_list))
        .route("/v1/deliveries/{id}/replay", post(routes::delivery_replay))
        .route("/v1/media/{id}", get(routes::media))
        .route("/v1/events", get(events::events))
        .route("/v1/reload", post(routes::reload))
        .route("/metrics", get(routes::metrics))
        .route("/v1/openapi.json", get(routes::openapi));
    if options.sim {
        protected = protected
            .route("/v1/sim/inbound", post(routes::sim_inbound))
            .route("/v1/sim/outbox/{account}", get(routes::sim_outbox))
            .route("/v1/sim/scan", post(sim_scan::scan))
            .route("/v1/sim/faults", post(sim_fault::apply));
    }
    let protected = protected
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/healthz", get(routes::healthz))
        // Meta cannot send a bearer token: the verify token and the body's signature
        // authenticate these (crate::cloud).
        .route(cloud::WEBHOOK_PATH, get(cloud::verify).post(cloud::receive))
        .merge(console::routes())
        .merge(protected)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// Logs each request at debug (method, path, status, duration); never bodies or tokens.
async fn log_request(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    tracing::debug!(target: "wagw::http", %method, %path, status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "request");
    response
}
