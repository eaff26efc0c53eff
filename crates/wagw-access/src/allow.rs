//! Allowlists: `allowFrom` / `groupAllowFrom` entries (senders) and the `groups` map (chats).
//!
//! Entries are parsed once, when the policy is built, into hash sets, so that a decision is
//! O(1) however long the list is.

use std::fmt;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use wagw_core::{Jid, JidKind, Lid, Phone, Sender, strip_whatsapp_prefix};

use crate::AccessError;

/// One allowlist entry: `"*"` (anyone), a phone number or a LID.
///
/// ```
/// use wagw_access::AllowEntry;
/// assert_eq!(AllowEntry::parse(" * ").unwrap(), AllowEntry::Any);
/// assert_eq!(AllowEntry::parse("+1 (555) 123-4567").unwrap().to_string(), "+15551234567");
/// assert_eq!(AllowEntry::parse("123456789@lid").unwrap().to_string(), "123456789@lid");
/// assert!(AllowEntry::parse("bob").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum AllowEntry {
    /// `"*"` (surrounding whitespace ignored): every sender.
    Any,
    /// A phone number in any form [`Phone::parse`] accepts.
    Phone(Phone),
    /// A LID (`<digits>@lid`).
    Lid(Lid),
}

impl AllowEntry {
    /// Parses one entry. The wildcard matches after trimming (the reference only accepted an
    /// exact `"*"`, quirk Q11); a LID needs its `@lid` suffix, bare digits are a phone number.
    pub fn parse(input: &str) -> Result<AllowEntry, AccessError> {
        let trimmed = input.trim();
        if trimmed == "*" {
            return Ok(AllowEntry::Any);
        }
        match Phone::parse(trimmed) {
            Ok(p) => Ok(AllowEntry::Phone(p)),
            Err(source) => {
                let stripped = strip_whatsapp_prefix(trimmed);
                if stripped.contains('@')
                    && let Ok(jid) = Jid::parse(stripped)
                    && let Some(lid) = jid.to_lid()
                {
                    return Ok(AllowEntry::Lid(lid));
                }
                Err(AccessError::InvalidEntry {
                    input: input.to_string(),
                    source,
                })
            }
        }
    }

    /// The entry that admits this sender in the allow-store: the phone when known, else the
    /// LID. `None` for a sender with neither.
    pub fn for_sender(sender: &Sender) -> Option<AllowEntry> {
        match (&sender.phone, &sender.lid) {
            (Some(p), _) => Some(AllowEntry::Phone(p.clone())),
            (None, Some(l)) => Some(AllowEntry::Lid(l.clone())),
            (None, None) => None,
        }
    }
}

impl fmt::Display for AllowEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AllowEntry::Any => f.write_str("*"),
            AllowEntry::Phone(p) => write!(f, "{p}"),
            AllowEntry::Lid(l) => write!(f, "{l}"),
        }
    }
}

impl std::str::FromStr for AllowEntry {
    type Err = AccessError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AllowEntry::parse(s)
    }
}

impl Serialize for AllowEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AllowEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AllowEntry::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A parsed list of sender entries with O(1) membership.
///
/// ```
/// use wagw_access::AllowList;
/// use wagw_core::{Phone, Sender};
/// let list = AllowList::parse(["+15551234567", "not a number"]);
/// assert_eq!(list.rejected().len(), 1); // kept for `wagw doctor`-style reporting
/// assert!(list.contains_phone(&Phone::parse("15551234567").unwrap()));
/// ```
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct AllowList {
    wildcard: bool,
    phones: HashSet<Phone>,
    lids: HashSet<Lid>,
    rejected: Vec<String>,
}

impl AllowList {
    /// An empty list (no entries at all).
    pub fn new() -> AllowList {
        AllowList::default()
    }

