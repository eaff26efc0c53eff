//! A fake [`GatewayApi`] that records every call, for router tests here and the CLI's
//! tests against a served router (feature `test-support`). Not for production: it answers
//! from canned data.

// Test support: a poisoned lock means a test already failed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use tokio::sync::broadcast;
use wagw_core::{AccountId, ChatPresence, Jid};

use crate::api::{
    GatewayApi, LoginChallenge, LoginStart, MarkRead, MediaFile, Poll, Reaction, SendMessage,
    SimMessage,
};
use crate::error::ApiError;
use crate::model::*;
use crate::model_access::*;
use crate::model_agents::*;

/// The fake gateway: accounts `default` and `work`, canned answers, every call recorded.
pub struct Fake {
    /// Every call, as `"<method> <args>"`, in order.
    pub calls: Mutex<Vec<String>>,
    /// The event log [`Fake::emit`] appends to.
    pub log: Mutex<Vec<EventRecord>>,
    /// Live events, published after they are logged.
    pub live: broadcast::Sender<EventRecord>,
    /// Where the fake's media files live.
    pub media_dir: PathBuf,
    /// How many times the login status was polled (pending twice, then connected).
    pub polls: Mutex<u32>,
    /// The login status goes through the passkey step (options, then code) instead of QRs.
    pub passkey: Mutex<bool>,
}

impl Fake {
    /// A fake with no calls and an empty event log.
    pub fn new(media_dir: PathBuf) -> Fake {
        Fake {
            calls: Mutex::new(Vec::new()),
            log: Mutex::new(Vec::new()),
            live: broadcast::channel(16).0,
            media_dir,
            polls: Mutex::new(0),
            passkey: Mutex::new(false),
        }
    }

    /// The calls so far.
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn record(&self, call: String) {
        self.calls.lock().unwrap().push(call);
    }

    /// Appends to the log, then publishes (the order the real gateway keeps).
    pub fn emit(&self, kind: &str, data: serde_json::Value) -> u64 {
        let mut log = self.log.lock().unwrap();
        let seq = log.last().map_or(1, |e| e.seq + 1);
        let record = EventRecord {
            seq,
            at_ms: 1_700_000_000_000 + seq as i64,
            kind: kind.to_owned(),
            data,
        };
        log.push(record.clone());
        drop(log);
        let _ = self.live.send(record);
        seq
    }

    fn known(&self, id: &AccountId) -> Result<(), ApiError> {
        if ["default", "work"].contains(&id.as_str()) {
            Ok(())
        } else {
            Err(ApiError::unknown_account(id.as_str()))
        }
    }
}

/// An account view with the given state and canned details.
pub fn view(id: &str, linked: bool, connected: bool) -> AccountView {
    AccountView {
        id: id.to_owned(),
        name: None,
        enabled: true,
        linked,
        running: true,
        connected,
        state: if connected { "connected" } else { "backoff" }.to_owned(),
        detail: None,
        transport: "sim".to_owned(),
        self_phone: linked.then(|| "+15550009999".to_owned()),
        self_lid: None,
        last_error: (!connected).then(|| "connection closed (status 428)".to_owned()),
        reconnect_attempts: if connected { 0 } else { 3 },
        reconnects_total: if connected { 1 } else { 7 },
        last_inbound_at_ms: None,
        last_outbound_at_ms: None,
        dm_policy: "pairing".to_owned(),
        allow_from: vec!["+15551234567".to_owned()],
    }
}

#[async_trait]
impl GatewayApi for Fake {
    async fn readiness(&self) -> Readiness {
        Readiness {
            ready: true,
            message: None,
        }
    }

    async fn accounts(&self) -> Result<Vec<AccountView>, ApiError> {
        self.record("accounts".into());
        Ok(vec![
            view("default", true, true),
            view("work", false, false),
        ])
    }

    async fn account(&self, id: &AccountId) -> Result<AccountView, ApiError> {
        self.record(format!("account {id}"));
        self.known(id)?;
        Ok(view(id.as_str(), true, true))
    }

