//! Chat presence: "typing…", "recording audio…", and stopping them.

use wagw_core::{ChatPresence, Jid, SocketError};
use whatsapp_rust::Client;
use whatsapp_rust::features::ChatStateType;

use crate::ids;

/// The protocol chat state for a wagw presence.
pub fn state_of(p: ChatPresence) -> ChatStateType {
    match p {
        ChatPresence::Composing => ChatStateType::Composing,
        ChatPresence::Recording => ChatStateType::Recording,
        ChatPresence::Paused => ChatStateType::Paused,
    }
}

/// Sends this account's chat state in `chat`.
pub(crate) async fn send_chat_presence(
    client: &Client,
    chat: &Jid,
    presence: ChatPresence,
) -> Result<(), SocketError> {
    let to = ids::to_wa(chat)
        .ok_or_else(|| SocketError::InvalidRequest(format!("{chat} is not a valid chat")))?;
    client
        .chatstate()
        .send(&to, state_of(presence))
        .await
        .map_err(|e| SocketError::Interrupted(format!("chat presence not sent: {e}")))
}
