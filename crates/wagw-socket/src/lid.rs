//! LID ↔ phone knowledge: WhatsApp's privacy identities (LIDs) and phone numbers, from the
//! library's mapping store (learned from message envelopes, usync and group metadata).

use tracing::debug;
use wagw_core::{InboundMessage, Jid, Lid, Phone, SocketError};
use whatsapp_rust::Client;

use crate::ids;

/// The LID mapped to a phone number, if the library knows it.
pub(crate) async fn lid_for_phone(
    client: &Client,
    phone: &Phone,
) -> Result<Option<Lid>, SocketError> {
    let jid = whatsapp_rust::Jid::pn(phone.digits());
    let entry = client
        .get_lid_pn_entry(&jid)
        .await
        .map_err(|e| SocketError::Other(format!("LID lookup failed: {e}")))?;
    Ok(entry.and_then(|e| Lid::parse(&e.lid).ok()))
}

/// The phone number mapped to a LID, if the library knows it.
pub(crate) async fn phone_for_lid(
    client: &Client,
    lid: &Lid,
) -> Result<Option<Phone>, SocketError> {
    let jid = whatsapp_rust::Jid::lid(lid.digits());
    let entry = client
        .get_lid_pn_entry(&jid)
        .await
        .map_err(|e| SocketError::Other(format!("phone lookup failed: {e}")))?;
    Ok(entry.and_then(|e| Phone::parse(&e.phone_number).ok()))
}

/// Fills the side of the sender the envelope did not carry (phone or LID) from the mapping.
pub(crate) async fn complete_sender(client: &Client, msg: &mut InboundMessage) {
    match (&msg.sender.phone, &msg.sender.lid) {
        (Some(phone), None) => {
            if let Ok(Some(lid)) = lid_for_phone(client, phone).await {
                msg.sender.lid = Some(lid);
            }
        }
        (None, Some(lid)) => {
            if let Ok(Some(phone)) = phone_for_lid(client, lid).await {
                msg.sender.phone = Some(phone);
            }
        }
        _ => {}
    }
}

/// The JID to send to: a phone chat whose contact WhatsApp migrated to a LID is addressed by
/// that LID (sending to the phone JID would open a second, "ghost" chat on the phone).
pub(crate) async fn resolve_destination(
    client: &Client,
    chat: &Jid,
) -> Result<whatsapp_rust::Jid, SocketError> {
    let wa = ids::to_wa(chat).ok_or_else(|| {
        SocketError::InvalidRequest(format!("{chat} is not a JID WhatsApp accepts"))
    })?;
    if let Some(phone) = chat.to_phone()
        && chat.device().is_none()
        && client.is_lid_migrated().await
        && let Some(lid) = lid_for_phone(client, &phone).await?
    {
        debug!(target: "wagw::outbound", "sending to the contact's LID (migrated)");
        return ids::to_wa(&lid.to_jid())
            .ok_or_else(|| SocketError::InvalidRequest(format!("{lid} is not a valid LID")));
    }
    Ok(wa)
}
