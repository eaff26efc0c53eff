//! Identities: phone numbers (E.164), WhatsApp JIDs, LIDs, account ids and senders.
//!
//! Everything here parses; nothing scrubs. The reference channel turned any string into
//! `"+<digits>"` and so matched garbage silently; wagw rejects what is not a phone number
//! with an error that quotes the input and says why.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// Why an identity string was rejected. Every variant quotes the input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdentityError {
    /// The input was empty or only whitespace.
    #[error("empty identity: expected a phone number such as +15551234567")]
    Empty,
    /// A character that cannot appear in a phone number (letters, `*`, `#`, ...).
    #[error("{input:?} is not a phone number: unexpected character {ch:?}")]
    InvalidCharacter {
        /// The input as given.
        input: String,
        /// The first offending character.
        ch: char,
    },
    /// More than one `+`, or a `+` anywhere but at the start.
    #[error("{input:?} is not a phone number: '+' may appear only once, at the start")]
    MisplacedPlus {
        /// The input as given.
        input: String,
    },
    /// Fewer than 7 digits.
    #[error("{input:?} is not a phone number: {digits} digits, at least 7 are needed")]
    TooShort {
        /// The input as given.
        input: String,
        /// How many digits it had.
        digits: usize,
    },
    /// More than 15 digits (E.164's maximum).
    #[error("{input:?} is not a phone number: {digits} digits, at most 15 are allowed")]
    TooLong {
        /// The input as given.
        input: String,
        /// How many digits it had.
        digits: usize,
    },
    /// Country codes never start with 0.
    #[error("{input:?} is not a phone number: the country code cannot start with 0")]
    LeadingZero {
        /// The input as given.
        input: String,
    },
    /// A JID that names something other than a phone user (a group, a LID, a broadcast).
    #[error("{input:?} is a {kind} JID, not a phone number")]
    NotAPhone {
        /// The input as given.
        input: String,
        /// What kind of JID it is.
        kind: JidKind,
    },
    /// A string that looked like a JID (`user@server`) but is malformed.
    #[error("{input:?} is not a valid WhatsApp JID: {reason}")]
    InvalidJid {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A JID that is valid but cannot receive messages: the status feed
    /// (`status@broadcast`) or a broadcast list (`<id>@broadcast`). The reference's target
    /// normalization refuses them too; wagw says why instead of failing at send time.
    #[error("{input:?} cannot receive messages: {reason}")]
    NotASendTarget {
        /// The input as given.
        input: String,
        /// What kind of JID it is.
        kind: JidKind,
        /// What to do instead.
        reason: &'static str,
    },
    /// An account id outside `[a-z0-9_-]{1,64}`.
    #[error(
        "{input:?} is not a valid account id: use 1-64 lowercase letters, digits, '_' or '-', starting with a letter or digit"
    )]
    InvalidAccountId {
        /// The input as given.
        input: String,
    },
}

impl IdentityError {
    /// A stable snake_case name for the kind of error (used by fixtures and JSON output).
    pub fn kind(&self) -> &'static str {
        match self {
            IdentityError::Empty => "empty",
            IdentityError::InvalidCharacter { .. } => "invalid_character",
            IdentityError::MisplacedPlus { .. } => "misplaced_plus",
            IdentityError::TooShort { .. } => "too_short",
            IdentityError::TooLong { .. } => "too_long",
            IdentityError::LeadingZero { .. } => "leading_zero",
            IdentityError::NotAPhone { .. } => "not_a_phone",
            IdentityError::InvalidJid { .. } => "invalid_jid",
            IdentityError::NotASendTarget { .. } => "not_a_send_target",
            IdentityError::InvalidAccountId { .. } => "invalid_account_id",
        }
    }
}

/// Removes any number of leading `whatsapp:` prefixes (any case), trimming around each.
pub fn strip_whatsapp_prefix(input: &str) -> &str {
    // Fast path for what is almost always passed: no surrounding space, no prefix.
    let bytes = input.as_bytes();
    if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last())
        && first.is_ascii_graphic()
        && last.is_ascii_graphic()
        && !first.eq_ignore_ascii_case(&b'w')
    {
        return input;
    }
    let mut rest = input.trim();
    while rest.len() >= 9 && rest.is_char_boundary(9) && rest[..9].eq_ignore_ascii_case("whatsapp:")
    {
        rest = rest[9..].trim();
    }
    rest
}

