//! [`WhatsAppSocket`]: the [`WaSocket`] implementation on whatsapp-rust, one per account.
//!
//! Each [`WaSocket::connect`] builds a fresh library client over the account's protocol store
//! (the library's client cannot be restarted after a disconnect), with auto-reconnect off,
//! ordered events, the durability hook, and the device name override; a supervisor task
//! waits for the client's run loop to end and emits the one `Closed` event.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{Mutex, mpsc, watch};
use tracing::{info, warn};
use wagw_core::{
    AccountId, ChatPresence, GroupMetadata, Jid, Lid, MediaKind, MediaRef, MessageId, MessageKey,
    OutboundMessage, OwnIdentity, Phone, SendReceipt, SocketError, SocketEvent, SocketEvents,
    TransportResources, UploadedMedia, WaSocket,
};
use whatsapp_rust::bot::Bot;
use whatsapp_rust::http::{HttpClient, UreqHttpClient};
use whatsapp_rust::transport::{TokioWebSocketTransportFactory, TransportFactory};
use whatsapp_rust::wacore::store::DevicePropsOverride;
use whatsapp_rust::{Client, NodeFilter};

use crate::connection::{
    AckTracker, CloseState, CommitHook, ConnShared, Forwarder, RecordingFactory,
};
use crate::error::Error;
use crate::groups::GroupCache;
use crate::store::{AccountStore, StoreOptions};
use crate::{groups, lid, login, media, presence, receipts, send};

/// The name shown in the phone's Linked devices list when the account sets none.
pub const DEFAULT_DEVICE_NAME: &str = "wagw";

/// How one account's socket behaves.
#[derive(Debug, Clone)]
pub struct SocketConfig {
    /// The account this socket serves.
    pub account: AccountId,
    /// The account's protocol state folder (`accounts.<id>.authDir`, default
    /// `<dataDir>/accounts/<id>`). Holds one SQLite database (`account.sqlite3`); logout deletes it.
    pub auth_dir: PathBuf,
    /// The name the phone shows under Linked devices (`accounts.<id>.name`, else `wagw`).
    pub device_name: String,
    /// Push name to register with on first link (None keeps the phone's).
    pub push_name: Option<String>,
    /// Pin the WhatsApp Web version instead of fetching the current one.
    pub version: Option<(u32, u32, u32)>,
    /// Capacity of the bounded event channel returned by `connect`.
    pub event_buffer: usize,
    /// How long WhatsApp's ack of an inbound message waits for the gateway's commit before
    /// the message is left for redelivery.
    pub commit_timeout: Duration,
    /// How long a send waits for the server's ack.
    pub send_ack_timeout: Duration,
    /// Skip history sync after linking (a gateway answers new messages only).
    pub skip_history_sync: bool,
    /// The protocol store's options.
    pub store: StoreOptions,
    /// Where the protocol store lives: `<auth_dir>/account.sqlite3` unless set (for
    /// PostgreSQL, the namespace [`AccountStore::namespace`]; the authDir is then not used).
    pub store_location: wagw_store::Location,
    /// The WebSocket URL of WhatsApp's servers (None: the library's default,
    /// `wss://web.whatsapp.com/ws/chat`). For a proxy in front of WhatsApp, or a test that
    /// needs the connection to fail.
    pub server_url: Option<String>,
}

impl SocketConfig {
    /// A configuration with defaults for everything but the account and its folder.
    pub fn new(account: AccountId, auth_dir: impl Into<PathBuf>) -> SocketConfig {
        let auth_dir = auth_dir.into();
        SocketConfig {
            account,
            store_location: wagw_store::Location::Sqlite(auth_dir.join(crate::store::STORE_FILE)),
            auth_dir,
            device_name: DEFAULT_DEVICE_NAME.to_string(),
            push_name: None,
            version: None,
            event_buffer: 256,
            commit_timeout: Duration::from_secs(60),
            send_ack_timeout: Duration::from_secs(30),
            skip_history_sync: true,
            store: StoreOptions::default(),
            server_url: None,
        }
    }
}

