//! The handlers: parse, validate, call one [`super::GatewayApi`] method, render. Nothing
//! else happens here; logic lives in the gateway.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::api::LoginChallenge;
use super::error::{ApiError, ErrorBody};
use super::extract::{JsonBody, SEND_LIMIT, ValidJson, ValidPath, ValidQuery};
use super::model::{
    AccountList, AccountView, LoginMethod, LoginRequest, LoginResponse, LoginStatus,
    LogoutResponse, OkResponse, PairingDecision, PairingDecisionRequest, PairingList,
    PasskeyAssertion, PollRequest, PresenceRequest, ReactionRequest, ReadRequest, Readiness,
    ReloadResponse, SendMessageRequest, SendResponse, SentId, SimInboundRequest, SimInjected,
    SimOutbox,
};
use super::model_access::{
    AccountQuery, AllowChange, AllowListView, AllowRequest, ExplainRequest, ExplainView,
};
use super::model_agents::{DeliveriesQuery, DeliveryList, DeliveryView};
use super::model_resources::{AccountResources, ProbeResult};
use super::validate;
use crate::qr;

impl JsonBody for LoginRequest {
    const EMPTY_IS_OBJECT: bool = true;
}
impl JsonBody for PasskeyAssertion {}
impl JsonBody for SendMessageRequest {
    const LIMIT: usize = SEND_LIMIT;
    const TOO_LARGE_HINT: &'static str =
        "; send large media by `path` (a file on the gateway host) or `url` instead of base64";
}
impl JsonBody for ReactionRequest {}
impl JsonBody for PollRequest {}
impl JsonBody for ReadRequest {}
impl JsonBody for PresenceRequest {}
impl JsonBody for PairingDecisionRequest {}
impl JsonBody for SimInboundRequest {}
impl JsonBody for ExplainRequest {}
impl JsonBody for AllowRequest {}

type ApiResult<T> = Result<Json<T>, ApiError>;

fn qr_png(qr: &str) -> Result<String, ApiError> {
    qr::png_data_url(qr).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Liveness: the process answers. No token needed.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = OkResponse)))]
pub async fn healthz() -> Json<OkResponse> {
    Json(OkResponse { ok: true })
}

/// Readiness: the store is open and the accounts have started.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(State(s): State<AppState>) -> Response {
    let r = s.api.readiness().await;
    let status = if r.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(r)).into_response()
}

/// Every configured account.
#[utoipa::path(get, path = "/v1/accounts", tag = "accounts",
    responses((status = 200, body = AccountList), (status = 401, body = ErrorBody)))]
pub async fn accounts(State(s): State<AppState>) -> ApiResult<AccountList> {
    Ok(Json(AccountList {
        accounts: s.api.accounts().await?,
    }))
}

/// One account: linked, state, self phone and LID, last error, reconnects, last inbound.
#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountView), (status = 404, body = ErrorBody)))]
pub async fn account(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<AccountView> {
    let id = validate::account_id("id", &id)?;
    Ok(Json(s.api.account(&id).await?))
}

/// What one account's transport holds now: connection, traffic, memory, cache and queue
/// sizes.
#[utoipa::path(get, path = "/v1/accounts/{id}/resources", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = AccountResources), (status = 404, body = ErrorBody)))]
pub async fn resources(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<AccountResources> {
    let id = validate::account_id("id", &id)?;
    Ok(Json(s.api.resources(&id).await?))
}

/// Actively checks one account's connection: a ping WhatsApp must answer, with its
/// round-trip time. A failed ping is a 200 with `ok: false` and the reason.
#[utoipa::path(post, path = "/v1/accounts/{id}/probe", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = ProbeResult), (status = 404, body = ErrorBody)))]
pub async fn probe(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<ProbeResult> {
    let id = validate::account_id("id", &id)?;
    Ok(Json(s.api.probe(&id).await?))
}

/// Starts linking: a QR (with a PNG data URL) or a pair code.
#[utoipa::path(post, path = "/v1/accounts/{id}/login", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    request_body(content = LoginRequest, description = "Empty body = QR"),
    responses((status = 200, body = LoginResponse), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody),
        (status = 502, description = "WhatsApp refused the pair code or the link", body = ErrorBody)))]
