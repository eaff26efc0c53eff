//! The contract checks. Each is a public async function taking the harness, so a transport
//! can run one alone while debugging; [`run_all`] runs them all.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::{Instant, timeout};
use wagw_core::{
    ChatPresence, CloseReason, Content, InboundAck, InboundMessage, Jid, Lid, MediaKind, MediaRef,
    MessageId, OutboundMessage, Phone, SocketError, SocketEvent, SocketEvents, WaSocket,
};

use super::{Capabilities, CheckResult, ContractHarness, ContractReport, Outcome};

/// How long a check waits for an expected event.
pub const EVENT_WAIT: Duration = Duration::from_secs(30);
/// How long a check watches for an event that must not come.
pub const QUIET_WINDOW: Duration = Duration::from_secs(2);

type Check = Result<(), String>;

async fn next(rx: &mut SocketEvents, wait: Duration) -> Result<SocketEvent, String> {
    match timeout(wait, rx.recv()).await {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err("the event stream ended without a Closed event".into()),
        Err(_) => Err(format!("no event within {wait:?}")),
    }
}

/// Connects and reads up to `OfflineSyncCompleted`; the first event must be `Connected`.
async fn connect_live<S: WaSocket>(socket: &S) -> Result<SocketEvents, String> {
    let mut rx = socket
        .connect()
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    live(&mut rx).await?;
    Ok(rx)
}

async fn live(rx: &mut SocketEvents) -> Check {
    match next(rx, EVENT_WAIT).await? {
        SocketEvent::Connected { .. } => {}
        other => return Err(format!("first event was {}, not connected", other.label())),
    }
    loop {
        match next(rx, EVENT_WAIT).await? {
            SocketEvent::OfflineSyncCompleted { .. } => return Ok(()),
            SocketEvent::Closed(r) => return Err(format!("closed before offline sync: {r}")),
            _ => {}
        }
    }
}

/// The next `Message`, skipping receipts and other notifications.
async fn next_message(rx: &mut SocketEvents) -> Result<(Box<InboundMessage>, InboundAck), String> {
    loop {
        match next(rx, EVENT_WAIT).await? {
            SocketEvent::Message { message, ack } => return Ok((message, ack)),
            SocketEvent::Closed(r) => {
                return Err(format!("closed while waiting for a message: {r}"));
            }
            _ => {}
        }
    }
}

/// Reads to `Closed` and checks the stream then ends.
async fn closed_then_end(rx: &mut SocketEvents) -> Result<CloseReason, String> {
    let reason = loop {
        if let SocketEvent::Closed(r) = next(rx, EVENT_WAIT).await? {
            break r;
        }
    };
    match timeout(EVENT_WAIT, rx.recv()).await {
        Ok(None) => Ok(reason),
        Ok(Some(e)) => Err(format!("event {} after Closed", e.label())),
        Err(_) => Err("the stream did not end after Closed".into()),
    }
}

fn text_of(m: &InboundMessage) -> Option<&str> {
    match &m.content {
        Content::Text { text } => Some(text),
        _ => None,
    }
}

fn expect_not_connected<T: std::fmt::Debug>(what: &str, r: Result<T, SocketError>) -> Check {
    match r {
        Err(SocketError::NotConnected) => Ok(()),
        other => Err(format!(
            "{what} without a connection gave {other:?}, not NotConnected"
        )),
    }
}