/// Counters and sizes for one account, for the gateway's status and metrics.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSummary {
    /// True while a connection is up.
    pub connected: bool,
    /// The library's estimate of the memory this session holds, in bytes.
    pub estimated_bytes: u64,
    /// The protocol store's size on disk, in bytes.
    pub store_bytes_on_disk: u64,
    /// Bytes sent on the current connection's client.
    pub bytes_sent: u64,
    /// Bytes received on the current connection's client.
    pub bytes_received: u64,
    /// Events the library dropped (should stay 0).
    pub events_dropped: u64,
    /// Messages that could not be decrypted since the socket was opened.
    pub undecryptable: u64,
}

struct Conn {
    client: Arc<Client>,
    shared: Arc<ConnShared>,
    done: watch::Receiver<bool>,
}

struct Inner {
    config: SocketConfig,
    transport: Arc<dyn TransportFactory>,
    http: Arc<dyn HttpClient>,
    store: RwLock<Option<Arc<AccountStore>>>,
    conn: Mutex<Option<Conn>>,
    identity: Arc<RwLock<Option<OwnIdentity>>>,
    groups: Arc<GroupCache>,
    undecryptable: Arc<AtomicU64>,
}

/// Who the account whose protocol state lives at `location` is linked as, read from the
/// store's record of a completed pairing (the device identity WhatsApp assigned); `None`
/// when it never linked or was logged out. Nothing is created or opened when there is no
/// store (no file in the authDir; no namespace in the database).
///
/// This reads the store, which one process holds at a time: while a socket of this
/// account is open (a running gateway), ask it instead ([`wagw_core::WaSocket::own_identity`]);
/// here that is a [`Error::StoreOpen`].
pub fn linked_identity(
    location: &wagw_store::Location,
) -> Result<Option<wagw_core::OwnIdentity>, Error> {
    let exists = location.exists().map_err(|e| Error::StoreOpen {
        path: location.describe().to_path_buf(),
        detail: e.to_string(),
    })?;
    if !exists {
        return Ok(None);
    }
    let store = AccountStore::open_at(location, StoreOptions::default())?;
    let device = store.load_device_sync().map_err(|e| Error::StoreOpen {
        path: location.describe().to_path_buf(),
        detail: format!("reading the device record: {e}"),
    })?;
    Ok(device.as_ref().and_then(login::identity_of_device))
}

/// Opens the protocol store where `config` says (a file's folder is created 0700).
fn open_store(config: &SocketConfig) -> Result<AccountStore, Error> {
    if let wagw_store::Location::Sqlite(file) = &config.store_location
        && let Some(dir) = file.parent()
    {
        crate::store::create_private_dir(dir)?;
    }
    AccountStore::open_at(&config.store_location, config.store.clone())
}

/// One account's linked-device connection to WhatsApp (see the crate docs).
#[derive(Clone)]
pub struct WhatsAppSocket {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for WhatsAppSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsAppSocket")
            .field("account", &self.inner.config.account)
            .field("auth_dir", &self.inner.config.auth_dir)
            .finish()
    }
}

/// An HTTP client that exists so the type is complete; used only when a test transport
/// is given without one.
struct NoHttp;

#[async_trait]
impl HttpClient for NoHttp {
    async fn execute(
        &self,
        request: whatsapp_rust::http::HttpRequest,
    ) -> whatsapp_rust::anyhow::Result<whatsapp_rust::http::HttpResponse> {
        Err(whatsapp_rust::anyhow::anyhow!(
            "no HTTP client configured for this socket (request to {})",
            request.url
        ))
    }
}

