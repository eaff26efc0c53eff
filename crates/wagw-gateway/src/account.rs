//! One account's runtime: its socket, settings, inbox, metrics and connection state.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use wagw_core::{AccountId, InboundAck, InboundMessage, Jid, OwnIdentity, WaSocket};

use crate::clock::Clock;
use crate::commit::Committer;
use crate::debounce::{DebounceState, Parked};
use crate::echo::SentIds;
use crate::groups::GroupCache;
use crate::inbox::{Handler, Inbox};
use crate::metrics::AccountMetrics;
use crate::registry::ListenerRegistry;
use crate::settings::{AccountSettings, GatewaySettings, RuntimeOptions};
use crate::sink::AgentSink;
use crate::store::{GatewayEvent, GatewayStore};
use crate::supervisor::{self, Control, Phase};
use wagw_access::{AccessStore, AllowSnapshot, LidMap};
use wagw_normalize::{DedupeKey, GroupHistory, Normalizer, SessionClock};

/// What every account shares: the store, the agent, the live-listener registry, the worker
/// pool and the clock.
pub(crate) struct Shared {
    pub(crate) store: GatewayStore,
    pub(crate) sink: Arc<dyn AgentSink>,
    pub(crate) registry: ListenerRegistry,
    pub(crate) committer: Committer,
    pub(crate) workers: Arc<Semaphore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) options: RuntimeOptions,
    pub(crate) settings: RwLock<Arc<GatewaySettings>>,
    pub(crate) normalizer: RwLock<Arc<Normalizer>>,
    pub(crate) access: AccessStore,
    /// Loads reply media (URLs with the address guard, files under `media.localRoots`).
    pub(crate) loader: RwLock<Arc<wagw_outbound::MediaLoader>>,
    /// External tools found at start (ffmpeg).
    pub(crate) tools: wagw_outbound::Tools,
    /// Runs `/config` from owners; without one `/config` goes to the agent.
    pub(crate) config_commands: Option<Arc<dyn crate::commands::ConfigCommands>>,
    /// Each agent's last DM route (for heartbeats with `target: "last"`).
    pub(crate) last_routes:
        std::sync::Mutex<std::collections::HashMap<String, crate::agent_heartbeat::LastRoute>>,
    /// Agent heartbeats by (agent, outcome).
    pub(crate) heartbeat_counts:
        std::sync::Mutex<std::collections::BTreeMap<(String, &'static str), u64>>,
}

