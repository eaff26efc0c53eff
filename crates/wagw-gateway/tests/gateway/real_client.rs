//! The gateway over the **real** client: `wagw-socket`'s `WhatsAppSocket` (whatsapp-rust)
//! against the in-process fake WhatsApp server (`wagw-fakewa`) and its media CDN, with the
//! supervisor driven by `wagw-reconnect`. This module holds the harness ([`Rig`]) and the
//! traffic scenarios: connected → message in → message out acked → a media reply through the
//! CDN → logout → relink shows a QR. Closes and reconnects are in `real_client_closes`.
//!
//! Real time: the real client needs a multi-threaded runtime and its own timers, so time
//! cannot be paused. Delays are short (`web.reconnect` starts at 300 ms).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wagw_core::{AccountId, Jid, OutboundMessage, SocketError, WaSocket};
use wagw_fakewa::{ConnKind, FakeConfig, FakeConnection, FakeWhatsApp, attr};
use wagw_gateway::{
    AgentSink, Gateway, GatewayError, GatewayEvent, GatewaySettings, LoginPrompt, MediaSource,
    NullSink, Reply, TransportSettings, sink_fn,
};
use wagw_socket::store::{AccountStore, StoreOptions};
use wagw_socket::{SocketConfig, WhatsAppSocket};
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::store::traits::DeviceStore;
use whatsapp_rust::wacore_binary::NodeContent;
use whatsapp_rust::waproto::whatsapp as wa;

const NEWSLETTER: &str = "120363000000000001@newsletter";
/// How long a test waits for something that should happen.
pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// `web.reconnect`: 300 ms, ×2 per failure, at most 2.4 s, no jitter; the failure streak
/// resets after 1 s of uptime (`web.heartbeatSeconds`).
/// `channels` is inserted as the config's `channels` value (`{}` for the defaults).
fn config_text(initial_ms: u64, channels: &str) -> String {
    format!(
        "{{ channels: {channels}, web: {{ heartbeatSeconds: 1, reconnect: {{ initialMs: \
         {initial_ms}, factor: 2, maxMs: {}, jitter: 0, maxAttempts: 12 }} }} }}",
        initial_ms * 8
    )
}

/// The delay of failure `n` (1-based) with [`config_text`]'s policy.
pub(crate) fn delay(initial_ms: u64, n: u32) -> Duration {
    Duration::from_millis((initial_ms << (n - 1)).min(initial_ms * 8))
}

/// The socket configuration for an account folder, pinned so nothing reaches the network.
fn socket_config(account: &AccountId, auth_dir: PathBuf) -> SocketConfig {
    let mut c = SocketConfig::new(account.clone(), auth_dir);
    c.version = Some((2, 3000, 1_023_000_000));
    // Short, so the unacked send (retried by the gateway) fails within seconds.
    c.send_ack_timeout = Duration::from_secs(2);
    c.device_name = "wagw-test".into();
    c
}

/// Seeds the account's protocol store with a linked device, as if it had paired before.
async fn seed_linked(auth_dir: &std::path::Path) {
    let store = AccountStore::open(auth_dir, StoreOptions::default()).unwrap();
    let mut d = whatsapp_rust::wacore::store::Device::new();
    d.pn = Some(whatsapp_rust::Jid::pn("15550001234"));
    d.lid = Some(whatsapp_rust::Jid::lid("100000000000001"));
    d.push_name = "Gateway".into();
    store.save(&d).await.unwrap();
    store.flush().await.unwrap();
}

/// A gateway with one linked `default` account whose transport is the real client over
/// the fake server.
pub(crate) struct Rig {
    _dir: tempfile::TempDir,
    pub(crate) auth_dir: PathBuf,
    pub(crate) server: FakeWhatsApp,
    pub(crate) gw: Gateway,
    pub(crate) id: AccountId,
    pub(crate) initial_ms: u64,
}