impl WhatsAppSocket {
    /// Opens the account's protocol store and prepares a socket that talks to WhatsApp's
    /// real servers (WebSocket over TLS, HTTPS for media).
    pub fn open(config: SocketConfig) -> Result<WhatsAppSocket, Error> {
        let mut transport = TokioWebSocketTransportFactory::new();
        if let Some(url) = &config.server_url {
            transport = transport.with_url(url.clone());
        }
        WhatsAppSocket::with_transport(config, Arc::new(transport), Arc::new(UreqHttpClient::new()))
    }

    /// Like [`WhatsAppSocket::open`] with another transport (a proxy, or the in-process
    /// fake server of `wagw-fakewa`) and HTTP client.
    pub fn with_transport(
        config: SocketConfig,
        transport: Arc<dyn TransportFactory>,
        http: Arc<dyn HttpClient>,
    ) -> Result<WhatsAppSocket, Error> {
        if config.event_buffer == 0 {
            return Err(Error::Config("event_buffer must be at least 1".into()));
        }
        if config.device_name.trim().is_empty() {
            return Err(Error::Config("device_name must not be empty".into()));
        }
        // The folder is wagw's (created and marked, or refused) before anything is written
        // there; a store in PostgreSQL writes nothing there.
        if !config.store_location.is_postgres() {
            crate::auth_dir::claim(&config.auth_dir)?;
        }
        let store = open_store(&config)?;
        // A device record that does not decode (and that no backup restored at open) is
        // damage like an unreadable file: the account fails with the reason, the others run.
        let identity = store
            .load_device_sync()
            .map_err(|e| Error::StoreDamaged {
                path: store.dir().to_path_buf(),
                source: wagw_store::StoreError::Corrupt {
                    path: config.store_location.describe().to_path_buf(),
                    detail: format!("the device record does not decode: {e}"),
                },
            })?
            .and_then(|d| login::identity_of_device(&d));
        Ok(WhatsAppSocket {
            inner: Arc::new(Inner {
                config,
                transport,
                http,
                store: RwLock::new(Some(Arc::new(store))),
                conn: Mutex::new(None),
                identity: Arc::new(RwLock::new(identity)),
                groups: Arc::new(GroupCache::default()),
                undecryptable: Arc::new(AtomicU64::new(0)),
            }),
        })
    }

    /// A socket over a test transport with no HTTP (media calls fail cleanly).
    pub fn with_test_transport(
        config: SocketConfig,
        transport: Arc<dyn TransportFactory>,
    ) -> Result<WhatsAppSocket, Error> {
        WhatsAppSocket::with_transport(config, transport, Arc::new(NoHttp))
    }

    /// This socket's configuration.
    pub fn config(&self) -> &SocketConfig {
        &self.inner.config
    }

