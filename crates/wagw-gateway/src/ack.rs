//! Ack reactions (`ackReaction {emoji, direct, group}`): react to an accepted message on
//! receipt so the sender sees it arrived, before the agent runs. Off by default (empty
//! emoji). The decision, in the reference's order (§12):

use wagw_core::AckGroupMode;

use wagw_config::AckReaction;

/// The emoji to react with, or `None` when no reaction is due.
///
/// `was_mentioned` includes replies to the bot and owner-command bypasses;
/// `activation_always` is the group's activation resolving to `always`.
pub fn ack_emoji(
    settings: &AckReaction,
    is_group: bool,
    was_mentioned: bool,
    activation_always: bool,
) -> Option<&str> {
    let emoji = settings.emoji.as_deref().unwrap_or_default().trim();
    if emoji.is_empty() {
        return None;
    }
    let due = if !is_group {
        settings.direct
    } else {
        match settings.group {
            AckGroupMode::Never => false,
            AckGroupMode::Always => true,
            AckGroupMode::Mentions => was_mentioned || activation_always,
        }
    };
    due.then_some(emoji)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_table() {
        let mut s = AckReaction {
            emoji: Some(" 👀 ".into()),
            direct: true,
            group: AckGroupMode::Mentions,
        };
        assert_eq!(ack_emoji(&s, false, false, false), Some("👀"));
        assert_eq!(ack_emoji(&s, true, false, false), None);
        assert_eq!(ack_emoji(&s, true, true, false), Some("👀"));
        assert_eq!(ack_emoji(&s, true, false, true), Some("👀"));
        s.group = AckGroupMode::Always;
        assert_eq!(ack_emoji(&s, true, false, false), Some("👀"));
        s.group = AckGroupMode::Never;
        assert_eq!(ack_emoji(&s, true, true, true), None);
        s.direct = false;
        assert_eq!(ack_emoji(&s, false, false, false), None);
        s.emoji = None;
        s.direct = true;
        assert_eq!(ack_emoji(&s, false, false, false), None, "off by default");
    }
}
