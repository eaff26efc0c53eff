//! Helpers the contract checks share: waiting for events with time-outs, connecting to
//! the live point, reading a connection to its end.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::timeout;
use wagw_core::{
    ChatPresence, CloseReason, Content, InboundAck, InboundMessage, Jid, Lid, MediaKind, MediaRef,
    MessageId, OutboundMessage, Phone, SocketError, SocketEvent, SocketEvents, WaSocket,
};

/// How long a check waits for an expected event.
pub const EVENT_WAIT: Duration = Duration::from_secs(30);
/// How long a check watches for an event that must not come.
pub const QUIET_WINDOW: Duration = Duration::from_secs(2);

pub(crate) type Check = Result<(), String>;

pub(crate) async fn next(rx: &mut SocketEvents, wait: Duration) -> Result<SocketEvent, String> {
    match timeout(wait, rx.recv()).await {
        Ok(Some(e)) => Ok(e),
        Ok(None) => Err("the event stream ended without a Closed event".into()),
        Err(_) => Err(format!("no event within {wait:?}")),
    }
}

/// Connects and reads up to `OfflineSyncCompleted`; the first event must be `Connected`.
pub(crate) async fn connect_live<S: WaSocket>(socket: &S) -> Result<SocketEvents, String> {
    let mut rx = socket
        .connect()
        .await
        .map_err(|e| format!("connect failed: {e}"))?;
    live(&mut rx).await?;
    Ok(rx)
}

pub(crate) async fn live(rx: &mut SocketEvents) -> Check {
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
pub(crate) async fn next_message(
    rx: &mut SocketEvents,
) -> Result<(Box<InboundMessage>, InboundAck), String> {
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
pub(crate) async fn closed_then_end(rx: &mut SocketEvents) -> Result<CloseReason, String> {
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

pub(crate) fn text_of(m: &InboundMessage) -> Option<&str> {
    match &m.content {
        Content::Text { text } => Some(text),
        _ => None,
    }
}

pub(crate) fn expect_not_connected<T: std::fmt::Debug>(
    what: &str,
    r: Result<T, SocketError>,
) -> Check {
    match r {
        Err(SocketError::NotConnected) => Ok(()),
        other => Err(format!(
            "{what} without a connection gave {other:?}, not NotConnected"
        )),
    }
}

pub(crate) async fn all_ops_not_connected<S: WaSocket>(s: &S, peer: &Jid) -> Check {
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

/// Reads the next connection's backlog; returns the messages (acks dropped).
pub(crate) async fn backlog_of<S: WaSocket>(
    s: &S,
) -> Result<(SocketEvents, Vec<InboundMessage>), String> {
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