    /// The account's protocol store if it is open now (none after a logout).
    fn store_if_open(&self) -> Option<Arc<AccountStore>> {
        self.inner
            .store
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The account's protocol store (reopened after a logout).
    fn store(&self) -> Result<Arc<AccountStore>, SocketError> {
        if let Some(s) = self.store_if_open() {
            return Ok(s);
        }
        let s = Arc::new(
            open_store(&self.inner.config).map_err(|e| SocketError::Other(e.to_string()))?,
        );
        *self.inner.store.write().unwrap_or_else(|p| p.into_inner()) = Some(s.clone());
        Ok(s)
    }

    /// The live client, or `NotConnected`.
    async fn live(&self) -> Result<(Arc<Client>, Arc<ConnShared>), SocketError> {
        let g = self.inner.conn.lock().await;
        match g.as_ref() {
            Some(c) if !*c.done.borrow() && c.client.is_connected() => {
                Ok((c.client.clone(), c.shared.clone()))
            }
            _ => Err(SocketError::NotConnected),
        }
    }

    /// The live client of a linked, logged-in session.
    async fn session(&self) -> Result<(Arc<Client>, Arc<ConnShared>), SocketError> {
        let (client, shared) = self.live().await?;
        if !client.is_logged_in() {
            return Err(if client.pn().is_none() {
                SocketError::NotLinked
            } else {
                SocketError::NotConnected
            });
        }
        Ok((client, shared))
    }

    /// Memory, disk and traffic figures for this account (a summary of
    /// [`WaSocket::resources`]).
    pub async fn resource_report(&self) -> ResourceSummary {
        let r = self.transport_resources().await;
        ResourceSummary {
            connected: r.connected,
            estimated_bytes: r.estimated_memory_bytes,
            store_bytes_on_disk: r.store_bytes_on_disk,
            bytes_sent: r.bytes_sent,
            bytes_received: r.bytes_received,
            events_dropped: r.events_dropped,
            undecryptable: r.undecryptable,
        }
    }

    /// The library's per-client figures ([`Client::stats`] and [`Client::resource_report`])
    /// in wagw-core's shape. Unlike the process-wide `wa_*` metrics, these belong to this
    /// account alone.
    async fn transport_resources(&self) -> TransportResources {
        let mut r = TransportResources {
            undecryptable: self.inner.undecryptable.load(Ordering::Relaxed),
            ..TransportResources::default()
        };
        if let Some(store) = self.store_if_open() {
            r.store_bytes_on_disk = store.size_on_disk();
        }
        let Ok((client, _)) = self.live().await else {
            return r;
        };
        r.connected = true;
        let stats = client.stats();
        r.messages_sent = stats.messages_sent;
        r.messages_received = stats.messages_received;
        r.bytes_sent = stats.bytes_sent;
        r.bytes_received = stats.bytes_received;
        r.events_dropped = stats.events_dropped;
        let report = client.resource_report().await;
        r.estimated_memory_bytes = report.total_estimated_bytes();
        let m = &report.client;
        let usize_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        for (name, n) in [
            ("group_cache", m.group_cache.entries),
            ("device_registry_cache", m.device_registry_cache.entries),
            ("lid_pn_entries", m.lid_pn_lid_entries.entries),
            ("recent_messages", m.recent_messages.entries),
            ("signal_sessions", m.signal_sessions.entries),
            ("signal_identities", m.signal_identities.entries),
            ("signal_sender_keys", m.signal_sender_keys.entries),
            ("history_sync_tasks", m.history_sync_tasks.entries),
            ("message_retry_counts", m.message_retry_counts),
            ("chat_lanes", m.chat_lanes),
            ("session_locks", m.session_locks),
            ("transport_ack_queue", usize_u64(m.transport_ack_queue)),
            (
                "delivery_receipt_queue",
                usize_u64(m.delivery_receipt_queue),
            ),
            ("response_waiters", usize_u64(m.response_waiters)),
            ("pending_retries", usize_u64(m.pending_retries)),
            (
                "presence_subscriptions",
                usize_u64(m.presence_subscriptions),
            ),
        ] {
            r.sizes.insert(name.to_owned(), n);
        }
        r
    }

    /// Closes the current connection (if any) and waits until its `Closed` was emitted.
    async fn close_current(&self, logout: bool) {
        let conn = self.inner.conn.lock().await.take();
        let Some(mut conn) = conn else { return };
        if *conn.done.borrow() {
            return;
        }
        {
            let mut c = conn.shared.close.lock().unwrap_or_else(|p| p.into_inner());
            c.requested = true;
        }
        if logout {
            conn.client.logout().await;
        } else {
            conn.client.disconnect().await;
        }
        let wait = conn.done.wait_for(|d| *d);
        if tokio::time::timeout(Duration::from_secs(15), wait)
            .await
            .is_err()
        {
            warn!(target: "wagw::socket", account = %self.inner.config.account,
                "the protocol client did not stop within 15s");
        }
    }

    async fn build_bot(
        &self,
        shared: &Arc<ConnShared>,
        store: Arc<AccountStore>,
    ) -> Result<Bot, SocketError> {
        let cfg = &self.inner.config;
        let factory = RecordingFactory {
            inner: self.inner.transport.clone(),
            shared: Arc::downgrade(shared),
        };
        let http = SharedHttp(self.inner.http.clone());
        let mut builder = Bot::builder()
            .with_backend_arc(store)
            .with_transport_factory(factory)
            .with_http_client(http)
            .with_event_handler(Forwarder {
                shared: shared.clone(),
            })
            .with_inbound_durability_hook(CommitHook {
                shared: shared.clone(),
            })
            .with_device_props(DevicePropsOverride::new().with_os(cfg.device_name.clone()));
        if let Some(v) = cfg.version {
            builder = builder.with_version(v);
        }
        if let Some(name) = &cfg.push_name {
            builder = builder.with_push_name(name.clone());
        }
        if cfg.skip_history_sync {
            builder = builder.skip_history_sync();
        }
        builder
            .build()
            .await
            .map_err(|e| SocketError::Other(format!("could not set up the protocol client: {e}")))
    }
}

/// Lets the socket share one HTTP client across connections.
struct SharedHttp(Arc<dyn HttpClient>);

#[async_trait]
impl HttpClient for SharedHttp {
    async fn execute(
        &self,
        request: whatsapp_rust::http::HttpRequest,
    ) -> whatsapp_rust::anyhow::Result<whatsapp_rust::http::HttpResponse> {
        self.0.execute(request).await
    }
}

/// Records the code of a `<stream:error>` the server sent.
fn record_stream_error(shared: &ConnShared, node: &whatsapp_rust::OwnedNodeRef) {
    let n = node.get();
    let code = n
        .attrs()
        .optional_string("code")
        .and_then(|c| c.parse::<u16>().ok());
    let conflict = n.get_optional_child("conflict").is_some();
    if let Some(code) = code {
        let detail = format!(
            "stream error {code} from WhatsApp{}",
            if conflict { " (conflict)" } else { "" }
        );
        shared
            .close
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stream_error = Some((code, detail));
    }
}

/// Writes what the client still holds in memory to the store once its run loop ended.
///
/// The library flushes device state on a disconnect we ask for, but not when WhatsApp
/// closes the stream (the 515 after pairing, a dropped network): with its auto-reconnect
/// off it just stops, and its background saver writes only every 30 s. A pair-success
/// that lands while the saver is busy would then be lost with the client, and the next
/// connection registers afresh instead of logging in. Bounded, so a stuck store cannot
/// hold `Closed` back.
async fn settle_device_state(client: &Client, account: &AccountId) {
    const SETTLE: Duration = Duration::from_secs(5);
    match tokio::time::timeout(SETTLE, client.persistence_manager().flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            warn!(target: "wagw::socket", account = %account, error = %e,
                "could not save the device state after the connection ended")
        }
        Err(_) => {
            warn!(target: "wagw::socket", account = %account,
                "saving the device state after the connection ended took over 5s")
        }
    }
    match tokio::time::timeout(SETTLE, client.flush_pending_signal_state()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            warn!(target: "wagw::socket", account = %account, error = %e,
                "could not save the Signal sessions after the connection ended")
        }
        Err(_) => {
            warn!(target: "wagw::socket", account = %account,
                "saving the Signal sessions after the connection ended took over 5s")
        }
    }
}

