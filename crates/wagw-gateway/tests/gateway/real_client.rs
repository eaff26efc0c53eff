//! The gateway over the **real** client: `wagw-socket`'s `WhatsAppSocket` (whatsapp-rust)
//! against the in-process fake WhatsApp server (`wagw-fakewa`), with the supervisor driven by
//! `wagw-reconnect`. Connected → message in → message out acked → each close classified →
//! reconnect on the configured backoff schedule → logout.
//!
//! Real time: the real client needs a multi-threaded runtime and its own timers, so time
//! cannot be paused. Delays are short (`web.reconnect` starts at 300 ms) and every timing
//! assertion is a generous bound: a gap is never shorter than 0.8× its configured delay and
//! never longer than the delay plus [`SLACK`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wagw_core::{AccountId, Jid, OutboundMessage, SocketError, WaSocket};
use wagw_fakewa::{FakeConfig, FakeConnection, FakeWhatsApp, LoginOutcome, attr};
use wagw_gateway::{
    Gateway, GatewayError, GatewayEvent, GatewaySettings, NullSink, TransportSettings,
};
use wagw_socket::store::{SledStore, StoreOptions};
use wagw_socket::{SocketConfig, WhatsAppSocket};
use whatsapp_rust::store::traits::DeviceStore;

const NEWSLETTER: &str = "120363000000000001@newsletter";
/// Upper bound on anything the client and server do between two steps (handshake, login).
const SLACK: Duration = Duration::from_millis(1500);
/// How long a test waits for something that should happen.
const WAIT: Duration = Duration::from_secs(15);

/// `web.reconnect`: 300 ms, ×2 per failure, at most 2.4 s, no jitter; the failure streak
/// resets after 1 s of uptime (`web.heartbeatSeconds`).
fn config_text(initial_ms: u64) -> String {
    format!(
        "{{ web: {{ heartbeatSeconds: 1, reconnect: {{ initialMs: {initial_ms}, factor: 2, \
         maxMs: {}, jitter: 0, maxAttempts: 12 }} }} }}",
        initial_ms * 8
    )
}

/// The delay of failure `n` (1-based) with [`config_text`]'s policy.
fn delay(initial_ms: u64, n: u32) -> Duration {
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
    let store = SledStore::open(auth_dir, StoreOptions::default()).unwrap();
    let mut d = whatsapp_rust::wacore::store::Device::new();
    d.pn = Some(whatsapp_rust::Jid::pn("15550001234"));
    d.lid = Some(whatsapp_rust::Jid::lid("100000000000001"));
    d.push_name = "Gateway".into();
    store.save(&d).await.unwrap();
    store.flush().await.unwrap();
}

/// A gateway with one linked `default` account whose transport is the real client over
/// the fake server.
struct Rig {
    _dir: tempfile::TempDir,
    auth_dir: PathBuf,
    server: FakeWhatsApp,
    gw: Gateway,
    id: AccountId,
    initial_ms: u64,
}