    async fn probe(&self, id: &AccountId) -> Result<crate::model_resources::ProbeResult, ApiError> {
        self.record(format!("probe {id}"));
        self.known(id)?;
        Ok(crate::model_resources::ProbeResult {
            account: id.to_string(),
            running: true,
            ok: true,
            rtt_ms: Some(3),
            error: None,
        })
    }

    async fn resources(
        &self,
        id: &AccountId,
    ) -> Result<crate::model_resources::AccountResources, ApiError> {
        self.record(format!("resources {id}"));
        self.known(id)?;
        let mut r = wagw_core::TransportResources {
            connected: true,
            bytes_received: 4096,
            ..wagw_core::TransportResources::default()
        };
        r.sizes.insert("signal_sessions".into(), 2);
        Ok(crate::model_resources::AccountResources {
            account: id.to_string(),
            running: true,
            resources: Some(r.into()),
        })
    }

    async fn login_start(
        &self,
        id: &AccountId,
        login: LoginStart,
    ) -> Result<LoginChallenge, ApiError> {
        self.record(format!(
            "login_start {id} {:?} {:?}",
            login.method,
            login.phone.map(|p| p.to_string())
        ));
        self.known(id)?;
        Ok(match login.method {
            LoginMethod::Qr => LoginChallenge::Qr {
                qr: "2@fake-ref,fake-key,fake-adv".into(),
                expires_in: 20,
            },
            LoginMethod::Code => LoginChallenge::Code {
                code: "ABCD-EFGH".into(),
                expires_in: 180,
            },
        })
    }

    async fn login_status(&self, id: &AccountId) -> Result<LoginStatus, ApiError> {
        self.record(format!("login_status {id}"));
        self.known(id)?;
        let mut polls = self.polls.lock().unwrap();
        *polls += 1;
        if *self.passkey.lock().unwrap() && *polls <= 2 {
            return Ok(if *polls == 1 {
                LoginStatus {
                    status: LoginState::Pending,
                    passkey_options: Some(
                        serde_json::json!({"challenge": "Y2hhbGxlbmdl", "rpId": "web.whatsapp.com"}),
                    ),
                    error: Some("passkey step failed: the assertion was refused".into()),
                    message: "WhatsApp asks for a passkey.".into(),
                    ..LoginStatus::default()
                }
            } else {
                LoginStatus {
                    status: LoginState::Pending,
                    passkey_code: Some("ABCD1234".into()),
                    expires_in: Some(180),
                    message: "Passkey accepted.".into(),
                    ..LoginStatus::default()
                }
            });
        }
        if *polls > 2 {
            return Ok(LoginStatus {
                status: LoginState::Connected,
                phone: Some("+15550009999".into()),
                message: "Linked!".into(),
                ..LoginStatus::default()
            });
        }
        Ok(LoginStatus {
            status: LoginState::Pending,
            phone: None,
            qr: Some(
                if *polls == 1 {
                    "2@fake-ref,fake-key,fake-adv"
                } else {
                    "2@rotated"
                }
                .into(),
            ),
            expires_in: Some(20),
            message: "Still waiting for the QR scan.".into(),
            ..LoginStatus::default()
        })
    }

    async fn login_passkey(
        &self,
        id: &AccountId,
        assertion_json: String,
    ) -> Result<LoginStatus, ApiError> {
        self.record(format!("login_passkey {id} {assertion_json}"));
        self.known(id)?;
        if assertion_json.contains("wrong") {
            return Err(ApiError::Upstream(
                "passkey assertion rejected: the signature does not verify".into(),
            ));
        }
        Ok(LoginStatus {
            status: LoginState::Pending,
            passkey_code: Some("ABCD1234".into()),
            expires_in: Some(180),
            message: "Passkey accepted. When the phone shows ABCD1234, confirm.".into(),
            ..LoginStatus::default()
        })
    }

    async fn login_passkey_confirm(&self, id: &AccountId) -> Result<LoginStatus, ApiError> {
        self.record(format!("login_passkey_confirm {id}"));
        self.known(id)?;
        Ok(LoginStatus {
            status: LoginState::Connected,
            phone: Some("+15550009999".into()),
            message: "Linked!".into(),
            ..LoginStatus::default()
        })
    }

