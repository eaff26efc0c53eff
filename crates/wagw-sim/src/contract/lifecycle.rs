//! Connection lifecycle checks: what happens before, at and after a connection, and QR
//! linking.

use std::time::Duration;

use tokio::time::Instant;
use wagw_core::{CloseReason, OutboundMessage, SocketError, SocketEvent, WaSocket};

use super::ContractHarness;
use super::support::*;

/// Every operation but `connect` fails with `NotConnected` before the first connection.
pub async fn ops_fail_before_connect<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    all_ops_not_connected(&s, &h.peer()).await
}

/// A linked account's connection starts with `Connected` (the socket's own identity), then
/// `OfflineSyncCompleted` ends the backlog.
pub async fn connect_emits_connected_then_sync<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = s
        .connect()
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    match next(&mut rx, EVENT_WAIT).await? {
        SocketEvent::Connected { identity } => {
            if s.own_identity().as_ref() != Some(&identity) {
                return Err(format!(
                    "Connected identity {identity:?} differs from own_identity {:?}",
                    s.own_identity()
                ));
            }
        }
        other => return Err(format!("first event was {}, not connected", other.label())),
    }
    loop {
        match next(&mut rx, EVENT_WAIT).await? {
            SocketEvent::OfflineSyncCompleted { .. } => break,
            SocketEvent::Closed(r) => return Err(format!("closed before offline sync: {r}")),
            _ => {}
        }
    }
    s.disconnect().await;
    closed_then_end(&mut rx).await.map(drop)
}

/// `disconnect` ends the stream with exactly one `Closed(Requested)`, and operations fail
/// with `NotConnected` afterwards.
pub async fn disconnect_closes_with_requested<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    s.disconnect().await;
    match closed_then_end(&mut rx).await? {
        CloseReason::Requested => {}
        other => return Err(format!("disconnect closed with {other:?}, not Requested")),
    }
    all_ops_not_connected(&s, &h.peer()).await
}

/// Connecting while connected closes the first connection's stream (one `Closed`, then its
/// end) and the new stream starts with `Connected`.
pub async fn connect_again_closes_previous_stream<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut first = connect_live(&s).await?;
    let mut second = s
        .connect()
        .await
        .map_err(|e| format!("second connect failed: {e}"))?;
    closed_then_end(&mut first).await?;
    live(&mut second).await?;
    s.disconnect().await;
    closed_then_end(&mut second).await.map(drop)
}

/// A pair code cannot be requested for a linked account (asked for its own number).
pub async fn pair_code_refused_when_linked<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    // The account's own number: the peer may be a channel, not a phone.
    let phone = s
        .own_identity()
        .ok_or("a linked socket reports no identity")?
        .phone;
    let mut rx = connect_live(&s).await?;
    let r = s.request_pair_code(&phone).await;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    match r {
        Err(SocketError::AlreadyLinked) => Ok(()),
        other => Err(format!(
            "request_pair_code on a linked account gave {other:?}"
        )),
    }
}

/// A server-side drop ends the stream with one non-`Requested` `Closed`; operations then
/// fail with `NotConnected`; nothing reconnects on its own; `connect` works again.
pub async fn server_disconnect_ends_stream<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    h.force_disconnect(&s).await;
    let reason = closed_then_end(&mut rx).await?;
    if reason == CloseReason::Requested {
        return Err("a server drop was reported as Requested".into());
    }
    all_ops_not_connected(&s, &h.peer()).await?;
    let mut rx = connect_live(&s).await?;
    s.disconnect().await;
    closed_then_end(&mut rx).await.map(drop)
}

/// An unlinked account shows a QR code valid 60 s, then codes valid 20 s each on that
/// cadence (each validity may be up to 1 s short: the time left when shown), then
/// `QrCodesExhausted` and `Closed(LinkingFailed)`. Sends fail meanwhile.
pub async fn qr_login_cadence<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.unlinked_socket().await;
    if s.own_identity().is_some() {
        return Err("an unlinked socket reports an identity".into());
    }
    let mut rx = s
        .connect()
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    let mut last = Instant::now();
    let mut ttls = Vec::new();
    loop {
        let wait = ttls.last().copied().unwrap_or(Duration::ZERO) + EVENT_WAIT;
        match next(&mut rx, wait).await? {
            SocketEvent::QrCode { code, expires_in } => {
                if code.is_empty() {
                    return Err("empty QR code".into());
                }
                if let Some(prev) = ttls.last() {
                    let gap = last.elapsed();
                    if gap + Duration::from_secs(1) < *prev {
                        return Err(format!("QR rotated after {gap:?}, before its {prev:?}"));
                    }
                } else if s
                    .send(OutboundMessage::text(h.peer(), "too early"))
                    .await
                    .is_ok()
                {
                    return Err("send succeeded while linking".into());
                }
                last = Instant::now();
                ttls.push(expires_in);
            }
            SocketEvent::QrCodesExhausted => break,
            other => {
                return Err(format!(
                    "unexpected {} while showing QR codes",
                    other.label()
                ));
            }
        }
    }
    // A real client reports the validity left when it shows the code, a little under the
    // nominal 60 s / 20 s.
    let about = |t: &Duration, secs: u64| {
        let nominal = Duration::from_secs(secs);
        *t <= nominal && *t + Duration::from_secs(1) > nominal
    };
    match ttls.split_first() {
        Some((first, rest))
            if about(first, 60) && !rest.is_empty() && rest.iter().all(|t| about(t, 20)) => {}
        _ => {
            return Err(format!(
                "QR validity cadence {ttls:?}, expected 60 s then 20 s each"
            ));
        }
    }
    match closed_then_end(&mut rx).await? {
        CloseReason::LinkingFailed { .. } => Ok(()),
        other => Err(format!(
            "QR exhaustion closed with {other:?}, not LinkingFailed"
        )),
    }
}

/// `ping` fails with `NotConnected` without a connection and succeeds on a live one
/// (transports that cannot ping answer `Unsupported` both times).
pub async fn ping_follows_connection<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let before = s.ping().await;
    let mut rx = connect_live(&s).await?;
    let during = s.ping().await;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let after = s.ping().await;
    match (&before, &during, &after) {
        (Err(SocketError::NotConnected), Ok(()), Err(SocketError::NotConnected)) => Ok(()),
        (Err(SocketError::Unsupported(_)), Err(SocketError::Unsupported(_)), _) => Ok(()),
        _ => Err(format!(
            "ping before/during/after a connection gave {before:?} / {during:?} / {after:?}"
        )),
    }
}
