//! [`SimNetwork`]: the handle to one simulated WhatsApp network — its phones, groups,
//! accounts, media and clock — and the queries tests assert with.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use wagw_core::{AccountId, Jid, Lid, MessageKey, Phone};

use crate::clock::SimClock;
use crate::error::SimError;
use crate::group::SimGroup;
use crate::outbox::{SimOutboxEntry, SimPresence, SimReadMark};
use crate::phone::SimPhone;
use crate::socket::SimSocket;
use crate::state::{AccountState, NetState, SimConfig};

/// Anything that names an account of the network: a [`SimSocket`] or an [`AccountId`].
pub trait AsAccountId {
    /// The account id.
    fn account_id(&self) -> &AccountId;
}

impl AsAccountId for AccountId {
    fn account_id(&self) -> &AccountId {
        self
    }
}

impl AsAccountId for SimSocket {
    fn account_id(&self) -> &AccountId {
        self.id()
    }
}

/// A simulated WhatsApp network. Cheap to clone: clones share one state.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// use wagw_core::{SocketEvent, WaSocket};
/// let net = wagw_sim::SimNetwork::new();
/// let account = net.linked_account("default", "+15550009999");
/// let mut events = account.connect().await.unwrap();
/// assert!(matches!(events.recv().await, Some(SocketEvent::Connected { .. })));
/// assert!(matches!(events.recv().await, Some(SocketEvent::OfflineSyncCompleted { count: 0 })));
///
/// let alice = net.phone("+15550001111").named("Alice");
/// alice.send_text(&account, "hi").await;
/// let Some(SocketEvent::Message { message, ack }) = events.recv().await else { panic!() };
/// assert_eq!(message.content.text_or_caption(), Some("hi"));
/// ack.commit();
///
/// account.send(wagw_core::OutboundMessage::text(alice.jid(), "hello Alice")).await.unwrap();
/// assert_eq!(net.sent_texts(&account), ["hello Alice"]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SimNetwork {
    state: Arc<Mutex<NetState>>,
    clock: SimClock,
}

impl Default for SimNetwork {
    fn default() -> Self {
        SimNetwork::new()
    }
}

impl SimNetwork {
    /// A network with the default configuration (seed `0x5EED`, WhatsApp's QR cadence).
    /// Create it inside the tokio runtime whose clock it should follow.
    pub fn new() -> SimNetwork {
        SimNetwork::with_config(SimConfig::default())
    }

    /// A network with the default configuration and another seed.
    pub fn with_seed(seed: u64) -> SimNetwork {
        SimNetwork::with_config(SimConfig {
            seed,
            ..SimConfig::default()
        })
    }

    /// A network with a full configuration.
    pub fn with_config(config: SimConfig) -> SimNetwork {
        let rng = StdRng::seed_from_u64(config.seed);
        let clock = SimClock::new(config.start_ms);
        SimNetwork {
            state: Arc::new(Mutex::new(NetState::new(config, rng))),
            clock,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, NetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The network's clock (timestamps of everything).
    pub fn clock(&self) -> &SimClock {
        &self.clock
    }

    /// Simulated now, Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Lets `by` pass on tokio's clock (instant under paused time); see [`SimClock::advance`].
    pub async fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by).await;
    }

    /// The configuration the network runs with.
    pub fn config(&self) -> SimConfig {
        self.lock().config.clone()
    }

    // ----- phones -------------------------------------------------------------------------

    /// The phone with this number, created (with a fresh LID) on first use.
    ///
    /// # Panics
    /// When `number` is not a phone number: this is the scripting API, and a bad literal is a
    /// bug in the test. Use [`SimNetwork::try_phone`] for input from elsewhere.
    pub fn phone(&self, number: &str) -> SimPhone {
        match self.try_phone(number) {
            Ok(p) => p,
            Err(e) => panic!("SimNetwork::phone({number:?}): {e}"),
        }
    }

    /// The phone with this number, created on first use.
    pub fn try_phone(&self, number: &str) -> Result<SimPhone, SimError> {
        let phone = Phone::parse(number)?;
        let idx = self.lock().add_peer(Some(phone));
        Ok(SimPhone::new(self.clone(), idx))
    }