async fn all_ops_not_connected<S: WaSocket>(s: &S, peer: &Jid) -> Check {
    let phone = Phone::parse("+15550001111").map_err(|e| e.to_string())?;
    let lid = Lid::parse("123456789012345@lid").map_err(|e| e.to_string())?;
    let group = Jid::parse("120363000000000000@g.us").map_err(|e| e.to_string())?;
    let id = MessageId::new("3EB0CONTRACT");
    expect_not_connected(
        "send",
        s.send(OutboundMessage::text(peer.clone(), "x")).await,
    )?;
    expect_not_connected("mark_read", s.mark_read(peer, None, &[id]).await)?;
    expect_not_connected(
        "send_chat_presence",
        s.send_chat_presence(peer, ChatPresence::Composing).await,
    )?;
    expect_not_connected(
        "upload_media",
        s.upload_media(Bytes::from_static(b"x"), MediaKind::Image)
            .await,
    )?;
    expect_not_connected(
        "download_media",
        s.download_media(&MediaRef::default(), MediaKind::Image)
            .await,
    )?;
    expect_not_connected("group_metadata", s.group_metadata(&group).await)?;
    expect_not_connected("lid_for_phone", s.lid_for_phone(&phone).await)?;
    expect_not_connected("phone_for_lid", s.phone_for_lid(&lid).await)?;
    Ok(())
}

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

/// A pair code cannot be requested for a linked account.
pub async fn pair_code_refused_when_linked<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let phone = h
        .peer()
        .to_phone()
        .ok_or("the harness peer is not a phone JID")?;
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

/// Sends are acked with distinct, non-empty ids and a timestamp.
pub async fn send_acked_with_unique_ids<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    let a = s
        .send(OutboundMessage::text(h.peer(), "contract one"))
        .await
        .map_err(|e| format!("send failed: {e}"))?;
    let b = s
        .send(OutboundMessage::text(h.peer(), "contract two"))
        .await
        .map_err(|e| format!("send failed: {e}"))?;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    if a.id.as_str().is_empty() || a.id == b.id {
        return Err(format!("ids {} and {} are empty or equal", a.id, b.id));
    }
    if a.timestamp_ms <= 0 || b.timestamp_ms < a.timestamp_ms {
        return Err(format!(
            "timestamps {} then {}",
            a.timestamp_ms, b.timestamp_ms
        ));
    }
    Ok(())
}

/// What `send` acked is what the server received, in order, to the chat addressed.
pub async fn send_recorded_by_server<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    for t in ["first chunk", "second chunk"] {
        s.send(OutboundMessage::text(h.peer(), t))
            .await
            .map_err(|e| format!("send failed: {e}"))?;
    }
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let got = h.sent_texts(&s).await;
    let want = vec![
        (h.peer(), "first chunk".to_string()),
        (h.peer(), "second chunk".to_string()),
    ];
    if got == want {
        Ok(())
    } else {
        Err(format!("server saw {got:?}, expected {want:?}"))
    }
}

/// A peer's text arrives as one `Message` with the text, from the peer, not from me.
pub async fn inbound_text_delivered<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    h.inject_text(&s, "contract hello").await;
    let (m, ack) = next_message(&mut rx).await?;
    ack.commit();
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let peer = h.peer();
    if text_of(&m) != Some("contract hello") {
        return Err(format!("content {:?}", m.content));
    }
    if m.from_me || m.offline {
        return Err(format!(
            "from_me={} offline={} on a live message",
            m.from_me, m.offline
        ));
    }
    let from_peer =
        m.chat == peer || (m.sender.phone.is_some() && m.sender.phone == peer.to_phone());
    if !from_peer {
        return Err(format!(
            "chat {} / sender {} is not the peer {peer}",
            m.chat, m.sender
        ));
    }
    Ok(())
}

/// Inbound messages arrive in the order they were sent.
pub async fn inbound_order_preserved<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    for t in ["one", "two", "three"] {
        h.inject_text(&s, t).await;
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let (m, ack) = next_message(&mut rx).await?;
        ack.commit();
        got.push(text_of(&m).unwrap_or_default().to_string());
    }
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    if got == ["one", "two", "three"] {
        Ok(())
    } else {
        Err(format!("order {got:?}"))
    }
}

