//! The WhatsApp Business Cloud API webhook of each cloud account:
//! `GET /v1/cloud/{account}/webhook` answers Meta's verification, `POST` takes the
//! messages and statuses Meta posts. Meta cannot send a bearer token, so these routes take
//! none: the verify token authenticates the verification, the `X-Hub-Signature-256` HMAC
//! of the body (with the app secret) authenticates each post.

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{LimitedBytes, ValidPath};
use super::model::OkResponse;
use super::validate;

/// The path both routes share.
pub const WEBHOOK_PATH: &str = "/v1/cloud/{account}/webhook";

/// The header Meta signs each webhook with.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Meta's webhook verification: echoes `hub.challenge` when `hub.mode` is `subscribe` and
/// `hub.verify_token` matches the account's `cloud.verifyToken`; 403 otherwise. No bearer
/// token.
#[utoipa::path(get, path = "/v1/cloud/{account}/webhook", tag = "cloud",
    params(
        ("account" = String, Path, description = "The cloud account's id"),
        ("hub.mode" = Option<String>, Query, description = "`subscribe`"),
        ("hub.verify_token" = Option<String>, Query, description = "Must equal the account's cloud.verifyToken"),
        ("hub.challenge" = Option<String>, Query, description = "Echoed back on success"),
    ),
    responses(
        (status = 200, description = "The challenge, as text/plain", body = String, content_type = "text/plain"),
        (status = 403, description = "Wrong mode or verify token", body = ErrorBody),
        (status = 404, description = "No cloud account of that id", body = ErrorBody),
    ),
    security(()))]
pub async fn verify(
    State(s): State<AppState>,
    ValidPath(account): ValidPath<String>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = validate::account_id("account", &account)?;
    let challenge = s
        .api
        .cloud_verify(
            &id,
            query.get("hub.mode").map(String::as_str),
            query.get("hub.verify_token").map(String::as_str),
            query.get("hub.challenge").map(String::as_str),
        )
        .await?;
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        challenge,
    )
        .into_response())
}

/// The largest webhook post accepted: Meta's carry a batch of messages and statuses as JSON
/// (media comes by id, not inline), far below this.
pub const WEBHOOK_LIMIT: usize = 4 * 1024 * 1024;

/// Messages and statuses from Meta. The body is checked against `X-Hub-Signature-256`
/// (401 and nothing processed when it does not match), and 200 comes only once every
/// message is durably stored: any other answer makes Meta retry, and retries are deduped by
/// message id. No bearer token.
#[utoipa::path(post, path = "/v1/cloud/{account}/webhook", tag = "cloud",
    params(
        ("account" = String, Path, description = "The cloud account's id"),
        ("X-Hub-Signature-256" = Option<String>, Header, description = "sha256=<hex HMAC-SHA256 of the body with the app secret>"),
    ),
    request_body(content = Object, description = "Meta's webhook payload (object: whatsapp_business_account)", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored", body = OkResponse),
        (status = 401, description = "Missing or wrong signature", body = ErrorBody),
        (status = 404, description = "No cloud account of that id", body = ErrorBody),
        (status = 422, description = "Not a WhatsApp webhook payload", body = ErrorBody),
        (status = 503, description = "Not stored now (account not connected, or busy); Meta retries", body = ErrorBody),
    ),
    security(()))]
pub async fn receive(
    State(s): State<AppState>,
    ValidPath(account): ValidPath<String>,
    headers: HeaderMap,
    LimitedBytes(body): LimitedBytes<WEBHOOK_LIMIT>,
) -> Result<axum::Json<OkResponse>, ApiError> {
    let id = validate::account_id("account", &account)?;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    s.api.cloud_webhook(&id, signature, &body).await?;
    Ok(axum::Json(OkResponse { ok: true }))
}
