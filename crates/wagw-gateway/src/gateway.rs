//! [`Gateway`] and its builder: start accounts, report status, reload, shut down.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use wagw_access::LidMap;
use wagw_core::{AccountId, OutboundMessage, SendReceipt, TransportResources};

use crate::account::{Account, AccountHandle, LoginPrompt, Shared};
use crate::clock::{Clock, RuntimeClock};
use crate::commit::Committer;
use crate::error::GatewayError;
use crate::metrics::MetricsSnapshot;
use crate::registry::ListenerRegistry;
use crate::settings::{AccountSettings, GatewaySettings, RuntimeOptions};
use crate::sink::AgentSink;
use crate::store::{GatewayEvent, GatewayStore, StoreOptions};
use crate::supervisor::Control;
use crate::transport::TransportFactory;
use wagw_normalize::Normalizer;

/// Builds a [`Gateway`]. Required: settings, a transport factory and an agent sink.
#[must_use]
pub struct GatewayBuilder {
    settings: Option<GatewaySettings>,
    store: Option<GatewayStore>,
    store_options: StoreOptions,
    factory: Option<Arc<dyn TransportFactory>>,
    sink: Option<Arc<dyn AgentSink>>,
    clock: Option<Arc<dyn Clock>>,
    options: RuntimeOptions,
    config_commands: Option<Arc<dyn crate::commands::ConfigCommands>>,
}

impl GatewayBuilder {
    /// The settings (data directory, accounts, ...).
    pub fn settings(mut self, settings: GatewaySettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// An already opened store; by default the builder opens `<dataDir>/state`.
    pub fn store(mut self, store: GatewayStore) -> Self {
        self.store = Some(store);
        self
    }

    /// Store tuning, used when the builder opens the store.
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store_options = options;
        self
    }

    /// The transport factory (real WhatsApp, the simulator, a test double).
    pub fn transport(mut self, factory: impl TransportFactory) -> Self {
        self.factory = Some(Arc::new(factory));
        self
    }

    /// The transport factory, shared.
    pub fn transport_arc(mut self, factory: Arc<dyn TransportFactory>) -> Self {
        self.factory = Some(factory);
        self
    }

    /// The agent.
    pub fn sink(mut self, sink: impl AgentSink) -> Self {
        self.sink = Some(Arc::new(sink));
        self
    }

    /// The agent, shared.
    pub fn sink_arc(mut self, sink: Arc<dyn AgentSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// The clock (default: a [`RuntimeClock`] anchored when the gateway starts).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Runs `/config` sent in a chat (the daemon's handler edits its config file). Without
    /// one, `/config` is an ordinary command the agent receives.
    pub fn config_commands(mut self, handler: Arc<dyn crate::commands::ConfigCommands>) -> Self {
        self.config_commands = Some(handler);
        self
    }

    /// Runtime sizing and deadlines.
    pub fn options(mut self, options: RuntimeOptions) -> Self {
        self.options = options;
        self
    }

    /// Opens the store (unless given), starts every enabled account (none when
    /// `web.enabled` is false) and the heartbeat. Must run inside a tokio runtime.
    pub async fn start(self) -> Result<Gateway, GatewayError> {
        let settings = self.settings.ok_or(GatewayError::MissingPart("settings"))?;
        let factory = self.factory.ok_or(GatewayError::MissingPart("transport"))?;
        let sink = self.sink.ok_or(GatewayError::MissingPart("sink"))?;
        let store = match self.store {
            Some(store) => store,
            None => GatewayStore::open_with(&settings.data_dir, self.store_options)?,
        };
        let (committer, committer_task) = Committer::spawn(store.clone());
        let access = wagw_access::AccessStore::open(store.db())?;
        let loader = new_loader(&settings)?;
        let shared = Arc::new(Shared {
            store,
            sink,
            registry: ListenerRegistry::default(),
            committer,
            workers: Arc::new(Semaphore::new(self.options.max_concurrent_turns.max(1))),
            clock: self.clock.unwrap_or_else(|| Arc::new(RuntimeClock::new())),
            options: self.options,
            normalizer: RwLock::new(Arc::new(new_normalizer(&settings)?)),
            access,
            loader: RwLock::new(Arc::new(loader)),
            tools: wagw_outbound::Tools::detect(),
            settings: RwLock::new(Arc::new(settings.clone())),
            config_commands: self.config_commands,
            last_routes: Mutex::default(),
            heartbeat_counts: Mutex::default(),
        });
        let inner = Arc::new(Inner {
            shared,
            factory,
            accounts: Mutex::new(BTreeMap::new()),
            failed: Mutex::new(BTreeMap::new()),
            accepting: AtomicBool::new(true),
            tasks: Mutex::new(vec![committer_task]),
        });
        let gateway = Gateway { inner };
        if settings.enabled {
            for account in settings.accounts.iter().filter(|a| a.resolved.enabled) {
                // A damaged store fails its account only; anything else (a refused authDir,
                // a configuration the transport cannot use) still stops the start.
                if let Err(e) = gateway.start_account(account.clone()) {
                    if !is_damaged_store(&e) {
                        return Err(e);
                    }
                    gateway.mark_failed(&account.id, &e);
                }
            }
        } else {
            tracing::info!(target: "wagw::gateway", "web.enabled is false: no account started");
        }
        let heartbeat = tokio::spawn(crate::heartbeat::run(Arc::downgrade(&gateway.inner)));
        let agent_heartbeats =
            tokio::spawn(crate::agent_heartbeat::run(Arc::downgrade(&gateway.inner)));
        gateway
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend([heartbeat, agent_heartbeats]);
        Ok(gateway)
    }
}

/// What `wagw-store` says of a damaged or foreign database file (its `Corrupt` error), as it
/// reaches the gateway inside the transport's error text.
const DAMAGED_STORE: &str = "is not a wagw database or is damaged";

/// True when an account failed to start because its store file is damaged.
fn is_damaged_store(e: &GatewayError) -> bool {
    e.to_string().contains(DAMAGED_STORE)
}

pub(crate) struct Inner {
    pub(crate) shared: Arc<Shared>,
    factory: Arc<dyn TransportFactory>,
    pub(crate) accounts: Mutex<BTreeMap<AccountId, AccountHandle>>,
    /// Accounts that could not start (their transport could not be created: an unreadable
    /// or damaged protocol store, a refused authDir), with the reason. The others run.
    failed: Mutex<BTreeMap<AccountId, String>>,
    accepting: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    /// The running accounts.
    pub(crate) fn accounts(&self) -> Vec<Arc<Account>> {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|h| h.account.clone())
            .collect()
    }
}