/// Whether `input` looks like a WhatsApp id rather than a name: it starts with `whatsapp:`
/// (any case), contains `@`, or is an optional `+` and at least three digits. This is the
/// reference's `looksLikeWhatsAppTargetId`, a cheap syntactic test for a caller that accepts
/// either an id or a name to look up (a contact directory, an agent tool). It does not
/// validate: [`Jid::from_target`] says whether the id can be sent to.
///
/// ```
/// use wagw_core::looks_like_target_id;
/// assert!(looks_like_target_id("+15551234567"));
/// assert!(looks_like_target_id("120363012345678901@g.us"));
/// assert!(looks_like_target_id("WhatsApp:bob"));
/// assert!(!looks_like_target_id("Bob"));
/// assert!(!looks_like_target_id("+1 555")); // spaces: a name, as in the reference
/// ```
pub fn looks_like_target_id(input: &str) -> bool {
    let s = input.trim();
    if s.len() >= 9 && s.is_char_boundary(9) && s[..9].eq_ignore_ascii_case("whatsapp:") {
        return true;
    }
    if s.contains('@') {
        return true;
    }
    let digits = s.strip_prefix('+').unwrap_or(s);
    digits.len() >= 3 && digits.bytes().all(|b| b.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// Phone
// ---------------------------------------------------------------------------------------------

/// An E.164 phone number: 7–15 digits, first digit not 0. Displays as `+<digits>`.
///
/// Stored inline (no heap): `+` and up to 15 digits in 16 bytes, so parsing allocates only
/// when it fails (the error quotes the input) and cloning a `Phone` is a plain copy.
///
/// ```
/// use wagw_core::Phone;
/// let p = Phone::parse("+1 (555) 123-4567").unwrap();
/// assert_eq!(p.to_string(), "+15551234567");
/// assert_eq!(p.as_str(), "+15551234567");
/// assert_eq!(p.digits(), "15551234567");
/// assert_eq!(Phone::parse("15551234567:12@s.whatsapp.net").unwrap(), p);
/// assert!(Phone::parse("555-1234 ext. 5").is_err());
/// ```
// Not `Copy`, though it could be: callers across the workspace `.clone()` phones, and
// `Copy` would turn each of those into a clippy error. A clone is a 17-byte copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone {
    /// `+` then the digits, zero-padded after `len` (so derived equality is value equality).
    e164: [u8; Phone::MAX_DIGITS + 1],
    /// Bytes used in `e164`, the `+` included: 8..=16.
    len: u8,
}

impl Phone {
    /// E.164's maximum number of digits.
    const MAX_DIGITS: usize = 15;
    /// Digits the scanner keeps: a `00` international prefix plus the maximum.
    const SCAN_DIGITS: usize = Phone::MAX_DIGITS + 2;

    /// Parses a phone number in any of the forms users write (see the module docs).
    pub fn parse(input: &str) -> Result<Phone, IdentityError> {
        let stripped = strip_whatsapp_prefix(input);
        if stripped.is_empty() {
            return Err(IdentityError::Empty);
        }
        // One pass over the bytes. Every digit is counted; the first SCAN_DIGITS are kept
        // right after a `+`, which is all a valid number (with a `00` prefix) can have. A JID
        // (`@` anywhere) takes precedence over any character error, as it always has.
        let bytes = stripped.as_bytes();
        let mut buf = [0u8; Phone::SCAN_DIGITS + 1];
        buf[0] = b'+';
        let mut count = 0usize;
        let mut saw_plus = false;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'0'..=b'9' => {
                    if count < Phone::SCAN_DIGITS {
                        buf[count + 1] = b;
                    }
                    count += 1;
                }
                b' ' | b'-' | b'.' | b'(' | b')' => {}
                b'+' if i == 0 => saw_plus = true,
                // U+00A0 (no-break space) is C2 A0 in UTF-8.
                0xC2 if bytes.get(i + 1) == Some(&0xA0) => i += 1,
                _ => return Phone::parse_slow(input, stripped, i),
            }
            i += 1;
        }
        let mut n = count;
        if !saw_plus && count >= 2 && buf[1] == b'0' && buf[2] == b'0' {
            // The `00` international prefix: drop it, and clear what the shift leaves behind
            // so the unused bytes stay zero.
            n -= 2;
            let end = count.min(Phone::SCAN_DIGITS) + 1;
            buf.copy_within(3..end, 1);
            buf[end - 2..end].fill(0);
        }
        Phone::check(n, buf[1], input)?;
        let mut e164 = [0u8; Phone::MAX_DIGITS + 1];
        e164.copy_from_slice(&buf[..=Phone::MAX_DIGITS]);
        Ok(Phone {
            e164,
            len: (n + 1) as u8,
        })
    }

    /// The rare paths, off the hot loop: a JID, or the error for the byte at `at`.
    #[cold]
    fn parse_slow(input: &str, stripped: &str, at: usize) -> Result<Phone, IdentityError> {
        if stripped.contains('@') {
            let jid = Jid::parse(stripped).map_err(|e| rename_input(e, input))?;
            return match jid.kind() {
                JidKind::User => Phone::from_digits(jid.user_part(), input),
                kind => Err(IdentityError::NotAPhone {
                    input: input.to_string(),
                    kind,
                }),
            };
        }
        match stripped[at..].chars().next() {
            Some('+') => Err(IdentityError::MisplacedPlus {
                input: input.to_string(),
            }),
            Some(ch) => Err(IdentityError::InvalidCharacter {
                input: input.to_string(),
                ch,
            }),
            // `at` is always a byte of `stripped`; an empty tail cannot be reached.
            None => Err(IdentityError::Empty),
        }
    }

    /// The length and leading-digit rules. `first` is the first digit (anything when `n`
    /// is 0).
    #[inline]
    fn check(n: usize, first: u8, input: &str) -> Result<(), IdentityError> {
        if (7..=Phone::MAX_DIGITS).contains(&n) && first != b'0' {
            Ok(())
        } else {
            Err(Phone::check_failed(n, first, input))
        }
    }

    /// Which rule failed, in the order their errors take precedence.
    #[cold]
    fn check_failed(n: usize, first: u8, input: &str) -> IdentityError {
        let input = input.to_string();
        if n == 0 {
            IdentityError::TooShort { input, digits: 0 }
        } else if first == b'0' {
            IdentityError::LeadingZero { input }
        } else if n < 7 {
            IdentityError::TooShort { input, digits: n }
        } else {
            IdentityError::TooLong { input, digits: n }
        }
    }

    fn from_digits(digits: &str, input: &str) -> Result<Phone, IdentityError> {
        let n = digits.len();
        if n != 0 && !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::InvalidJid {
                input: input.to_string(),
                reason: "the user part of a phone JID must be digits",
            });
        }
        Phone::check(n, digits.bytes().next().unwrap_or(0), input)?;
        let mut e164 = [0u8; Phone::MAX_DIGITS + 1];
        e164[0] = b'+';
        e164[1..=n].copy_from_slice(digits.as_bytes());
        Ok(Phone {
            e164,
            len: (n + 1) as u8,
        })
    }

    /// The E.164 form, `+<digits>` (what `Display` prints).
    #[inline]
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and `+` are ever stored, so this never falls back.
        std::str::from_utf8(&self.e164[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The digits without the leading `+`.
    #[inline]
    pub fn digits(&self) -> &str {
        &self.as_str()[1..]
    }

    /// The user JID of this number (`<digits>@s.whatsapp.net`).
    pub fn to_jid(&self) -> Jid {
        Jid::user(self.digits())
    }
}

// Ordered and hashed as the digit string, as when a phone was a `Box<str>` of digits.
impl Ord for Phone {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.digits().cmp(other.digits())
    }
}

