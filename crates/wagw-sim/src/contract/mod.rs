//! The `WaSocket` contract suite: the semantics every transport must share, written once and
//! run against each implementation through a small [`ContractHarness`].
//!
//! The simulator runs it with [`SimHarness`]; the real transport runs it against its fake
//! WhatsApp server. A harness declares its [`Capabilities`]; a check whose needs are not met
//! is reported as skipped, not failed.
//!
//! | check | needs |
//! |---|---|
//! | `ops_fail_before_connect` | — |
//! | `connect_emits_connected_then_sync` | — |
//! | `disconnect_closes_with_requested` | — |
//! | `connect_again_closes_previous_stream` | — |
//! | `pair_code_refused_when_linked` | `qr_login` (the transport links as a device) |
//! | `ping_follows_connection` | — |
//! | `send_acked_with_unique_ids` | — |
//! | `send_recorded_by_server` | `read_outbox` |
//! | `inbound_text_delivered` | `inject_inbound` |
//! | `inbound_order_preserved` | `inject_inbound` |
//! | `committed_not_redelivered` | `inject_inbound` |
//! | `uncommitted_redelivered_next_connection` | `inject_inbound`, `redelivery` |
//! | `server_disconnect_ends_stream` | `server_disconnect` |
//! | `media_roundtrip` | `media` |
//! | `qr_login_cadence` | `qr_login` (and paused tokio time, or patience: 160 s) |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
//! let mut harness = wagw_sim::contract::SimHarness::new();
//! let report = wagw_sim::contract::run_all(&mut harness).await;
//! report.assert_passed();
//! # }
//! ```

mod lifecycle;
mod messaging;
mod sim;
mod support;

use std::fmt;

use async_trait::async_trait;
use wagw_core::{Jid, WaSocket};

pub use lifecycle::{
    connect_again_closes_previous_stream, connect_emits_connected_then_sync,
    disconnect_closes_with_requested, ops_fail_before_connect, pair_code_refused_when_linked,
    ping_follows_connection, qr_login_cadence, server_disconnect_ends_stream,
};
pub use messaging::{
    committed_not_redelivered, inbound_order_preserved, inbound_text_delivered, media_roundtrip,
    send_acked_with_unique_ids, send_recorded_by_server, uncommitted_redelivered_next_connection,
};
pub use sim::SimHarness;
pub use support::{EVENT_WAIT, QUIET_WINDOW};

/// What a harness can do beyond creating linked sockets. Each field gates some checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// [`ContractHarness::inject_text`] works: the peer can message the account.
    pub inject_inbound: bool,
    /// [`ContractHarness::sent_texts`] works: the server's view of what the account sent.
    pub read_outbox: bool,
    /// [`ContractHarness::force_disconnect`] works: the server can drop the connection.
    pub server_disconnect: bool,
    /// The server redelivers messages whose ack was not committed, on the next connection.
    pub redelivery: bool,
    /// `upload_media` then `download_media` of the same blob works.
    pub media: bool,
    /// The transport links as a device: [`ContractHarness::unlinked_socket`] works, the
    /// server shows QR codes on WhatsApp's cadence (60 s, then 20 s each, then exhaustion)
    /// and a linked account refuses pair codes.
    pub qr_login: bool,
}

impl Capabilities {
    /// Every capability.
    pub fn all() -> Capabilities {
        Capabilities {
            inject_inbound: true,
            read_outbox: true,
            server_disconnect: true,
            redelivery: true,
            media: true,
            qr_login: true,
        }
    }

    /// The names of the capabilities in `needed` that `self` lacks.
    pub fn missing(&self, needed: &Capabilities) -> Vec<&'static str> {
        let pairs = [
            (needed.inject_inbound, self.inject_inbound, "inject_inbound"),
            (needed.read_outbox, self.read_outbox, "read_outbox"),
            (
                needed.server_disconnect,
                self.server_disconnect,
                "server_disconnect",
            ),
            (needed.redelivery, self.redelivery, "redelivery"),
            (needed.media, self.media, "media"),
            (needed.qr_login, self.qr_login, "qr_login"),
        ];
        pairs
            .into_iter()
            .filter(|(need, have, _)| *need && !*have)
            .map(|(_, _, name)| name)
            .collect()
    }
}

/// What the suite needs from a transport's test environment.
///
/// Only [`linked_socket`](ContractHarness::linked_socket) and
/// [`peer`](ContractHarness::peer) are required; the rest default to "unsupported" and the
/// checks needing them are skipped unless [`capabilities`](ContractHarness::capabilities)
/// says otherwise.
#[async_trait]
pub trait ContractHarness: Send {
    /// The transport under test.
    type Socket: WaSocket;

    /// What this harness supports.
    fn capabilities(&self) -> Capabilities;

    /// A new account, already linked, not connected. Each call gives a distinct account.
    async fn linked_socket(&mut self) -> Self::Socket;

    /// A chat the accounts may message and receive messages from: a contact's phone JID,
    /// or a channel (newsletter) JID when the harness's server speaks no end-to-end
    /// encryption.
    fn peer(&self) -> Jid;

    /// Makes [`peer`](ContractHarness::peer) send `text` to the socket's account. Needs
    /// `inject_inbound`.
    async fn inject_text(&mut self, socket: &Self::Socket, text: &str) {
        let _ = (socket, text);
        panic!("inject_text is not supported by this harness (capability inject_inbound)");
    }