impl Shared {
    /// The current media loader.
    pub(crate) fn loader(&self) -> Arc<wagw_outbound::MediaLoader> {
        self.loader
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current normalizer.
    pub(crate) fn normalizer(&self) -> Arc<Normalizer> {
        self.normalizer
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The current gateway settings.
    pub(crate) fn settings(&self) -> Arc<GatewaySettings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Work waiting in a chat's inbox.
pub(crate) enum Pending {
    /// A message as it arrived (goes through debounce).
    Arrived {
        message: Box<InboundMessage>,
        ack: InboundAck,
        key: DedupeKey,
    },
    /// A turn the debouncer released (possibly several messages merged), with their acks.
    Ready {
        message: Box<InboundMessage>,
        parked: Vec<Parked>,
    },
}

/// How many of its own sent message ids an account remembers for echo suppression.
const SENT_IDS_REMEMBERED: usize = 1024;

/// What to show an operator who is linking an account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum LoginPrompt {
    /// Scan this QR payload in WhatsApp → Linked devices.
    Qr {
        /// The payload to render as a QR code.
        code: String,
        /// When it stops being valid, Unix ms.
        expires_at_ms: i64,
    },
    /// Type this code in WhatsApp → Linked devices → Link with phone number.
    PairCode {
        /// The code.
        code: String,
        /// When it stops being valid, Unix ms.
        expires_at_ms: i64,
    },
    /// WhatsApp asks for a passkey: hand `options_json` to an authenticator that holds the
    /// account's passkey and submit its assertion ([`crate::Gateway::submit_passkey_assertion`]),
    /// or fall back to a pair code.
    Passkey {
        /// The WebAuthn request options, as JSON.
        options_json: String,
        /// Why the last assertion failed, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The assertion was accepted: when the phone shows this code, confirm
    /// ([`crate::Gateway::confirm_passkey`]).
    PasskeyConfirmation {
        /// The code the phone shows.
        code: String,
        /// When it stops being valid, Unix ms.
        expires_at_ms: i64,
        /// Why the last confirmation failed, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// Linking ended without a scan (the QR codes ran out); nothing more happens until a new
    /// login is asked for ([`crate::Gateway::login`]). Outlives its connection, so whoever
    /// polls the login sees why it stopped.
    Expired {
        /// What happened and the command that starts linking again.
        detail: String,
    },
}

/// How many sessions' last message times an account remembers.
const SESSIONS_REMEMBERED: usize = 10_000;

/// One account's runtime.
pub(crate) struct Account {
    id: AccountId,
    settings: RwLock<Arc<AccountSettings>>,
    socket: Arc<dyn WaSocket>,
    metrics: Arc<AccountMetrics>,
    pub(crate) shared: Arc<Shared>,
    inbox: std::sync::OnceLock<Arc<Inbox<Jid, Pending>>>,
    /// Messages queued or being handled, so a redelivered copy is not queued twice.
    in_flight: Mutex<HashSet<DedupeKey>>,
    connected_at_ms: AtomicI64,
    identity: RwLock<Option<OwnIdentity>>,
    state: Mutex<(String, Option<String>)>,
    phase: watch::Sender<Phase>,
    cancel: watch::Sender<bool>,
    control: mpsc::Sender<Control>,
    sent: SentIds,
    pub(crate) groups: GroupCache,
    /// Pending group history (messages the bot did not answer), per group.
    pub(crate) history: Mutex<GroupHistory>,
    /// Last message time per session, for the envelope's elapsed part.
    pub(crate) sessions: Mutex<SessionClock>,
    pub(crate) debounce: Mutex<Option<DebounceState>>,
    /// The access store's view for this account, cached until a write invalidates it.
    snapshot: Mutex<Option<Arc<AllowSnapshot>>>,
    /// LID↔phone pairs learned from traffic (senders seen with both).
    lids: Mutex<LidMap>,
    /// Anti-ban pacing of this account's sends (rebuilt when `pacing` changes).
    pacer: Mutex<Arc<wagw_outbound::Pacer>>,
    /// The latest linking prompt (QR or pair code) while linking.
    pub(crate) login: Mutex<Option<LoginPrompt>>,
    pub(crate) debounce_wake: Arc<Notify>,
    debounce_task: Mutex<Option<JoinHandle<()>>>,
}

/// A running account: its runtime and its supervisor task.
pub(crate) struct AccountHandle {
    pub(crate) account: Arc<Account>,
    pub(crate) task: JoinHandle<()>,
}

impl Account {
    /// Starts an account: builds its inbox and spawns its supervisor.
    pub(crate) fn start(
        settings: AccountSettings,
        socket: Arc<dyn WaSocket>,
        shared: Arc<Shared>,
    ) -> AccountHandle {
        let (phase, phase_rx) = watch::channel(Phase::Run);
        let (cancel, cancel_rx) = watch::channel(false);
        let (control, control_rx) = mpsc::channel(8);
        let metrics = Arc::new(AccountMetrics::default());
        let settings_for_pacer = settings.clone();
        let account = Arc::new(Account {
            id: settings.id.clone(),
            settings: RwLock::new(Arc::new(settings)),
            socket,
            metrics: metrics.clone(),
            shared: shared.clone(),
            inbox: std::sync::OnceLock::new(),
            in_flight: Mutex::new(HashSet::new()),
            connected_at_ms: AtomicI64::new(0),
            identity: RwLock::new(None),
            state: Mutex::new(("starting".to_owned(), None)),
            phase,
            cancel,
            control,
            sent: SentIds::new(SENT_IDS_REMEMBERED),
            groups: GroupCache::default(),
            history: Mutex::new(GroupHistory::new()),
            sessions: Mutex::new(SessionClock::new(SESSIONS_REMEMBERED)),
            debounce: Mutex::new(None),
            login: Mutex::new(None),
            pacer: Mutex::new(Arc::new(wagw_outbound::Pacer::new(pacing_of(
                &settings_for_pacer,
            )))),
            snapshot: Mutex::new(None),
            lids: Mutex::new(LidMap::new()),
            debounce_wake: Arc::new(Notify::new()),
            debounce_task: Mutex::new(None),
        });
        // The handler holds a weak reference: the inbox lives inside the account.
        let weak = Arc::downgrade(&account);
        let handler: Handler<Pending> = Arc::new(move |pending: Pending| {
            let weak = weak.clone();
            Box::pin(async move {
                if let Some(account) = weak.upgrade() {
                    account.handle(pending).await;
                }
            })
        });
        let inbox = Inbox::new(
            shared.options.inbox_capacity,
            shared.workers.clone(),
            handler,
            metrics,
            cancel_rx,
        );
        let _ = account.inbox.set(inbox);
        let timer = tokio::spawn(crate::debounce::run_timer(Arc::downgrade(&account)));
        *account
            .debounce_task
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(timer);
        let task = tokio::spawn(supervisor::run(account.clone(), phase_rx, control_rx));
        AccountHandle { account, task }
    }

    /// The account id.
    pub(crate) fn id(&self) -> &AccountId {
        &self.id
    }

    /// The transport.
    pub(crate) fn socket(&self) -> &Arc<dyn WaSocket> {
        &self.socket
    }

    /// Ids of messages this account sent (echo suppression).
    pub(crate) fn sent_ids(&self) -> &SentIds {
        &self.sent
    }

    /// Counters and gauges.
    pub(crate) fn metrics(&self) -> &Arc<AccountMetrics> {
        &self.metrics
    }

    /// The current settings (cheap: an `Arc` clone).
    pub(crate) fn settings(&self) -> Arc<AccountSettings> {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies new settings without touching the connection.
    pub(crate) fn update_settings(&self, settings: AccountSettings) {
        if settings.resolved.pacing != self.settings().resolved.pacing {
            *self.pacer.lock().unwrap_or_else(|p| p.into_inner()) =
                Arc::new(wagw_outbound::Pacer::new(pacing_of(&settings)));
        }
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(settings);
    }

    /// Who the account is linked as, once connected.
    pub(crate) fn identity(&self) -> Option<OwnIdentity> {
        self.identity
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// When the current connection came up (Unix ms), 0 when down.
    pub(crate) fn connected_at_ms(&self) -> i64 {
        self.connected_at_ms.load(Ordering::Relaxed)
    }

    /// The state label and its detail.
    pub(crate) fn state(&self) -> (String, Option<String>) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sets the state, logs and records the transition.
    pub(crate) fn set_state(&self, state: &str, detail: Option<String>) {
        {
            let mut current = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if current.0 == state && current.1 == detail {
                return;
            }
            *current = (state.to_owned(), detail.clone());
        }
        self.metrics.set_state(state);
        tracing::info!(target: "wagw::reconnect", account = %self.id, state,
            detail = detail.as_deref().unwrap_or(""), "account state");
        self.record(GatewayEvent::AccountState {
            account: self.id.clone(),
            state: state.to_owned(),
            detail,
        });
    }

    /// Replaces the state's detail with a notice for the operator, and records it, so the
    /// event stream carries the full notice (the relink command after a 401, ...), not only
    /// the status endpoint.
    pub(crate) fn set_detail(&self, detail: String) {
        let state = {
            let mut current = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if current.1.as_deref() == Some(detail.as_str()) {
                return;
            }
            current.1 = Some(detail.clone());
            current.0.clone()
        };
        self.record(GatewayEvent::AccountState {
            account: self.id.clone(),
            state,
            detail: Some(detail),
        });
    }

    /// Sends an operator command to the supervisor.
    pub(crate) async fn control(&self, command: Control) {
        // The supervisor only stops reading commands when the account is shutting down.
        let _ = self.control.send(command).await;
    }

    /// Appends an event to the log (failures are logged, never fatal).
    pub(crate) fn record(&self, event: GatewayEvent) {
        let now = self.shared.clock.now_ms();
        if let Err(e) = self.shared.store.events().append(now, event) {
            tracing::warn!(target: "wagw::store", account = %self.id, error = %e, "event log append failed");
        }
    }

    /// A copy of the LID↔phone pairs learned so far.
    pub(crate) fn lid_map(&self) -> LidMap {
        self.lids.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The access store's state for this account (allow entries, pairing, activation,
    /// learned LIDs), cached between writes.
    pub(crate) fn access_snapshot(&self) -> Result<Arc<AllowSnapshot>, crate::GatewayError> {
        let mut cached = self.snapshot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(snap) = cached.as_ref() {
            return Ok(snap.clone());
        }
        let mut snap = self.shared.access.snapshot(&self.id)?;
        snap.lid_map = self.lid_map();
        let snap = Arc::new(snap);
        *cached = Some(snap.clone());
        Ok(snap)
    }

    /// Forgets the cached access snapshot (after a pairing, approval or activation write).
    pub(crate) fn invalidate_access(&self) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Learns a LID↔phone pair (a sender seen with both).
    pub(crate) fn learn_lid(&self, lid: &wagw_core::Lid, phone: &wagw_core::Phone) {
        let mut lids = self.lids.lock().unwrap_or_else(|p| p.into_inner());
        if lids.phone_of(lid) != Some(phone) {
            lids.insert(lid.clone(), phone.clone());
            drop(lids);
            self.invalidate_access();
        }
    }

    /// The account's pacer.
    pub(crate) fn pacer(&self) -> Arc<wagw_outbound::Pacer> {
        self.pacer.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Remembers (or clears) the linking prompt.
    pub(crate) fn set_login(&self, prompt: Option<LoginPrompt>) {
        *self.login.lock().unwrap_or_else(|p| p.into_inner()) = prompt;
    }

    /// Notes a failed linking step on the prompt the operator is looking at (a passkey
    /// prompt keeps showing, so they can retry or fall back to a pair code).
    pub(crate) fn login_failed(&self, detail: &str) {
        let mut prompt = self.login.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *prompt {
            Some(LoginPrompt::Passkey { error, .. })
            | Some(LoginPrompt::PasskeyConfirmation { error, .. }) => {
                *error = Some(detail.to_owned());
            }
            Some(LoginPrompt::Qr { .. })
            | Some(LoginPrompt::PairCode { .. })
            | Some(LoginPrompt::Expired { .. })
            | None => {}
        }
    }

    /// Clears an expired login before a new one starts, so the new one's first prompt is
    /// what the operator sees next.
    pub(crate) fn clear_expired_login(&self) {
        self.clear_login_if(|p| matches!(p, LoginPrompt::Expired { .. }));
    }

    /// Its connection closed: no code or passkey step is pending any more; only an expiry
    /// notice stays, until a new login.
    pub(crate) fn end_connection_prompt(&self) {
        self.clear_login_if(|p| !matches!(p, LoginPrompt::Expired { .. }));
    }

    fn clear_login_if(&self, clear: impl Fn(&LoginPrompt) -> bool) {
        let mut prompt = self.login.lock().unwrap_or_else(|p| p.into_inner());
        if prompt.as_ref().is_some_and(clear) {
            *prompt = None;
        }
    }

    /// The current linking prompt, if linking.
    pub(crate) fn login_prompt(&self) -> Option<LoginPrompt> {
        self.login.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The connection is up: register the listener.
    pub(crate) fn connected(&self, identity: OwnIdentity) {
        self.set_login(None);
        self.connected_at_ms
            .store(self.shared.clock.now_ms(), Ordering::Relaxed);
        tracing::info!(target: "wagw::reconnect", account = %self.id, phone = %identity.phone,
            "listening for WhatsApp messages");
        *self.identity.write().unwrap_or_else(|p| p.into_inner()) = Some(identity);
        self.shared.registry.register(&self.id, self.socket.clone());
        // The state itself is set by the supervisor's transition to `connected` (recording
        // it here too put two `connected` entries in the event log per connect).
    }

    /// The connection ended: unregister the listener.
    pub(crate) fn connection_closed(&self) {
        self.shared.registry.unregister(&self.id);
        self.connected_at_ms.store(0, Ordering::Relaxed);
    }

    /// A group's metadata changed.
    pub(crate) fn group_changed(&self, group: &Jid) {
        tracing::debug!(target: "wagw::inbound", account = %self.id, %group, "group updated");
        self.groups.invalidate(group);
    }

    fn inbox(&self) -> Option<&Arc<Inbox<Jid, Pending>>> {
        self.inbox.get()
    }

    /// Reader side of the pipeline, in socket order: drop status/broadcast and duplicates,
    /// then queue for the chat's worker (waiting while the inbox is full).
    pub(crate) async fn accept(&self, message: Box<InboundMessage>, ack: InboundAck) {
        let now = self.shared.clock.now_ms();
        self.metrics.inbound(now);
        if message.chat.is_status_or_broadcast() {
            self.drop_message(&message, "status_broadcast");
            ack.commit();
            return;
        }
        if message.from_me && self.sent.contains(&message.id) {
            self.drop_message(&message, "own_echo");
            ack.commit();
            return;
        }
        let key = DedupeKey::of(&message);
        match self.shared.store.dedupe().contains(&key) {
            Ok(true) => {
                self.drop_message(&message, "duplicate");
                ack.commit();
                return;
            }
            Ok(false) => {}
            Err(e) => {
                // Without the dedupe record we cannot tell; leave it for redelivery.
                tracing::error!(target: "wagw::store", account = %self.id, error = %e,
                    "dedupe lookup failed; message left unacknowledged");
                return;
            }
        }
        if !self
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.clone())
        {
            // A redelivered copy of a message still being handled: the first copy commits;
            // this one's ack is dropped, so a crash before the first finishes loses nothing.
            self.drop_message(&message, "duplicate");
            return;
        }
        self.enqueue(Pending::Arrived { message, ack, key }).await;
    }

    /// Queues work for its chat's worker.
    pub(crate) async fn enqueue(&self, pending: Pending) {
        let Some(inbox) = self.inbox() else {
            return;
        };
        let chat = match &pending {
            Pending::Arrived { message, .. } | Pending::Ready { message, .. } => {
                message.chat.clone()
            }
        };
        inbox.push(chat, pending).await;
    }

    /// Counts and logs a dropped message.
    pub(crate) fn drop_message(&self, message: &InboundMessage, reason: &str) {
        self.metrics.dropped(reason);
        tracing::debug!(target: "wagw::inbound", account = %self.id, chat = %message.chat,
            id = %message.id, reason, "dropped");
    }

    /// Worker side: run the pipeline, then record the message handled and acknowledge it
    /// after the next group flush.
    async fn handle(&self, pending: Pending) {
        let ready = match pending {
            Pending::Arrived { message, ack, key } => self.debounce(*message, ack, key),
            Pending::Ready { message, parked } => vec![(*message, parked)],
        };
        for (message, parked) in ready {
            self.process(message).await;
            self.finish(parked);
        }
    }

    /// Records handled messages and acknowledges them after the next group flush.
    fn finish(&self, parked: Vec<Parked>) {
        let now = self.shared.clock.now_ms();
        for Parked { ack, key, .. } in parked {
            let record = self.shared.store.dedupe().record(&key, now);
            self.shared.committer.commit_after_flush(ack, Some(record));
            self.in_flight
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
        }
    }

    /// Moves the account to `phase`.
    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.send_replace(phase);
    }

    /// Stops reading, finishes in-flight turns (abandoning what is unfinished near `by` for
    /// redelivery), acknowledges what was handled, then disconnects — all by `by`. Returns
    /// false when turns had to be abandoned.
    pub(crate) async fn shutdown(&self, by: Instant) -> bool {
        self.set_phase(Phase::Drain);
        // Release what the debouncer holds so it is answered before the socket closes.
        if let Some(timer) = self
            .debounce_task
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            timer.abort();
        }
        let held = self.debounce_flush_all();
        self.dispatch_ready(held).await;
        // Turns get the budget minus a reserve, so abandoning the rest, the acks and the
        // socket close still fit before `by`.
        let now = Instant::now();
        let turns_by = by
            .checked_sub(CLOSE_RESERVE)
            .filter(|t| *t > now)
            .unwrap_or(now);
        let cancelled_by = turns_by + (by.saturating_duration_since(turns_by) / 2);
        let finished = match self.inbox() {
            Some(inbox) => {
                let finished = inbox.drain_until(turns_by).await;
                if !finished {
                    tracing::warn!(target: "wagw::inbound", account = %self.id,
                        "shutdown deadline near; abandoning unfinished turns for redelivery");
                    self.cancel.send_replace(true);
                    inbox.drain_until(cancelled_by).await;
                }
                finished
            }
            None => true,
        };
        // Acknowledge what was handled before the connection goes away.
        if tokio::time::timeout_at(by, self.shared.committer.barrier())
            .await
            .is_err()
        {
            tracing::warn!(target: "wagw::inbound", account = %self.id,
                "shutdown deadline passed before the last acknowledgements were written; those messages will be redelivered");
        }
        self.set_phase(Phase::Close);
        finished
    }
}

/// What shutdown keeps back from in-flight turns for cancelling the rest, acknowledging
/// and closing the connection.
const CLOSE_RESERVE: Duration = Duration::from_secs(2);

/// The account's `pacing` config as the pacer's settings.
fn pacing_of(settings: &AccountSettings) -> wagw_outbound::PacingSettings {
    let p = &settings.resolved.pacing;
    wagw_outbound::PacingSettings {
        enabled: true,
        messages_per_minute: p.messages_per_minute,
        burst: p.burst,
        per_chat_min_interval_ms: p.per_chat_min_interval_ms,
        new_chats_per_day: p.new_chats_per_day,
        typing_indicator: p.typing_indicator,
    }
}