    /// Parses entries leniently: unusable ones are set aside in [`AllowList::rejected`] and
    /// never match. Use [`AllowList::try_parse`] to refuse them instead.
    pub fn parse<I, S>(entries: I) -> AllowList
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = AllowList::new();
        for e in entries {
            match AllowEntry::parse(e.as_ref()) {
                Ok(entry) => list.insert(entry),
                Err(_) => list.rejected.push(e.as_ref().to_string()),
            }
        }
        list
    }

    /// Parses entries strictly: the first unusable entry is an error naming it.
    pub fn try_parse<I, S>(entries: I) -> Result<AllowList, AccessError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut list = AllowList::new();
        for e in entries {
            list.insert(AllowEntry::parse(e.as_ref())?);
        }
        Ok(list)
    }

    /// Adds one entry.
    pub fn insert(&mut self, entry: AllowEntry) {
        match entry {
            AllowEntry::Any => self.wildcard = true,
            AllowEntry::Phone(p) => {
                self.phones.insert(p);
            }
            AllowEntry::Lid(l) => {
                self.lids.insert(l);
            }
        }
    }

    /// True when the list holds `"*"`.
    pub fn has_wildcard(&self) -> bool {
        self.wildcard
    }

    /// True when the list has no usable entry at all (not even `"*"`).
    pub fn is_empty(&self) -> bool {
        !self.wildcard && self.phones.is_empty() && self.lids.is_empty()
    }

    /// True when the list names at least one phone or LID (wildcard aside).
    pub fn has_identities(&self) -> bool {
        !self.phones.is_empty() || !self.lids.is_empty()
    }

    /// Number of phone and LID entries (wildcard not counted).
    pub fn identity_count(&self) -> usize {
        self.phones.len() + self.lids.len()
    }

    /// Exact phone membership (the wildcard is not consulted).
    pub fn contains_phone(&self, phone: &Phone) -> bool {
        self.phones.contains(phone)
    }

    /// Exact LID membership (the wildcard is not consulted).
    pub fn contains_lid(&self, lid: &Lid) -> bool {
        self.lids.contains(lid)
    }

    /// Whether an identity entry names this sender: by phone, by LID, or — when the sender
    /// is known by one only — through the LID↔phone mapping `map`. The wildcard is not
    /// consulted; callers decide what `"*"` means for them.
    pub fn names(&self, sender: &Sender, map: &LidMap) -> bool {
        if let Some(p) = &sender.phone {
            if self.phones.contains(p) {
                return true;
            }
            if !self.lids.is_empty()
                && sender.lid.is_none()
                && let Some(l) = map.lid_of(p)
                && self.lids.contains(l)
            {
                return true;
            }
        }
        if let Some(l) = &sender.lid {
            if self.lids.contains(l) {
                return true;
            }
            if sender.phone.is_none()
                && let Some(p) = map.phone_of(l)
                && self.phones.contains(p)
            {
                return true;
            }
        }
        false
    }

    /// The entries that did not parse (lenient [`AllowList::parse`] only), as written.
    pub fn rejected(&self) -> &[String] {
        &self.rejected
    }

    /// Every usable entry, phones first, each group sorted (stable output for listings).
    pub fn entries(&self) -> Vec<AllowEntry> {
        let mut phones: Vec<&Phone> = self.phones.iter().collect();
        phones.sort();
        let mut lids: Vec<&Lid> = self.lids.iter().collect();
        lids.sort();
        let mut out = Vec::with_capacity(self.identity_count() + 1);
        if self.wildcard {
            out.push(AllowEntry::Any);
        }
        out.extend(phones.into_iter().cloned().map(AllowEntry::Phone));
        out.extend(lids.into_iter().cloned().map(AllowEntry::Lid));
        out
    }
}

impl FromIterator<AllowEntry> for AllowList {
    fn from_iter<T: IntoIterator<Item = AllowEntry>>(iter: T) -> Self {
        let mut list = AllowList::new();
        for e in iter {
            list.insert(e);
        }
        list
    }
}

/// The LID↔phone mapping WhatsApp gives the linked device, in both directions.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct LidMap {
    to_phone: HashMap<Lid, Phone>,
    to_lid: HashMap<Phone, Lid>,
}