/// Moves events from the unbounded FIFO to the gateway's bounded channel, ending after
/// `Closed`.
async fn forward(mut rx: mpsc::UnboundedReceiver<SocketEvent>, tx: mpsc::Sender<SocketEvent>) {
    while let Some(ev) = rx.recv().await {
        let last = matches!(ev, SocketEvent::Closed(_));
        if tx.send(ev).await.is_err() || last {
            break;
        }
    }
}

#[async_trait]
impl WaSocket for WhatsAppSocket {
    async fn connect(&self) -> Result<SocketEvents, SocketError> {
        self.close_current(false).await;
        let cfg = &self.inner.config;
        let store = self.store()?;
        let (utx, urx) = mpsc::unbounded_channel();
        let (btx, brx) = mpsc::channel(cfg.event_buffer);
        let shared = Arc::new(ConnShared {
            account: cfg.account.clone(),
            tx: utx,
            close: std::sync::Mutex::new(CloseState::default()),
            acks: AckTracker::new(),
            client: std::sync::OnceLock::new(),
            commit_timeout: cfg.commit_timeout,
            identity: self.inner.identity.clone(),
            groups: self.inner.groups.clone(),
            undecryptable: self.inner.undecryptable.clone(),
            store: store.clone(),
            passkey_confirmation_pending: AtomicBool::new(false),
            connected_sent: std::sync::Mutex::new(false),
        });
        let bot = self.build_bot(&shared, store).await?;
        let client = bot.client();
        let _ = shared.client.set(Arc::downgrade(&client));
        // wagw-reconnect owns reconnection: the library must not retry on its own.
        client.enable_auto_reconnect.store(false, Ordering::SeqCst);
        // The library raises no event for some stream errors (515, 503); watch for them.
        let mut stream_error = client.wait_for_node(NodeFilter::tag("stream:error"));
        tokio::spawn(forward(urx, btx));
        let (done_tx, done_rx) = watch::channel(false);
        let handle = bot.spawn();
        let sup_shared = shared.clone();
        let sup_client = client.clone();
        let account = cfg.account.clone();
        tokio::spawn(async move {
            handle.await;
            settle_device_state(&sup_client, &account).await;
            drop(sup_client);
            // The waiter resolved (or not) before the run loop ended; read it now so the
            // code is known when the reason is computed.
            if let Ok(Some(node)) = stream_error.try_recv() {
                record_stream_error(&sup_shared, &node);
            }
            let reason = sup_shared
                .close
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reason();
            info!(target: "wagw::reconnect", account = %account, reason = %reason, code = ?reason.code(), "connection closed");
            sup_shared.emit(SocketEvent::Closed(reason));
            let _ = done_tx.send(true);
        });
        *self.inner.conn.lock().await = Some(Conn {
            client,
            shared,
            done: done_rx,
        });
        Ok(brx)
    }

