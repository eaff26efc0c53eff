//! [`SimGroup`]: a group chat in the network (`120363…@g.us`), its subject, members, admins
//! and addressing mode.

use wagw_core::{AddressingMode, GroupMetadata, Jid, SocketEvent};

use crate::network::{AsAccountId, SimNetwork};
use crate::phone::SimPhone;
use crate::state::NetState;

/// A group in the network. Changing it sends `GroupUpdate` to connected member accounts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let net = wagw_sim::SimNetwork::new();
/// let account = net.linked_account("default", "+15550009999");
/// let alice = net.phone("+15550001111").named("Alice");
/// let team = net.group("Team").with(&[&alice]).with_account(&account).admins(&[&alice]);
/// assert!(team.jid().to_string().starts_with("120363"));
/// assert_eq!(team.metadata().participants.len(), 2);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SimGroup {
    net: SimNetwork,
    idx: usize,
}

impl SimGroup {
    pub(crate) fn new(net: SimNetwork, idx: usize) -> SimGroup {
        SimGroup { net, idx }
    }

    pub(crate) fn index(&self) -> usize {
        self.idx
    }

    /// Runs a change and tells connected member accounts (before or after it) about it.
    fn change(&self, f: impl FnOnce(&mut crate::state::GroupState)) {
        let mut st = self.net.lock();
        let Some(group) = st.groups.get_mut(self.idx) else {
            return;
        };
        let before = group.members.clone();
        f(group);
        let jid = group.jid.clone();
        let mut touched = before;
        touched.extend(group.members.iter().copied());
        notify(&st, &touched, &jid);
    }

    /// Adds phones as members (already-present ones are skipped).
    pub fn with(self, members: &[&SimPhone]) -> SimGroup {
        self.change(|g| {
            for m in members {
                if !g.members.contains(&m.index()) {
                    g.members.push(m.index());
                }
            }
        });
        self
    }

    /// Adds the phone an account is linked to as a member.
    ///
    /// # Panics
    /// When the account is unknown or not linked.
    pub fn with_account(self, account: &(impl AsAccountId + ?Sized)) -> SimGroup {
        match self.net.owner(account) {
            Some(owner) => self.with(&[&owner]),
            None => panic!(
                "SimGroup::with_account: account {} is unknown or not linked",
                account.account_id()
            ),
        }
    }

    /// Makes these members admins.
    pub fn admins(self, admins: &[&SimPhone]) -> SimGroup {
        self.change(|g| {
            for a in admins {
                if g.members.contains(&a.index()) && !g.admins.contains(&a.index()) {
                    g.admins.push(a.index());
                }
            }
        });
        self
    }

    /// Switches the group to LID addressing: participants, senders and mentions use `@lid`.
    pub fn lid_addressed(self) -> SimGroup {
        self.change(|g| g.addressing = AddressingMode::Lid);
        self
    }

    /// Removes a member.
    pub fn remove(&self, member: &SimPhone) {
        self.change(|g| {
            g.members.retain(|&m| m != member.index());
            g.admins.retain(|&m| m != member.index());
        });
    }

    /// Renames the group.
    pub fn set_subject(&self, subject: &str) {
        self.change(|g| g.subject = subject.to_string());
    }

    /// The group's JID.
    pub fn jid(&self) -> Jid {
        match self.net.lock().groups.get(self.idx) {
            Some(g) => g.jid.clone(),
            None => unreachable!("groups are never removed from a network"),
        }
    }

    /// The subject.
    pub fn subject(&self) -> String {
        self.net
            .lock()
            .groups
            .get(self.idx)
            .map(|g| g.subject.clone())
            .unwrap_or_default()
    }

    /// The members, in join order.
    pub fn members(&self) -> Vec<SimPhone> {
        let members = self
            .net
            .lock()
            .groups
            .get(self.idx)
            .map(|g| g.members.clone())
            .unwrap_or_default();
        members
            .into_iter()
            .map(|m| SimPhone::new(self.net.clone(), m))
            .collect()
    }

    /// The metadata an account's `group_metadata` returns.
    pub fn metadata(&self) -> GroupMetadata {
        match self.net.lock().group_metadata(self.idx) {
            Some(m) => m,
            None => unreachable!("groups are never removed from a network"),
        }
    }
}

fn notify(st: &NetState, members: &[usize], group: &Jid) {
    for id in st.accounts_of(members) {
        if let Some(conn) = st.accounts.get(&id).and_then(|a| a.up()) {
            conn.emit(SocketEvent::GroupUpdate {
                group: group.clone(),
            });
        }
    }
}
