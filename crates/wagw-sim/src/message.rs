//! [`SimMessageBuilder`]: composing what a simulated phone sends (text, media, quotes,
//! mentions, timestamps), and [`SimNetwork::inject`], the serde entry point built on it.

use wagw_core::{AccountId, Content, Jid, MessageId, MessageKey};

use crate::error::SimError;
use crate::inject::{SimInbound, SimMedia};
use crate::network::{AsAccountId, SimNetwork};
use crate::phone::SimPhone;
use crate::state::{NetState, Target};

/// Who to address in a message being built.
#[derive(Debug, Clone)]
pub(crate) enum To {
    Account(AccountId),
    Peer(usize),
    Group(usize),
}

#[derive(Debug, Clone)]
pub(crate) enum Mention {
    /// As the chat addresses that phone (phone JID, or LID JID in LID groups).
    Auto(usize),
    Lid(usize),
    Phone(usize),
    Jid(Jid),
}

/// A message being composed by a [`SimPhone`]. Finish with [`send`](SimMessageBuilder::send).
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let net = wagw_sim::SimNetwork::new();
/// let account = net.linked_account("default", "+15550009999");
/// let (alice, bob) = (net.phone("+15550001111"), net.phone("+15550002222"));
/// let team = net.group("Team").with(&[&alice, &bob]).with_account(&account);
/// let bot = net.owner(&account).unwrap();
/// let key = alice.message_in(&team).text("@15550009999 status?").mention(&bot).send().await;
/// assert!(key.chat.is_group());
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a message is only sent by .send()"]
pub struct SimMessageBuilder {
    net: SimNetwork,
    from: usize,
    to: To,
    content: Option<Content>,
    media: Option<SimMedia>,
    quote: Option<MessageId>,
    mentions: Vec<Mention>,
    timestamp_ms: Option<i64>,
    forwarded: bool,
}

impl SimMessageBuilder {
    pub(crate) fn new(net: SimNetwork, from: usize, to: To) -> SimMessageBuilder {
        SimMessageBuilder {
            net,
            from,
            to,
            content: None,
            media: None,
            quote: None,
            mentions: Vec::new(),
            timestamp_ms: None,
            forwarded: false,
        }
    }

    /// The text (the caption when media is attached without one).
    pub fn text(mut self, text: &str) -> Self {
        self.content = Some(Content::text(text));
        self
    }

    /// Any content (reactions, polls, locations, contacts, ...).
    pub fn content(mut self, content: Content) -> Self {
        self.content = Some(content);
        self
    }

    /// A media attachment.
    pub fn media(mut self, media: SimMedia) -> Self {
        self.media = Some(media);
        self
    }

    /// Quotes (replies to) a message.
    pub fn quote(mut self, key: &MessageKey) -> Self {
        self.quote = Some(key.id.clone());
        self
    }

    /// Mentions a phone as the chat addresses it (phone JID; LID JID in LID groups).
    pub fn mention(mut self, who: &SimPhone) -> Self {
        self.mentions.push(Mention::Auto(who.index()));
        self
    }

    /// Mentions a phone by its LID JID.
    pub fn mention_lid(mut self, who: &SimPhone) -> Self {
        self.mentions.push(Mention::Lid(who.index()));
        self
    }

    /// Mentions a phone by its phone JID (LID JID for LID-only contacts).
    pub fn mention_phone(mut self, who: &SimPhone) -> Self {
        self.mentions.push(Mention::Phone(who.index()));
        self
    }

    /// Mentions a raw JID.
    pub fn mention_jid(mut self, jid: Jid) -> Self {
        self.mentions.push(Mention::Jid(jid));
        self
    }

    /// Stamps a timestamp (e.g. an old one for history catch-up).
    pub fn at_ms(mut self, timestamp_ms: i64) -> Self {
        self.timestamp_ms = Some(timestamp_ms);
        self
    }

    /// Marks it forwarded.
    pub fn forwarded(mut self) -> Self {
        self.forwarded = true;
        self
    }

    /// Sends it; returns its key as the receiving side sees it.
    ///
    /// # Panics
    /// When the message cannot be sent (unknown or unlinked account, sender not in the group,
    /// nothing to send): a bug in the test. [`try_send`](Self::try_send) returns the error.
    pub async fn send(self) -> MessageKey {
        match self.try_send().await {
            Ok(k) => k,
            Err(e) => panic!("simulated send failed: {e}"),
        }
    }