impl PartialOrd for Phone {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::hash::Hash for Phone {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.digits().hash(state)
    }
}

fn rename_input(err: IdentityError, input: &str) -> IdentityError {
    match err {
        IdentityError::InvalidJid { reason, .. } => IdentityError::InvalidJid {
            input: input.to_string(),
            reason,
        },
        other => other,
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One write: `to_string()` then allocates exactly once, at the right size.
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.as_str())
    }
}

impl FromStr for Phone {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Phone::parse(s)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Jid
// ---------------------------------------------------------------------------------------------

/// What a JID names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JidKind {
    /// A phone-number user (`@s.whatsapp.net`, also written `@c.us`).
    User,
    /// A LID (`@lid`): WhatsApp's privacy identity, not a phone number.
    Lid,
    /// A group (`@g.us`).
    Group,
    /// A broadcast list (`<id>@broadcast`).
    Broadcast,
    /// The status feed (`status@broadcast`).
    Status,
    /// A channel/newsletter (`@newsletter`).
    Newsletter,
}

impl fmt::Display for JidKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JidKind::User => "user",
            JidKind::Lid => "lid",
            JidKind::Group => "group",
            JidKind::Broadcast => "broadcast",
            JidKind::Status => "status",
            JidKind::Newsletter => "newsletter",
        })
    }
}