    async fn logout(&self, id: &AccountId) -> Result<LogoutResponse, ApiError> {
        self.record(format!("logout {id}"));
        self.known(id)?;
        Ok(LogoutResponse {
            cleared: true,
            message: "Cleared WhatsApp Web credentials.".into(),
        })
    }

    async fn send(&self, id: &AccountId, m: SendMessage) -> Result<SendResponse, ApiError> {
        self.record(format!(
            "send {id} to={} text={:?} media={} gif={} reply={:?} mentions={}",
            m.to,
            m.text,
            m.media.len(),
            m.gif_playback,
            m.reply_to.map(|r| r.0),
            m.mentions.len()
        ));
        self.known(id)?;
        if id.as_str() == "work" {
            return Err(ApiError::Unavailable {
                code: "no_active_listener",
                message: "No active WhatsApp listener for account work.".into(),
            });
        }
        Ok(SendResponse {
            message_ids: vec!["3EB0AAA".into()],
            timestamp_ms: Some(1),
        })
    }

    async fn react(&self, id: &AccountId, r: Reaction) -> Result<SentId, ApiError> {
        self.record(format!(
            "react {id} {} {} {:?}",
            r.chat, r.message_id.0, r.emoji
        ));
        Ok(SentId {
            message_id: "R1".into(),
            timestamp_ms: 2,
        })
    }

    async fn poll(&self, id: &AccountId, p: Poll) -> Result<SentId, ApiError> {
        self.record(format!("poll {id} {} {:?}", p.question, p.options));
        Ok(SentId {
            message_id: "P1".into(),
            timestamp_ms: 3,
        })
    }

    async fn mark_read(&self, id: &AccountId, r: MarkRead) -> Result<(), ApiError> {
        self.record(format!("read {id} {} {}", r.chat, r.message_ids.len()));
        Ok(())
    }

    async fn presence(
        &self,
        id: &AccountId,
        chat: Jid,
        state: ChatPresence,
    ) -> Result<(), ApiError> {
        self.record(format!("presence {id} {chat} {state:?}"));
        Ok(())
    }

    async fn pairing_list(&self) -> Result<Vec<PairingRequestView>, ApiError> {
        self.record("pairing_list".into());
        Ok(vec![PairingRequestView {
            account: "default".into(),
            code: "K7PQ2MZX".into(),
            sender: "+15550001111".into(),
            name: Some("Alice".into()),
            created_at_ms: 1,
            expires_at_ms: 3_600_001,
        }])
    }