/// The status of one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountStatus {
    /// The account.
    pub account_id: AccountId,
    /// State label: `starting`, `connecting`, `linking`, `connected`, `backoff`, `stopped`;
    /// `failed` for an account whose transport could not be created (`detail` says why).
    pub state: String,
    /// What the state means right now (close reason, next retry, what to do).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// True when sends can go out now.
    pub connected: bool,
    /// True when the transport holds a completed pairing (its own record of the device
    /// identity WhatsApp assigned), connected or not; false for an account never linked
    /// or logged out.
    #[serde(default)]
    pub linked: bool,
    /// The linked phone number, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The linked account's LID, once WhatsApp told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// The QR or pair code to show while linking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<LoginPrompt>,
    /// Counters and gauges.
    pub metrics: MetricsSnapshot,
}

/// The running gateway. Cheap to clone; every clone drives the same runtime.
///
/// ```no_run
/// # async fn demo(factory: impl wagw_gateway::TransportFactory) -> Result<(), wagw_gateway::GatewayError> {
/// use wagw_gateway::{Gateway, GatewaySettings, NullSink};
/// let gateway = Gateway::builder()
///     .settings(GatewaySettings::single_account("/var/lib/wagw")?)
///     .transport(factory)
///     .sink(NullSink)
///     .start()
///     .await?;
/// gateway.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Gateway {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("accounts", &self.account_ids())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// A builder.
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder {
            settings: None,
            store: None,
            store_options: StoreOptions::default(),
            factory: None,
            sink: None,
            clock: None,
            options: RuntimeOptions::default(),
            config_commands: None,
        }
    }

    fn failed(&self) -> std::sync::MutexGuard<'_, BTreeMap<AccountId, String>> {
        self.inner.failed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts an account, or — when its transport cannot be created — marks it failed with
    /// the reason (status, event log, log line) so that every other account still runs.
    fn start_or_mark_failed(&self, settings: AccountSettings) {
        let id = settings.id.clone();
        if let Err(e) = self.start_account(settings) {
            self.mark_failed(&id, &e);
        }
    }

    fn mark_failed(&self, id: &AccountId, error: &GatewayError) {
        let reason = match error {
            GatewayError::Transport { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        tracing::error!(target: "wagw::gateway", account = %id, error = %reason,
            "account failed to start; the other accounts run");
        let now = self.inner.shared.clock.now_ms();
        let event = GatewayEvent::AccountState {
            account: id.clone(),
            state: "failed".into(),
            detail: Some(reason.clone()),
        };
        if let Err(e) = self.inner.shared.store.events().append(now, event) {
            tracing::warn!(target: "wagw::store", account = %id, error = %e, "event log append failed");
        }
        self.failed().insert(id.clone(), reason);
    }

    fn start_account(&self, settings: AccountSettings) -> Result<(), GatewayError> {
        let socket = self
            .inner
            .factory
            .create(&settings.id, &settings.transport)
            .map_err(|source| GatewayError::Transport {
                account: settings.id.clone(),
                source,
            })?;
        let id = settings.id.clone();
        self.failed().remove(&id);
        let handle = Account::start(settings, socket, self.inner.shared.clone());
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, handle);
        Ok(())
    }

    /// Stops `id` within the configured shutdown deadline (reload, restart).
    async fn stop_account(&self, id: &AccountId) {
        let by = Instant::now() + self.inner.shared.options.shutdown_deadline;
        self.stop_account_by(id, by).await;
    }

    /// Stops `id`: in-flight turns, acknowledgements and the supervisor all end by `by`.
    async fn stop_account_by(&self, id: &AccountId, by: Instant) {
        let handle = self
            .inner
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        if let Some(handle) = handle {
            handle.account.shutdown(by).await;
            let mut task = handle.task;
            if tokio::time::timeout_at(by, &mut task).await.is_err() {
                tracing::warn!(target: "wagw::gateway", account = %id, "supervisor did not stop in time; aborting it");
                task.abort();
            }
        }
    }

    /// The ids of the running accounts.
    pub fn account_ids(&self) -> Vec<AccountId> {
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect()
    }

    pub(crate) fn account(&self, id: &AccountId) -> Result<Arc<Account>, GatewayError> {
        self.inner
            .accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .map(|h| h.account.clone())
            .ok_or_else(|| GatewayError::UnknownAccount(id.clone()))
    }

    /// The status of every running account, and of every account that failed to start
    /// (state `failed`, the reason in `detail`).
    pub fn status(&self) -> Vec<AccountStatus> {
        let failed: Vec<AccountStatus> = self
            .failed()
            .iter()
            .map(|(id, reason)| AccountStatus {
                account_id: id.clone(),
                state: "failed".into(),
                detail: Some(reason.clone()),
                connected: false,
                linked: false,
                phone: None,
                lid: None,
                login: None,
                metrics: MetricsSnapshot::default(),
            })
            .collect();
        let mut all: Vec<AccountStatus> = self
            .inner
            .accounts()
            .into_iter()
            .map(|account| {
                let (state, detail) = account.state();
                AccountStatus {
                    account_id: account.id().clone(),
                    state,
                    detail,
                    connected: self.inner.shared.registry.is_live(account.id()),
                    linked: account.socket().is_linked(),
                    phone: account.identity().map(|i| i.phone.to_string()),
                    lid: account
                        .identity()
                        .and_then(|i| i.lid.as_ref().map(ToString::to_string)),
                    login: account.login_prompt(),
                    metrics: account.metrics().snapshot(),
                }
            })
            .collect();
        all.extend(failed);
        all.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        all
    }

    /// What `account`'s transport holds right now: connection, traffic, memory and the
    /// sizes of its caches and queues. `Ok(None)` when its transport cannot report;
    /// [`GatewayError::UnknownAccount`] when the account is not running.
    pub async fn resources(
        &self,
        account: &AccountId,
    ) -> Result<Option<TransportResources>, GatewayError> {
        let account = self.account(account)?;
        Ok(account.socket().resources().await)
    }

    /// Pings `account`'s connection — a round trip WhatsApp must answer (an IQ ping on the
    /// real transport) — and returns how long it took. `wagw channels status --probe`.
    pub async fn ping(&self, account: &AccountId) -> Result<std::time::Duration, GatewayError> {
        let handle = self.account(account)?;
        let started = std::time::Instant::now();
        handle
            .socket()
            .ping()
            .await
            .map_err(|source| GatewayError::Transport {
                account: account.clone(),
                source,
            })?;
        Ok(started.elapsed())
    }

    /// [`Gateway::resources`] of every running account that reports them.
    pub async fn all_resources(&self) -> BTreeMap<AccountId, TransportResources> {
        let mut out = BTreeMap::new();
        for account in self.inner.accounts() {
            if let Some(r) = account.socket().resources().await {
                out.insert(account.id().clone(), r);
            }
        }
        out
    }

    /// What the account has learned of LID↔phone pairs so far (from messages carrying
    /// both, contact changes and lookups) — the map access decisions use. Empty for an
    /// account that is not running.
    pub fn lid_map(&self, id: &AccountId) -> LidMap {
        self.account(id).map(|a| a.lid_map()).unwrap_or_default()
    }

    /// Metrics of every running account.
    pub fn metrics(&self) -> BTreeMap<AccountId, MetricsSnapshot> {
        self.inner
            .accounts()
            .into_iter()
            .map(|a| (a.id().clone(), a.metrics().snapshot()))
            .collect()
    }

    /// The gateway's store (event log, dedupe, the database for other stores).
    pub fn store(&self) -> &GatewayStore {
        &self.inner.shared.store
    }

    /// The settings in effect.
    pub fn settings(&self) -> Arc<GatewaySettings> {
        self.inner.shared.settings()
    }

    /// Sends a message from `account`. Fails at once, with the command that fixes it, when
    /// the account has no live connection; succeeds only with the server-confirmed id.
    pub async fn send(
        &self,
        account: &AccountId,
        message: OutboundMessage,
    ) -> Result<SendReceipt, GatewayError> {
        self.ensure_accepting()?;
        if !matches!(message.content, wagw_core::OutboundContent::Reaction { .. }) {
            check_chat(&message.chat)?;
        }
        self.live_account(account)?.send_message(message).await
    }

    /// Fails with [`GatewayError::ShuttingDown`] once shutdown began.
    pub(crate) fn ensure_accepting(&self) -> Result<(), GatewayError> {
        if self.inner.accepting.load(Ordering::Relaxed) {
            Ok(())
        } else {
            Err(GatewayError::ShuttingDown)
        }
    }

    /// A running account, or the fail-fast error: configured but not running (web
    /// disabled, stopped) is [`GatewayError::NoActiveListener`], unknown is
    /// [`GatewayError::UnknownAccount`].
    pub(crate) fn live_account(&self, account: &AccountId) -> Result<Arc<Account>, GatewayError> {
        match self.account(account) {
            Ok(a) => Ok(a),
            Err(_) if self.settings().account(account).is_some() => {
                Err(GatewayError::NoActiveListener(account.clone()))
            }
            Err(e) => Err(e),
        }
    }

    /// Starts linking `account` (QR codes and pair codes arrive as events and in the log):
    /// what `wagw channels login --account <id>` asks a running gateway to do.
    pub async fn login(&self, account: &AccountId) -> Result<(), GatewayError> {
        let account = self.account(account)?;
        account.clear_expired_login();
        account.control(Control::Link).await;
        Ok(())
    }

    /// Closes `account`'s connection, keeping its link; [`Gateway::connect`] reopens it.
    pub async fn disconnect(&self, account: &AccountId) -> Result<(), GatewayError> {
        self.account(account)?.control(Control::Disconnect).await;
        Ok(())
    }

    /// Connects `account` again after a stop (logged out and relinked, conflict resolved).
    pub async fn connect(&self, account: &AccountId) -> Result<(), GatewayError> {
        self.account(account)?.control(Control::Reconnect).await;
        Ok(())
    }

    /// Stops and starts `account` again (after a logout or a 440, once the operator fixed
    /// the cause), keeping its link and stores.
    pub async fn restart_account(&self, id: &AccountId) -> Result<(), GatewayError> {
        let settings = self
            .settings()
            .account(id)
            .cloned()
            .ok_or_else(|| GatewayError::UnknownAccount(id.clone()))?;
        self.stop_account(id).await;
        self.start_account(settings)
            .inspect_err(|e| self.mark_failed(id, e))
    }

    /// Applies new settings. Policy and delivery changes apply to the next message without
    /// dropping connections; accounts whose transport settings changed are restarted; new
    /// accounts start and removed or disabled ones stop. Nothing is re-paired.
    pub async fn reload(&self, settings: GatewaySettings) -> Result<(), GatewayError> {
        let old = self.settings();
        let normalizer = new_normalizer(&settings)?;
        let loader = new_loader(&settings)?;
        *self
            .inner
            .shared
            .loader
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(loader);
        *self
            .inner
            .shared
            .normalizer
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(normalizer);
        *self
            .inner
            .shared
            .settings
            .write()
            .unwrap_or_else(|p| p.into_inner()) = Arc::new(settings.clone());
        let wanted: BTreeMap<AccountId, AccountSettings> = if settings.enabled {
            settings
                .accounts
                .iter()
                .filter(|a| a.resolved.enabled)
                .map(|a| (a.id.clone(), a.clone()))
                .collect()
        } else {
            BTreeMap::new()
        };
        self.failed().retain(|id, _| wanted.contains_key(id));
        for id in self.account_ids() {
            if !wanted.contains_key(&id) {
                tracing::info!(target: "wagw::gateway", account = %id, "reload: stopping account");
                self.stop_account(&id).await;
            }
        }
        for (id, new) in wanted {
            match self.account(&id) {
                Ok(account) if account.settings().transport == new.transport => {
                    account.update_settings(new);
                    account.control(Control::Reload).await;
                }
                Ok(_) => {
                    tracing::info!(target: "wagw::gateway", account = %id,
                        "reload: transport settings changed, restarting account");
                    self.stop_account(&id).await;
                    self.start_or_mark_failed(new);
                }
                // Not running: new, or failed before (a reload retries it).
                Err(_) => {
                    tracing::info!(target: "wagw::gateway", account = %id, "reload: starting account");
                    self.start_or_mark_failed(new);
                }
            }
        }
        tracing::info!(target: "wagw::gateway", heartbeat_s = settings.heartbeat.as_secs(),
            previously_enabled = old.enabled, enabled = settings.enabled, "configuration reloaded");
        Ok(())
    }

    /// Graceful shutdown within the configured deadline; see [`Gateway::shutdown_by`].
    pub async fn shutdown(&self) -> Result<(), GatewayError> {
        self.shutdown_by(Instant::now() + self.inner.shared.options.shutdown_deadline)
            .await
    }

    /// Graceful shutdown, finished by `by`: stop accepting new messages and sends, finish
    /// in-flight turns (unfinished ones stay unacknowledged, so WhatsApp redelivers them),
    /// flush the store, close the sockets. Whatever still runs at `by` is abandoned; an
    /// unflushed store is reported as [`GatewayError::ShutdownDeadline`].
    pub async fn shutdown_by(&self, by: Instant) -> Result<(), GatewayError> {
        self.inner.accepting.store(false, Ordering::Relaxed);
        let ids = self.account_ids();
        let stops = ids.iter().map(|id| self.stop_account_by(id, by));
        futures_join_all(stops).await;
        let tasks: Vec<JoinHandle<()>> = self
            .inner
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        // The committer (first task) finishes its last group; the others are aborted. Both
        // are awaited, so the store handles they hold are released on return.
        self.inner.shared.committer.stop();
        for (i, mut task) in tasks.into_iter().enumerate() {
            if i > 0 {
                task.abort();
            }
            if tokio::time::timeout_at(by, &mut task).await.is_err() {
                tracing::warn!(target: "wagw::gateway", "a gateway task did not stop by the shutdown deadline; aborting it");
                task.abort();
            }
        }
        // The final flush gets a moment past `by`: losing it would lose acknowledged state.
        match tokio::time::timeout_at(by + FINAL_FLUSH_GRACE, self.inner.shared.store.flush()).await
        {
            Ok(flushed) => flushed,
            Err(_) => Err(GatewayError::ShutdownDeadline),
        }
    }
}

