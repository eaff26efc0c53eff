//! [`SimPhone`]: a person's phone in the network, and the scripting API that makes it talk
//! (`alice.send_text(&account, "hi").await`).

use wagw_core::{
    Content, Jid, Lid, MessageId, MessageKey, Phone, Receipt, ReceiptKind, Sender, SocketEvent,
};

use crate::error::SimError;
use crate::group::SimGroup;
use crate::inject::SimMedia;
use crate::message::{SimMessageBuilder, To};
use crate::network::{AsAccountId, SimNetwork};
use crate::outbox::SimOutboxEntry;
use crate::state::Target;

/// One phone in the network: a contact, or the phone an account is linked to.
#[derive(Debug, Clone)]
pub struct SimPhone {
    net: SimNetwork,
    idx: usize,
}

impl PartialEq for SimPhone {
    fn eq(&self, other: &Self) -> bool {
        self.idx == other.idx
    }
}

impl SimPhone {
    pub(crate) fn new(net: SimNetwork, idx: usize) -> SimPhone {
        SimPhone { net, idx }
    }

    pub(crate) fn index(&self) -> usize {
        self.idx
    }

    fn with<R>(&self, f: impl FnOnce(&crate::state::PeerState) -> R) -> Option<R> {
        self.net.lock().peers.get(self.idx).map(f)
    }

    /// Sets the push name and returns the phone.
    pub fn named(self, name: &str) -> SimPhone {
        if let Some(p) = self.net.lock().peers.get_mut(self.idx) {
            p.name = Some(name.to_string());
        }
        self
    }

    /// DMs from this phone arrive addressed by LID (chat `…@lid`), with the phone number
    /// still disclosed as the sender's alternate identity.
    pub fn dm_via_lid(self) -> SimPhone {
        if let Some(p) = self.net.lock().peers.get_mut(self.idx) {
            p.dm_via_lid = true;
        }
        self
    }

    /// The phone number (None for LID-only contacts).
    pub fn phone(&self) -> Option<Phone> {
        self.with(|p| p.phone.clone()).flatten()
    }

    /// The LID.
    pub fn lid(&self) -> Lid {
        match self.with(|p| p.lid.clone()) {
            Some(l) => l,
            None => unreachable!("phones are never removed from a network"),
        }
    }

    /// The push name.
    pub fn name(&self) -> Option<String> {
        self.with(|p| p.name.clone()).flatten()
    }

    /// The JID a DM with this phone uses (phone JID, or LID JID for LID-only contacts and
    /// [`dm_via_lid`](SimPhone::dm_via_lid) phones): what the gateway replies to.
    pub fn jid(&self) -> Jid {
        self.with(|p| p.dm_jid())
            .unwrap_or_else(|| self.lid().to_jid())
    }

    /// The sender identity accounts see for this phone.
    pub fn sender(&self) -> Sender {
        self.with(|p| p.sender())
            .unwrap_or_else(|| Sender::lid(self.lid()))
    }

    // ----- building messages ---------------------------------------------------------------

    /// Starts a DM to the phone an account is linked to.
    pub fn message_to(&self, account: &(impl AsAccountId + ?Sized)) -> SimMessageBuilder {
        self.builder(To::Account(account.account_id().clone()))
    }

    /// Starts a DM to another phone (accounts linked to either phone see it).
    pub fn message_to_phone(&self, other: &SimPhone) -> SimMessageBuilder {
        self.builder(To::Peer(other.idx))
    }

    /// Starts a message in a group.
    pub fn message_in(&self, group: &SimGroup) -> SimMessageBuilder {
        self.builder(To::Group(group.index()))
    }

    fn builder(&self, to: To) -> SimMessageBuilder {
        SimMessageBuilder::new(self.net.clone(), self.idx, to)
    }

    /// Sends a text DM to the account. Returns the message's key as the account sees it.
    ///
    /// # Panics
    /// When the account does not exist or is not linked (a bug in the test).
    pub async fn send_text(&self, account: &(impl AsAccountId + ?Sized), text: &str) -> MessageKey {
        self.message_to(account).text(text).send().await
    }

