//! Who sent a message and who is in the group, as the turn shows them: the sender's
//! identities resolved once per message, sender labels, and group members with the names seen
//! in the turn.

use std::borrow::Cow;
use std::collections::HashMap;

use wagw_core::{GroupMetadata, InboundMessage, Jid, JidKind, Lid, Phone};

use crate::history::HistoryEntry;
use crate::turn::GroupMember;

pub(crate) fn phone_string(phone: &Phone) -> String {
    let digits = phone.digits();
    let mut s = String::with_capacity(digits.len() + 1);
    s.push('+');
    s.push_str(digits);
    s
}

/// The sender's identities as strings, resolved once per message.
pub(crate) struct SenderIds<'m> {
    pub(crate) phone: Option<Cow<'m, Phone>>,
    pub(crate) lid: Option<String>,
    pub(crate) jid: Option<String>,
    /// E.164, else LID, else raw JID, else the chat.
    pub(crate) from: String,
    /// False when `from` fell back to the chat (the sender is unknown).
    pub(crate) known: bool,
}

impl<'m> SenderIds<'m> {
    pub(crate) fn of(message: &'m InboundMessage) -> SenderIds<'m> {
        let dm_peer = (!message.chat.is_group()).then_some(&message.chat);
        let phone = match &message.sender.phone {
            Some(p) => Some(Cow::Borrowed(p)),
            None => message
                .sender_jid
                .as_ref()
                .and_then(Jid::to_phone)
                .or_else(|| dm_peer.filter(|_| !message.from_me).and_then(Jid::to_phone))
                .map(Cow::Owned),
        };
        let lid = message
            .sender
            .lid
            .as_ref()
            .map(ToString::to_string)
            .or_else(|| lid_of(message.sender_jid.as_ref()))
            .or_else(|| lid_of(dm_peer.filter(|_| !message.from_me)));
        let jid = message.sender_jid.as_ref().map(jid_string);
        let (from, known) = match (&phone, &lid, &jid) {
            (Some(p), _, _) => (phone_string(p), true),
            (None, Some(l), _) => (l.clone(), true),
            (None, None, Some(j)) => (j.clone(), true),
            (None, None, None) => (jid_string(&message.chat), false),
        };
        SenderIds {
            phone,
            lid,
            jid,
            from,
            known,
        }
    }
}

pub(crate) fn lid_of(jid: Option<&Jid>) -> Option<String> {
    jid.filter(|j| j.kind() == JidKind::Lid).map(jid_string)
}

/// The JID without its device, built directly (no formatter, no intermediate JID).
pub(crate) fn jid_string(jid: &Jid) -> String {
    let user = jid.user_part();
    let server = jid.server();
    let mut s = String::with_capacity(user.len() + 1 + server.len());
    s.push_str(user);
    s.push('@');
    s.push_str(server);
    s
}

/// `Name (+E164)`, the name alone, the E.164 (or LID/JID) alone, or `Unknown`.
pub(crate) fn sender_label(name: Option<&str>, ids: &SenderIds) -> String {
    let name = name.map(str::trim).filter(|n| !n.is_empty());
    let id = Some(ids.from.as_str()).filter(|f| ids.known && !f.is_empty());
    match (name, id) {
        (Some(n), Some(i)) if n != i => format!("{n} ({i})"),
        (Some(n), _) => n.to_string(),
        (None, Some(i)) => i.to_string(),
        (None, None) => "Unknown".to_string(),
    }
}

/// Labels come from push names: keep them on one line.
pub(crate) fn push_one_line(out: &mut String, label: &str) {
    // Control characters are ASCII below 0x20, DEL, or C1 (U+0080-U+009F, lead byte 0xC2):
    // a byte scan rules them out cheaply before the char-level pass.
    let suspicious = label.bytes().any(|b| b < 0x20 || b == 0x7f || b == 0xc2);
    if suspicious && label.chars().any(char::is_control) {
        out.extend(label.chars().map(|c| if c.is_control() { ' ' } else { c }));
    } else {
        out.push_str(label);
    }
}

/// FNV-1a: the name maps are tiny, short-lived and keyed by digits from our own peers, so
/// SipHash's flood resistance buys nothing here and costs most of the lookup.
#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<Fnv>>;

pub(crate) fn group_members(
    group: &GroupMetadata,
    message: &InboundMessage,
    history: &[HistoryEntry],
) -> Vec<GroupMember> {
    // Names are only known from messages at hand: the history and the current message (the
    // latest name wins).
    let capacity = history.len() + 1;
    let mut by_phone: FastMap<&str, &str> =
        FastMap::with_capacity_and_hasher(capacity, Default::default());
    let mut by_lid: FastMap<&str, &str> = FastMap::default();
    let senders = history
        .iter()
        .map(|e| (&e.sender, e.sender_name.as_deref()))
        .chain(std::iter::once((
            &message.sender,
            message.push_name.as_deref(),
        )));
    for (sender, name) in senders {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            continue;
        };
        if let Some(p) = &sender.phone {
            by_phone.insert(p.digits(), name);
        }
        if let Some(l) = &sender.lid {
            by_lid.insert(l.digits(), name);
        }
    }
    group
        .participants
        .iter()
        .map(|p| {
            // The participant's own JID is the fallback for what the transport did not resolve.
            let phone_digits = p.sender.phone.as_ref().map(Phone::digits).or_else(|| {
                (p.jid.kind() == JidKind::User && p.jid.to_phone().is_some())
                    .then(|| p.jid.user_part())
            });
            let lid_digits = p
                .sender
                .lid
                .as_ref()
                .map(Lid::digits)
                .or_else(|| (p.jid.kind() == JidKind::Lid).then(|| p.jid.user_part()));
            let name = phone_digits
                .and_then(|d| by_phone.get(d))
                .or_else(|| lid_digits.and_then(|d| by_lid.get(d)))
                .map(|n| (*n).to_string());
            let e164 = phone_digits.map(|d| {
                let mut s = String::with_capacity(d.len() + 1);
                s.push('+');
                s.push_str(d);
                s
            });
            let lid = lid_digits.map(|d| {
                let mut s = String::with_capacity(d.len() + 4);
                s.push_str(d);
                s.push_str("@lid");
                s
            });
            GroupMember {
                e164,
                lid,
                name,
                admin: p.admin,
            }
        })
        .collect()
}
