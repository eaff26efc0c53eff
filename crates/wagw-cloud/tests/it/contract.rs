//! The shared `WaSocket` contract suite (`wagw_sim::contract`) run against `CloudSocket`
//! over the fake Graph server. Each account is its own business number on one fake; the
//! peer is a customer whose messages arrive as signed webhooks.
//!
//! Checks that do not apply to the Cloud API, and why:
//! - `uncommitted_redelivered_next_connection` (capability `redelivery`): Meta retries an
//!   unanswered webhook on its own schedule, not when wagw reconnects; there is no backlog
//!   handed over at connect. What does apply — an uncommitted message is answered with an
//!   error so Meta retries, and the retry is delivered — is tested in `webhook.rs`.
//! - `server_disconnect_ends_stream` (`server_disconnect`): there is no server-held
//!   connection to drop; a refused token is the nearest thing (tested in `send.rs`).
//! - `qr_login_cadence` and `pair_code_refused_when_linked` (`qr_login`): a Cloud API number
//!   is registered in Meta's dashboard, not linked as a device; both linking calls answer
//!   `Unsupported` with that reason (tested in `send.rs`).

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::mpsc;
use wagw_cloud::fake::{self, FakeGraph};
use wagw_cloud::{CloudSocket, webhook};
use wagw_core::{AccountId, Jid};
use wagw_sim::contract::{Capabilities, ContractHarness, Outcome, run_all};

/// The customer who writes to every account.
pub const PEER: &str = "15550002222";

pub struct CloudHarness {
    pub graph: FakeGraph,
    accounts: u32,
    /// Webhooks are posted one after the other, each waiting for its commit, as Meta
    /// does per number; a task does it so a check can read the events meanwhile.
    inject: mpsc::UnboundedSender<(CloudSocket, Value)>,
    next_wamid: u32,
}

impl CloudHarness {
    pub async fn new() -> CloudHarness {
        let (tx, mut rx) = mpsc::unbounded_channel::<(CloudSocket, Value)>();
        tokio::spawn(async move {
            while let Some((socket, body)) = rx.recv().await {
                let raw = body.to_string();
                let sig = webhook::sign(fake::APP_SECRET, raw.as_bytes());
                if let Err(e) = socket.receive_webhook(Some(&sig), raw.as_bytes()).await {
                    eprintln!("injected webhook refused: {e}");
                }
            }
        });
        CloudHarness {
            graph: FakeGraph::start().await,
            accounts: 0,
            inject: tx,
            next_wamid: 0,
        }
    }
}

#[async_trait]
impl ContractHarness for CloudHarness {
    type Socket = CloudSocket;

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            inject_inbound: true,
            read_outbox: true,
            server_disconnect: false,
            redelivery: false,
            media: true,
            qr_login: false,
        }
    }

    async fn linked_socket(&mut self) -> CloudSocket {
        self.accounts += 1;
        let n = self.accounts;
        let id = format!("11000000{n:02}");
        self.graph.add_number(&id, &format!("+1 555-011-00{n:02}"));
        let account = AccountId::parse(&format!("acct{n}")).unwrap();
        let socket = CloudSocket::new(self.graph.config_for(account, &id)).unwrap();
        // "Linked" for the Cloud API: the credentials were checked with Meta.
        socket.identify().await.unwrap();
        socket
    }

    fn peer(&self) -> Jid {
        Jid::parse(&format!("{PEER}@s.whatsapp.net")).unwrap()
    }

    async fn inject_text(&mut self, socket: &CloudSocket, text: &str) {
        self.next_wamid += 1;
        let wamid = format!("wamid.PEER{:06}", self.next_wamid);
        let body = fake::webhook(
            &socket.config().phone_number_id,
            &[fake::text(PEER, &wamid, text)],
            &[],
        );
        self.inject.send((socket.clone(), body)).unwrap();
    }

    async fn sent_texts(&mut self, socket: &CloudSocket) -> Vec<(Jid, String)> {
        self.graph
            .sent(&socket.config().phone_number_id)
            .into_iter()
            .filter(|b| b["type"] == "text")
            .map(|b| {
                let to =
                    Jid::parse(&format!("{}@s.whatsapp.net", b["to"].as_str().unwrap())).unwrap();
                (to, b["text"]["body"].as_str().unwrap().to_string())
            })
            .collect()
    }
}

#[tokio::test]
async fn cloud_socket_meets_the_contract() {
    let mut harness = CloudHarness::new().await;
    let report = run_all(&mut harness).await;
    report.assert_passed();
    let skipped: Vec<&str> = report
        .results
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Skipped { .. }))
        .map(|r| r.name)
        .collect();
    assert_eq!(
        skipped,
        [
            "pair_code_refused_when_linked",
            "uncommitted_redelivered_next_connection",
            "server_disconnect_ends_stream",
            "qr_login_cadence"
        ],
        "{report}"
    );
    assert_eq!(report.passed(), 11, "{report}");
}