/// A WhatsApp JID: `user[:device]@server`. The server part is case-insensitive and is
/// stored in canonical form (`c.us` becomes `s.whatsapp.net`).
///
/// ```
/// use wagw_core::{Jid, JidKind};
/// let j = Jid::parse("15551234567:3@S.WhatsApp.Net").unwrap();
/// assert_eq!(j.kind(), JidKind::User);
/// assert_eq!(j.device(), Some(3));
/// assert_eq!(j.without_device().to_string(), "15551234567@s.whatsapp.net");
/// assert!(Jid::parse("120363012345678901@g.us").unwrap().is_group());
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    user: Box<str>,
    device: Option<u16>,
    kind: JidKind,
}

/// The canonical server for each kind.
fn server_of(kind: JidKind) -> &'static str {
    match kind {
        JidKind::User => "s.whatsapp.net",
        JidKind::Lid => "lid",
        JidKind::Group => "g.us",
        JidKind::Broadcast | JidKind::Status => "broadcast",
        JidKind::Newsletter => "newsletter",
    }
}

impl Jid {
    /// Parses a full JID. Plain phone numbers are not JIDs: use [`Jid::from_target`].
    pub fn parse(input: &str) -> Result<Jid, IdentityError> {
        let invalid = |reason| IdentityError::InvalidJid {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.is_empty() {
            return Err(IdentityError::Empty);
        }
        let (left, server) = s
            .rsplit_once('@')
            .ok_or_else(|| invalid("missing '@server'"))?;
        if left.is_empty() {
            return Err(invalid("empty user part"));
        }
        let server = server.to_ascii_lowercase();
        let (user, device) = match left.split_once(':') {
            Some((u, d)) => {
                // `u16::from_str` accepts a leading '+', which no JID has.
                if d.is_empty() || !d.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid("the device suffix must be a number"));
                }
                let d: u16 = d
                    .parse()
                    .map_err(|_| invalid("the device suffix must be a number"))?;
                (u, Some(d))
            }
            None => (left, None),
        };
        if user.is_empty() {
            return Err(invalid("empty user part"));
        }
        let all_digits = |u: &str| u.bytes().all(|b| b.is_ascii_digit());
        let kind = match server.as_str() {
            "s.whatsapp.net" | "c.us" | "hosted" => {
                if !all_digits(user) {
                    return Err(invalid("the user part of a phone JID must be digits"));
                }
                JidKind::User
            }
            "lid" | "hosted.lid" => {
                if !all_digits(user) {
                    return Err(invalid("the user part of a LID must be digits"));
                }
                JidKind::Lid
            }
            "g.us" => {
                let ok = user
                    .split('-')
                    .all(|part| !part.is_empty() && all_digits(part));
                if !ok || device.is_some() {
                    return Err(invalid(
                        "a group id is digits, or two digit runs joined by '-'",
                    ));
                }
                JidKind::Group
            }
            "broadcast" => {
                if device.is_some() {
                    return Err(invalid("a broadcast JID has no device"));
                }
                if user.eq_ignore_ascii_case("status") {
                    return Ok(Jid {
                        user: "status".into(),
                        device: None,
                        kind: JidKind::Status,
                    });
                }
                if !all_digits(user) {
                    return Err(invalid("a broadcast list id must be digits"));
                }
                JidKind::Broadcast
            }
            "newsletter" => {
                if !all_digits(user) || device.is_some() {
                    return Err(invalid("a newsletter id must be digits"));
                }
                JidKind::Newsletter
            }
            "" => return Err(invalid("empty server part")),
            _ => return Err(invalid("unknown server")),
        };
        Ok(Jid {
            user: user.into(),
            device,
            kind,
        })
    }

    /// Converts a send target — a JID, a phone number in any written form, with or without
    /// `whatsapp:` — into a JID. Garbage is an error, never a guess.
    ///
    /// The status feed (`status@broadcast`) and broadcast lists (`<id>@broadcast`) are
    /// refused ([`IdentityError::NotASendTarget`]): they are JIDs, but no message can be sent
    /// to them, so a caller learns it here, naming its own field, rather than from a failed
    /// send. Use [`Jid::parse`] to read such JIDs from inbound traffic.
    ///
    /// ```
    /// use wagw_core::Jid;
    /// assert_eq!(Jid::from_target("whatsapp:+1 555 123 4567").unwrap().to_string(),
    ///            "15551234567@s.whatsapp.net");
    /// assert!(Jid::from_target("bob").is_err());
    /// assert_eq!(Jid::from_target("status@broadcast").unwrap_err().kind(), "not_a_send_target");
    /// ```
    pub fn from_target(input: &str) -> Result<Jid, IdentityError> {
        let stripped = strip_whatsapp_prefix(input);
        if !stripped.contains('@') {
            return Ok(Phone::parse(input)?.to_jid());
        }
        let jid = Jid::parse(stripped).map_err(|e| rename_input(e, input))?;
        let reason = match jid.kind() {
            JidKind::Status => "it is the status feed, not a chat; send to a person or a group",
            JidKind::Broadcast => {
                "it is a broadcast list, not a chat; send to each of its recipients instead"
            }
            // A chat is a person or a group, never one of its devices (the reference
            // normalizes `1555…:4@s.whatsapp.net` to the number too).
            _ => return Ok(jid.without_device()),
        };
        Err(IdentityError::NotASendTarget {
            input: input.to_string(),
            kind: jid.kind(),
            reason,
        })
    }

    /// A phone user JID from digits (not validated as a phone number).
    pub fn user(digits: impl Into<Box<str>>) -> Jid {
        Jid {
            user: digits.into(),
            device: None,
            kind: JidKind::User,
        }
    }

    /// The user part (digits for users, LIDs and groups).
    pub fn user_part(&self) -> &str {
        &self.user
    }

    /// The device number, if the JID names one device.
    pub fn device(&self) -> Option<u16> {
        self.device
    }

    /// What the JID names.
    pub fn kind(&self) -> JidKind {
        self.kind
    }

    /// The canonical server part.
    pub fn server(&self) -> &'static str {
        server_of(self.kind)
    }

    /// True for `@g.us`.
    pub fn is_group(&self) -> bool {
        self.kind == JidKind::Group
    }

    /// True for `status@broadcast` and broadcast lists: chats the gateway never answers.
    pub fn is_status_or_broadcast(&self) -> bool {
        matches!(self.kind, JidKind::Status | JidKind::Broadcast)
    }

    /// The same JID without its device suffix.
    pub fn without_device(&self) -> Jid {
        Jid {
            user: self.user.clone(),
            device: None,
            kind: self.kind,
        }
    }

    /// The same JID naming one device.
    pub fn with_device(&self, device: u16) -> Jid {
        Jid {
            user: self.user.clone(),
            device: Some(device),
            kind: self.kind,
        }
    }

    /// The phone number, when this is a phone user JID with a valid number.
    pub fn to_phone(&self) -> Option<Phone> {
        if self.kind == JidKind::User {
            Phone::from_digits(&self.user, &self.user).ok()
        } else {
            None
        }
    }

    /// The LID, when this is a `@lid` JID.
    pub fn to_lid(&self) -> Option<Lid> {
        (self.kind == JidKind::Lid).then(|| Lid {
            digits: self.user.clone(),
        })
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.device {
            Some(d) => write!(f, "{}:{}@{}", self.user, d, self.server()),
            None => write!(f, "{}@{}", self.user, self.server()),
        }
    }
}