pub async fn login_start(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<LoginRequest>,
) -> ApiResult<LoginResponse> {
    let id = validate::account_id("id", &id)?;
    let login = validate::login(req)?;
    let response = match s.api.login_start(&id, login).await? {
        LoginChallenge::Qr { qr, expires_in } => LoginResponse {
            method: LoginMethod::Qr,
            qr_png: Some(qr_png(&qr)?),
            qr: Some(qr),
            code: None,
            expires_in,
            message: "Scan this QR in WhatsApp → Settings → Linked devices → Link a device."
                .to_owned(),
        },
        LoginChallenge::Code { code, expires_in } => LoginResponse {
            method: LoginMethod::Code,
            message: format!(
                "On the phone: WhatsApp → Settings → Linked devices → Link a device → \
                 Link with phone number instead, then type {code}."
            ),
            qr: None,
            qr_png: None,
            code: Some(code),
            expires_in,
        },
    };
    Ok(Json(response))
}

/// The login's progress: `pending` (with the current QR), `connected`, `expired`, ...
#[utoipa::path(get, path = "/v1/accounts/{id}/login", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = LoginStatus), (status = 404, body = ErrorBody)))]
pub async fn login_status(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<LoginStatus> {
    let id = validate::account_id("id", &id)?;
    let status = s.api.login_status(&id).await?;
    with_qr_png(status)
}

fn with_qr_png(mut status: LoginStatus) -> ApiResult<LoginStatus> {
    if let Some(qr) = &status.qr {
        status.qr_png = Some(qr_png(qr)?);
    }
    Ok(Json(status))
}

/// Continues a passkey link: the body is the assertion JSON an authenticator returned for
/// the login's `passkeyOptions`. Returns the login's progress (next: `passkeyCode` to
/// confirm, or `connected`). Untested on live WhatsApp.
#[utoipa::path(post, path = "/v1/accounts/{id}/login/passkey", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    request_body(content = PasskeyAssertion, description = "The WebAuthn assertion JSON"),
    responses((status = 200, body = LoginStatus), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 502, body = ErrorBody)))]
pub async fn login_passkey(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<PasskeyAssertion>,
) -> ApiResult<LoginStatus> {
    let id = validate::account_id("id", &id)?;
    let assertion = validate::passkey_assertion(req)?;
    with_qr_png(s.api.login_passkey(&id, assertion).await?)
}

/// Finishes a passkey link once the phone shows the login's `passkeyCode`.
/// Untested on live WhatsApp.
#[utoipa::path(post, path = "/v1/accounts/{id}/login/passkey/confirm", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = LoginStatus), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub async fn login_passkey_confirm(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<LoginStatus> {
    let id = validate::account_id("id", &id)?;
    with_qr_png(s.api.login_passkey_confirm(&id).await?)
}

/// Unlinks the account and deletes its WhatsApp Web session.
#[utoipa::path(post, path = "/v1/accounts/{id}/logout", tag = "accounts",
    params(("id" = String, Path, description = "Account id")),
    responses((status = 200, body = LogoutResponse), (status = 404, body = ErrorBody),
        (status = 409, description = "the account is not linked (`not_linked`)", body = ErrorBody),
        (status = 502, description = "WhatsApp failed the logout", body = ErrorBody)))]
pub async fn logout(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<LogoutResponse> {
    let id = validate::account_id("id", &id)?;
    Ok(Json(s.api.logout(&id).await?))
}

/// Sends text and/or media; answers with the server-confirmed message ids. Every media item
/// is prepared before anything is sent: one that fails sends nothing.
#[utoipa::path(post, path = "/v1/accounts/{id}/messages", tag = "messages",
    params(("id" = String, Path, description = "Account id")),
    request_body = SendMessageRequest,
    responses((status = 200, body = SendResponse),
        (status = 403, description = "actions.sendMessage is false", body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, description = "a field is wrong, or a media item was refused (nothing was sent; `field` names it)", body = ErrorBody),
        (status = 502, description = "a media host or WhatsApp failed (nothing was sent when it was a media item)", body = ErrorBody),
        (status = 503, body = ErrorBody)))]