    async fn disconnect(&self) {
        self.close_current(false).await;
        // Stopped without a logout: the credentials as they are now go to the backup.
        // (Only a store still open: after a logout there is nothing to back up.)
        if let Some(store) = self.store_if_open() {
            let _ = tokio::task::spawn_blocking(move || store.back_up_credentials()).await;
        }
    }

    async fn logout(&self) -> Result<(), SocketError> {
        let was_live = self.live().await.is_ok();
        if !was_live {
            warn!(target: "wagw::socket", account = %self.inner.config.account,
                "logging out without a connection: the phone keeps the linked-device entry until WhatsApp expires it");
        }
        self.close_current(true).await;
        // Close the database before deleting its folder.
        let store = self
            .inner
            .store
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(store) = store {
            let _ = store.flush().await;
            drop(store);
        }
        *self
            .inner
            .identity
            .write()
            .unwrap_or_else(|p| p.into_inner()) = None;
        // A store in PostgreSQL: its namespace goes (waiting a moment for handles that are
        // closing with the connection).
        let location = &self.inner.config.store_location;
        if location.is_postgres() {
            location.remove().map_err(|e| {
                SocketError::Other(format!("could not delete the protocol state: {e}"))
            })?;
            // The credentials backup goes with it (beside a file, it is one of the
            // authDir's own files, deleted below).
            crate::store::BackupPlace::of(location)
                .and_then(|b| b.remove())
                .map_err(|e| {
                    SocketError::Other(format!("could not delete the credentials backup: {e}"))
                })?;
        }
        // Only wagw's own files: whatever else is in the folder stays.
        let dir = &self.inner.config.auth_dir;
        match crate::auth_dir::remove_own(dir) {
            Ok(left) if left.is_empty() => {}
            Ok(left) => {
                tracing::warn!(target: "wagw::socket", account = %self.inner.config.account,
                    dir = %dir.display(), left = ?left,
                    "logout kept files wagw did not create in the authDir");
            }
            Err(e) => {
                return Err(SocketError::Other(format!(
                    "could not delete the protocol state: {e}"
                )));
            }
        }
        info!(target: "wagw::socket", account = %self.inner.config.account, "logged out and deleted the protocol state");
        Ok(())
    }