/// Reads the next connection's backlog; returns the messages (acks dropped).
async fn backlog_of<S: WaSocket>(s: &S) -> Result<(SocketEvents, Vec<InboundMessage>), String> {
    let mut rx = s
        .connect()
        .await
        .map_err(|e| format!("reconnect failed: {e}"))?;
    match next(&mut rx, EVENT_WAIT).await? {
        SocketEvent::Connected { .. } => {}
        other => return Err(format!("first event was {}, not connected", other.label())),
    }
    let mut backlog = Vec::new();
    loop {
        match next(&mut rx, EVENT_WAIT).await? {
            SocketEvent::Message { message, ack } => {
                ack.commit();
                backlog.push(*message);
            }
            SocketEvent::OfflineSyncCompleted { .. } => return Ok((rx, backlog)),
            SocketEvent::Closed(r) => return Err(format!("closed during offline sync: {r}")),
            _ => {}
        }
    }
}

/// A committed message is not delivered again on the next connection.
pub async fn committed_not_redelivered<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    h.inject_text(&s, "commit me").await;
    let (m, ack) = next_message(&mut rx).await?;
    ack.commit();
    // Give the transport a moment to send the ack upstream.
    tokio::time::sleep(Duration::from_millis(200)).await;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let (mut rx, backlog) = backlog_of(&s).await?;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    if backlog.iter().any(|b| b.id == m.id) {
        return Err(format!("committed message {} was redelivered", m.id));
    }
    Ok(())
}

/// A message whose ack was dropped uncommitted is not redelivered on the same connection,
/// but is on the next one (offline, same id); once committed there, never again.
pub async fn uncommitted_redelivered_next_connection<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    h.inject_text(&s, "drop my ack").await;
    let (m, ack) = next_message(&mut rx).await?;
    drop(ack);
    let deadline = Instant::now() + QUIET_WINDOW;
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, rx.recv()).await {
        if let SocketEvent::Message { message, .. } = ev
            && message.id == m.id
        {
            return Err("redelivered on the same connection".into());
        }
    }
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let (mut rx, backlog) = backlog_of(&s).await?;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    let again = backlog
        .iter()
        .find(|b| b.id == m.id)
        .ok_or_else(|| format!("message {} was not redelivered after reconnect", m.id))?;
    if !again.offline || text_of(again) != Some("drop my ack") {
        return Err(format!(
            "redelivery offline={} content={:?}",
            again.offline, again.content
        ));
    }
    let (mut rx, backlog) = backlog_of(&s).await?;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    if backlog.iter().any(|b| b.id == m.id) {
        return Err("redelivered again after being committed in the backlog".into());
    }
    Ok(())
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

/// An uploaded blob downloads back byte for byte.
pub async fn media_roundtrip<H: ContractHarness>(h: &mut H) -> Check {
    let s = h.linked_socket().await;
    let mut rx = connect_live(&s).await?;
    let data = Bytes::from((0..=255u8).cycle().take(4096).collect::<Vec<u8>>());
    let result = async {
        let up = s
            .upload_media(data.clone(), MediaKind::Image)
            .await
            .map_err(|e| format!("upload failed: {e}"))?;
        if up.kind != MediaKind::Image || up.reference.file_length != 4096 {
            return Err(format!("upload described as {:?}", up));
        }
        let back = s
            .download_media(&up.reference, MediaKind::Image)
            .await
            .map_err(|e| format!("download failed: {e}"))?;
        if back == data {
            Ok(())
        } else {
            Err(format!(
                "downloaded {} bytes differ from the upload",
                back.len()
            ))
        }
    }
    .await;
    s.disconnect().await;
    closed_then_end(&mut rx).await?;
    result
}

/// An unlinked account shows a QR code valid 60 s, then codes valid 20 s each on that
/// cadence, then `QrCodesExhausted` and `Closed(LinkingFailed)`. Sends fail meanwhile.
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
    match ttls.split_first() {
        Some((first, rest))
            if *first == Duration::from_secs(60)
                && !rest.is_empty()
                && rest.iter().all(|t| *t == Duration::from_secs(20)) => {}
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

async fn run_one<H, F>(
    report: &mut ContractReport,
    h: &mut H,
    name: &'static str,
    needs: Capabilities,
    f: F,
) where
    H: ContractHarness,
    F: AsyncFnOnce(&mut H) -> Check,
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
    run_one(
        &mut r,
        h,
        "pair_code_refused_when_linked",
        none,
        pair_code_refused_when_linked,
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
