//! Receipts: delivery/read/played receipts WhatsApp reports for this account's messages,
//! and marking inbound messages read (blue ticks).

use wagw_core::{Jid, MessageId, Receipt, ReceiptKind, SocketError};
use whatsapp_rust::Client;
use whatsapp_rust::wacore::types::events::Receipt as WaReceipt;
use whatsapp_rust::wacore::types::presence::ReceiptType;

use crate::ids;

/// The receipt kind wagw models for a protocol receipt type.
pub fn kind_of(t: &ReceiptType) -> ReceiptKind {
    match t {
        ReceiptType::Delivered => ReceiptKind::Delivered,
        ReceiptType::Read => ReceiptKind::Read,
        ReceiptType::Played | ReceiptType::PlayedSelf => ReceiptKind::Played,
        ReceiptType::ReadSelf => ReceiptKind::ReadSelf,
        ReceiptType::Retry | ReceiptType::EncRekeyRetry => ReceiptKind::Retry,
        _ => ReceiptKind::Other,
    }
}

/// Converts a protocol receipt (None when its chat is not a JID wagw models).
pub fn convert(r: &WaReceipt) -> Option<Receipt> {
    Some(Receipt {
        chat: ids::from_wa(&r.source.chat)?,
        sender: ids::from_wa(&r.source.sender),
        ids: r
            .message_ids
            .iter()
            .map(|i| MessageId::new(i.clone()))
            .collect(),
        kind: kind_of(&r.r#type),
        timestamp_ms: r.timestamp.timestamp_millis(),
        error: None,
    })
}

/// Sends read receipts for `ids` in `chat` (`sender` is the participant in groups).
pub(crate) async fn mark_read(
    client: &Client,
    chat: &Jid,
    sender: Option<&Jid>,
    ids_: &[MessageId],
) -> Result<(), SocketError> {
    let chat_wa = ids::to_wa(chat)
        .ok_or_else(|| SocketError::InvalidRequest(format!("{chat} is not a valid chat")))?;
    let sender_wa = match sender {
        Some(s) => Some(
            ids::to_wa(s)
                .ok_or_else(|| SocketError::InvalidRequest(format!("{s} is not a valid sender")))?,
        ),
        None => None,
    };
    let refs: Vec<&str> = ids_.iter().map(MessageId::as_str).collect();
    client
        .mark_as_read(&chat_wa, sender_wa.as_ref(), &refs)
        .await
        .map_err(|e| SocketError::Interrupted(format!("read receipt not sent: {e}")))
}
