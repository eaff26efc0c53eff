//! The contract harness for the simulator itself.

use async_trait::async_trait;
use wagw_core::{Jid, OutboundContent};

use super::{Capabilities, ContractHarness};
use crate::network::SimNetwork;
use crate::phone::SimPhone;
use crate::socket::SimSocket;

/// Runs the contract against a fresh [`SimNetwork`]: every capability is supported.
#[derive(Debug, Clone)]
pub struct SimHarness {
    net: SimNetwork,
    peer: SimPhone,
    accounts: u32,
}

impl SimHarness {
    /// A harness over a new network (default seed) with one peer, `+15550001111`.
    pub fn new() -> SimHarness {
        SimHarness::over(SimNetwork::new())
    }

    /// A harness over an existing network.
    pub fn over(net: SimNetwork) -> SimHarness {
        let peer = net.phone("+15550001111").named("Contract Peer");
        SimHarness {
            net,
            peer,
            accounts: 0,
        }
    }

    /// The network under test.
    pub fn network(&self) -> &SimNetwork {
        &self.net
    }
}

impl Default for SimHarness {
    fn default() -> Self {
        SimHarness::new()
    }
}

#[async_trait]
impl ContractHarness for SimHarness {
    type Socket = SimSocket;

    fn capabilities(&self) -> Capabilities {
        Capabilities::all()
    }

    async fn linked_socket(&mut self) -> SimSocket {
        self.accounts += 1;
        let n = self.accounts;
        self.net
            .linked_account(&format!("contract-{n}"), &format!("+1555010{n:04}"))
    }

    fn peer(&self) -> Jid {
        self.peer.jid()
    }

    async fn inject_text(&mut self, socket: &SimSocket, text: &str) {
        self.peer.send_text(socket, text).await;
    }

    async fn sent_texts(&mut self, socket: &SimSocket) -> Vec<(Jid, String)> {
        self.net
            .sent_by(socket)
            .into_iter()
            .filter_map(|e| match e.message.content {
                OutboundContent::Text { text } => Some((e.chat, text)),
                _ => None,
            })
            .collect()
    }

    async fn force_disconnect(&mut self, socket: &SimSocket) {
        self.net.disconnect(socket);
    }

    async fn unlinked_socket(&mut self) -> SimSocket {
        self.accounts += 1;
        self.net
            .unlinked_account(&format!("contract-{}", self.accounts))
    }
}