impl Rig {
    async fn start(fake: FakeConfig, initial_ms: u64) -> Rig {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter("wagw=info")
            .try_init();
        let dir = tempfile::tempdir().unwrap();
        let settings = GatewaySettings::from_json5(&config_text(initial_ms), dir.path()).unwrap();
        let id = AccountId::default_account();
        let auth_dir = settings.account(&id).unwrap().transport.auth_dir.clone();
        seed_linked(&auth_dir).await;
        let server = FakeWhatsApp::new(fake);
        let factory = server.factory();
        let gw = Gateway::builder()
            .settings(settings)
            .transport(
                move |id: &AccountId,
                      t: &TransportSettings|
                      -> Result<Arc<dyn WaSocket>, SocketError> {
                    let config = socket_config(id, t.auth_dir.clone());
                    WhatsAppSocket::with_test_transport(config, factory.clone())
                        .map(|s| Arc::new(s) as Arc<dyn WaSocket>)
                        .map_err(|e| SocketError::Other(e.to_string()))
                },
            )
            .sink(NullSink)
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
    async fn accepted(&self) -> (FakeConnection, Instant) {
        let conn = self
            .server
            .accept(WAIT)
            .await
            .expect("the gateway opened no connection");
        (conn, Instant::now())
    }

    fn status(&self) -> wagw_gateway::AccountStatus {
        self.gw.status().remove(0)
    }

    /// Waits until the account's status satisfies `f`; panics with the last status if not.
    async fn until(&self, what: &str, f: impl Fn(&wagw_gateway::AccountStatus) -> bool) {
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

    async fn until_connected(&self) {
        self.until("connected", |s| s.connected && s.state == "connected")
            .await;
    }

    /// The account-state transitions recorded in the event log, as `(state, detail)`; a
    /// state recorded again with a new detail (`connected` from the socket, then from the
    /// supervisor) counts once, with its last detail.
    fn states(&self) -> Vec<(String, String)> {
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
    async fn assert_no_retry(&self, periods: u32) {
        let before = self.server.transports_opened();
        tokio::time::sleep(Duration::from_millis(self.initial_ms) * periods).await;
        assert_eq!(
            self.server.transports_opened(),
            before,
            "the gateway reconnected; states: {:?}",
            self.states()
        );
    }

    async fn stop(self) {
        self.gw.shutdown().await.unwrap();
    }
}

/// Asserts that `gap` honours the configured `delay`: at least 0.8× of it, at most it plus
/// the time a handshake can take.
fn assert_gap(what: &str, gap: Duration, delay: Duration) {
    assert!(
        gap >= delay.mul_f64(0.8),
        "{what}: reconnected after {gap:?}, before the configured {delay:?}"
    );
    assert!(
        gap <= delay + SLACK,
        "{what}: reconnected after {gap:?}, long after the configured {delay:?}"
    );
}

/// The attempt number in a backoff detail (`disconnected; retry 2/12 in 600ms`).
fn retry_attempt(detail: &str) -> u32 {
    let rest = detail
        .split("retry ")
        .nth(1)
        .unwrap_or_else(|| panic!("no retry in {detail:?}"));
    rest.split('/').next().unwrap().parse().unwrap()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_closes_reconnect_on_the_configured_backoff_and_stability_resets_it() {
    let init = 300;
    let rig = Rig::start(FakeConfig::default(), init).await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;

    // Three failures in a row: stream error 503, EOF, 503. Each close is issued right after
    // the connection came up, so the streak continues and the delay doubles.
    let mut gaps = Vec::new();
    for n in 1..=3u32 {
        let closed_at = Instant::now();
        if n == 2 {
            conn.close();
        } else {
            conn.stream_error(503);
            conn.close();
        }
        let (next, at) = rig.accepted().await;
        gaps.push(at - closed_at);
        assert_gap(&format!("failure {n}"), at - closed_at, delay(init, n));
        conn = next;
        rig.until_connected().await;
    }
    assert!(
        gaps.windows(2).all(|w| w[1] > w[0]),
        "delays did not grow: {gaps:?}"
    );
    let backoffs: Vec<u32> = rig
        .states()
        .iter()
        .filter(|(state, _)| state == "backoff")
        .map(|(_, d)| retry_attempt(d))
        .collect();
    assert_eq!(backoffs, [1, 2, 3], "states: {:?}", rig.states());
    let m = rig.status().metrics;
    assert_eq!(m.reconnects.get("stream_error"), Some(&2), "{m:?}");
    assert_eq!(m.reconnects.get("network"), Some(&1), "{m:?}");
    // Every retry went backoff → connecting → connected.
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    let tail: Vec<&str> = states.iter().map(String::as_str).rev().take(9).collect();
    assert_eq!(
        tail,
        [
            "connected",
            "connecting",
            "backoff",
            "connected",
            "connecting",
            "backoff",
            "connected",
            "connecting",
            "backoff"
        ],
        "states: {states:?}"
    );

    // A connection that stays up past `web.heartbeatSeconds` resets the streak: the next
    // failure waits the first delay again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let closed_at = Instant::now();
    conn.close();
    let (_conn, at) = rig.accepted().await;
    assert_gap("after a stable connection", at - closed_at, delay(init, 1));
    assert!(
        at - closed_at < delay(init, 4),
        "the streak was not reset: {:?}",
        at - closed_at
    );
    let last_backoff = rig
        .states()
        .into_iter()
        .rfind(|(state, _)| state == "backoff")
        .unwrap();
    assert_eq!(retry_attempt(&last_backoff.1), 1, "{last_backoff:?}");
    rig.until_connected().await;
    assert_eq!(rig.server.transports_opened(), 5);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_required_515_reconnects_at_once() {
    // A long initial delay, so "at once" cannot be mistaken for a short backoff.
    let init = 3000;
    let rig = Rig::start(FakeConfig::default(), init).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    let closed_at = Instant::now();
    conn.stream_error(515);
    let (_conn, at) = rig.accepted().await;
    let gap = at - closed_at;
    assert!(
        gap < delay(init, 1).mul_f64(0.8),
        "515 waited {gap:?}, like a backoff"
    );
    rig.until_connected().await;
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    assert!(
        !states.iter().any(|s| s == "backoff"),
        "515 went through backoff: {states:?}"
    );
    assert!(rig.status().metrics.reconnects.is_empty());
    assert_eq!(rig.server.transports_opened(), 2);
    rig.stop().await;
}

/// Checks that the gateway stops for good with an operator message containing each of
/// `says` (the notice replaces the state's detail once the stop's actions ran).
async fn assert_stops(rig: &Rig, says: &[&str]) {
    rig.until("stopped with the operator message", |s| {
        let detail = s.detail.as_deref().unwrap_or_default();
        s.state == "stopped" && says.iter().all(|part| detail.contains(part))
    })
    .await;
    assert!(!rig.status().connected);
    rig.assert_no_retry(6).await;
    let s = rig.status();
    assert_eq!(s.state, "stopped");
    assert!(s.metrics.reconnects.is_empty(), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_out_401_stops_and_discards_the_credentials() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    assert!(rig.auth_dir.exists());
    conn.stream_error(401);
    assert_stops(
        &rig,
        &["logged out (401)", "wagw channels login --account default"],
    )
    .await;
    assert!(!rig.auth_dir.exists(), "the dead credentials were kept");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failure_401_stops_without_retrying() {
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 401,
                code: None,
                expire_secs: None,
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let _conn = rig.accepted().await;
    assert_stops(
        &rig,
        &["logged out (401)", "wagw channels login --account default"],
    )
    .await;
    assert!(!rig.auth_dir.exists(), "the dead credentials were kept");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_conflict_440_stops_instead_of_fighting() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    conn.conflict_replaced();
    assert_stops(&rig, &["440", "another client holds the session"]).await;
    assert!(rig.auth_dir.exists(), "a conflict must not delete the link");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_outdated_405_stops_and_says_to_update() {
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 405,
                code: None,
                expire_secs: None,
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let _conn = rig.accepted().await;
    assert_stops(&rig, &["405", "Update wagw"]).await;
    assert!(rig.auth_dir.exists());
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_ban_402_waits_until_its_expiry() {
    let ban = Duration::from_secs(2);
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 402,
                code: Some(101),
                expire_secs: Some(ban.as_secs()),
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let (_conn, banned_at) = rig.accepted().await;
    rig.until("banned", |s| s.state == "banned").await;
    let detail = rig.status().detail.unwrap_or_default();
    assert!(
        detail.contains("temporarily banned") && detail.contains("402"),
        "{detail}"
    );
    // The ban is over by the time the gateway retries.
    rig.server.set_login(LoginOutcome::Success);
    let (_conn, at) = rig.accepted().await;
    let gap = at - banned_at;
    assert!(
        gap >= ban.mul_f64(0.8),
        "reconnected {gap:?} into a {ban:?} ban"
    );
    assert!(gap <= ban + SLACK, "waited {gap:?} for a {ban:?} ban");
    rig.until_connected().await;
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    assert!(
        !states.iter().any(|s| s == "backoff"),
        "a ban is not a failure: {states:?}"
    );
    assert_eq!(rig.server.transports_opened(), 2);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_unlinks_at_the_server_and_deletes_the_auth_dir() {
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
    rig.stop().await;
}