    /// Replies to `quoted` (a key from the account's side) with text.
    pub async fn reply_text(
        &self,
        account: &(impl AsAccountId + ?Sized),
        quoted: &MessageKey,
        text: &str,
    ) -> MessageKey {
        self.message_to(account)
            .text(text)
            .quote(quoted)
            .send()
            .await
    }

    /// Sends media to the account.
    pub async fn send_media(
        &self,
        account: &(impl AsAccountId + ?Sized),
        media: SimMedia,
    ) -> MessageKey {
        self.message_to(account).media(media).send().await
    }

    /// Sends text to a group.
    pub async fn send_group_text(&self, group: &SimGroup, text: &str) -> MessageKey {
        self.message_in(group).text(text).send().await
    }

    /// Sends a text DM to another phone.
    pub async fn send_text_to(&self, other: &SimPhone, text: &str) -> MessageKey {
        self.message_to_phone(other).text(text).send().await
    }

    /// Reacts to a message in the DM with the account (empty emoji removes the reaction).
    pub async fn react(
        &self,
        account: &(impl AsAccountId + ?Sized),
        target: &MessageKey,
        emoji: &str,
    ) -> MessageKey {
        let to = self
            .chat_of(target)
            .unwrap_or(To::Account(account.account_id().clone()));
        self.builder(to)
            .content(Content::Reaction {
                target: target.clone(),
                emoji: emoji.to_string(),
            })
            .send()
            .await
    }

    /// Sends a poll to the account.
    pub async fn send_poll(
        &self,
        account: &(impl AsAccountId + ?Sized),
        name: &str,
        options: &[&str],
        selectable_count: u32,
    ) -> MessageKey {
        self.message_to(account)
            .content(Content::Poll {
                name: name.to_string(),
                options: options.iter().map(|s| s.to_string()).collect(),
                selectable_count,
            })
            .send()
            .await
    }

    /// Votes on a poll (option names must be the poll's).
    pub async fn vote(
        &self,
        account: &(impl AsAccountId + ?Sized),
        poll: &MessageKey,
        selected: &[&str],
    ) -> MessageKey {
        let to = self
            .chat_of(poll)
            .unwrap_or(To::Account(account.account_id().clone()));
        self.builder(to)
            .content(Content::PollVote {
                poll: poll.clone(),
                selected: selected.iter().map(|s| s.to_string()).collect(),
            })
            .send()
            .await
    }

    /// Edits a message this phone sent. Accounts receive it as `Content::Unsupported` with
    /// kind `"edit"` (wagw-core has no inbound edit content), and the stored message (what
    /// later quotes show) takes the new text.
    pub async fn edit(&self, target: &MessageKey, text: &str) -> MessageKey {
        self.protocol(target, "edit", Some(text)).await
    }

    /// Deletes a message this phone sent, for everyone. Accounts receive
    /// `Content::Unsupported { kind: "revoke" }`.
    pub async fn revoke(&self, target: &MessageKey) -> MessageKey {
        self.protocol(target, "revoke", None).await
    }

    async fn protocol(&self, target: &MessageKey, kind: &str, text: Option<&str>) -> MessageKey {
        let result = {
            let mut st = self.net.lock();
            match st.messages.get_mut(&target.id) {
                Some(m) if m.from == self.idx => {
                    if let Some(t) = text {
                        m.content = Content::text(t);
                    }
                    Ok(m.to)
                }
                Some(_) => Err(SimError::Invalid(format!(
                    "{kind}: message {} was not sent by this phone",
                    target.id
                ))),
                None => Err(SimError::UnknownMessage(target.id.clone())),
            }
        };
        let to = match result {
            Ok(Target::Peer(p)) => To::Peer(p),
            Ok(Target::Group(g)) => To::Group(g),
            Err(e) => panic!("SimPhone::{kind}: {e}"),
        };
        self.builder(to)
            .content(Content::Unsupported {
                kind: kind.to_string(),
            })
            .send()
            .await
    }

    /// The chat a key points at, from the network's record.
    fn chat_of(&self, key: &MessageKey) -> Option<To> {
        let st = self.net.lock();
        let m = st.messages.get(&key.id)?;
        Some(match m.to {
            Target::Group(g) => To::Group(g),
            Target::Peer(p) if p == self.idx => To::Peer(m.from),
            Target::Peer(p) => To::Peer(p),
        })
    }

