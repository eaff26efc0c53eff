//! Poll votes: WhatsApp encrypts each vote with the poll's secret and carries only SHA-256
//! hashes of the chosen option names. For polls this account sent, the socket keeps the
//! options and the secret (in the protocol store), so a vote arrives with option names.

use serde::{Deserialize, Serialize};
use tracing::debug;
use wagw_core::{Content, InboundMessage};
use whatsapp_rust::Client;
use whatsapp_rust::wacore::poll::{PollVoteCiphertext, compute_option_hash};
use whatsapp_rust::wacore::types::message::MessageInfo;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::inbound::unwrap_message;
use crate::store::AccountStore;
use crate::store::keys::composite;

/// A poll this account sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SentPoll {
    /// Option names in order.
    pub options: Vec<String>,
    /// The poll's message secret (decrypts votes).
    pub secret: Vec<u8>,
    /// The JID the poll was sent as (the creator, for the vote key derivation).
    pub creator: String,
}

fn poll_key(chat: &str, id: &str) -> Vec<u8> {
    composite(&[chat.as_bytes(), id.as_bytes()])
}

/// Remembers a sent poll (flushed: a vote can come after a restart).
pub(crate) async fn remember(store: &AccountStore, chat: &str, id: &str, poll: &SentPoll) {
    let Ok(value) = serde_json::to_vec(poll) else {
        return;
    };
    if store.t.polls.insert(poll_key(chat, id), value).is_ok() {
        let _ = store.flush().await;
    }
}

fn lookup(store: &AccountStore, chat: &str, id: &str) -> Option<SentPoll> {
    let v = store.t.polls.get(poll_key(chat, id)).ok()??;
    serde_json::from_slice(&v).ok()
}

/// Names each hash: the matching option name, else the hash as hex.
pub(crate) fn name_selected(options: &[String], hashes: &[Vec<u8>]) -> Vec<String> {
    hashes
        .iter()
        .map(|h| {
            options
                .iter()
                .find(|o| compute_option_hash(o).as_slice() == h.as_slice())
                .cloned()
                .unwrap_or_else(|| h.iter().map(|b| format!("{b:02x}")).collect())
        })
        .collect()
}

/// Fills `selected` of a poll vote on a poll this account sent.
pub(crate) async fn resolve_vote(
    client: &Client,
    store: &AccountStore,
    raw: &wa::Message,
    info: &MessageInfo,
    out: &mut InboundMessage,
) {
    let Content::PollVote { poll, selected } = &mut out.content else {
        return;
    };
    let base = unwrap_message(raw);
    let Some(update) = base.poll_update_message.as_option() else {
        return;
    };
    let Some(vote) = update.vote.as_option() else {
        return;
    };
    let (Some(payload), Some(iv)) = (vote.enc_payload.as_deref(), vote.enc_iv.as_deref()) else {
        return;
    };
    let chat_candidates = [poll.chat.without_device().to_string(), out.chat.to_string()];
    let Some(sent) = chat_candidates
        .iter()
        .find_map(|c| lookup(store, c, poll.id.as_str()))
    else {
        return;
    };
    let Ok(creator) = sent.creator.parse::<whatsapp_rust::Jid>() else {
        return;
    };
    match client
        .polls()
        .decrypt_vote(
            PollVoteCiphertext {
                enc_payload: payload,
                enc_iv: iv,
            },
            &sent.secret,
            poll.id.as_str(),
            &creator,
            &info.source.sender,
        )
        .await
    {
        Ok(hashes) => *selected = name_selected(&sent.options, &hashes),
        Err(e) => debug!(target: "wagw::inbound", error = %e, "poll vote did not decrypt"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_resolve_to_names_or_hex() {
        let options = vec!["Yes".to_string(), "No".to_string()];
        let hashes = vec![compute_option_hash("No").to_vec(), vec![0xab, 0x01]];
        assert_eq!(name_selected(&options, &hashes), vec!["No", "ab01"]);
    }
}
