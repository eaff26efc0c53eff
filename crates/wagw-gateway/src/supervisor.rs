//! The per-account supervisor: connects, reads the connection's events in order, and decides
//! after each close whether and when to connect again.
//!
//! Transports never reconnect on their own (the `WaSocket` contract); this task owns that.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use wagw_core::{CloseReason, SocketEvent, SocketEvents};

use crate::account::Account;
use crate::store::GatewayEvent;

/// Where an account's runtime is in its life: the supervisor reads while `Run`, stops
/// reading at `Drain` (in-flight turns finish, the socket stays up for their replies), and
/// disconnects and exits at `Close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Run,
    Drain,
    Close,
}

/// What to do after a connection closed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Next {
    /// Connect again after this delay.
    Retry(Duration),
    /// Stop; the message tells the operator what to do.
    Stop(String),
}

/// Decides what follows a close.
///
/// Interim policy until `wagw-reconnect`'s supervisor state machine lands on main: stop on
/// the reasons that need the operator, otherwise retry after `web.reconnect.initialMs`.
pub(crate) fn next_after_close(account: &Account, reason: &CloseReason) -> Next {
    let id = account.id();
    match reason {
        CloseReason::LoggedOut { .. } => Next::Stop(format!(
            "WhatsApp session logged out. Relink with: wagw channels login --account {id}"
        )),
        CloseReason::SessionConflict { .. } => Next::Stop(
            "another client holds this WhatsApp session; stop it, then restart the gateway"
                .to_owned(),
        ),
        CloseReason::ClientOutdated => {
            Next::Stop("this wagw is too old for WhatsApp; update it".to_owned())
        }
        CloseReason::Requested => Next::Stop("closed on request".to_owned()),
        _ => Next::Retry(Duration::from_millis(2_000)),
    }
}

/// Runs one account until its phase reaches `Close` or the reconnect policy stops it.
pub(crate) async fn run(account: Arc<Account>, mut phase: watch::Receiver<Phase>) {
    let id = account.id().clone();
    loop {
        if *phase.borrow() != Phase::Run {
            break;
        }
        account.set_state("connecting", None);
        let reason = match account.socket().connect().await {
            Ok(events) => read_connection(&account, events, &mut phase).await,
            Err(e) => Some(CloseReason::ConnectFailed {
                detail: e.to_string(),
            }),
        };
        account.connection_closed();
        let Some(reason) = reason else {
            return; // Shutting down; the reader already disconnected.
        };
        tracing::info!(target: "wagw::reconnect", account = %id, reason = %reason,
            code = ?reason.code(), "connection closed");
        match next_after_close(&account, &reason) {
            Next::Retry(delay) => {
                account.metrics().reconnect(reason.label());
                account.set_state(
                    "backoff",
                    Some(format!("{reason}; retrying in {} ms", delay.as_millis())),
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = phase.wait_for(|p| *p != Phase::Run) => break,
                }
            }
            Next::Stop(message) => {
                tracing::warn!(target: "wagw::reconnect", account = %id, "{message}");
                account.set_state("stopped", Some(message));
                break;
            }
        }
    }
    let _ = phase.wait_for(|p| *p == Phase::Close).await;
    account.socket().disconnect().await;
}

/// Reads one connection's events until `Closed` (returns its reason) or until the phase
/// leaves `Run` (returns `None` after waiting for `Close` and disconnecting).
async fn read_connection(
    account: &Arc<Account>,
    mut events: SocketEvents,
    phase: &mut watch::Receiver<Phase>,
) -> Option<CloseReason> {
    loop {
        let event = tokio::select! {
            biased;
            _ = phase.wait_for(|p| *p != Phase::Run) => None,
            event = events.recv() => Some(event),
        };
        match event {
            None => {
                // Stop reading; keep the connection (and `events`) alive until in-flight
                // turns have sent their replies, then disconnect. Messages left unread are
                // not acknowledged, so WhatsApp redelivers them.
                let _ = phase.wait_for(|p| *p == Phase::Close).await;
                account.socket().disconnect().await;
                drop(events);
                return None;
            }
            Some(None) => {
                return Some(CloseReason::Network {
                    detail: "the transport ended its event stream without a close reason"
                        .to_owned(),
                });
            }
            Some(Some(SocketEvent::Closed(reason))) => return Some(reason),
            Some(Some(event)) => handle_event(account, event).await,
        }
    }
}

async fn handle_event(account: &Arc<Account>, event: SocketEvent) {
    let id = account.id().clone();
    match event {
        SocketEvent::Message { message, ack } => account.accept(message, ack).await,
        SocketEvent::Connected { identity } => account.connected(identity),
        SocketEvent::QrCode { code, expires_in } => {
            tracing::info!(target: "wagw::login", account = %id, expires_in_s = expires_in.as_secs(),
                "scan the QR code in WhatsApp → Linked devices");
            account.set_state("linking", None);
            account.record(GatewayEvent::QrCode { account: id, code });
        }
        SocketEvent::QrCodesExhausted => {
            tracing::warn!(target: "wagw::login", account = %id,
                "no more QR codes; restart linking with: wagw channels login --account {id}");
        }
        SocketEvent::PairCode { code, .. } => {
            tracing::info!(target: "wagw::login", account = %id,
                "enter the pair code on the phone: WhatsApp → Linked devices → Link with phone number");
            account.record(GatewayEvent::PairCode { account: id, code });
        }
        SocketEvent::PairCodeError { detail } => {
            tracing::warn!(target: "wagw::login", account = %id, %detail, "pair code request failed");
        }
        SocketEvent::PasskeyRequired { .. } => {
            tracing::info!(target: "wagw::login", account = %id, "WhatsApp asks for a passkey to finish linking");
        }
        SocketEvent::PasskeyError { detail } => {
            tracing::warn!(target: "wagw::login", account = %id, %detail, "passkey step failed");
        }
        SocketEvent::Paired { identity } => {
            tracing::info!(target: "wagw::login", account = %id, phone = %identity.phone, "linked");
            account.record(GatewayEvent::Linked {
                account: id,
                phone: identity.phone.to_string(),
            });
        }
        SocketEvent::OfflineSyncCompleted { count } => {
            tracing::debug!(target: "wagw::inbound", account = %id, count, "offline backlog delivered");
        }
        SocketEvent::Receipt(receipt) => {
            tracing::trace!(target: "wagw::outbound", account = %id, kind = ?receipt.kind,
                ids = receipt.ids.len(), "receipt");
        }
        SocketEvent::Undecryptable {
            chat, id: msg_id, ..
        } => {
            account.metrics().dropped("undecryptable");
            tracing::warn!(target: "wagw::inbound", account = %id, %chat, id = %msg_id,
                "message could not be decrypted");
        }
        SocketEvent::GroupUpdate { group } => account.group_changed(&group),
        SocketEvent::ContactChanged { .. } => {
            tracing::debug!(target: "wagw::inbound", account = %id, "contact identity changed");
        }
        SocketEvent::Closed(_) => {} // Handled by the reader.
    }
}
