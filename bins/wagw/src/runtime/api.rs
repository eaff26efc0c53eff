//! [`GatewayApi`] on the real gateway: each method maps the validated request onto one
//! `wagw-gateway` call (or the access store it exposes) and the result onto the API's JSON
//! shapes. Gateway errors become API errors whose messages say what to do.

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;
use wagw_access::{AllowEntry, ExplainInput, SelfIdentity};
use wagw_core::{AccountId, ChatPresence, Jid, Lid, Phone, SocketError, WaSocket as _};
use wagw_gateway::{AccountStatus, GatewayError, LoginPrompt, PollRequest, ReactRequest, Reply};

use super::{Runtime, now_ms};
use crate::access::AccessOps;
use wagw_http::api::{
    GatewayApi, LoginChallenge, LoginStart, MarkRead, MediaFile, MediaInput, Poll, Reaction,
    SendMessage, SimMessage,
};
use wagw_http::error::ApiError;
use wagw_http::model::{
    AccountView, EventRecord, LoginState, LoginStatus, LogoutResponse, PairingDecision,
    PairingRequestView, Readiness, ReloadResponse, SendResponse, SentId, SimInjected,
};
use wagw_http::model_access::{AllowChange, AllowEntryView, ExplainView};
use wagw_http::model_agents::DeliveryView;
use wagw_http::model_resources::{AccountResources, ProbeResult};

/// A Cloud API webhook refusal as the API's error (its status is what Meta sees).
fn cloud_error(e: wagw_cloud::WebhookError) -> ApiError {
    use wagw_cloud::WebhookError as W;
    let message = e.to_string();
    match e {
        W::VerificationRefused(_) | W::NoVerifyToken => ApiError::Forbidden(message),
        W::MissingSignature | W::BadSignature => ApiError::Unauthorized(message),
        W::Malformed(_) => ApiError::Invalid {
            field: None,
            message,
        },
        W::NotConnected => ApiError::Unavailable {
            code: "not_connected",
            message,
        },
        W::NotCommitted(_) => ApiError::Unavailable {
            code: "not_committed",
            message,
        },
    }
}

/// An event of the daemon's log in the API's shape.
pub fn record(e: wagw_agents::Event) -> EventRecord {
    EventRecord {
        seq: e.id,
        at_ms: i64::try_from(e.at_ms).unwrap_or(i64::MAX),
        kind: e.kind,
        data: e.data,
    }
}

impl Runtime {
    /// The simulated network, or the API's answer when the gateway runs without `--sim`.
    fn sim_net(&self) -> Result<&wagw_sim::SimNetwork, ApiError> {
        self.sim.as_ref().ok_or_else(|| ApiError::NotFound {
            code: "sim_disabled",
            message: "the simulator is not running: start the gateway with `wagw gateway --sim`"
                .to_owned(),
        })
    }

    /// The configured account a `/v1/sim/*` request names (the default one when none).
    fn sim_account(&self, named: Option<&AccountId>) -> Result<AccountId, ApiError> {
        let config = self.config();
        let account = match named {
            Some(a) => config
                .resolve_account(a)
                .map_err(|_| ApiError::unknown_account(a.as_str()))?,
            None => config.default_account(),
        };
        Ok(account.account_id.clone())
    }
}

/// A gateway error as the API's.
pub fn api_error(e: GatewayError) -> ApiError {
    let message = e.to_string();
    match e {
        GatewayError::NoActiveListener(_) => ApiError::Unavailable {
            code: "no_active_listener",
            message,
        },
        GatewayError::ShuttingDown => ApiError::Unavailable {
            code: "shutting_down",
            message,
        },
        GatewayError::UnknownAccount(id) => ApiError::unknown_account(id.as_str()),
        GatewayError::ActionDisabled { .. } => ApiError::Forbidden(message),
        GatewayError::InvalidRequest(_) => ApiError::Invalid {
            field: None,
            message,
        },
        // The account's link state rules the operation out: the caller's to resolve.
        GatewayError::Transport {
            source: SocketError::AlreadyLinked,
            account,
        } => ApiError::Conflict {
            code: "already_linked",
            message: format!(
                "{message}: log it out first (POST /v1/accounts/{account}/logout, or `wagw channels logout --account {account}`), then link again"
            ),
        },
        GatewayError::Transport {
            source: SocketError::NotLinked,
            account,
        } => ApiError::Conflict {
            code: "not_linked",
            message: format!(
                "{message}: link it first (POST /v1/accounts/{account}/login, or `wagw channels login --account {account}`)"
            ),
        },
        GatewayError::Transport { .. } => ApiError::Upstream(message),
        GatewayError::Access(a) => crate::access::api_error(a),
        _ => ApiError::Internal(message),
    }
}