    /// Sends it, or says why it cannot be sent.
    pub async fn try_send(self) -> Result<MessageKey, SimError> {
        let now = self.net.now_ms();
        let key = {
            let mut st = self.net.lock();
            let to = match &self.to {
                To::Account(a) => Target::Peer(
                    st.account(a)?
                        .owner
                        .ok_or_else(|| SimError::NotLinked(a.clone()))?,
                ),
                To::Peer(p) => Target::Peer(*p),
                To::Group(g) => {
                    let group = st
                        .groups
                        .get(*g)
                        .ok_or(SimError::Invalid("no such group".into()))?;
                    if !group.members.contains(&self.from) {
                        return Err(SimError::NotAMember {
                            who: st
                                .peers
                                .get(self.from)
                                .map(|p| p.sender().to_string())
                                .unwrap_or_default(),
                            group: group.jid.clone(),
                        });
                    }
                    Target::Group(*g)
                }
            };
            let content = match (self.media, self.content) {
                (Some(mut media), content) => {
                    if media.caption.is_none()
                        && let Some(Content::Text { text }) = content
                    {
                        media.caption = Some(text);
                    }
                    Content::Media(st.store_media(&media, self.timestamp_ms.unwrap_or(now)))
                }
                (None, Some(c)) => c,
                (None, None) => {
                    return Err(SimError::Invalid(
                        "nothing to send: set text, media or content".into(),
                    ));
                }
            };
            let mentions = self
                .mentions
                .iter()
                .filter_map(|m| mention_jid(&st, m, to))
                .collect();
            let id = MessageId::new(crate::ids::phone_message_id(st.message_rng()));
            st.post(crate::delivery::Post {
                id: id.clone(),
                from: self.from,
                to,
                content,
                quote: self.quote,
                mentions,
                forwarded: self.forwarded,
                timestamp_ms: self.timestamp_ms.unwrap_or(now),
                sent_by: None,
            });
            // The key from the receiving side: the DM peer, or any member but the author.
            let viewer = match to {
                Target::Peer(p) => p,
                Target::Group(_) => usize::MAX,
            };
            st.key_for(viewer, &id)
        };
        tokio::task::yield_now().await;
        key.ok_or_else(|| SimError::Invalid("message vanished".into()))
    }
}

fn mention_jid(st: &NetState, m: &Mention, to: Target) -> Option<Jid> {
    let addressing = match to {
        Target::Group(g) => st.groups.get(g).map(|g| g.addressing),
        Target::Peer(_) => None,
    }
    .unwrap_or_default();
    match m {
        Mention::Auto(p) => st.peers.get(*p).map(|p| p.group_jid(addressing)),
        Mention::Lid(p) => st.peers.get(*p).map(|p| p.lid.to_jid()),
        Mention::Phone(p) => st
            .peers
            .get(*p)
            .map(|p| p.group_jid(wagw_core::AddressingMode::Phone)),
        Mention::Jid(j) => Some(j.clone()),
    }
}

impl SimNetwork {
    /// Injects a message from a phone (the daemon's HTTP entry point): a DM to the account's
    /// phone, or a group message when `group` is set. Unknown numbers become new phones;
    /// LIDs must exist.
    pub async fn inject(
        &self,
        account: &(impl AsAccountId + ?Sized),
        inbound: SimInbound,
    ) -> Result<MessageKey, SimError> {
        let from = if inbound.from.contains("@lid") {
            self.find_phone(&inbound.from)
                .ok_or_else(|| SimError::UnknownPhone(inbound.from.clone()))?
        } else {
            self.try_phone(&inbound.from)?
        };
        let from = match &inbound.name {
            Some(n) => from.named(n),
            None => from,
        };
        let mut b = match &inbound.group {
            Some(g) => {
                let group = self
                    .find_group(g)
                    .ok_or_else(|| SimError::UnknownGroup(g.clone()))?;
                from.message_in(&group)
            }
            None => from.message_to(account),
        };
        if let Some(t) = &inbound.text {
            b = b.text(t);
        }
        if let Some(m) = inbound.media {
            b = b.media(m);
        }
        if let Some(q) = inbound.quote {
            b.quote = Some(q);
        }
        for j in inbound.mentions {
            b = b.mention_jid(j);
        }
        if let Some(ts) = inbound.timestamp_ms {
            b = b.at_ms(ts);
        }
        if inbound.forwarded {
            b = b.forwarded();
        }
        b.try_send().await
    }
}