    async fn request_pair_code(&self, phone: &Phone) -> Result<String, SocketError> {
        let (client, _) = self.live().await?;
        login::request_pair_code(&client, phone).await
    }

    async fn submit_passkey_assertion(&self, assertion_json: &str) -> Result<(), SocketError> {
        let (client, shared) = self.live().await?;
        login::submit_passkey_assertion(&client, &shared, assertion_json).await
    }

    async fn confirm_passkey(&self) -> Result<(), SocketError> {
        let (client, shared) = self.live().await?;
        login::confirm_passkey(&client, &shared).await
    }

    fn own_identity(&self) -> Option<OwnIdentity> {
        self.inner
            .identity
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn send(&self, message: OutboundMessage) -> Result<SendReceipt, SocketError> {
        let (client, shared) = self.session().await?;
        send::send(
            &client,
            &shared,
            message,
            self.inner.config.send_ack_timeout,
        )
        .await
    }

    async fn upload_media(
        &self,
        data: Bytes,
        kind: MediaKind,
    ) -> Result<UploadedMedia, SocketError> {
        let (client, _) = self.session().await?;
        media::upload(&client, data, kind).await
    }

    async fn download_media(
        &self,
        media_ref: &MediaRef,
        kind: MediaKind,
    ) -> Result<Bytes, SocketError> {
        let (client, _) = self.session().await?;
        media::download(&client, media_ref, kind).await
    }

    async fn request_media_reupload(
        &self,
        message: &MessageKey,
        media_ref: &MediaRef,
    ) -> Result<MediaRef, SocketError> {
        let (client, _) = self.session().await?;
        media::request_reupload(&client, message, media_ref).await
    }

    async fn mark_read(
        &self,
        chat: &Jid,
        sender: Option<&Jid>,
        ids: &[MessageId],
    ) -> Result<(), SocketError> {
        let (client, _) = self.session().await?;
        receipts::mark_read(&client, chat, sender, ids).await
    }

    async fn send_chat_presence(&self, chat: &Jid, p: ChatPresence) -> Result<(), SocketError> {
        let (client, _) = self.session().await?;
        presence::send_chat_presence(&client, chat, p).await
    }

    async fn group_metadata(&self, group: &Jid) -> Result<GroupMetadata, SocketError> {
        if let Some(m) = self.inner.groups.get(group, std::time::Instant::now()) {
            return Ok(m);
        }
        let (client, _) = self.session().await?;
        groups::metadata(&client, &self.inner.groups, group).await
    }

    async fn lid_for_phone(&self, phone: &Phone) -> Result<Option<Lid>, SocketError> {
        let (client, _) = self.live().await?;
        lid::lid_for_phone(&client, phone).await
    }

    async fn phone_for_lid(&self, l: &Lid) -> Result<Option<Phone>, SocketError> {
        let (client, _) = self.live().await?;
        lid::phone_for_lid(&client, l).await
    }

    /// Traffic from the client's wire counters, memory from the library's resource report,
    /// and in `sizes` its caches (`signal_sessions`, `group_cache`, ...) and queues
    /// (`transport_ack_queue`, `delivery_receipt_queue`, ...). Without a connection only
    /// `undecryptable` and `storeBytesOnDisk` are filled.
    async fn resources(&self) -> Option<TransportResources> {
        Some(self.transport_resources().await)
    }
}