/// A passkey step the state does not allow is a conflict the operator resolves (start a
/// login, wait for the prompt); what WhatsApp refused stays an upstream failure.
fn passkey_error(e: GatewayError) -> ApiError {
    let message = e.to_string();
    match &e {
        GatewayError::Transport { source, .. } => match source {
            SocketError::InvalidRequest(_) | SocketError::NotConnected => ApiError::Conflict {
                code: "no_passkey_step",
                message: format!(
                    "{message}; start linking with POST …/login and wait until GET …/login shows passkeyOptions or passkeyCode"
                ),
            },
            SocketError::AlreadyLinked => ApiError::Conflict {
                code: "already_linked",
                message,
            },
            _ => api_error(e),
        },
        _ => api_error(e),
    }
}

impl Runtime {
    fn status_of(&self, id: &AccountId) -> Option<AccountStatus> {
        self.gateway
            .status()
            .into_iter()
            .find(|s| &s.account_id == id)
    }

    fn configured(&self, id: &AccountId) -> Result<(), ApiError> {
        self.config()
            .resolve_account(id)
            .map(|_| ())
            .map_err(|_| ApiError::unknown_account(id.as_str()))
    }

    fn own_identity(&self, id: &AccountId) -> SelfIdentity {
        let status = self.status_of(id);
        SelfIdentity {
            phone: status
                .as_ref()
                .and_then(|s| s.phone.as_deref())
                .and_then(|p| Phone::parse(p).ok()),
            lid: status
                .as_ref()
                .and_then(|s| s.lid.as_deref())
                .and_then(|l| Lid::parse(l).ok()),
        }
    }

    fn on_sim(&self, account: &wagw_config::ResolvedAccount) -> bool {
        self.sim.is_some() && (self.force_sim || account.transport == wagw_config::Transport::Sim)
    }