impl fmt::Debug for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Jid({self})")
    }
}

impl FromStr for Jid {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Jid::parse(s)
    }
}

impl Serialize for Jid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Jid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Jid::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Lid
// ---------------------------------------------------------------------------------------------

/// A LID: WhatsApp's per-user privacy identity (`<digits>@lid`). Not a phone number; it maps
/// to one only through WhatsApp's LID↔phone mapping.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lid {
    digits: Box<str>,
}

impl Lid {
    /// Parses `<digits>@lid` (device suffix dropped) or bare digits.
    pub fn parse(input: &str) -> Result<Lid, IdentityError> {
        let s = strip_whatsapp_prefix(input);
        if s.contains('@') {
            let jid = Jid::parse(s).map_err(|e| rename_input(e, input))?;
            return jid.to_lid().ok_or(IdentityError::InvalidJid {
                input: input.to_string(),
                reason: "not a LID (expected <digits>@lid)",
            });
        }
        if s.is_empty() {
            return Err(IdentityError::Empty);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentityError::InvalidJid {
                input: input.to_string(),
                reason: "a LID is digits",
            });
        }
        Ok(Lid { digits: s.into() })
    }

    /// The digits of the LID.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The `@lid` JID.
    pub fn to_jid(&self) -> Jid {
        Jid {
            user: self.digits.clone(),
            device: None,
            kind: JidKind::Lid,
        }
    }
}