/// How long past the shutdown deadline the final store flush may take.
const FINAL_FLUSH_GRACE: Duration = Duration::from_millis(500);

fn new_loader(settings: &GatewaySettings) -> Result<wagw_outbound::MediaLoader, GatewayError> {
    wagw_outbound::MediaLoader::new(crate::outbound::media_settings(&settings.config))
        .map_err(|e| GatewayError::InvalidRequest(format!("media settings: {e}")))
}

fn new_normalizer(settings: &GatewaySettings) -> Result<Normalizer, GatewayError> {
    Normalizer::new(settings.normalize.clone())
        .map_err(|e| GatewayError::InvalidRequest(format!("normalization settings: {e}")))
}

/// Runs futures concurrently and waits for all (a tiny `join_all`, to avoid a dependency).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut remaining: Vec<_> = set.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for slot in remaining.iter_mut() {
            if let Some(f) = slot {
                if f.as_mut().poll(cx).is_ready() {
                    *slot = None;
                } else {
                    pending = true;
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
}

/// Refuses a chat nothing can be sent to: the status feed and broadcast lists (a JID read
/// with [`wagw_core::Jid::parse`] from inbound traffic can name them; [`wagw_core::Jid::from_target`] already
/// refuses them for the API and CLI).
pub(crate) fn check_chat(chat: &wagw_core::Jid) -> Result<(), GatewayError> {
    if chat.is_status_or_broadcast() {
        return Err(GatewayError::InvalidRequest(format!(
            "{chat} is not a chat: the status feed and broadcast lists cannot be sent to; \
             send to a person or a group"
        )));
    }
    Ok(())
}