impl LidMap {
    /// An empty mapping.
    pub fn new() -> LidMap {
        LidMap::default()
    }

    /// Records that `lid` belongs to `phone`.
    pub fn insert(&mut self, lid: Lid, phone: Phone) {
        self.to_lid.insert(phone.clone(), lid.clone());
        self.to_phone.insert(lid, phone);
    }

    /// The phone number of a LID, when known.
    pub fn phone_of(&self, lid: &Lid) -> Option<&Phone> {
        self.to_phone.get(lid)
    }

    /// The LID of a phone number, when known.
    pub fn lid_of(&self, phone: &Phone) -> Option<&Lid> {
        self.to_lid.get(phone)
    }

    /// Number of known pairs.
    pub fn len(&self) -> usize {
        self.to_phone.len()
    }

    /// True when no pair is known.
    pub fn is_empty(&self) -> bool {
        self.to_phone.is_empty()
    }
}

/// One `groups.<key>` entry.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupRule {
    /// `requireMention`; unset means true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_mention: Option<bool>,
}

/// Which `groups` key matched a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupMatch {
    /// The group's own JID is a key.
    Exact(GroupRule),
    /// Only `"*"` matched.
    Wildcard(GroupRule),
    /// The map is empty: every group passes, with default rules.
    Unlisted,
}

impl GroupMatch {
    /// The matched rule (defaults when unlisted).
    pub fn rule(&self) -> GroupRule {
        match self {
            GroupMatch::Exact(r) | GroupMatch::Wildcard(r) => *r,
            GroupMatch::Unlisted => GroupRule::default(),
        }
    }
}

/// The `groups` map: a group allowlist keyed by group JID or `"*"`, compared
/// case-insensitively (quirk Q20), each entry with its `requireMention`.
///
/// ```
/// use wagw_access::{GroupRule, GroupRules};
/// use wagw_core::Jid;
/// let mut groups = GroupRules::new();
/// groups.insert("120363000000000001@G.US", GroupRule { require_mention: Some(false) });
/// let g = Jid::parse("120363000000000001@g.us").unwrap();
/// assert_eq!(groups.lookup(&g).and_then(|m| m.rule().require_mention), Some(false));
/// ```
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub struct GroupRules {
    wildcard: Option<GroupRule>,
    exact: HashMap<String, GroupRule>,
    rejected: Vec<String>,
}

impl GroupRules {
    /// An empty map: every group passes this layer.
    pub fn new() -> GroupRules {
        GroupRules::default()
    }

    /// Adds an entry. Keys that are not `"*"` or a group JID are set aside in
    /// [`GroupRules::rejected`] and never match.
    pub fn insert(&mut self, key: &str, rule: GroupRule) {
        let k = strip_whatsapp_prefix(key);
        if k == "*" {
            self.wildcard = Some(rule);
            return;
        }
        match Jid::parse(&k.to_ascii_lowercase()) {
            Ok(j) if j.kind() == JidKind::Group => {
                self.exact.insert(j.to_string(), rule);
            }
            _ => self.rejected.push(key.to_string()),
        }
    }

    /// True when no key was configured (rejected keys count: a typo must not open every
    /// group).
    pub fn is_empty(&self) -> bool {
        self.wildcard.is_none() && self.exact.is_empty() && self.rejected.is_empty()
    }

    /// How a group fares: `None` when the map is non-empty and names neither the group nor
    /// `"*"`.
    pub fn lookup(&self, group: &Jid) -> Option<GroupMatch> {
        if self.is_empty() {
            return Some(GroupMatch::Unlisted);
        }
        let key = group.without_device().to_string();
        if let Some(r) = self.exact.get(&key) {
            return Some(GroupMatch::Exact(*r));
        }
        self.wildcard.map(GroupMatch::Wildcard)
    }

    /// Keys that were not `"*"` or a group JID, as written.
    pub fn rejected(&self) -> &[String] {
        &self.rejected
    }
}
