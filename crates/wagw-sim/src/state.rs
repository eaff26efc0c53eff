//! The network's state, behind one mutex. Every mutation happens under that lock and events
//! are queued under it too, so the order a test caused things is the order the gateway sees.
//!
//! The lock is a `std::sync::Mutex` and is never held across an `.await`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use rand::rngs::StdRng;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use wagw_core::{
    AccountId, AddressingMode, CloseReason, Content, GroupMetadata, GroupParticipant, Jid, JidKind,
    Lid, MessageId, MessageKey, OwnIdentity, Phone, Sender, SocketEvent,
};

use crate::faults::Faults;
use crate::ids;
use crate::outbox::{SimOutboxEntry, SimPresence, SimReadMark};

/// Tunables of the simulated server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Seed of the network's RNG (ids, LIDs, QR codes, pair codes, media keys).
    pub seed: u64,
    /// Simulated time at creation, Unix milliseconds.
    pub start_ms: i64,
    /// How many QR codes a linking connection shows before giving up (WhatsApp: 6).
    pub qr_codes: u32,
    /// How long the first QR code is valid (WhatsApp: 60 s).
    pub first_qr_ttl: Duration,
    /// How long each later QR code is valid (WhatsApp: 20 s).
    pub next_qr_ttl: Duration,
    /// How long a pair code is valid.
    pub pair_code_ttl: Duration,
    /// How long a passkey step may take before linking fails.
    pub passkey_timeout: Duration,
    /// Capacity of each connection's event channel.
    pub event_buffer: usize,
    /// Emit a `Delivered` receipt for every accepted send (per recipient).
    pub delivery_receipts: bool,
    /// How long a ping or send waits on a dead link before failing with `Timeout`.
    pub ack_timeout: Duration,
    /// Seed of the message ids alone (`None`: drawn from `seed` with everything else). A
    /// network restarted over kept state (the daemon's `--sim` with its data dir) sets a
    /// fresh one each run, so new messages never reuse an id the gateway's dedupe has seen.
    pub message_id_seed: Option<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 0x5EED,
            start_ms: crate::clock::DEFAULT_START_MS,
            qr_codes: 6,
            first_qr_ttl: Duration::from_secs(60),
            next_qr_ttl: Duration::from_secs(20),
            pair_code_ttl: Duration::from_secs(180),
            passkey_timeout: Duration::from_secs(120),
            event_buffer: 256,
            delivery_receipts: true,
            ack_timeout: Duration::from_secs(20),
            message_id_seed: None,
        }
    }
}

/// A phone in the network (a contact, or the phone an account is linked to).
#[derive(Debug)]
pub(crate) struct PeerState {
    /// None for LID-only contacts: the number is never disclosed to accounts.
    pub phone: Option<Phone>,
    pub lid: Lid,
    pub name: Option<String>,
    /// DMs from this phone arrive addressed by LID (with the phone as sender alt).
    pub dm_via_lid: bool,
}

impl PeerState {
    pub fn sender(&self) -> Sender {
        Sender {
            phone: self.phone.clone(),
            lid: Some(self.lid.clone()),
        }
    }

    /// The JID a DM with this phone uses.
    pub fn dm_jid(&self) -> Jid {
        match (&self.phone, self.dm_via_lid) {
            (Some(p), false) => p.to_jid(),
            _ => self.lid.to_jid(),
        }
    }