    /// Sends a read receipt (blue ticks) for messages the account sent to this phone or to a
    /// group this phone is in. The account sees a `Receipt` if it is connected.
    pub async fn read(&self, account: &(impl AsAccountId + ?Sized), ids: &[MessageId]) {
        self.receipt(account, ids, ReceiptKind::Read).await;
    }

    /// Sends a played receipt (voice notes, videos).
    pub async fn played(&self, account: &(impl AsAccountId + ?Sized), ids: &[MessageId]) {
        self.receipt(account, ids, ReceiptKind::Played).await;
    }

    async fn receipt(
        &self,
        account: &(impl AsAccountId + ?Sized),
        ids: &[MessageId],
        kind: ReceiptKind,
    ) {
        let now = self.net.now_ms();
        {
            let st = self.net.lock();
            let Some(first) = ids.first().and_then(|id| st.messages.get(id)) else {
                return;
            };
            let Some(acct) = st.accounts.get(account.account_id()) else {
                return;
            };
            let (Some(owner), Some(conn)) = (acct.owner, acct.up()) else {
                return;
            };
            let chat = st.chat_for(owner, first.from, first.to);
            let sender = st.author_jid(self.idx, first.to);
            if let Some(chat) = chat {
                conn.emit(SocketEvent::Receipt(Receipt {
                    chat,
                    sender,
                    ids: ids.to_vec(),
                    kind,
                    timestamp_ms: now,
                    error: None,
                }));
            }
        }
        tokio::task::yield_now().await;
    }

    /// Sends the account a message it cannot decrypt (`SocketEvent::Undecryptable`, live
    /// connections only).
    pub async fn send_undecryptable(&self, account: &(impl AsAccountId + ?Sized)) -> MessageId {
        let id = {
            let mut st = self.net.lock();
            let id = MessageId::new(crate::ids::phone_message_id(st.message_rng()));
            let chat = st.peers.get(self.idx).map(|p| p.dm_jid());
            if let (Some(acct), Some(chat)) = (st.accounts.get(account.account_id()), chat)
                && let Some(conn) = acct.up()
            {
                conn.emit(SocketEvent::Undecryptable {
                    chat: chat.clone(),
                    sender: Some(chat),
                    id: id.clone(),
                });
            }
            id
        };
        tokio::task::yield_now().await;
        id
    }

    /// Changes this phone's number: every connected account gets `ContactChanged`.
    ///
    /// # Panics
    /// When `number` is not a phone number.
    pub fn change_number(&self, number: &str) {
        let new = match Phone::parse(number) {
            Ok(p) => p,
            Err(e) => panic!("SimPhone::change_number({number:?}): {e}"),
        };
        let mut st = self.net.lock();
        let Some(peer) = st.peers.get_mut(self.idx) else {
            return;
        };
        let old = peer.phone.replace(new.clone());
        let lid = peer.lid.clone();
        if let Some(o) = &old {
            st.by_phone.remove(o);
        }
        st.by_phone.insert(new.clone(), self.idx);
        for acct in st.accounts.values() {
            if let Some(conn) = acct.up() {
                conn.emit(SocketEvent::ContactChanged {
                    lid: Some(lid.clone()),
                    old_phone: old.clone(),
                    new_phone: Some(new.clone()),
                });
            }
        }
    }

    // ----- what this phone got ------------------------------------------------------------

    /// Everything any account sent to this phone in a DM, in send order per account.
    pub fn received(&self) -> Vec<SimOutboxEntry> {
        let st = self.net.lock();
        st.accounts
            .values()
            .flat_map(|a| a.outbox.iter())
            .filter(|e| st.target_of(&e.chat) == Some(Target::Peer(self.idx)))
            .cloned()
            .collect()
    }

    /// The texts (bodies and captions) of [`received`](SimPhone::received).
    pub fn received_texts(&self) -> Vec<String> {
        self.received().into_iter().filter_map(|e| e.text).collect()
    }
}
