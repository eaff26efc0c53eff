//! The fake server: configuration, the transport factory the client connects through, and
//! the queue of accepted connections a test drives.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use whatsapp_rust::async_channel;
use whatsapp_rust::transport::{DisconnectReason, Transport, TransportEvent, TransportFactory};
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;

use crate::conn::{self, FakeConnection};
use crate::inbox::Inbox;
use crate::link::LinkedDevice;
use crate::media::FakeMedia;
use crate::noise::ServerIdentity;
use crate::peer::Peers;

/// What the server answers to a login (a client that is already linked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// `<success>`: the session is up.
    Success,
    /// `<failure reason=.. [code=..] [expire=..]>`: 401 logged out, 402 temporary ban
    /// (`code` + `expire` seconds), 403 locked, 405 client outdated, 503 unavailable.
    Failure {
        /// The failure reason code.
        reason: u16,
        /// The ban code (402).
        code: Option<u32>,
        /// Seconds until the ban ends (402/403).
        expire_secs: Option<u64>,
    },
}

/// How the fake server behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The account's LID user part, announced in `<success lid=..>`.
    pub lid: String,
    /// Pairing refs sent to an unlinked client (each becomes one QR code): as they are on
    /// the first linking connection; later ones get `.<n>` appended (the n-th linking
    /// connection), because WhatsApp issues fresh refs for every linking connection.
    pub qr_refs: Vec<String>,
    /// The answer to a login.
    pub login: LoginOutcome,
    /// Acknowledge every `<message>` the client sends (turn off to test unacked sends).
    pub auto_ack_messages: bool,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            lid: "100000000000001".into(),
            qr_refs: vec!["2@fake-ref-1".into(), "2@fake-ref-2".into()],
            login: LoginOutcome::Success,
            auto_ack_messages: true,
        }
    }
}

pub(crate) struct State {
    pub id: ServerIdentity,
    pub config: Mutex<FakeConfig>,
    accepted_tx: mpsc::UnboundedSender<FakeConnection>,
    accepted_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<FakeConnection>>,
    transports: AtomicUsize,
    /// Registration (linking) connections served so far.
    pub registrations: AtomicUsize,
    /// The fake phones and the account's published Signal keys.
    pub peers: Peers,
    /// Delivered messages awaiting the client's acknowledgement.
    pub inbox: Inbox,
    /// Numbers the ids of messages the fake phones send.
    pub next_message: AtomicU64,
    media: FakeMedia,
    /// The phones' account key pairs (what signs a linked device's identity), by number.
    account_keys: Mutex<HashMap<String, KeyPair>>,
    /// The device number the next link gets.
    next_device: AtomicU32,
    /// Devices linked by QR code, in order.
    linked: Mutex<Vec<LinkedDevice>>,
}

impl State {
    /// The account key pair of the phone `phone` (made on first use).
    pub fn account_key(&self, phone: &str) -> KeyPair {
        self.account_keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(phone.to_string())
            .or_insert_with(|| KeyPair::generate(&mut rand::make_rng::<rand::rngs::StdRng>()))
            .clone()
    }

    /// A fresh device number for a link.
    pub fn next_device(&self) -> u32 {
        self.next_device.fetch_add(1, Ordering::SeqCst)
    }

    /// Records a completed link.
    pub fn linked(&self, device: LinkedDevice) {
        self.linked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(device);
    }

    pub fn config(&self) -> FakeConfig {
        self.config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn accept(&self, c: FakeConnection) {
        let _ = self.accepted_tx.send(c);
    }
}

/// An in-process fake WhatsApp server. Cheap to clone; clones share the server.
#[derive(Clone)]
pub struct FakeWhatsApp {
    state: Arc<State>,
}

impl std::fmt::Debug for FakeWhatsApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeWhatsApp").finish_non_exhaustive()
    }
}