pub async fn send(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<SendMessageRequest>,
) -> ApiResult<SendResponse> {
    let id = validate::account_id("id", &id)?;
    let message = validate::send(req)?;
    Ok(Json(s.api.send(&id, message).await?))
}

/// Reacts to a message (or removes this account's reaction).
#[utoipa::path(post, path = "/v1/accounts/{id}/reactions", tag = "messages",
    params(("id" = String, Path, description = "Account id")),
    request_body = ReactionRequest,
    responses((status = 200, body = SentId), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn react(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<ReactionRequest>,
) -> ApiResult<SentId> {
    let id = validate::account_id("id", &id)?;
    let reaction = validate::reaction(req)?;
    Ok(Json(s.api.react(&id, reaction).await?))
}

/// Sends a poll.
#[utoipa::path(post, path = "/v1/accounts/{id}/polls", tag = "messages",
    params(("id" = String, Path, description = "Account id")),
    request_body = PollRequest,
    responses((status = 200, body = SentId), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn poll(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<PollRequest>,
) -> ApiResult<SentId> {
    let id = validate::account_id("id", &id)?;
    let poll = validate::poll(req)?;
    Ok(Json(s.api.poll(&id, poll).await?))
}

/// Marks messages read (blue ticks).
#[utoipa::path(post, path = "/v1/accounts/{id}/read", tag = "messages",
    params(("id" = String, Path, description = "Account id")),
    request_body = ReadRequest,
    responses((status = 200, body = OkResponse), (status = 422, body = ErrorBody)))]
pub async fn read(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<ReadRequest>,
) -> ApiResult<OkResponse> {
    let id = validate::account_id("id", &id)?;
    let read = validate::read(req)?;
    s.api.mark_read(&id, read).await?;
    Ok(Json(OkResponse { ok: true }))
}

/// Shows "typing…" or "recording…" in a chat, or stops it.
#[utoipa::path(post, path = "/v1/accounts/{id}/presence", tag = "messages",
    params(("id" = String, Path, description = "Account id")),
    request_body = PresenceRequest,
    responses((status = 200, body = OkResponse), (status = 422, body = ErrorBody)))]
pub async fn presence(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
    ValidJson(req): ValidJson<PresenceRequest>,
) -> ApiResult<OkResponse> {
    let id = validate::account_id("id", &id)?;
    let chat = validate::target("chat", &req.chat)?;
    s.api
        .presence(&id, chat, validate::presence(req.state))
        .await?;
    Ok(Json(OkResponse { ok: true }))
}

/// Pending pairing requests.
#[utoipa::path(get, path = "/v1/pairing/whatsapp", tag = "pairing",
    responses((status = 200, body = PairingList)))]
pub async fn pairing_list(State(s): State<AppState>) -> ApiResult<PairingList> {
    Ok(Json(PairingList {
        requests: s.api.pairing_list().await?,
    }))
}

async fn decide(
    s: &AppState,
    req: PairingDecisionRequest,
    approve: bool,
) -> ApiResult<PairingDecision> {
    let code = validate::pairing_code(&req.code)?;
    let account = req
        .account
        .as_deref()
        .map(|a| validate::account_id("account", a))
        .transpose()?;
    if req.notify && !approve {
        return Err(ApiError::invalid(
            "notify",
            "notify: only an approval sends a confirmation",
        ));
    }
    let mut decision = if approve {
        s.api.pairing_approve(&code, account.as_ref()).await?
    } else {
        s.api.pairing_reject(&code, account.as_ref()).await?
    };
    if req.notify {
        decision.notified_message_id = Some(notify_approved(s, &decision).await?);
    }
    Ok(Json(decision))
}

/// What an approved sender is told with `notify` (the seeds' `pairing approve --notify`).
pub const APPROVED_NOTICE: &str =
    "✅ You have been approved: your messages now reach the assistant.";