    /// A new contact known only by LID: accounts never learn its phone number (WhatsApp
    /// increasingly delivers contacts this way).
    pub fn lid_contact(&self, name: &str) -> SimPhone {
        let mut st = self.lock();
        let idx = st.add_peer(None);
        if let Some(p) = st.peers.get_mut(idx) {
            p.name = Some(name.to_string());
        }
        SimPhone::new(self.clone(), idx)
    }

    /// The phone behind a number or `…@lid` string, if it exists.
    pub fn find_phone(&self, who: &str) -> Option<SimPhone> {
        let st = self.lock();
        let idx = match Lid::parse(who) {
            Ok(lid) if who.contains("@lid") => st.by_lid.get(&lid).copied(),
            _ => Phone::parse(who)
                .ok()
                .and_then(|p| st.by_phone.get(&p).copied()),
        }?;
        drop(st);
        Some(SimPhone::new(self.clone(), idx))
    }

    // ----- accounts -----------------------------------------------------------------------

    /// Adds an account already linked to the phone `owner_number` (created if new; its push
    /// name defaults to the account id).
    ///
    /// # Panics
    /// On an invalid id or number, or an id already in use (a bug in the test); see
    /// [`SimNetwork::add_account`].
    pub fn linked_account(&self, id: &str, owner_number: &str) -> SimSocket {
        let result = AccountId::parse(id)
            .map_err(SimError::from)
            .and_then(|id| Ok((id, Phone::parse(owner_number)?)))
            .and_then(|(id, phone)| self.add_account(id, Some(phone)));
        match result {
            Ok(s) => s,
            Err(e) => panic!("SimNetwork::linked_account({id:?}, {owner_number:?}): {e}"),
        }
    }

    /// Adds an account not linked yet: connecting it shows QR codes.
    ///
    /// # Panics
    /// On an invalid id or one already in use; see [`SimNetwork::add_account`].
    pub fn unlinked_account(&self, id: &str) -> SimSocket {
        let result = AccountId::parse(id)
            .map_err(SimError::from)
            .and_then(|id| self.add_account(id, None));
        match result {
            Ok(s) => s,
            Err(e) => panic!("SimNetwork::unlinked_account({id:?}): {e}"),
        }
    }

    /// Adds an account, linked to `owner` when given.
    pub fn add_account(&self, id: AccountId, owner: Option<Phone>) -> Result<SimSocket, SimError> {
        let mut st = self.lock();
        if st.accounts.contains_key(&id) {
            return Err(SimError::AccountExists(id));
        }
        let mut acct = AccountState::new(id.clone());
        if let Some(phone) = owner {
            let idx = st.add_peer(Some(phone));
            if let Some(p) = st.peers.get_mut(idx)
                && p.name.is_none()
            {
                p.name = Some(id.as_str().to_string());
            }
            acct.owner = Some(idx);
        }
        st.accounts.insert(id.clone(), acct);
        drop(st);
        Ok(SimSocket::new(self.clone(), id))
    }

    /// The socket of an existing account.
    pub fn socket(&self, account: &AccountId) -> Option<SimSocket> {
        self.lock()
            .accounts
            .contains_key(account)
            .then(|| SimSocket::new(self.clone(), account.clone()))
    }

    /// Every account id, sorted.
    pub fn accounts(&self) -> Vec<AccountId> {
        self.lock().accounts.keys().cloned().collect()
    }

    /// The phone an account is linked to.
    pub fn owner(&self, account: &(impl AsAccountId + ?Sized)) -> Option<SimPhone> {
        let idx = self
            .lock()
            .accounts
            .get(account.account_id())
            .and_then(|a| a.owner)?;
        Some(SimPhone::new(self.clone(), idx))
    }

    /// True while the account has a connection that is linked and up.
    pub fn is_connected(&self, account: &(impl AsAccountId + ?Sized)) -> bool {
        self.lock()
            .accounts
            .get(account.account_id())
            .is_some_and(|a| a.up().is_some())
    }

    /// How many inbound messages the server still holds for the account (not yet committed).
    pub fn pending_inbound(&self, account: &(impl AsAccountId + ?Sized)) -> usize {
        self.lock()
            .accounts
            .get_mut(account.account_id())
            .map_or(0, |a| {
                a.settle_acks(false);
                a.pending.len()
            })
    }

    // ----- groups -------------------------------------------------------------------------