    /// The JID this phone has in a group with the given addressing.
    pub fn group_jid(&self, mode: AddressingMode) -> Jid {
        match (&self.phone, mode) {
            (Some(p), AddressingMode::Phone) => p.to_jid(),
            _ => self.lid.to_jid(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct GroupState {
    pub jid: Jid,
    pub subject: String,
    /// Peer indices, in join order.
    pub members: Vec<usize>,
    pub admins: Vec<usize>,
    pub addressing: AddressingMode,
}

/// Where a message went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Peer(usize),
    Group(usize),
}

/// A message anywhere in the network, for quotes, reactions, edits and re-uploads.
#[derive(Debug, Clone)]
pub(crate) struct StoredMessage {
    pub from: usize,
    pub to: Target,
    pub content: Content,
}

#[derive(Debug)]
pub(crate) struct MediaBlob {
    pub data: Bytes,
    pub kind: wagw_core::MediaKind,
    pub media_key: Vec<u8>,
    pub expired: bool,
}

/// An inbound message the server holds for an account until the gateway commits its ack.
#[derive(Debug)]
pub(crate) struct Pending {
    pub seq: u64,
    pub message: wagw_core::InboundMessage,
    /// The connection it was last delivered on.
    pub delivered_on: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum Phase {
    Linking(Linking),
    Up,
}

#[derive(Debug, Default)]
pub(crate) struct Linking {
    /// A QR code is on screen (scan possible).
    pub qr_shown: bool,
    /// The phone, code and expiry (Unix ms) of the last pair-code request.
    pub pair: Option<(Phone, String, i64)>,
    /// Waiting for a passkey assertion: the phone that scanned and the challenge.
    pub passkey: Option<(usize, String)>,
    /// Waiting for the operator to confirm a passkey verification code: the phone and code.
    pub passkey_confirm: Option<(usize, String)>,
    /// Ends the QR code on screen early (`SimFault::ExpireQr`): the next one, or the end of
    /// linking, follows at once, without waiting out the code's lifetime.
    pub expire_qr: std::sync::Arc<tokio::sync::Notify>,
}

#[derive(Debug)]
pub(crate) struct Conn {
    pub id: u64,
    pub events: mpsc::UnboundedSender<SocketEvent>,
    pub phase: Phase,
    pub tasks: Vec<AbortHandle>,
}

impl Conn {
    pub fn emit(&self, event: SocketEvent) {
        tracing::trace!(target: "wagw::sim", conn = self.id, event = event.label(), "event");
        // The forwarder may be gone only after the gateway dropped the receiver.
        let _ = self.events.send(event);
    }

    pub fn is_up(&self) -> bool {
        matches!(self.phase, Phase::Up)
    }
}

#[derive(Debug)]
pub(crate) struct AccountState {
    pub id: AccountId,
    pub owner: Option<usize>,
    pub conn: Option<Conn>,
    pub pending: Vec<Pending>,
    pub outbox: Vec<SimOutboxEntry>,
    pub reads: Vec<SimReadMark>,
    pub presences: Vec<SimPresence>,
    pub faults: Faults,
    /// Acks of delivered messages the gateway has not answered yet.
    pub acks: Vec<crate::delivery::AckWatch>,
    /// How many connections were opened (for logs).
    pub connections: u64,
    /// How many `group_metadata` queries the account made (caching tests).
    pub metadata_queries: u64,
}

impl AccountState {
    pub fn new(id: AccountId) -> AccountState {
        AccountState {
            id,
            owner: None,
            conn: None,
            pending: Vec::new(),
            outbox: Vec::new(),
            reads: Vec::new(),
            presences: Vec::new(),
            faults: Faults::default(),
            acks: Vec::new(),
            connections: 0,
            metadata_queries: 0,
        }
    }

    /// The live connection, if it is up (linked and connected).
    pub fn up(&self) -> Option<&Conn> {
        self.conn.as_ref().filter(|c| c.is_up())
    }

    /// Ends the current connection with `reason`, the last event it ever sends. Acks
    /// committed before this point count; later ones are lost (redelivery follows).
    pub fn close(&mut self, reason: CloseReason) {
        self.settle_acks(true);
        self.faults.dead_link = false;
        if let Some(conn) = self.conn.take() {
            tracing::debug!(target: "wagw::sim", account = %self.id, conn = conn.id,
                reason = reason.label(), "connection closed");
            for t in &conn.tasks {
                t.abort();
            }
            conn.emit(SocketEvent::Closed(reason));
        }
    }
}

#[derive(Debug)]
pub(crate) struct NetState {
    pub rng: StdRng,
    /// Message ids' own RNG, when `SimConfig::message_id_seed` is set.
    pub id_rng: Option<StdRng>,
    pub config: SimConfig,
    pub peers: Vec<PeerState>,
    pub by_phone: HashMap<Phone, usize>,
    pub by_lid: HashMap<Lid, usize>,
    pub groups: Vec<GroupState>,
    pub by_group: HashMap<Jid, usize>,
    pub accounts: BTreeMap<AccountId, AccountState>,
    pub media: HashMap<String, MediaBlob>,
    pub messages: HashMap<MessageId, StoredMessage>,
    pub next_conn: u64,
    pub next_seq: u64,
    pub next_media: u64,
}

impl NetState {
    /// The RNG message ids are drawn from.
    pub fn message_rng(&mut self) -> &mut StdRng {
        self.id_rng.as_mut().unwrap_or(&mut self.rng)
    }

    pub fn new(config: SimConfig, rng: StdRng) -> NetState {
        NetState {
            rng,
            id_rng: config.message_id_seed.map(|seed| {
                use rand::SeedableRng;
                StdRng::seed_from_u64(seed)
            }),
            config,
            peers: Vec::new(),
            by_phone: HashMap::new(),
            by_lid: HashMap::new(),
            groups: Vec::new(),
            by_group: HashMap::new(),
            accounts: BTreeMap::new(),
            media: HashMap::new(),
            messages: HashMap::new(),
            next_conn: 1,
            next_seq: 1,
            next_media: 1,
        }
    }

    /// Adds a phone with a fresh LID (or finds it by number).
    pub fn add_peer(&mut self, phone: Option<Phone>) -> usize {
        if let Some(p) = &phone
            && let Some(&i) = self.by_phone.get(p)
        {
            return i;
        }
        let lid = loop {
            let digits = ids::lid_digits(&mut self.rng);
            if let Ok(lid) = Lid::parse(&digits)
                && !self.by_lid.contains_key(&lid)
            {
                break lid;
            }
        };
        let idx = self.peers.len();
        if let Some(p) = &phone {
            self.by_phone.insert(p.clone(), idx);
        }
        self.by_lid.insert(lid.clone(), idx);
        self.peers.push(PeerState {
            phone,
            lid,
            name: None,
            dm_via_lid: false,
        });
        idx
    }

    /// The phone a user or LID JID names (device ignored).
    pub fn peer_by_jid(&self, jid: &Jid) -> Option<usize> {
        match jid.kind() {
            JidKind::User => jid.to_phone().and_then(|p| self.by_phone.get(&p).copied()),
            JidKind::Lid => jid.to_lid().and_then(|l| self.by_lid.get(&l).copied()),
            _ => None,
        }
    }

    /// Resolves a destination JID to a target.
    pub fn target_of(&self, jid: &Jid) -> Option<Target> {
        if jid.is_group() {
            self.by_group
                .get(&jid.without_device())
                .map(|&g| Target::Group(g))
        } else {
            self.peer_by_jid(jid).map(Target::Peer)
        }
    }

    pub fn identity_of(&self, peer: usize) -> Option<OwnIdentity> {
        let p = self.peers.get(peer)?;
        Some(OwnIdentity {
            phone: p.phone.clone()?,
            lid: Some(p.lid.clone()),
            push_name: p.name.clone(),
        })
    }

    /// The phones a target reaches (for a DM: both ends).
    pub fn participants(&self, from: usize, to: Target) -> Vec<usize> {
        match to {
            Target::Peer(p) if p == from => vec![p],
            Target::Peer(p) => vec![from, p],
            Target::Group(g) => self
                .groups
                .get(g)
                .map(|g| g.members.clone())
                .unwrap_or_default(),
        }
    }

    /// The chat JID of a message as seen by the owner of an account.
    pub fn chat_for(&self, viewer: usize, from: usize, to: Target) -> Option<Jid> {
        match to {
            Target::Group(g) => self.groups.get(g).map(|g| g.jid.clone()),
            Target::Peer(p) => {
                let other = if from == viewer { p } else { from };
                self.peers.get(other).map(PeerState::dm_jid)
            }
        }
    }

    /// The JID of a message's author inside its chat (participant in groups).
    pub fn author_jid(&self, from: usize, to: Target) -> Option<Jid> {
        let peer = self.peers.get(from)?;
        Some(match to {
            Target::Group(g) => peer.group_jid(self.groups.get(g)?.addressing),
            Target::Peer(_) => peer.dm_jid(),
        })
    }

    /// The key of a stored message as seen by `viewer`.
    pub fn key_for(&self, viewer: usize, id: &MessageId) -> Option<MessageKey> {
        let m = self.messages.get(id)?;
        Some(MessageKey {
            chat: self.chat_for(viewer, m.from, m.to)?,
            id: id.clone(),
            from_me: m.from == viewer,
            participant: match m.to {
                Target::Group(_) => self.author_jid(m.from, m.to),
                Target::Peer(_) => None,
            },
        })
    }

    pub fn group_metadata(&self, g: usize) -> Option<GroupMetadata> {
        let group = self.groups.get(g)?;
        let participants = group
            .members
            .iter()
            .filter_map(|&m| {
                let peer = self.peers.get(m)?;
                Some(GroupParticipant {
                    jid: peer.group_jid(group.addressing),
                    sender: peer.sender(),
                    admin: group.admins.contains(&m),
                })
            })
            .collect();
        Some(GroupMetadata {
            jid: group.jid.clone(),
            subject: group.subject.clone(),
            participants,
            addressing_mode: group.addressing,
        })
    }

    pub fn account(&self, id: &AccountId) -> Result<&AccountState, crate::SimError> {
        self.accounts
            .get(id)
            .ok_or_else(|| crate::SimError::UnknownAccount(id.clone()))
    }

    pub fn account_mut(&mut self, id: &AccountId) -> Result<&mut AccountState, crate::SimError> {
        self.accounts
            .get_mut(id)
            .ok_or_else(|| crate::SimError::UnknownAccount(id.clone()))
    }

    /// Accounts linked to one of `phones`, in id order.
    pub fn accounts_of(&self, phones: &[usize]) -> Vec<AccountId> {
        self.accounts
            .values()
            .filter(|a| a.owner.is_some_and(|o| phones.contains(&o)))
            .map(|a| a.id.clone())
            .collect()
    }

    pub fn next_conn_id(&mut self) -> u64 {
        let id = self.next_conn;
        self.next_conn += 1;
        id
    }

    pub fn next_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        s
    }
}

impl AccountState {
    /// Applies the gateway's answers to delivered messages: a committed ack removes the
    /// message from the queue; a dropped one leaves it for the next connection. When the
    /// connection is `closing`, unanswered acks are abandoned too.
    pub fn settle_acks(&mut self, closing: bool) {
        use tokio::sync::oneshot::error::TryRecvError;
        let AccountState {
            acks, pending, id, ..
        } = self;
        acks.retain_mut(|w| match w.rx.try_recv() {
            Ok(()) => {
                pending.retain(|p| p.seq != w.seq);
                false
            }
            Err(TryRecvError::Empty) => !closing,
            Err(TryRecvError::Closed) => {
                tracing::debug!(target: "wagw::sim", account = %id, seq = w.seq,
                    "ack dropped uncommitted; redelivered on the next connection");
                false
            }
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use rand::SeedableRng;

    use super::*;
    use wagw_core::InboundAck;

    fn state() -> NetState {
        NetState::new(SimConfig::default(), StdRng::seed_from_u64(3))
    }

    #[test]
    fn peers_address_by_phone_or_lid() {
        let mut st = state();
        let a = st.add_peer(Some(Phone::parse("+15550001111").unwrap()));
        assert_eq!(st.add_peer(Some(Phone::parse("+15550001111").unwrap())), a);
        let c = st.add_peer(None);
        let pa = &st.peers[a];
        assert_eq!(pa.dm_jid().kind(), JidKind::User);
        assert_eq!(pa.group_jid(AddressingMode::Lid).kind(), JidKind::Lid);
        assert_eq!(st.peers[c].dm_jid().kind(), JidKind::Lid);
        assert_eq!(
            st.peers[c].group_jid(AddressingMode::Phone).kind(),
            JidKind::Lid
        );
        assert_eq!(st.peer_by_jid(&st.peers[c].lid.to_jid()), Some(c));
        assert_eq!(st.participants(a, Target::Peer(a)), vec![a]);
        assert_eq!(st.participants(a, Target::Peer(c)), vec![a, c]);
        assert_eq!(
            st.identity_of(c),
            None,
            "LID-only phones cannot own accounts"
        );
    }

    #[test]
    fn settle_acks_commits_drops_and_abandons() {
        let mut acct = AccountState::new(AccountId::default_account());
        let msg = |seq| Pending {
            seq,
            message: wagw_core::InboundMessage {
                id: MessageId::new(format!("M{seq}")),
                account: AccountId::default_account(),
                chat: Jid::user("15550001111"),
                sender: Sender::phone(Phone::parse("+15550001111").unwrap()),
                sender_jid: None,
                push_name: None,
                timestamp_ms: 0,
                from_me: false,
                offline: false,
                content: Content::text("x"),
                context: Default::default(),
            },
            delivered_on: Some(1),
        };
        acct.pending = vec![msg(1), msg(2), msg(3)];
        let (commit, rx1) = InboundAck::pair();
        let (dropped, rx2) = InboundAck::pair();
        let (_open, rx3) = InboundAck::pair();
        acct.acks = vec![
            crate::delivery::AckWatch { seq: 1, rx: rx1 },
            crate::delivery::AckWatch { seq: 2, rx: rx2 },
            crate::delivery::AckWatch { seq: 3, rx: rx3 },
        ];
        commit.commit();
        drop(dropped);
        acct.settle_acks(false);
        let seqs: Vec<u64> = acct.pending.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(acct.acks.len(), 1, "the open ack is still awaited");
        acct.settle_acks(true);
        assert!(acct.acks.is_empty(), "closing abandons open acks");
        assert_eq!(acct.pending.len(), 2);
    }
}