/// Sends [`APPROVED_NOTICE`] to the sender of an approval; the approval stands either way,
/// and the error says so.
async fn notify_approved(s: &AppState, d: &PairingDecision) -> Result<String, ApiError> {
    let failed = |why: String| {
        ApiError::Upstream(format!(
            "approved {} on account {}, but the confirmation was not sent: {why}",
            d.sender, d.account
        ))
    };
    let account = validate::account_id("account", &d.account)?;
    let to = wagw_core::Jid::from_target(&d.sender).map_err(|e| failed(e.to_string()))?;
    let sent = s
        .api
        .send(
            &account,
            super::api::SendMessage {
                to,
                text: Some(APPROVED_NOTICE.to_owned()),
                media: Vec::new(),
                gif_playback: false,
                reply_to: None,
                mentions: Vec::new(),
                template: None,
            },
        )
        .await
        .map_err(|e| failed(e.body().error.message))?;
    sent.message_ids
        .into_iter()
        .next()
        .ok_or_else(|| failed("WhatsApp confirmed no message".to_owned()))
}

/// Approves a pairing request: the sender may talk to the agent from now on.
#[utoipa::path(post, path = "/v1/pairing/whatsapp/approve", tag = "pairing",
    request_body = PairingDecisionRequest,
    responses((status = 200, body = PairingDecision), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn pairing_approve(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<PairingDecisionRequest>,
) -> ApiResult<PairingDecision> {
    decide(&s, req, true).await
}

/// Rejects a pairing request.
#[utoipa::path(post, path = "/v1/pairing/whatsapp/reject", tag = "pairing",
    request_body = PairingDecisionRequest,
    responses((status = 200, body = PairingDecision), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn pairing_reject(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<PairingDecisionRequest>,
) -> ApiResult<PairingDecision> {
    decide(&s, req, false).await
}

/// Runs the access engine on a described message: the decision, its reason and the config
/// key that decided it (what `wagw access explain` prints).
#[utoipa::path(post, path = "/v1/access/explain", tag = "access",
    request_body = ExplainRequest,
    responses((status = 200, body = ExplainView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn access_explain(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<ExplainRequest>,
) -> ApiResult<ExplainView> {
    let (account, input) = validate::explain(req)?;
    Ok(Json(s.api.access_explain(account.as_ref(), input).await?))
}

fn query_account(q: &AccountQuery) -> Result<Option<wagw_core::AccountId>, ApiError> {
    q.account
        .as_deref()
        .map(|a| validate::account_id("account", a))
        .transpose()
}

/// The allow-store: senders approved by pairing or added by the operator.
#[utoipa::path(get, path = "/v1/allow/whatsapp", tag = "access",
    params(AccountQuery),
    responses((status = 200, body = AllowListView), (status = 404, body = ErrorBody)))]
pub async fn allow_list(
    State(s): State<AppState>,
    ValidQuery(q): ValidQuery<AccountQuery>,
) -> ApiResult<AllowListView> {
    let account = query_account(&q)?;
    Ok(Json(AllowListView {
        entries: s.api.allow_list(account.as_ref()).await?,
    }))
}

/// Adds a sender to the allow-store.
#[utoipa::path(post, path = "/v1/allow/whatsapp", tag = "access",
    request_body = AllowRequest,
    responses((status = 200, body = AllowChange), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn allow_add(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<AllowRequest>,
) -> ApiResult<AllowChange> {
    let entry = validate::allow_entry("entry", &req.entry)?;
    let account = req
        .account
        .as_deref()
        .map(|a| validate::account_id("account", a))
        .transpose()?;
    Ok(Json(s.api.allow_add(account.as_ref(), entry).await?))
}

/// Removes a sender from the allow-store.
#[utoipa::path(delete, path = "/v1/allow/whatsapp/{entry}", tag = "access",
    params(("entry" = String, Path, description = "+E.164 or a LID (URL-encoded)"), AccountQuery),
    responses((status = 200, body = AllowChange), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn allow_remove(
    State(s): State<AppState>,
    ValidPath(entry): ValidPath<String>,
    ValidQuery(q): ValidQuery<AccountQuery>,
) -> ApiResult<AllowChange> {
    let entry = validate::allow_entry("entry", &entry)?;
    let account = query_account(&q)?;
    Ok(Json(s.api.allow_remove(account.as_ref(), entry).await?))
}

/// Webhook deliveries of the durable outbox (`?state=dead` by default).
#[utoipa::path(get, path = "/v1/deliveries", tag = "agents",
    params(DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 422, body = ErrorBody)))]
pub async fn deliveries_list(
    State(s): State<AppState>,
    ValidQuery(q): ValidQuery<DeliveriesQuery>,
) -> ApiResult<DeliveryList> {
    let state = crate::deliveries::state(q.state.as_deref())?;
    let limit = q.limit.unwrap_or(100);
    Ok(Json(DeliveryList {
        deliveries: s.api.deliveries_list(state, limit).await?,
    }))
}

/// Puts a dead delivery back in the queue (same id, same body, attempts reset).
#[utoipa::path(post, path = "/v1/deliveries/{id}/replay", tag = "agents",
    params(("id" = String, Path, description = "The delivery id (X-Wagw-Delivery)")),
    responses((status = 200, body = DeliveryView), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delivery_replay(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> ApiResult<DeliveryView> {
    Ok(Json(s.api.delivery_replay(&id).await?))
}

/// A saved inbound media file (what a turn's `media[].url` points to).
#[utoipa::path(get, path = "/v1/media/{id}", tag = "media",
    params(("id" = String, Path, description = "Media id (file name)")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream"),
        (status = 404, body = ErrorBody)))]
pub async fn media(
    State(s): State<AppState>,
    ValidPath(id): ValidPath<String>,
) -> Result<Response, ApiError> {
    let id = validate::media_id(&id)?;
    let file = s.api.media_file(id).await?;
    let gone = || ApiError::NotFound {
        code: "unknown_media",
        message: format!(
            "media {id:?} is not (or no longer) on disk: saved media is deleted after \
             media.retentionHours"
        ),
    };
    let handle = tokio::fs::File::open(&file.path)
        .await
        .map_err(|_| gone())?;
    let len = handle.metadata().await.map_err(|_| gone())?.len();
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(handle));
    Ok((
        [
            (header::CONTENT_TYPE, file.mime),
            (header::CONTENT_LENGTH, len.to_string()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// Re-reads the config file and applies it without dropping connections.
#[utoipa::path(post, path = "/v1/reload", tag = "gateway",
    responses((status = 200, body = ReloadResponse), (status = 422, body = ErrorBody)))]
pub async fn reload(State(s): State<AppState>) -> ApiResult<ReloadResponse> {
    Ok(Json(s.api.reload().await?))
}

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "gateway",
    responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
pub async fn metrics(State(s): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.api.metrics_text().await,
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "gateway",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::openapi::document())
}

/// Simulator only: a simulated person writes to an account.
#[utoipa::path(post, path = "/v1/sim/inbound", tag = "sim",
    request_body = SimInboundRequest,
    responses((status = 200, body = SimInjected), (status = 422, body = ErrorBody)))]
pub async fn sim_inbound(
    State(s): State<AppState>,
    ValidJson(req): ValidJson<SimInboundRequest>,
) -> ApiResult<SimInjected> {
    let message = validate::sim(req)?;
    Ok(Json(s.api.sim_inbound(message).await?))
}

/// Simulator only: what an account sent.
#[utoipa::path(get, path = "/v1/sim/outbox/{account}", tag = "sim",
    params(("account" = String, Path, description = "Account id")),
    responses((status = 200, body = SimOutbox), (status = 404, body = ErrorBody)))]
pub async fn sim_outbox(
    State(s): State<AppState>,
    ValidPath(account): ValidPath<String>,
) -> ApiResult<SimOutbox> {
    let account = validate::account_id("account", &account)?;
    Ok(Json(SimOutbox {
        messages: s.api.sim_outbox(&account).await?,
    }))
}

/// A known path with another method (axum's default is an empty 405).
pub async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!(
        "{method} is not allowed on {}: the routes and their methods are listed in GET /v1/openapi.json",
        uri.path()
    ))
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::NotFound {
        code: "no_route",
        message: "no such route: the routes are listed in GET /v1/openapi.json".to_owned(),
    }
}
