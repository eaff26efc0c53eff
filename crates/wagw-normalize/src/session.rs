//! Session keys (`session.dmScope`) and the per-session clock behind the envelope's elapsed
//! time.

use std::collections::HashMap;

use wagw_core::{AccountId, DmScope, Jid, normalize_agent_id};

/// The default `session.mainKey`.
pub const DEFAULT_MAIN_KEY: &str = "main";

/// Who a conversation is with, for session keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer<'a> {
    /// A group, by JID.
    Group(&'a Jid),
    /// A DM peer: the E.164 number, or the LID (`<digits>@lid`) when the number is unknown.
    Dm(&'a str),
}

/// The session key of a conversation. Everything is lowercased, and the agent id is
/// normalized as the reference does ([`normalize_agent_id`]: `"Work Bot"` → `work-bot`).
///
/// - groups: `agent:<agentId>:whatsapp:group:<jid>`;
/// - DMs, by `session.dmScope`: `agent:<agentId>:<mainKey>` (main),
///   `agent:<agentId>:dm:<peer>` (per-peer), `agent:<agentId>:whatsapp:dm:<peer>`
///   (per-channel-peer), `agent:<agentId>:whatsapp:<accountId>:dm:<peer>`
///   (per-account-channel-peer).
///
/// ```
/// use wagw_core::{AccountId, DmScope};
/// use wagw_normalize::{Peer, session_key};
/// let acct = AccountId::parse("work")?;
/// assert_eq!(session_key(DmScope::PerAccountChannelPeer, "main", "Main", &acct,
///                        Peer::Dm("+15551234567")),
///            "agent:main:whatsapp:work:dm:+15551234567");
/// # Ok::<(), wagw_core::IdentityError>(())
/// ```
pub fn session_key(
    scope: DmScope,
    main_key: &str,
    agent_id: &str,
    account: &AccountId,
    peer: Peer<'_>,
) -> String {
    let agent = normalize_agent_id(agent_id);
    let mut key = String::with_capacity(48);
    key.push_str("agent:");
    key.push_str(&agent);
    match peer {
        Peer::Group(jid) => {
            key.push_str(":whatsapp:group:");
            push_lower(&mut key, jid.user_part());
            key.push('@');
            key.push_str(jid.server());
        }
        Peer::Dm(peer) => match scope {
            DmScope::Main => {
                let main = main_key.trim();
                key.push(':');
                push_lower(
                    &mut key,
                    if main.is_empty() {
                        DEFAULT_MAIN_KEY
                    } else {
                        main
                    },
                );
            }
            DmScope::PerPeer => {
                key.push_str(":dm:");
                push_lower(&mut key, peer);
            }
            DmScope::PerChannelPeer => {
                key.push_str(":whatsapp:dm:");
                push_lower(&mut key, peer);
            }
            DmScope::PerAccountChannelPeer => {
                key.push_str(":whatsapp:");
                push_lower(&mut key, account.as_str());
                key.push_str(":dm:");
                push_lower(&mut key, peer);
            }
        },
    }
    key
}

fn push_lower(out: &mut String, s: &str) {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        out.push_str(&s.to_lowercase());
    } else {
        out.push_str(s);
    }
}

/// The default number of sessions a [`SessionClock`] remembers.
pub const DEFAULT_MAX_SESSIONS: usize = 10_000;

/// When each session last saw a message, so the next envelope can say how long it has been.
/// The caller owns it: read [`SessionClock::previous`] before normalizing, then
/// [`SessionClock::record`] the turn's timestamp.
#[derive(Debug, Clone)]
pub struct SessionClock {
    last: HashMap<String, i64>,
    max_sessions: usize,
}

impl Default for SessionClock {
    fn default() -> Self {
        SessionClock::new(DEFAULT_MAX_SESSIONS)
    }
}

impl SessionClock {
    /// An empty clock remembering up to `max_sessions` sessions (the least recent are
    /// forgotten first).
    pub fn new(max_sessions: usize) -> SessionClock {
        SessionClock {
            last: HashMap::new(),
            max_sessions: max_sessions.max(1),
        }
    }

    /// The time of the previous message in `session_key`, Unix milliseconds.
    pub fn previous(&self, session_key: &str) -> Option<i64> {
        self.last.get(session_key).copied()
    }

    /// Records a message time; an older time than the one stored is ignored.
    pub fn record(&mut self, session_key: &str, timestamp_ms: i64) {
        if let Some(t) = self.last.get_mut(session_key) {
            *t = (*t).max(timestamp_ms);
            return;
        }
        if self.last.len() >= self.max_sessions {
            self.forget_oldest_tenth();
        }
        self.last.insert(session_key.to_string(), timestamp_ms);
    }

    /// Drops the oldest 10% at once so the sort is paid once per many inserts.
    fn forget_oldest_tenth(&mut self) {
        let mut times: Vec<i64> = self.last.values().copied().collect();
        times.sort_unstable();
        let cut = times[(times.len() / 10).min(times.len() - 1)];
        self.last.retain(|_, t| *t > cut);
    }

    /// How many sessions are remembered.
    pub fn len(&self) -> usize {
        self.last.len()
    }

    /// True when no session is remembered.
    pub fn is_empty(&self) -> bool {
        self.last.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_scope() {
        let acct = AccountId::parse("biz").unwrap();
        let peer = Peer::Dm("+15551234567");
        assert_eq!(
            session_key(DmScope::Main, "main", "main", &acct, peer),
            "agent:main:main"
        );
        assert_eq!(
            session_key(DmScope::Main, "Home", "Ops", &acct, peer),
            "agent:ops:home"
        );
        assert_eq!(
            session_key(DmScope::PerPeer, "main", "main", &acct, peer),
            "agent:main:dm:+15551234567"
        );
        assert_eq!(
            session_key(DmScope::PerChannelPeer, "main", "main", &acct, peer),
            "agent:main:whatsapp:dm:+15551234567"
        );
        assert_eq!(
            session_key(DmScope::PerAccountChannelPeer, "main", "main", &acct, peer),
            "agent:main:whatsapp:biz:dm:+15551234567"
        );
        // Agent ids are normalized as the reference does (issue 23).
        assert_eq!(
            session_key(DmScope::PerPeer, "main", "Work Bot", &acct, peer),
            "agent:work-bot:dm:+15551234567"
        );
        assert_eq!(
            session_key(DmScope::Main, "main", "  ", &acct, peer),
            "agent:main:main"
        );
        let g = Jid::parse("120363012345678901@g.us").unwrap();
        for scope in [DmScope::Main, DmScope::PerPeer] {
            assert_eq!(
                session_key(scope, "main", "main", &acct, Peer::Group(&g)),
                "agent:main:whatsapp:group:120363012345678901@g.us"
            );
        }
    }

    #[test]
    fn clock_is_bounded_and_monotonic() {
        let mut c = SessionClock::new(10);
        for i in 0..10 {
            c.record(&format!("s{i}"), i);
        }
        c.record("s5", 2);
        assert_eq!(c.previous("s5"), Some(5));
        c.record("new", 100);
        assert!(c.len() <= 10);
        assert_eq!(c.previous("s0"), None);
        assert_eq!(c.previous("new"), Some(100));
    }
}