    async fn pairing_approve(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError> {
        self.record(format!("approve {code} {account:?}"));
        if code != "K7PQ2MZX" {
            return Err(ApiError::NotFound {
                code: "unknown_code",
                message: format!("no pending pairing request with code {code}"),
            });
        }
        Ok(PairingDecision {
            account: "default".into(),
            sender: "+15550001111".into(),
            outcome: "approved".into(),
            notified_message_id: None,
        })
    }

    async fn pairing_reject(
        &self,
        code: &str,
        account: Option<&AccountId>,
    ) -> Result<PairingDecision, ApiError> {
        self.record(format!("reject {code} {account:?}"));
        Ok(PairingDecision {
            account: "default".into(),
            sender: "+15550001111".into(),
            outcome: "rejected".into(),
            notified_message_id: None,
        })
    }

    async fn access_explain(
        &self,
        account: Option<&AccountId>,
        input: wagw_access::ExplainInput,
    ) -> Result<ExplainView, ApiError> {
        self.record(format!(
            "explain {account:?} {} group={:?} mentioned={}",
            input.from, input.group, input.mentioned
        ));
        if let Some(a) = account {
            self.known(a)?;
        }
        Ok(ExplainView {
            decision: "drop".into(),
            reason: "not_in_allowlist".into(),
            rule: "channels.whatsapp.allowFrom".into(),
            sender: "+15550001111".into(),
            account: account.map_or("default".into(), |a| a.to_string()),
            explanation: "+15550001111 is not in channels.whatsapp.allowFrom; add it there".into(),
            mark_read: None,
            is_self_chat: None,
            is_owner: None,
            activation: None,
        })
    }

    async fn allow_list(
        &self,
        account: Option<&AccountId>,
    ) -> Result<Vec<AllowEntryView>, ApiError> {
        self.record(format!("allow_list {account:?}"));
        Ok(vec![AllowEntryView {
            account: "default".into(),
            entry: "+15550001111".into(),
            lid: None,
            added_at_ms: 1,
            source: "pairing".into(),
            name: Some("Alice".into()),
        }])
    }

    async fn allow_add(
        &self,
        account: Option<&AccountId>,
        entry: wagw_access::AllowEntry,
    ) -> Result<AllowChange, ApiError> {
        self.record(format!("allow_add {account:?} {entry}"));
        Ok(AllowChange {
            account: "default".into(),
            entry: entry.to_string(),
            changed: true,
        })
    }

    async fn allow_remove(
        &self,
        account: Option<&AccountId>,
        entry: wagw_access::AllowEntry,
    ) -> Result<AllowChange, ApiError> {
        self.record(format!("allow_remove {account:?} {entry}"));
        Ok(AllowChange {
            account: "default".into(),
            entry: entry.to_string(),
            changed: false,
        })
    }

    async fn deliveries_list(
        &self,
        state: wagw_agents::DeliveryState,
        limit: usize,
    ) -> Result<Vec<DeliveryView>, ApiError> {
        self.record(format!("deliveries {state} {limit}"));
        Ok(vec![DeliveryView {
            id: "dlv_1".into(),
            agent_id: "bot".into(),
            account_id: "default".into(),
            state: state.to_string(),
            attempts: 8,
            created_at_ms: 1,
            next_attempt_at_ms: None,
            finished_at_ms: Some(2),
            last_status: Some(500),
            last_error: Some("HTTP 500".into()),
            replays: 0,
            replies_pending: false,
            reply_ids: Vec::new(),
        }])
    }

    async fn delivery_replay(&self, id: &str) -> Result<DeliveryView, ApiError> {
        self.record(format!("replay {id}"));
        if id != "dlv_1" {
            return Err(ApiError::NotFound {
                code: "unknown_delivery",
                message: format!("no delivery {id}"),
            });
        }
        let mut v = self
            .deliveries_list(wagw_agents::DeliveryState::Pending, 1)
            .await?
            .remove(0);
        v.attempts = 0;
        v.replays = 1;
        Ok(v)
    }

    async fn media_file(&self, id: &str) -> Result<MediaFile, ApiError> {
        self.record(format!("media {id}"));
        Ok(MediaFile {
            path: self.media_dir.join(id),
            mime: "image/jpeg".into(),
        })
    }

    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>, ApiError> {
        Ok(self
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.seq > after)
            .take(limit)
            .cloned()
            .collect())
    }

    fn subscribe_events(&self) -> broadcast::Receiver<EventRecord> {
        self.live.subscribe()
    }

    async fn reload(&self) -> Result<ReloadResponse, ApiError> {
        self.record("reload".into());
        Ok(ReloadResponse {
            accounts: vec!["default".into()],
            warnings: vec![],
        })
    }

    async fn metrics_text(&self) -> String {
        "# TYPE wagw_messages_in_total counter\nwagw_messages_in_total{account=\"default\"} 7\n"
            .into()
    }

    async fn shutdown(&self, _by: tokio::time::Instant) -> Result<(), ApiError> {
        self.record("shutdown".into());
        Ok(())
    }

    async fn sim_inbound(&self, m: SimMessage) -> Result<SimInjected, ApiError> {
        self.record(format!("sim_inbound {} {:?}", m.from, m.text));
        Ok(SimInjected {
            message_id: "SIM1".into(),
        })
    }

    async fn sim_outbox(&self, account: &AccountId) -> Result<Vec<serde_json::Value>, ApiError> {
        self.record(format!("sim_outbox {account}"));
        Ok(vec![
            serde_json::json!({"chat": "15550001111@s.whatsapp.net", "text": "hi"}),
        ])
    }
}
