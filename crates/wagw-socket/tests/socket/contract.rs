//! The shared `WaSocket` contract suite (`wagw_sim::contract`) run against the real
//! transport, `WhatsAppSocket`, driving the real client against the in-process fake server.
//!
//! The peer is one of the fake server's phones: its messages to the account are
//! Signal-encrypted 1:1 DMs that go through the client's durability hook (acknowledged only
//! after the commit, redelivered on the next connection otherwise), and the account's
//! messages to it are encrypted by the client and opened by the phone. Each account gets
//! its own server and folder, so the harness knows which connections belong to which
//! socket.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use wagw_core::Jid;
use wagw_fakewa::{FakeConfig, FakeConnection, FakeWhatsApp};
use wagw_sim::contract::{Capabilities, ContractHarness, Outcome, run_all};
use wagw_socket::WhatsAppSocket;
use whatsapp_rust::waproto::whatsapp as wa;

use super::fake_server::{config, seed_linked};

/// The fake phone the accounts talk to (the contract's peer).
const PEER_PHONE: &str = "15550002222";
/// How long the server's stanza queue must stay quiet before the outbox is considered read.
const OUTBOX_QUIET: Duration = Duration::from_millis(300);

/// One account: its folder, its own server, the connections seen so far and what the
/// server has read from them.
struct Account {
    _dir: tempfile::TempDir,
    auth_dir: PathBuf,
    server: FakeWhatsApp,
    conns: Vec<FakeConnection>,
    outbox: Vec<(Jid, String)>,
}

/// Runs the contract against `WhatsAppSocket` over `wagw-fakewa`.
pub(crate) struct FakeWaHarness {
    accounts: Vec<Account>,
}

impl FakeWaHarness {
    pub(crate) fn new() -> FakeWaHarness {
        FakeWaHarness {
            accounts: Vec::new(),
        }
    }

    async fn add(&mut self, linked: bool) -> WhatsAppSocket {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path());
        if linked {
            seed_linked(&cfg).await;
        }
        let server = FakeWhatsApp::new(FakeConfig::default());
        // The server's CDN as the HTTP client: media goes where its media_conn answer points.
        let http = server.media().http_client();
        let socket = WhatsAppSocket::with_transport(cfg.clone(), server.factory(), http).unwrap();
        self.accounts.push(Account {
            _dir: dir,
            auth_dir: cfg.auth_dir,
            server,
            conns: Vec::new(),
            outbox: Vec::new(),
        });
        socket
    }

    /// The socket's account, with every connection its server accepted so far collected.
    async fn account(&mut self, socket: &WhatsAppSocket) -> &mut Account {
        let a = self
            .accounts
            .iter_mut()
            .find(|a| a.auth_dir == socket.config().auth_dir)
            .expect("a socket this harness did not create");
        while let Some(c) = a.server.accept(Duration::ZERO).await {
            a.conns.push(c);
        }
        a
    }

    /// The socket's current connection on the server side.
    async fn current(&mut self, socket: &WhatsAppSocket) -> &FakeConnection {
        self.account(socket)
            .await
            .conns
            .last()
            .expect("the socket never connected to its server")
    }
}

/// The text of a message.
fn text_of(m: &wa::Message) -> Option<String> {
    m.conversation
        .clone()
        .or_else(|| m.extended_text_message.as_option()?.text.clone())
}

#[async_trait]
impl ContractHarness for FakeWaHarness {
    type Socket = WhatsAppSocket;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Encrypted DMs from the fake phone.
            inject_inbound: true,
            // The server sees every stanza the client sends; the phone opens its DMs.
            read_outbox: true,
            // The server can end the stream (transport EOF).
            server_disconnect: true,
            // The server queues each DM until the client acknowledges it and redelivers
            // the rest, offline, on the next login.
            redelivery: true,
            // media_conn names the server's in-process CDN (`FakeMedia`).
            media: true,
            // Pairing refs on a registration connection; the client rotates them itself.
            qr_login: true,
        }
    }

    async fn linked_socket(&mut self) -> WhatsAppSocket {
        self.add(true).await
    }

    fn peer(&self) -> Jid {
        Jid::parse(&format!("{PEER_PHONE}@s.whatsapp.net")).unwrap()
    }

    async fn inject_text(&mut self, socket: &WhatsAppSocket, text: &str) {
        self.current(socket)
            .await
            .send_dm_text(PEER_PHONE, text)
            .await
            .expect("the fake phone could not send");
    }

    async fn sent_texts(&mut self, socket: &WhatsAppSocket) -> Vec<(Jid, String)> {
        let a = self.account(socket).await;
        let mut got = Vec::new();
        for c in &mut a.conns {
            // The server queues a stanza just after acking it: wait for the queue to settle.
            while let Some(node) = c.recv(OUTBOX_QUIET).await {
                if let Some((phone, m)) = c.read_dm(&node).await
                    && let (Ok(to), Some(text)) =
                        (Jid::parse(&format!("{phone}@s.whatsapp.net")), text_of(&m))
                {
                    got.push((to, text));
                }
            }
        }
        a.outbox.extend(got);
        a.outbox.clone()
    }

    async fn force_disconnect(&mut self, socket: &WhatsAppSocket) {
        self.current(socket).await.close();
    }

    async fn unlinked_socket(&mut self) -> WhatsAppSocket {
        self.add(false).await
    }
}

/// Every check runs and passes against the fake server; none is skipped.
/// Takes about 80 s of real time: the QR check waits out the client's own 60 s + 20 s
/// rotation (the real client runs on a multi-threaded runtime, so time cannot be paused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_server_keeps_the_wasocket_contract() {
    let mut h = FakeWaHarness::new();
    let report = run_all(&mut h).await;
    println!("WaSocket contract, WhatsAppSocket over wagw-fakewa:\n{report}");
    report.assert_passed();
    let skipped: Vec<&str> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped { .. }))
        .map(|r| r.name)
        .collect();
    assert!(skipped.is_empty(), "skipped checks: {skipped:?}");
    assert_eq!(report.passed(), report.results.len());
}
