//! Messaging checks: sends, inbound delivery, durable acks and media.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use wagw_core::{MediaKind, OutboundMessage, SocketEvent, WaSocket};

use super::ContractHarness;
use super::support::*;

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