impl fmt::Display for Lid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@lid", self.digits)
    }
}

impl fmt::Debug for Lid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Lid({}@lid)", self.digits)
    }
}

impl FromStr for Lid {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Lid::parse(s)
    }
}

impl Serialize for Lid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Lid::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// AccountId
// ---------------------------------------------------------------------------------------------

/// A configured account's id: 1–64 of `[a-z0-9_-]`, starting with a letter or digit.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(Box<str>);

impl AccountId {
    /// The id of the implicit account when none is configured.
    pub const DEFAULT_STR: &'static str = "default";

    /// The `default` account.
    pub fn default_account() -> AccountId {
        AccountId(Self::DEFAULT_STR.into())
    }

    /// Parses an account id. Uppercase is rejected rather than folded, so that the id in the
    /// config, on disk and in URLs is one string.
    pub fn parse(input: &str) -> Result<AccountId, IdentityError> {
        // The first character must be a letter or digit (as in the reference's
        // `^[a-z0-9][a-z0-9_-]{0,63}$`), so an id never reads as a CLI flag like `-x`.
        let ok = input
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && input.len() <= 64
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if ok {
            Ok(AccountId(input.into()))
        } else {
            Err(IdentityError::InvalidAccountId {
                input: input.to_string(),
            })
        }
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for the `default` account.
    pub fn is_default(&self) -> bool {
        &*self.0 == Self::DEFAULT_STR
    }
}

impl Default for AccountId {
    fn default() -> Self {
        AccountId::default_account()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

impl FromStr for AccountId {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AccountId::parse(s)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        AccountId::parse(&s).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Agent ids
// ---------------------------------------------------------------------------------------------

/// The agent id used when none is given (`agent:main:…`).
pub const DEFAULT_AGENT_ID: &str = "main";

/// The canonical form of an agent id, as it appears in session keys, exactly as the reference
/// normalizes it: trimmed; an id of 1–64 `[A-Za-z0-9_-]` starting with a letter or digit is
/// lowercased; anything else is lowercased, each run of other characters becomes one `-`,
/// leading and trailing `-` are dropped and the result is cut to 64 characters. Empty gives
/// [`DEFAULT_AGENT_ID`].
///
/// ```
/// use wagw_core::normalize_agent_id;
/// assert_eq!(normalize_agent_id("Work Bot"), "work-bot");
/// assert_eq!(normalize_agent_id("ops"), "ops");
/// assert_eq!(normalize_agent_id("Sales.EU"), "sales-eu");
/// assert_eq!(normalize_agent_id("  "), "main");
/// ```
pub fn normalize_agent_id(input: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let trimmed = input.trim();
    let plain = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let canonical = trimmed.len() <= 64
        && trimmed
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
        && trimmed.bytes().all(plain);
    if canonical {
        return if trimmed.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(trimmed.to_ascii_lowercase())
        } else {
            Cow::Borrowed(trimmed)
        };
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut in_run = false;
    for c in trimmed.to_lowercase().chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            // A run of other characters becomes one '-' (`/[^a-z0-9_-]+/g` in the reference;
            // a literal '-' next to the run stays, so "a- b" gives "a--b" there too).
            out.push('-');
            in_run = true;
        }
    }
    let out = out.trim_matches('-');
    let out: String = out.chars().take(64).collect();
    if out.is_empty() {
        Cow::Borrowed(DEFAULT_AGENT_ID)
    } else {
        Cow::Owned(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Sender
// ---------------------------------------------------------------------------------------------

/// Who sent a message, as far as WhatsApp told us: a phone number, a LID, or both. This is
/// the unit access control matches against allowlists.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sender {
    /// The sender's phone number, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    /// The sender's LID, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<Lid>,
}

impl Sender {
    /// A sender known by phone only.
    pub fn phone(phone: Phone) -> Sender {
        Sender {
            phone: Some(phone),
            lid: None,
        }
    }

    /// A sender known by LID only.
    pub fn lid(lid: Lid) -> Sender {
        Sender {
            phone: None,
            lid: Some(lid),
        }
    }

    /// A sender known by both.
    pub fn both(phone: Phone, lid: Lid) -> Sender {
        Sender {
            phone: Some(phone),
            lid: Some(lid),
        }
    }

    /// Builds a sender from a user or LID JID (device dropped). Other JIDs give `None`.
    pub fn from_jid(jid: &Jid) -> Option<Sender> {
        match jid.kind() {
            JidKind::User => jid.to_phone().map(Sender::phone),
            JidKind::Lid => jid.to_lid().map(Sender::lid),
            _ => None,
        }
    }

    /// The best JID to address this sender: the phone JID when known, else the LID JID.
    pub fn jid(&self) -> Option<Jid> {
        self.phone
            .as_ref()
            .map(Phone::to_jid)
            .or_else(|| self.lid.as_ref().map(Lid::to_jid))
    }
}

impl fmt::Display for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.phone, &self.lid) {
            (Some(p), _) => write!(f, "{p}"),
            (None, Some(l)) => write!(f, "{l}"),
            (None, None) => f.write_str("unknown"),
        }
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sender(")?;
        if let Some(p) = &self.phone {
            write!(f, "{p}")?;
        }
        if let Some(l) = &self.lid {
            write!(f, " {l}")?;
        }
        write!(f, ")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_forms() {
        for s in [
            "+15551234567",
            "15551234567",
            "+1 (555) 123-4567",
            "whatsapp:+15551234567",
            "WhatsApp:+15551234567",
            "15551234567@s.whatsapp.net",
            "15551234567:12@s.whatsapp.net",
            "0015551234567",
            "15551234567@c.us",
        ] {
            assert_eq!(
                Phone::parse(s).map(|p| p.to_string()),
                Ok("+15551234567".to_string()),
                "{s}"
            );
        }
    }

    #[test]
    fn phone_rejects() {
        for (s, kind) in [
            ("", "empty"),
            ("*", "invalid_character"),
            ("++15551234567", "misplaced_plus"),
            ("555 1234 ext. 5", "invalid_character"),
            ("123", "too_short"),
            ("1234567890123456", "too_long"),
            ("+0123456789", "leading_zero"),
            ("123@lid", "not_a_phone"),
            ("123-456@g.us", "not_a_phone"),
        ] {
            assert_eq!(Phone::parse(s).map_err(|e| e.kind()), Err(kind), "{s}");
        }
    }

    /// The allocating parser phones had before they were stored inline, kept as the oracle
    /// for `inline_parse_matches_the_previous_parser`: same digits out, same error in.
    fn previous_parse(input: &str) -> Result<String, IdentityError> {
        fn from_digits(digits: &str, input: &str) -> Result<String, IdentityError> {
            let n = digits.len();
            let input = input.to_string();
            if n == 0 {
                return Err(IdentityError::TooShort { input, digits: 0 });
            }
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(IdentityError::InvalidJid {
                    input,
                    reason: "the user part of a phone JID must be digits",
                });
            }
            if digits.starts_with('0') {
                return Err(IdentityError::LeadingZero { input });
            }
            if n < 7 {
                return Err(IdentityError::TooShort { input, digits: n });
            }
            if n > 15 {
                return Err(IdentityError::TooLong { input, digits: n });
            }
            Ok(digits.to_string())
        }
        let stripped = strip_whatsapp_prefix(input);
        if stripped.is_empty() {
            return Err(IdentityError::Empty);
        }
        if stripped.contains('@') {
            let jid = Jid::parse(stripped).map_err(|e| rename_input(e, input))?;
            return match jid.kind() {
                JidKind::User => from_digits(jid.user_part(), input),
                kind => Err(IdentityError::NotAPhone {
                    input: input.to_string(),
                    kind,
                }),
            };
        }
        let mut digits = String::new();
        let mut saw_plus = false;
        for (i, ch) in stripped.char_indices() {
            match ch {
                '0'..='9' => digits.push(ch),
                '+' if i == 0 => saw_plus = true,
                '+' => {
                    return Err(IdentityError::MisplacedPlus {
                        input: input.to_string(),
                    });
                }
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                other => {
                    return Err(IdentityError::InvalidCharacter {
                        input: input.to_string(),
                        ch: other,
                    });
                }
            }
        }
        let digits = if !saw_plus && digits.starts_with("00") {
            &digits[2..]
        } else {
            &digits[..]
        };
        from_digits(digits, input)
    }

    proptest::proptest! {
        #[test]
        fn inline_parse_matches_the_previous_parser(
            input in "(whatsapp: ?)?[+0-9 ().@:a\\-\u{a0}\u{e9}]{0,24}(@(s\\.whatsapp\\.net|lid|g\\.us|c\\.us))?"
        ) {
            let now = Phone::parse(&input).map(|p| p.digits().to_string());
            proptest::prop_assert_eq!(now, previous_parse(&input));
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn inline_parse_edges() {
        for s in [
            "+123456789012345",
            "00123456789012345",
            "0012345678901234567",
            "+00123456789",
            "00",
            "0",
            "+",
            "1234567\u{a0}8",
            "1234567\u{c2}",
            "12345678+",
            "12 34 56 78 é",
            "+1234567@s.whatsapp.net",
            "1234567890123456@s.whatsapp.net",
        ] {
            let now = Phone::parse(s).map(|p| p.digits().to_string());
            assert_eq!(now, previous_parse(s), "{s:?}");
        }
        let p = Phone::parse("+15551234567").unwrap();
        assert_eq!((p.as_str(), p.digits()), ("+15551234567", "15551234567"));
        assert_eq!(p.to_jid().to_string(), "15551234567@s.whatsapp.net");
        // Ordered as the digit strings are, not by length first.
        assert!(Phone::parse("+19999999").unwrap() > Phone::parse("+155512345678").unwrap());
    }

    #[test]
    fn jid_round_trip() {
        for s in [
            "15551234567@s.whatsapp.net",
            "15551234567:2@s.whatsapp.net",
            "123456789@lid",
            "120363012345678901@g.us",
            "15551234567-1600000000@g.us",
            "status@broadcast",
            "1234@broadcast",
            "120363000000000000@newsletter",
        ] {
            assert_eq!(Jid::parse(s).map(|j| j.to_string()), Ok(s.to_string()));
        }
    }

    #[test]
    fn account_ids() {
        assert!(AccountId::parse("work-1_a").is_ok());
        assert!(AccountId::parse("Work").is_err());
        assert!(AccountId::parse("").is_err());
        assert!(AccountId::parse(&"a".repeat(65)).is_err());
    }
}