    /// The (chat, text) pairs the server received from the socket's account, in order.
    /// Needs `read_outbox`.
    async fn sent_texts(&mut self, socket: &Self::Socket) -> Vec<(Jid, String)> {
        let _ = socket;
        panic!("sent_texts is not supported by this harness (capability read_outbox)");
    }

    /// The server drops the socket's connection (a network failure, not a logout). Needs
    /// `server_disconnect`.
    async fn force_disconnect(&mut self, socket: &Self::Socket) {
        let _ = socket;
        panic!("force_disconnect is not supported by this harness (capability server_disconnect)");
    }

    /// A new account that is not linked. Needs `qr_login`.
    async fn unlinked_socket(&mut self) -> Self::Socket {
        panic!("unlinked_socket is not supported by this harness (capability qr_login)");
    }
}

/// How one check ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The transport behaved as the contract says.
    Passed,
    /// The harness lacks capabilities the check needs.
    Skipped {
        /// The missing capabilities.
        missing: Vec<&'static str>,
    },
    /// The transport broke the contract; the text says how.
    Failed(String),
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// The check's name (the name of its function in this module).
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// The results of [`run_all`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContractReport {
    /// One entry per check, in run order.
    pub results: Vec<CheckResult>,
}

impl ContractReport {
    /// The failed checks.
    pub fn failures(&self) -> Vec<&CheckResult> {
        self.results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
            .collect()
    }

    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome == Outcome::Passed)
            .count()
    }

    /// Panics with the whole report when a check failed (skips are fine).
    pub fn assert_passed(&self) {
        if !self.failures().is_empty() {
            panic!("WaSocket contract broken:\n{self}");
        }
    }
}

impl fmt::Display for ContractReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            match &r.outcome {
                Outcome::Passed => writeln!(f, "  pass  {}", r.name)?,
                Outcome::Skipped { missing } => {
                    writeln!(f, "  skip  {} (needs {})", r.name, missing.join(", "))?
                }
                Outcome::Failed(why) => writeln!(f, "  FAIL  {}: {why}", r.name)?,
            }
        }
        Ok(())
    }
}

async fn run_one<H, F>(
    report: &mut ContractReport,
    h: &mut H,
    name: &'static str,
    needs: Capabilities,
    f: F,
) where
    H: ContractHarness,
    F: AsyncFnOnce(&mut H) -> support::Check,
{
    let missing = h.capabilities().missing(&needs);
    let outcome = if !missing.is_empty() {
        Outcome::Skipped { missing }
    } else {
        match f(h).await {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        }
    };
    tracing::debug!(target: "wagw::contract", check = name, outcome = ?outcome, "contract check");
    report.results.push(CheckResult { name, outcome });
}

/// Runs every check against the harness, in a fixed order.
pub async fn run_all<H: ContractHarness>(h: &mut H) -> ContractReport {
    let none = Capabilities::default();
    let inject = Capabilities {
        inject_inbound: true,
        ..none
    };
    let mut r = ContractReport::default();
    run_one(
        &mut r,
        h,
        "ops_fail_before_connect",
        none,
        ops_fail_before_connect,
    )
    .await;
    run_one(
        &mut r,
        h,
        "connect_emits_connected_then_sync",
        none,
        connect_emits_connected_then_sync,
    )
    .await;
    run_one(
        &mut r,
        h,
        "disconnect_closes_with_requested",
        none,
        disconnect_closes_with_requested,
    )
    .await;
    run_one(
        &mut r,
        h,
        "connect_again_closes_previous_stream",
        none,
        connect_again_closes_previous_stream,
    )
    .await;
    // Pair codes, like QR codes, exist only where an account links as a device.
    let linking = Capabilities {
        qr_login: true,
        ..none
    };
    run_one(
        &mut r,
        h,
        "pair_code_refused_when_linked",
        linking,
        pair_code_refused_when_linked,
    )
    .await;
    run_one(
        &mut r,
        h,
        "ping_follows_connection",
        none,
        ping_follows_connection,
    )
    .await;
    run_one(
        &mut r,
        h,
        "send_acked_with_unique_ids",
        none,
        send_acked_with_unique_ids,
    )
    .await;
    let outbox = Capabilities {
        read_outbox: true,
        ..none
    };
    run_one(
        &mut r,
        h,
        "send_recorded_by_server",
        outbox,
        send_recorded_by_server,
    )
    .await;
    run_one(
        &mut r,
        h,
        "inbound_text_delivered",
        inject,
        inbound_text_delivered,
    )
    .await;
    run_one(
        &mut r,
        h,
        "inbound_order_preserved",
        inject,
        inbound_order_preserved,
    )
    .await;
    run_one(
        &mut r,
        h,
        "committed_not_redelivered",
        inject,
        committed_not_redelivered,
    )
    .await;
    let redelivery = Capabilities {
        redelivery: true,
        ..inject
    };
    run_one(
        &mut r,
        h,
        "uncommitted_redelivered_next_connection",
        redelivery,
        uncommitted_redelivered_next_connection,
    )
    .await;
    let drop = Capabilities {
        server_disconnect: true,
        ..none
    };
    run_one(
        &mut r,
        h,
        "server_disconnect_ends_stream",
        drop,
        server_disconnect_ends_stream,
    )
    .await;
    let media = Capabilities {
        media: true,
        ..none
    };
    run_one(&mut r, h, "media_roundtrip", media, media_roundtrip).await;
    let qr = Capabilities {
        qr_login: true,
        ..none
    };
    run_one(&mut r, h, "qr_login_cadence", qr, qr_login_cadence).await;
    r
}
