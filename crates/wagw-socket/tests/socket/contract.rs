//! The shared `WaSocket` contract suite (`wagw_sim::contract`) run against the real
//! transport, `WhatsAppSocket`, driving the real client against the in-process fake server.
//!
//! The fake server speaks no Signal, so the peer is a newsletter (channel): its messages are
//! plaintext both ways, with server acks. Each account gets its own server and folder, so
//! the harness knows which connections belong to which socket.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use wagw_core::Jid;
use wagw_fakewa::{FakeConfig, FakeConnection, FakeWhatsApp, attr};
use wagw_sim::contract::{Capabilities, ContractHarness, Outcome, run_all};
use wagw_socket::WhatsAppSocket;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Node, NodeContent};
use whatsapp_rust::waproto::whatsapp as wa;

use super::fake_server::{config, seed_linked};

/// The channel the accounts talk to (the contract's peer).
const PEER: &str = "120363000000000077@newsletter";
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
    next_id: u64,
}

impl FakeWaHarness {
    pub(crate) fn new() -> FakeWaHarness {
        FakeWaHarness {
            accounts: Vec::new(),
            next_id: 0,
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

/// The (chat, text) of a plaintext `<message>` the client sent.
fn sent_text(node: &Node) -> Option<(Jid, String)> {
    if node.tag.as_ref() != "message" {
        return None;
    }
    let to = Jid::parse(&attr(node, "to")?).ok()?;
    let Some(NodeContent::Bytes(body)) = &node.get_optional_child("plaintext")?.content else {
        return None;
    };
    let m = wa::Message::decode_from_slice(body).ok()?;
    let text = match m.conversation {
        Some(t) => t,
        None => m.extended_text_message.as_option()?.text.clone()?,
    };
    Some((to, text))
}

#[async_trait]
impl ContractHarness for FakeWaHarness {
    type Socket = WhatsAppSocket;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            // Plaintext newsletter messages to the client.
            inject_inbound: true,
            // The server sees every stanza the client sends.
            read_outbox: true,
            // The server can end the stream (transport EOF).
            server_disconnect: true,
            // The fake keeps no per-account queue: it never redelivers unacked messages.
            redelivery: false,
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
        Jid::parse(PEER).unwrap()
    }

    async fn inject_text(&mut self, socket: &WhatsAppSocket, text: &str) {
        // Unique ids: the client drops a repeated id as a duplicate delivery.
        self.next_id += 1;
        let n = self.next_id;
        let body = wa::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        }
        .encode_to_vec();
        let t = whatsapp_rust::wacore::time::now_secs_u64().to_string();
        let node = NodeBuilder::new("message")
            .attr("from", PEER)
            .attr("id", format!("CONTRACT{n:08}"))
            .attr("server_id", (1000 + n).to_string())
            .attr("t", t)
            .attr("type", "text")
            .children([NodeBuilder::new("plaintext").bytes(body).build()])
            .build();
        self.current(socket).await.send_node(node);
    }

    async fn sent_texts(&mut self, socket: &WhatsAppSocket) -> Vec<(Jid, String)> {
        let a = self.account(socket).await;
        let mut got = Vec::new();
        for c in &mut a.conns {
            // The server queues a stanza just after acking it: wait for the queue to settle.
            while let Some(node) = c.recv(OUTBOX_QUIET).await {
                got.extend(sent_text(&node));
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

/// Every check the fake server supports runs and passes; the rest are reported skipped.
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
    assert_eq!(
        skipped,
        ["uncommitted_redelivered_next_connection"],
        "only the checks the fake server cannot serve are skipped"
    );
    assert_eq!(report.passed(), report.results.len() - 1);
}