    fn view(&self, account: &wagw_config::ResolvedAccount) -> AccountView {
        let status = self.status_of(&account.account_id);
        let sim = self.on_sim(account);
        let metrics = status.as_ref().map(|s| &s.metrics);
        let failed = status.as_ref().is_some_and(|s| s.state == "failed");
        let linked = match &status {
            // Failed to start: its store could not be read, so nothing says it is linked.
            Some(_) if failed => false,
            // A running account: its transport knows (its store is open in this process).
            Some(s) => s.linked,
            None => self.linked_while_stopped(account, sim),
        };
        AccountView {
            id: account.account_id.to_string(),
            name: account.name.clone(),
            enabled: account.enabled,
            linked,
            running: status.is_some() && !failed,
            connected: status.as_ref().is_some_and(|s| s.connected),
            state: status
                .as_ref()
                .map_or_else(|| "stopped".to_owned(), |s| s.state.clone()),
            detail: status.as_ref().and_then(|s| s.detail.clone()),
            transport: if sim {
                "sim"
            } else if account.transport == wagw_config::Transport::Cloud {
                "cloud"
            } else {
                "whatsapp"
            }
            .to_owned(),
            self_phone: status.as_ref().and_then(|s| s.phone.clone()),
            self_lid: status.as_ref().and_then(|s| s.lid.clone()),
            last_error: status
                .as_ref()
                .filter(|s| !s.connected)
                .and_then(|s| s.detail.clone()),
            reconnect_attempts: metrics.map_or(0, |m| m.reconnect_attempts),
            reconnects_total: metrics.map_or(0, |m| m.reconnects.values().sum::<u64>()),
            last_inbound_at_ms: metrics.map(|m| m.last_inbound_ms).filter(|&ms| ms > 0),
            last_outbound_at_ms: metrics.map(|m| m.last_outbound_ms).filter(|&ms| ms > 0),
            dm_policy: serde_json::to_value(account.dm_policy)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            allow_from: account.allow_from.iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Whether an account the gateway does not run (disabled) is linked: the simulator's
    /// record, or the protocol store's device identity (nobody else holds it open).
    fn linked_while_stopped(&self, account: &wagw_config::ResolvedAccount, sim: bool) -> bool {
        if sim {
            return self
                .sim
                .as_ref()
                .and_then(|net| net.socket(&account.account_id))
                .is_some_and(|socket| socket.own_identity().is_some());
        }
        // Where the stores are in use, not where a reloaded storage.url points.
        let location = crate::storage::account(&self.stores_config, account);
        match location
            .map_err(|e| e.to_string())
            .and_then(|l| wagw_socket::linked_identity(&l).map_err(|e| e.to_string()))
        {
            Ok(identity) => identity.is_some(),
            Err(e) => {
                tracing::warn!(target: "wagw::daemon", account = %account.account_id, error = %e,
                    "cannot read the account's protocol store; reporting it as not linked");
                false
            }
        }
    }

    async fn login_prompt(&self, id: &AccountId) -> Option<LoginPrompt> {
        // The supervisor publishes the prompt shortly after the link starts.
        for _ in 0..50 {
            if let Some(p) = self.status_of(id).and_then(|s| s.login) {
                return Some(p);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

fn expires_in(at_ms: i64) -> u64 {
    u64::try_from(((at_ms - now_ms()) / 1000).max(0)).unwrap_or(0)
}

/// The request field a media item came from (`media[1].url`), for errors.
fn media_fields(m: &SendMessage) -> Vec<String> {
    m.media
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = match item.source {
                MediaInput::Url(_) => "url",
                MediaInput::Path(_) => "path",
                MediaInput::Bytes(_) => "base64",
            };
            format!("media[{i}].{field}")
        })
        .collect()
}

/// Every field of a validated send, as the gateway's reply: text, media with their own
/// captions, quote, mentions and `gifPlayback`.
fn reply_of(m: SendMessage) -> Reply {
    let mut captions = Vec::with_capacity(m.media.len());
    let media = m
        .media
        .into_iter()
        .map(|item| {
            captions.push(item.caption);
            match item.source {
                MediaInput::Url(url) => wagw_gateway::MediaSource::Url { url },
                MediaInput::Path(path) => wagw_gateway::MediaSource::Path { path },
                MediaInput::Bytes(data) => wagw_gateway::MediaSource::Bytes {
                    data: data.into(),
                    mime: item.mime,
                    file_name: item.file_name,
                },
            }
        })
        .collect();
    Reply {
        text: m.text,
        media,
        reply_to: m.reply_to,
        captions,
        mentions: m.mentions,
        gif_playback: m.gif_playback,
        template: m.template,
    }
}

/// A media item the gateway could not prepare: 422 naming the request field when the
/// request asked for something refused or broken, 502 when the media host or WhatsApp
/// failed.
fn media_error(failure: &wagw_outbound::MediaFailure, fields: &[String]) -> ApiError {
    use wagw_outbound::OutboundError as E;
    let field = fields
        .get(failure.index)
        .cloned()
        .unwrap_or_else(|| format!("media[{}]", failure.index));
    let message = format!("nothing was sent: {field}: {}", failure.error);
    match &failure.error {
        E::Fetch { .. } | E::Send(_) => ApiError::Upstream(message),
        E::Tool { .. } | E::ImageEncode(_) => ApiError::Internal(message),
        _ => ApiError::Invalid {
            field: Some(field),
            message,
        },
    }
}

#[async_trait]
impl GatewayApi for Runtime {
    async fn readiness(&self) -> Readiness {
        Readiness {
            ready: true,
            message: None,
        }
    }

    async fn accounts(&self) -> Result<Vec<AccountView>, ApiError> {
        let config = self.config();
        Ok(config.accounts().iter().map(|a| self.view(a)).collect())
    }

    async fn account(&self, id: &AccountId) -> Result<AccountView, ApiError> {
        let config = self.config();
        let account = config
            .resolve_account(id)
            .map_err(|_| ApiError::unknown_account(id.as_str()))?;
        Ok(self.view(account))
    }

    async fn resources(&self, id: &AccountId) -> Result<AccountResources, ApiError> {
        self.configured(id)?;
        let (running, resources) = match self.gateway.resources(id).await {
            Ok(r) => (true, r),
            // Configured but not running (disabled, or the gateway is off for it).
            Err(wagw_gateway::GatewayError::UnknownAccount(_)) => (false, None),
            Err(e) => return Err(api_error(e)),
        };
        Ok(AccountResources {
            account: id.to_string(),
            running,
            resources: resources.map(Into::into),
        })
    }

    async fn probe(&self, id: &AccountId) -> Result<ProbeResult, ApiError> {
        self.configured(id)?;
        let mut out = ProbeResult {
            account: id.to_string(),
            running: true,
            ok: false,
            rtt_ms: None,
            error: None,
        };
        match self.gateway.ping(id).await {
            Ok(rtt) => {
                out.ok = true;
                out.rtt_ms = Some(u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX));
            }
            Err(GatewayError::UnknownAccount(_)) => {
                out.running = false;
                out.error = Some(format!(
                    "account {id} is not running (disabled, or web.enabled is false)"
                ));
            }
            Err(GatewayError::Transport { source, .. }) => {
                out.error = Some(match source {
                    SocketError::NotConnected => format!(
                        "not connected: see `wagw channels status` (link it with `wagw channels login --account {id}`)"
                    ),
                    other => other.to_string(),
                });
            }
            Err(e) => return Err(api_error(e)),
        }
        Ok(out)
    }

    async fn login_start(
        &self,
        id: &AccountId,
        login: LoginStart,
    ) -> Result<LoginChallenge, ApiError> {
        self.configured(id)?;
        let cloud = self
            .config()
            .resolve_account(id)
            .is_ok_and(|a| a.transport == wagw_config::Transport::Cloud);
        if cloud && !self.force_sim {
            return Err(ApiError::Conflict {
                code: "cloud_account",
                message: crate::cmd::channels::cloud_login_help(id),
            });
        }
        let status = self.status_of(id).ok_or_else(|| ApiError::Unavailable {
            code: "account_not_running",
            message: format!(
                "account {id} is not running (disabled, or web.enabled is false): enable it and reload"
            ),
        })?;
        if status.connected && !login.force {
            return Err(ApiError::Conflict {
                code: "already_linked",
                message: format!(
                    "account {id} is linked and connected{}; relink with --force",
                    status.phone.map(|p| format!(" as {p}")).unwrap_or_default()
                ),
            });
        }
        if login.force && status.linked {
            // Relinking: the old link is logged out first, so a new QR or pair code can show.
            tracing::info!(target: "wagw::daemon", account = %id, "login --force: logging out the current link to relink");
            self.gateway.logout(id).await.map_err(api_error)?;
        }
        if let Some(phone) = &login.phone {
            let code = self
                .gateway
                .request_pair_code(id, phone)
                .await
                .map_err(api_error)?;
            return Ok(LoginChallenge::Code {
                code,
                expires_in: 180,
            });
        }
        self.gateway.login(id).await.map_err(api_error)?;
        match self.login_prompt(id).await {
            Some(LoginPrompt::Qr {
                code,
                expires_at_ms,
            }) => Ok(LoginChallenge::Qr {
                qr: code,
                expires_in: expires_in(expires_at_ms),
            }),
            Some(LoginPrompt::PairCode {
                code,
                expires_at_ms,
            }) => Ok(LoginChallenge::Code {
                code,
                expires_in: expires_in(expires_at_ms),
            }),
            Some(LoginPrompt::Passkey { .. } | LoginPrompt::PasskeyConfirmation { .. }) => {
                Err(ApiError::Conflict {
                    code: "passkey_pending",
                    message: format!(
                        "account {id} is at the passkey step of a link: see GET /v1/accounts/{id}/login \
                         (passkeyOptions / passkeyCode), or request a pair code with {{\"method\": \"code\"}}"
                    ),
                })
            }
            // Cleared by `Gateway::login`; seen only if the new link expired within the wait.
            Some(LoginPrompt::Expired { detail }) => Err(ApiError::Unavailable {
                code: "login_expired",
                message: detail,
            }),
            // No prompt: the transport could not start linking. Its own words say why
            // (`detail`), and the operator learns what to do instead.
            None => {
                let status = self.status_of(id);
                let state = status.as_ref().map(|s| s.state.clone()).unwrap_or_default();
                Err(ApiError::Unavailable {
                    code: "no_login_prompt",
                    message: match status.and_then(|s| s.detail) {
                        Some(detail) => format!(
                            "account {id} could not start linking ({state}): {}. Check that this \
                             host reaches WhatsApp (DNS, firewall, proxy; `wagw doctor`), then run \
                             `wagw channels login --account {id}` again",
                            detail.trim_end_matches('.')
                        ),
                        None => format!(
                            "account {id} showed no QR within 5 s ({state}) and its transport gave no \
                             reason; see the gateway's log (`wagw gateway -v`) and `wagw channels status`, \
                             then run `wagw channels login --account {id}` again"
                        ),
                    },
                })
            }
        }
    }

    async fn login_status(&self, id: &AccountId) -> Result<LoginStatus, ApiError> {
        self.configured(id)?;
        let Some(status) = self.status_of(id) else {
            return Ok(LoginStatus {
                message: format!("account {id} is not running"),
                ..LoginStatus::default()
            });
        };
        let mut out = LoginStatus {
            phone: status.phone.clone(),
            ..LoginStatus::default()
        };
        match (&status.login, status.connected) {
            (_, true) => {
                out.status = LoginState::Connected;
                out.message = format!(
                    "✅ Linked{}! WhatsApp is ready.",
                    status.phone.map(|p| format!(" as {p}")).unwrap_or_default()
                );
            }
            (
                Some(LoginPrompt::Qr {
                    code,
                    expires_at_ms,
                }),
                false,
            ) => {
                out.status = LoginState::Pending;
                out.qr = Some(code.clone());
                out.expires_in = Some(expires_in(*expires_at_ms));
                out.message = "Scan the QR in WhatsApp → Settings → Linked devices.".to_owned();
            }
            (
                Some(LoginPrompt::PairCode {
                    code,
                    expires_at_ms,
                }),
                false,
            ) => {
                out.status = LoginState::Pending;
                out.code = Some(code.clone());
                out.expires_in = Some(expires_in(*expires_at_ms));
                out.message = format!("Type {code} on the phone.");
            }
            (
                Some(LoginPrompt::Passkey {
                    options_json,
                    error,
                }),
                false,
            ) => {
                out.status = LoginState::Pending;
                // WhatsApp's options are JSON; pass them on as an object when they parse.
                out.passkey_options = Some(
                    serde_json::from_str(options_json)
                        .unwrap_or_else(|_| serde_json::Value::String(options_json.clone())),
                );
                out.error = error.clone();
                out.message = format!(
                    "WhatsApp asks for a passkey: get an assertion for passkeyOptions from an authenticator \
                     that holds this account's passkey and POST it to /v1/accounts/{id}/login/passkey \
                     (wagw channels login --account {id} --passkey-assertion FILE), or link with a pair code instead."
                );
            }
            (
                Some(LoginPrompt::PasskeyConfirmation {
                    code,
                    expires_at_ms,
                    error,
                }),
                false,
            ) => {
                out.status = LoginState::Pending;
                out.passkey_code = Some(code.clone());
                out.expires_in = Some(expires_in(*expires_at_ms));
                out.error = error.clone();
                out.message = format!(
                    "Passkey accepted. When the phone shows {code}, confirm with POST /v1/accounts/{id}/login/passkey/confirm \
                     (wagw channels login --account {id} --passkey-confirm)."
                );
            }
            (Some(LoginPrompt::Expired { detail }), false) => {
                out.status = LoginState::Expired;
                out.message = detail.clone();
            }
            (None, false) => {
                out.message = status
                    .detail
                    .unwrap_or_else(|| format!("account {id} is {}", status.state));
            }
        }
        Ok(out)
    }

    async fn login_passkey(
        &self,
        id: &AccountId,
        assertion_json: String,
    ) -> Result<LoginStatus, ApiError> {
        self.configured(id)?;
        self.gateway
            .submit_passkey_assertion(id, &assertion_json)
            .await
            .map_err(passkey_error)?;
        self.login_status(id).await
    }

    async fn login_passkey_confirm(&self, id: &AccountId) -> Result<LoginStatus, ApiError> {
        self.configured(id)?;
        self.gateway
            .confirm_passkey(id)
            .await
            .map_err(passkey_error)?;
        self.login_status(id).await
    }

    async fn logout(&self, id: &AccountId) -> Result<LogoutResponse, ApiError> {
        self.configured(id)?;
        self.gateway.logout(id).await.map_err(api_error)?;
        Ok(LogoutResponse {
            cleared: true,
            message: format!(
                "Cleared account {id}'s WhatsApp Web session. Link it again with: wagw channels login --account {id}"
            ),
        })
    }

    async fn send(&self, id: &AccountId, message: SendMessage) -> Result<SendResponse, ApiError> {
        self.configured(id)?;
        let chat = message.to.clone();
        let fields = media_fields(&message);
        let report = self
            .gateway
            .send_explicit(id, &chat, reply_of(message))
            .await
            .map_err(|e| match e {
                GatewayError::MediaRejected(failure) => media_error(&failure, &fields),
                e => api_error(e),
            })?;
        if !report.failed.is_empty() {
            let failures = report.failures();
            if report.sent.is_empty() {
                return Err(ApiError::Upstream(format!(
                    "nothing was sent: {}",
                    failures.join("; ")
                )));
            }
            let sent: Vec<String> = report
                .sent
                .iter()
                .map(|s| s.id.as_str().to_owned())
                .collect();
            return Err(ApiError::PartlySent {
                message: format!(
                    "partly sent: {} of {} messages reached the chat ({}); failed: {}. Send only what failed again",
                    sent.len(),
                    sent.len() + report.failed.len(),
                    sent.join(", "),
                    failures.join("; ")
                ),
                sent,
            });
        }
        let sent = report.sent;
        Ok(SendResponse {
            timestamp_ms: sent.last().map(|s| s.timestamp_ms),
            message_ids: sent.into_iter().map(|s| s.id.as_str().to_owned()).collect(),
        })
    }

    async fn react(&self, id: &AccountId, r: Reaction) -> Result<SentId, ApiError> {
        let remove = r.emoji.is_empty();
        let receipt = self
            .gateway
            .react(
                id,
                ReactRequest {
                    chat: r.chat,
                    message_id: r.message_id,
                    emoji: r.emoji,
                    remove,
                    participant: r.participant,
                    from_me: r.from_me,
                },
            )
            .await
            .map_err(api_error)?;
        Ok(SentId {
            message_id: receipt.id.as_str().to_owned(),
            timestamp_ms: receipt.timestamp_ms,
        })
    }

    async fn poll(&self, id: &AccountId, p: Poll) -> Result<SentId, ApiError> {
        let receipt = self
            .gateway
            .send_poll(
                id,
                PollRequest {
                    chat: p.to,
                    question: p.question,
                    options: p.options,
                    selectable_count: p.selectable_count,
                },
            )
            .await
            .map_err(api_error)?;
        Ok(SentId {
            message_id: receipt.id.as_str().to_owned(),
            timestamp_ms: receipt.timestamp_ms,
        })
    }

    async fn mark_read(&self, id: &AccountId, r: MarkRead) -> Result<(), ApiError> {
        self.gateway
            .mark_read(id, &r.chat, r.participant.as_ref(), &r.message_ids)
            .await
            .map_err(api_error)
    }

    async fn presence(
        &self,
        id: &AccountId,
        chat: Jid,
        state: ChatPresence,
    ) -> Result<(), ApiError> {
        self.gateway
            .presence(id, &chat, state)
            .await
            .map_err(api_error)
    }

    async fn pairing_list(&self) -> Result<Vec<PairingRequestView>, ApiError> {
        let config = self.config();
        AccessOps::new(self.gateway.access_store(), &config).pairing_list(now_ms())
    }

    async fn pairing_approve(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError> {
        let config = self.config();
        let r = AccessOps::new(self.gateway.access_store(), &config).pairing_decide(
            code,
            account,
            true,
            now_ms(),
        );
        self.gateway.refresh_access();
        r
    }

    async fn pairing_reject(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError> {
        let config = self.config();
        let r = AccessOps::new(self.gateway.access_store(), &config).pairing_decide(
            code,
            account,
            false,
            now_ms(),
        );
        self.gateway.refresh_access();
        r
    }

    async fn access_explain(
        &self,
        account: Option<&AccountId>,
        input: ExplainInput,
    ) -> Result<ExplainView, ApiError> {
        let config = self.config();
        let ops = AccessOps::new(self.gateway.access_store(), &config);
        let id = ops.account(account)?.account_id.clone();
        ops.explain(
            Some(&id),
            &input,
            self.own_identity(&id),
            self.gateway.lid_map(&id),
            now_ms(),
        )
    }

    async fn allow_list(
        &self,
        account: Option<&AccountId>,
    ) -> Result<Vec<AllowEntryView>, ApiError> {
        let config = self.config();
        AccessOps::new(self.gateway.access_store(), &config).allow_list(account)
    }

    async fn allow_add(
        &self,
        account: Option<&AccountId>,
        entry: AllowEntry,
    ) -> Result<AllowChange, ApiError> {
        let config = self.config();
        let r = AccessOps::new(self.gateway.access_store(), &config).allow_add(
            account,
            entry,
            now_ms(),
        );
        self.gateway.refresh_access();
        r
    }

    async fn allow_remove(
        &self,
        account: Option<&AccountId>,
        entry: AllowEntry,
    ) -> Result<AllowChange, ApiError> {
        let config = self.config();
        let r = AccessOps::new(self.gateway.access_store(), &config).allow_remove(account, entry);
        self.gateway.refresh_access();
        r
    }

    async fn deliveries_list(
        &self,
        state: wagw_agents::DeliveryState,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, ApiError> {
        wagw_http::deliveries::list(self.sinks.outbox(), state, limit)
    }

    async fn delivery_replay(&self, id: &str) -> Result<DeliveryView, ApiError> {
        wagw_http::deliveries::replay(self.sinks.outbox(), id).await
    }

    async fn media_file(&self, id: &str) -> Result<MediaFile, ApiError> {
        let path = wagw_gateway::media::inbound_dir(&self.config().gateway().data_dir).join(id);
        if !path.is_file() {
            return Err(ApiError::NotFound {
                code: "unknown_media",
                message: format!(
                    "media {id:?} is not (or no longer) on disk: saved media is deleted after media.retentionHours"
                ),
            });
        }
        let mime = mime_guess::from_path(&path)
            .first_or_octet_stream()
            .essence_str()
            .to_owned();
        Ok(MediaFile { path, mime })
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, ApiError> {
        let page = self
            .events
            .read_after(after, limit)
            .map_err(|e| ApiError::Internal(format!("event log: {e}")))?;
        if page.missed > 0 {
            tracing::debug!(target: "wagw::http", missed = page.missed, "event stream resumed past trimmed events");
        }
        Ok(page.events.into_iter().map(record).collect())
    }

    fn subscribe_events(&self) -> broadcast::Receiver<EventRecord> {
        self.live.subscribe()
    }

    async fn reload(&self) -> Result<ReloadResponse, ApiError> {
        let path = self.config_path.clone().ok_or_else(|| ApiError::Invalid {
            field: None,
            message: "the gateway was started without a config file; nothing to reload".to_owned(),
        })?;
        let config =
            wagw_config::Config::load(&path, &wagw_config::Env::from_process()).map_err(|e| {
                ApiError::Invalid {
                    field: None,
                    message: format!("the config was not reloaded: {e}"),
                }
            })?;
        let crate::preflight::Checked { specs, settings } = crate::preflight::check(&config)
            .map_err(|e| ApiError::Invalid {
                field: None,
                message: format!("the config was not reloaded: {e}"),
            })?;
        self.gateway.reload(settings).await.map_err(api_error)?;
        self.sinks.replace(&specs);
        let mut warnings: Vec<String> = config.warnings().iter().map(ToString::to_string).collect();
        // The stores stay where they were opened: a new place needs a restart (and starts
        // empty there; nothing is copied).
        if config.storage().url != self.config().storage().url {
            warnings.push(format!(
                "storage.url (or WAGW_DATABASE_URL) changed to {}: the stores stay where they \
                 are ({}) until the gateway restarts",
                config.storage().url.as_ref().map_or_else(
                    || "SQLite files in the data directory".to_owned(),
                    ToString::to_string
                ),
                self.config().storage().url.as_ref().map_or_else(
                    || "SQLite files in the data directory".to_owned(),
                    ToString::to_string
                ),
            ));
        }
        let response = ReloadResponse {
            accounts: config
                .enabled_accounts()
                .map(|a| a.account_id.to_string())
                .collect(),
            warnings,
        };
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = std::sync::Arc::new(config);
        Ok(response)
    }

    async fn metrics_text(&self) -> String {
        let library = self.library.map(super::recorder::LibraryMetrics::render);
        let mut text = super::metrics::render(
            &self.gateway.metrics(),
            &self.gateway.all_resources().await,
            self.sinks.outbox().counts().ok().as_ref(),
            None,
        );
        text.push_str(&super::metrics::render_heartbeats(
            &self.gateway.heartbeat_counts(),
            &self.gateway.heartbeat_due(),
        ));
        if let Some(library) = library {
            text.push_str(&library);
        }
        text
    }

    async fn shutdown(&self, by: tokio::time::Instant) -> Result<(), ApiError> {
        self.stop(by)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    async fn cloud_verify(
        &self,
        account: &AccountId,
        mode: Option<&str>,
        verify_token: Option<&str>,
        challenge: Option<&str>,
    ) -> Result<String, ApiError> {
        let socket = self
            .cloud
            .get(account)
            .ok_or_else(|| wagw_http::api::not_cloud(account))?;
        let answer = socket.verify_subscription(mode, verify_token, challenge);
        match &answer {
            Ok(_) => tracing::info!(target: "wagw::cloud", account = %account,
                "Meta verified the webhook URL"),
            Err(e) => tracing::warn!(target: "wagw::cloud", account = %account, error = %e,
                "webhook verification refused"),
        }
        answer.map_err(cloud_error)
    }

    async fn cloud_webhook(
        &self,
        account: &AccountId,
        signature: Option<&str>,
        body: &[u8],
    ) -> Result<(), ApiError> {
        let socket = self
            .cloud
            .get(account)
            .ok_or_else(|| wagw_http::api::not_cloud(account))?;
        match socket.receive_webhook(signature, body).await {
            Ok(r) => {
                tracing::debug!(target: "wagw::cloud", account = %account, committed = r.committed,
                    duplicates = r.duplicates, receipts = r.receipts, "webhook stored");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(target: "wagw::cloud", account = %account, error = %e,
                    "webhook refused");
                Err(cloud_error(e))
            }
        }
    }

    async fn sim_inbound(&self, message: SimMessage) -> Result<SimInjected, ApiError> {
        let net = self.sim_net()?;
        let account = self.sim_account(message.account.as_ref())?;
        super::sim::inbound(net, &account, message).await
    }

    async fn sim_outbox(&self, account: &AccountId) -> Result<Vec<serde_json::Value>, ApiError> {
        let net = self.sim_net()?;
        super::sim::outbox(net, account)
    }

    async fn sim_scan(
        &self,
        scan: wagw_http::sim_scan::SimScan,
    ) -> Result<wagw_http::sim_scan::SimScanned, ApiError> {
        let net = self.sim_net()?;
        let config = self.config();
        let account = self.sim_account(scan.account.as_ref())?;
        let index = config
            .accounts()
            .iter()
            .position(|a| a.account_id == account)
            .unwrap_or(0);
        let own = super::transport::sim_owner_number(index);
        super::sim::scan(net, &account, scan.phone, scan.code.as_deref(), &own).await
    }

    async fn sim_fault(
        &self,
        order: wagw_http::sim_fault::SimFaultOrder,
    ) -> Result<wagw_http::sim_fault::SimFaultApplied, ApiError> {
        let net = self.sim_net()?;
        let account = self.sim_account(order.account.as_ref())?;
        super::sim::fault(net, &account, order.fault)
    }
}