    /// A new group with this subject and no members yet (add them with
    /// [`SimGroup::with`]). Its JID has the modern `120363…@g.us` form.
    pub fn group(&self, subject: &str) -> SimGroup {
        let mut st = self.lock();
        let jid = loop {
            let digits = crate::ids::group_digits(&mut st.rng);
            if let Ok(jid) = Jid::parse(&format!("{digits}@g.us"))
                && !st.by_group.contains_key(&jid)
            {
                break jid;
            }
        };
        let idx = st.groups.len();
        st.by_group.insert(jid.clone(), idx);
        st.groups.push(crate::state::GroupState {
            jid,
            subject: subject.to_string(),
            members: Vec::new(),
            admins: Vec::new(),
            addressing: wagw_core::AddressingMode::Phone,
        });
        drop(st);
        SimGroup::new(self.clone(), idx)
    }

    /// The group with this JID.
    pub fn find_group(&self, jid: &Jid) -> Option<SimGroup> {
        let idx = self.lock().by_group.get(jid).copied()?;
        Some(SimGroup::new(self.clone(), idx))
    }

    // ----- what the gateway did -----------------------------------------------------------

    /// Everything the account sent, in order (each chunk of a long reply is one entry).
    pub fn sent_by(&self, account: &(impl AsAccountId + ?Sized)) -> Vec<SimOutboxEntry> {
        self.lock()
            .accounts
            .get(account.account_id())
            .map(|a| a.outbox.clone())
            .unwrap_or_default()
    }

    /// The texts (bodies, captions, edit texts, poll questions) the account sent, in order.
    pub fn sent_texts(&self, account: &(impl AsAccountId + ?Sized)) -> Vec<String> {
        self.sent_by(account)
            .into_iter()
            .filter_map(|e| e.text)
            .collect()
    }

    /// What the account sent to one chat.
    pub fn sent_to(
        &self,
        account: &(impl AsAccountId + ?Sized),
        chat: &Jid,
    ) -> Vec<SimOutboxEntry> {
        let st = self.lock();
        let target = st.target_of(chat);
        st.accounts
            .get(account.account_id())
            .map(|a| {
                a.outbox
                    .iter()
                    .filter(|e| {
                        &e.chat == chat || (target.is_some() && st.target_of(&e.chat) == target)
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Read receipts the account sent.
    pub fn read_marks(&self, account: &(impl AsAccountId + ?Sized)) -> Vec<SimReadMark> {
        self.lock()
            .accounts
            .get(account.account_id())
            .map(|a| a.reads.clone())
            .unwrap_or_default()
    }

    /// How many `group_metadata` queries the account made on a live connection (to check
    /// a gateway's metadata cache).
    pub fn metadata_queries(&self, account: &(impl AsAccountId + ?Sized)) -> u64 {
        self.lock()
            .accounts
            .get(account.account_id())
            .map_or(0, |a| a.metadata_queries)
    }

    /// Chat presences the account set.
    pub fn presences(&self, account: &(impl AsAccountId + ?Sized)) -> Vec<SimPresence> {
        self.lock()
            .accounts
            .get(account.account_id())
            .map(|a| a.presences.clone())
            .unwrap_or_default()
    }

    /// Forgets the account's outbox, read marks and presences (between test phases).
    pub fn clear_outbox(&self, account: &(impl AsAccountId + ?Sized)) {
        if let Some(a) = self.lock().accounts.get_mut(account.account_id()) {
            a.outbox.clear();
            a.reads.clear();
            a.presences.clear();
        }
    }

    /// The bytes behind a media handle (`direct_path` of a `MediaRef` or outbox entry).
    pub fn media_bytes(&self, direct_path: &str) -> Option<Bytes> {
        self.lock().media.get(direct_path).map(|b| b.data.clone())
    }

    /// Makes a media blob expire: downloads fail with `MediaExpired` until re-uploaded.
    pub fn expire_media(&self, direct_path: &str) -> Result<(), SimError> {
        match self.lock().media.get_mut(direct_path) {
            Some(b) => {
                b.expired = true;
                Ok(())
            }
            None => Err(SimError::Invalid(format!("no media at {direct_path:?}"))),
        }
    }

    /// The key of a message as an account sees it (chat, `from_me`, participant).
    pub fn key_for(
        &self,
        account: &(impl AsAccountId + ?Sized),
        id: &wagw_core::MessageId,
    ) -> Option<MessageKey> {
        let st = self.lock();
        let owner = st.accounts.get(account.account_id())?.owner?;
        st.key_for(owner, id)
    }
}