impl Rig {
    pub(crate) async fn start(fake: FakeConfig, initial_ms: u64) -> Rig {
        Rig::start_with(fake, initial_ms, "{}", Arc::new(NullSink)).await
    }

    /// [`Rig::start`] with a `channels` config value and an agent sink.
    pub(crate) async fn start_with(
        fake: FakeConfig,
        initial_ms: u64,
        channels: &str,
        sink: Arc<dyn AgentSink>,
    ) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("wagw=info")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let settings =
            GatewaySettings::from_json5(&config_text(initial_ms, channels), dir.path()).unwrap();
        let id = AccountId::default_account();
        let auth_dir = settings.account(&id).unwrap().transport.auth_dir.clone();
        seed_linked(&auth_dir).await;
        let server = FakeWhatsApp::new(fake);
        let factory = server.factory();
        let http = server.media().http_client();
        let gw = Gateway::builder()
            .settings(settings)
            .transport(
                move |id: &AccountId,
                      t: &TransportSettings|
                      -> Result<Arc<dyn WaSocket>, SocketError> {
                    let config = socket_config(id, t.auth_dir.clone());
                    WhatsAppSocket::with_transport(config, factory.clone(), http.clone())
                        .map(|s| Arc::new(s) as Arc<dyn WaSocket>)
                        .map_err(|e| SocketError::Other(e.to_string()))
                },
            )
            .sink_arc(sink)
            .start()
            .await
            .unwrap();
        Rig {
            _dir: dir,
            auth_dir,
            server,
            gw,
            id,
            initial_ms,
        }
    }

    /// The next connection the server accepts, with when it was accepted.
    pub(crate) async fn accepted(&self) -> (FakeConnection, Instant) {
        let conn = self
            .server
            .accept(WAIT)
            .await
            .expect("the gateway opened no connection");
        (conn, Instant::now())
    }

    pub(crate) fn status(&self) -> wagw_gateway::AccountStatus {
        self.gw.status().remove(0)
    }

    /// Waits until the account's status satisfies `f`; panics with the last status if not.
    pub(crate) async fn until(&self, what: &str, f: impl Fn(&wagw_gateway::AccountStatus) -> bool) {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.status();
            if f(&s) {
                return;
            }
            assert!(Instant::now() < deadline, "never {what}; status: {s:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) async fn until_connected(&self) {
        self.until("connected", |s| s.connected && s.state == "connected")
            .await;
    }

    /// The account-state transitions recorded in the event log, as `(state, detail)`; a
    /// state recorded again with a new detail (`connected` from the socket, then from the
    /// supervisor) counts once, with its last detail.
    pub(crate) fn states(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for e in self.gw.store().events().since(0, 10_000).unwrap() {
            if let GatewayEvent::AccountState { state, detail, .. } = e.event {
                let detail = detail.unwrap_or_default();
                match out.last_mut() {
                    Some(last) if last.0 == state => last.1 = detail,
                    _ => out.push((state, detail)),
                }
            }
        }
        out
    }

    /// Asserts that the gateway opens no new transport for `periods` initial backoff delays
    /// (several times the longest delay a retry could have had at this point).
    pub(crate) async fn assert_no_retry(&self, periods: u32) {
        let before = self.server.transports_opened();
        tokio::time::sleep(Duration::from_millis(self.initial_ms) * periods).await;
        assert_eq!(
            self.server.transports_opened(),
            before,
            "the gateway reconnected; states: {:?}",
            self.states()
        );
    }

    pub(crate) async fn stop(self) {
        self.gw.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linked_account_connects_receives_and_sends_with_server_acks() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;
    let s = rig.status();
    assert_eq!(s.phone.as_deref(), Some("+15550001234"));
    assert_eq!(s.lid.as_deref(), Some("100000000000001@lid"));

    // Message in: a newsletter reaches the pipeline and is dropped by policy (the gateway
    // answers people, not channels), counted under its reason and acknowledged.
    conn.send_newsletter_text(NEWSLETTER, "hello from the fake server");
    rig.until("counted the newsletter message", |s| {
        s.metrics.drops.get("unsupported_chat") == Some(&1)
    })
    .await;
    let m = rig.status().metrics;
    assert_eq!(m.messages_in, 1);
    assert_eq!(m.turns_delivered, 0);
    assert!(m.last_inbound_ms > 0);

    // Message out: succeeds only with the server's ack, and the server saw that very id.
    let receipt = rig
        .gw
        .send(
            &rig.id,
            OutboundMessage::text(Jid::parse(NEWSLETTER).unwrap(), "pong"),
        )
        .await
        .expect("acked send");
    let sent = conn
        .wait_for(WAIT, |n| n.tag.as_ref() == "message")
        .await
        .expect("the server saw no message");
    assert_eq!(attr(&sent, "id").as_deref(), Some(receipt.id.as_str()));
    assert_eq!(attr(&sent, "to").as_deref(), Some(NEWSLETTER));
    assert_eq!(rig.status().metrics.messages_out, 1);

    // A send the server never acks is an error, never reported sent.
    rig.server.set_auto_ack(false);
    let err = rig
        .gw
        .send(
            &rig.id,
            OutboundMessage::text(Jid::parse(NEWSLETTER).unwrap(), "lost"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            GatewayError::Transport {
                source: SocketError::Timeout(_),
                ..
            }
        ),
        "unacked send: {err:?}"
    );
    let m = rig.status().metrics;
    assert_eq!(m.messages_out, 1, "an unacked send was counted sent");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

/// A small PNG.
/// The text of a plain or extended text message.
fn text_of(message: &wa::Message) -> Option<String> {
    message.conversation.clone().or_else(|| {
        message
            .extended_text_message
            .as_option()
            .and_then(|m| m.text.clone())
    })
}

/// The whole path over the real client and real Signal sessions: an allowlisted phone's
/// end-to-end encrypted DM is decrypted by the client, committed by the gateway (only then
/// does WhatsApp get its receipt), handed to the agent, and the agent's reply goes back
/// encrypted to that phone, which decrypts it; an unknown phone is challenged instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_encrypted_dm_reaches_the_agent_and_its_reply_reaches_the_phone() {
    const FRIEND: &str = "15550001111";
    const STRANGER: &str = "15550003333";
    let echo =
        sink_fn(|turn| async move { Ok(vec![Reply::text(format!("echo: {}", turn.raw_body))]) });
    let rig = Rig::start_with(
        FakeConfig::default(),
        300,
        "{ whatsapp: { dmPolicy: 'pairing', allowFrom: ['+15550001111'] } }",
        echo,
    )
    .await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;

    let id = conn
        .send_dm_text(FRIEND, "hello over signal")
        .await
        .expect("the fake phone could not encrypt to the account");
    let reply = conn
        .wait_for(WAIT, |n| {
            n.tag.as_ref() == "message" && attr(n, "to").is_some_and(|to| to.starts_with(FRIEND))
        })
        .await
        .expect("the agent's reply never reached the server");
    let (to, message) = conn
        .read_dm(&reply)
        .await
        .expect("the phone could not decrypt the reply");
    assert!(to.starts_with(FRIEND), "addressed to the friend, got {to}");
    assert_eq!(
        text_of(&message).as_deref(),
        Some("echo: hello over signal"),
        "{message:?}"
    );
    rig.until(
        "acknowledged the DM and counted the turn and the send",
        |s| s.metrics.turns_delivered == 1 && s.metrics.messages_out == 1,
    )
    .await;
    let deadline = Instant::now() + WAIT;
    while rig.server.unacknowledged().contains(&id) {
        assert!(
            Instant::now() < deadline,
            "the DM was never acknowledged to WhatsApp"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // An unknown phone gets a pairing code, encrypted to it, and no turn.
    conn.send_dm_text(STRANGER, "who is this?").await.unwrap();
    let challenge = conn
        .wait_for(WAIT, |n| {
            n.tag.as_ref() == "message" && attr(n, "to").is_some_and(|to| to.starts_with(STRANGER))
        })
        .await
        .expect("the stranger was not challenged");
    let (_, message) = conn.read_dm(&challenge).await.unwrap();
    let pending = rig.gw.pairing_pending(&rig.id).unwrap();
    assert_eq!(pending.len(), 1);
    let text = text_of(&message).unwrap_or_default();
    assert!(text.contains(&pending[0].code), "{text}");
    rig.until("counted the challenge", |s| {
        s.metrics.pairing_challenges == 1
    })
    .await;
    assert_eq!(rig.status().metrics.turns_delivered, 1);
    rig.stop().await;
}

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_reply_is_uploaded_to_the_cdn_and_sent_with_its_reference() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;
    let report = rig
        .gw
        .send_reply(
            &rig.id,
            &Jid::parse(NEWSLETTER).unwrap(),
            Reply::media(
                MediaSource::Bytes {
                    data: png().into(),
                    file_name: Some("chart.png".into()),
                    mime: Some("image/png".into()),
                },
                Some("the chart".into()),
            ),
        )
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    let media = rig.server.media();
    assert_eq!(media.uploads(), 1);

    // The message the server received points at the blob the CDN stored.
    let sent = conn
        .wait_for(WAIT, |n| n.tag.as_ref() == "message")
        .await
        .expect("the server saw no message");
    let Some(NodeContent::Bytes(body)) = &sent
        .get_optional_child("plaintext")
        .expect("a plaintext body")
        .content
    else {
        panic!("no plaintext bytes in {sent:?}");
    };
    let message = wa::Message::decode_from_slice(body).unwrap();
    let image = message.image_message.as_option().expect("an image message");
    assert_eq!(image.caption.as_deref(), Some("the chart"));
    let direct_path = image.direct_path.clone().expect("a direct path");
    let blob = media.blob(&direct_path).expect("the CDN has the blob");
    // The stored blob is the encrypted file: ciphertext plus a 10-byte MAC.
    assert_eq!(
        image.file_enc_sha256.as_deref(),
        Some(&Sha256::digest(&blob)[..])
    );
    assert!(blob.len() as u64 > image.file_length.unwrap_or(0));
    assert_eq!(rig.status().metrics.messages_out, 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_unlinks_at_the_server_and_deletes_the_auth_dir_then_relinking_shows_a_qr() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;
    assert!(rig.auth_dir.exists());
    rig.gw.logout(&rig.id).await.unwrap();
    let removal = conn
        .wait_for(WAIT, |n| {
            n.tag.as_ref() == "iq"
                && n.children().is_some_and(|c| {
                    c.iter()
                        .any(|c| c.tag.as_ref() == "remove-companion-device")
                })
        })
        .await;
    assert!(
        removal.is_some(),
        "no remove-companion request reached the server"
    );
    assert!(!rig.auth_dir.exists(), "the authDir survived logout");
    rig.until("stopped after logout", |s| {
        s.state == "stopped" && !s.connected
    })
    .await;
    rig.assert_no_retry(6).await;
    assert!(rig.status().metrics.reconnects.is_empty());
    assert_eq!(rig.server.transports_opened(), 1);

    // Relinking (`wagw channels login`) opens a registration connection and shows the QR.
    rig.gw.login(&rig.id).await.unwrap();
    let (conn, _) = rig.accepted().await;
    assert_eq!(conn.kind(), &ConnKind::Registration);
    rig.until("showing a QR code", |s| {
        s.state == "linking" && matches!(&s.login, Some(LoginPrompt::Qr { code, .. }) if code.starts_with("2@fake-ref-1,"))
    })
    .await;
    let logged = rig
        .gw
        .store()
        .events()
        .since(0, 10_000)
        .unwrap()
        .into_iter()
        .any(|e| matches!(e.event, GatewayEvent::QrCode { code, .. } if code.starts_with("2@fake-ref-1,")));
    assert!(logged, "the QR code is not in the event log");
    rig.stop().await;
}