impl FakeWhatsApp {
    /// A server with its own Noise identity and certificate chain.
    pub fn new(config: FakeConfig) -> FakeWhatsApp {
        let (accepted_tx, accepted_rx) = mpsc::unbounded_channel();
        FakeWhatsApp {
            state: Arc::new(State {
                id: ServerIdentity::generate(),
                config: Mutex::new(config),
                accepted_tx,
                accepted_rx: tokio::sync::Mutex::new(accepted_rx),
                transports: AtomicUsize::new(0),
                registrations: AtomicUsize::new(0),
                peers: Peers::new(),
                inbox: Inbox::default(),
                next_message: AtomicU64::new(1),
                media: FakeMedia::new(),
                account_keys: Mutex::new(HashMap::new()),
                next_device: AtomicU32::new(1),
                linked: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Changes how the next logins are answered.
    pub fn set_login(&self, outcome: LoginOutcome) {
        self.state
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .login = outcome;
    }

    /// Turns automatic message acks on or off.
    pub fn set_auto_ack(&self, on: bool) {
        self.state
            .config
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .auto_ack_messages = on;
    }

    /// The transport factory to give the client.
    pub fn factory(&self) -> Arc<dyn TransportFactory> {
        Arc::new(Factory {
            state: self.state.clone(),
        })
    }

    /// Whether the account has published its Signal key bundle (the prekey upload a linked
    /// device makes at login); fake phones can message it from then on.
    pub fn has_client_keys(&self) -> bool {
        self.state.peers.has_client_keys()
    }

    /// Ids of the encrypted messages delivered to the account that it has not acknowledged
    /// yet, in delivery order: the next login connection redelivers them.
    pub fn unacknowledged(&self) -> Vec<String> {
        self.state.inbox.unacknowledged()
    }

    /// The server's media CDN: hand [`FakeMedia::http_client`] to the client so uploads and
    /// downloads reach it (the server's `media_conn` answer names its host).
    pub fn media(&self) -> FakeMedia {
        self.state.media.clone()
    }

    /// The devices fake phones linked by QR code ([`crate::FakeConnection::scan_qr`]) whose
    /// link the client completed (its `<pair-device-sign>` verified), in order.
    pub fn linked_devices(&self) -> Vec<LinkedDevice> {
        self.state
            .linked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many transports clients have opened.
    pub fn transports_opened(&self) -> usize {
        self.state.transports.load(Ordering::SeqCst)
    }

    /// The next connection that completed its handshake, waiting up to `timeout`.
    pub async fn accept(&self, timeout: Duration) -> Option<FakeConnection> {
        let mut rx = self.state.accepted_rx.lock().await;
        tokio::time::timeout(timeout, rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next connection (waits up to 30 s; `None` means the client never completed a
    /// handshake).
    pub async fn next_connection(&self) -> Option<FakeConnection> {
        self.accept(Duration::from_secs(30)).await
    }
}

struct Factory {
    state: Arc<State>,
}

#[async_trait::async_trait]
impl TransportFactory for Factory {
    async fn create_transport(
        &self,
    ) -> whatsapp_rust::anyhow::Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>)>
    {
        self.state.transports.fetch_add(1, Ordering::SeqCst);
        let (to_server_tx, to_server_rx) = mpsc::unbounded_channel::<Bytes>();
        let (events_tx, events_rx) = async_channel::unbounded::<TransportEvent>();
        let _ = events_tx.send(TransportEvent::Connected).await;
        tokio::spawn(conn::serve(self.state.clone(), to_server_rx, events_tx));
        Ok((
            Arc::new(FakeTransport {
                tx: Mutex::new(Some(to_server_tx)),
            }),
            events_rx,
        ))
    }
}

/// The client's end of the byte pipe.
struct FakeTransport {
    tx: Mutex<Option<mpsc::UnboundedSender<Bytes>>>,
}

#[async_trait::async_trait]
impl Transport for FakeTransport {
    async fn send(&self, data: Bytes) -> whatsapp_rust::anyhow::Result<()> {
        let g = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match g.as_ref() {
            Some(tx) if tx.send(data).is_ok() => Ok(()),
            _ => Err(whatsapp_rust::anyhow::anyhow!("fake transport closed")),
        }
    }

    async fn disconnect(&self) {
        // Dropping the sender tells the server task the client hung up.
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

/// The close the server reports when it ends the stream itself.
pub(crate) fn eof() -> TransportEvent {
    TransportEvent::Disconnected(DisconnectReason::StreamEnded)
}
