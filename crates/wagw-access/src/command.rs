//! Owner commands in message text: `/activation mention|always` and other `/command`s.

use serde::{Deserialize, Serialize};
use wagw_core::Activation;

use crate::request::SelfIdentity;

/// A command found in a message. Whether it is obeyed depends on who sent it: the engine
/// only honours commands from an owner.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "command", content = "arg")]
pub enum Command {
    /// `/activation mention|always`; `None` for `/activation` with no or an unknown mode
    /// (the runtime answers with the current mode and the usage).
    Activation(Option<Activation>),
    /// Any other `/name [args]` (lowercased name). From an owner it bypasses the group
    /// mention gate, so `/new` or `/status` work without mentioning the bot.
    Control(String),
}

impl Command {
    /// The activation this command sets, if it is a valid `/activation`.
    pub fn activation(&self) -> Option<Activation> {
        match self {
            Command::Activation(a) => *a,
            Command::Control(_) => None,
        }
    }
}

/// Zero-width and direction marks WhatsApp clients insert around mentions.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}')
}

/// Strips one leading mention of the bot (`@<own digits>`, `@+<own digits>`, `@<own LID>`
/// or `@<bot name>`), returning the rest, or `None` when the text does not start with one.
fn strip_bot_mention<'a>(text: &'a str, own: &SelfIdentity, bot_names: &[&str]) -> Option<&'a str> {
    let after_at = text.strip_prefix('@')?;
    let boundary = |rest: &'a str| -> Option<&'a str> {
        match rest.chars().next() {
            None => Some(rest),
            Some(c) if c.is_whitespace() || c == ':' || c == ',' => {
                Some(rest.trim_start_matches([':', ',']).trim_start())
            }
            _ => None,
        }
    };
    let digits_end = after_at
        .trim_start_matches('+')
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after_at.trim_start_matches('+').len());
    let digits_str = &after_at.trim_start_matches('+')[..digits_end];
    if !digits_str.is_empty() {
        let own_phone = own.phone.as_ref().map(|p| p.digits());
        let own_lid = own.lid.as_ref().map(|l| l.digits());
        if Some(digits_str) == own_phone || Some(digits_str) == own_lid {
            return boundary(&after_at.trim_start_matches('+')[digits_end..]);
        }
    }
    for name in bot_names {
        let name = name.trim();
        if name.is_empty() || after_at.len() < name.len() || !after_at.is_char_boundary(name.len())
        {
            continue;
        }
        if after_at[..name.len()].to_lowercase() == name.to_lowercase()
            && let Some(rest) = boundary(&after_at[name.len()..])
        {
            return Some(rest);
        }
    }
    None
}

/// The text a command is read from: zero-width and direction marks removed, trimmed, and
/// the leading mentions of the bot (`@<own number>`, `@+<own number>`, `@<own LID>` or
/// `@<bot name>`, each followed by a space, `:` or `,`) stripped. The counterpart of the
/// reference's `stripMentionsForCommand`, for an embedder that handles its own commands.
///
/// It differs from the reference on purpose: only *leading* `@` mentions of the bot go. The
/// reference replaces every match of the mention patterns and the bare own number anywhere
/// in the text, so `"/activation always @bot"` or `"bot /new"` would read as commands there;
/// in wagw a command is the whole message after the greeting mention, and text that merely
/// contains the bot's name or number is conversation.
///
/// ```
/// use wagw_access::{SelfIdentity, strip_command_mentions};
/// use wagw_core::Phone;
/// let own = SelfIdentity { phone: Some(Phone::parse("+15550001111").unwrap()), lid: None };
/// assert_eq!(strip_command_mentions("@15550001111 /new", &own, &[]), "/new");
/// assert_eq!(strip_command_mentions("@Clawd: /status", &own, &["Clawd"]), "/status");
/// assert_eq!(strip_command_mentions("  hi @Clawd  ", &own, &["Clawd"]), "hi @Clawd");
/// ```
pub fn strip_command_mentions<'a>(
    text: &'a str,
    own: &SelfIdentity,
    bot_names: &[&str],
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    if text.chars().any(is_invisible) {
        let cleaned: String = text.chars().filter(|c| !is_invisible(*c)).collect();
        Cow::Owned(strip_leading_mentions(&cleaned, own, bot_names).to_string())
    } else {
        Cow::Borrowed(strip_leading_mentions(text, own, bot_names))
    }
}

fn strip_leading_mentions<'a>(text: &'a str, own: &SelfIdentity, bot_names: &[&str]) -> &'a str {
    let mut body = text.trim();
    while let Some(rest) = strip_bot_mention(body, own, bot_names) {
        body = rest;
    }
    body
}

/// Parses a command from message text. The command must be the whole message, optionally
/// after leading mentions of the bot (its number, LID or one of `bot_names`).
///
/// ```
/// use wagw_access::{Command, SelfIdentity, parse_command};
/// use wagw_core::{Activation, Phone};
/// let own = SelfIdentity { phone: Some(Phone::parse("+15550001111").unwrap()), lid: None };
/// assert_eq!(parse_command("/activation always", &own, &[]),
///            Some(Command::Activation(Some(Activation::Always))));
/// assert_eq!(parse_command("@15550001111 /activation mention", &own, &[]),
///            Some(Command::Activation(Some(Activation::Mention))));
/// assert_eq!(parse_command("please /activation always", &own, &[]), None);
/// ```
pub fn parse_command(text: &str, own: &SelfIdentity, bot_names: &[&str]) -> Option<Command> {
    let body = strip_command_mentions(text, own, bot_names);
    let rest = body.strip_prefix('/')?;
    let name_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let name = &rest[..name_end];
    let after = &rest[name_end..];
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    if !(after.is_empty() || after.starts_with(char::is_whitespace)) {
        return None;
    }
    let name = name.to_ascii_lowercase();
    if name == "activation" {
        let mut words = after.split_whitespace();
        let mode = words.next();
        if words.next().is_some() {
            // Not the whole message: "/activation always please" is conversation.
            return None;
        }
        return Some(Command::Activation(match mode {
            None => None,
            Some(m) if m.eq_ignore_ascii_case("mention") => Some(Activation::Mention),
            Some(m) if m.eq_ignore_ascii_case("always") => Some(Activation::Always),
            Some(m) if m.chars().all(|c| c.is_ascii_alphabetic()) => None,
            Some(_) => return None,
        }));
    }
    Some(Command::Control(name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use wagw_core::{Lid, Phone};

    fn own() -> SelfIdentity {
        SelfIdentity {
            phone: Some(Phone::parse("+15550001111").unwrap()),
            lid: Some(Lid::parse("99887766@lid").unwrap()),
        }
    }

    #[test]
    fn activation_forms() {
        let o = own();
        let a = |t: &str| parse_command(t, &o, &["Clawd", "My Bot"]);
        let always = Some(Command::Activation(Some(Activation::Always)));
        let mention = Some(Command::Activation(Some(Activation::Mention)));
        assert_eq!(a("/activation always"), always);
        assert_eq!(a("  /ACTIVATION   Always  "), always);
        assert_eq!(a("@15550001111 /activation always"), always);
        assert_eq!(a("@+15550001111: /activation always"), always);
        assert_eq!(a("@99887766 /activation mention"), mention);
        assert_eq!(a("@clawd /activation mention"), mention);
        assert_eq!(a("@My Bot, /activation mention"), mention);
        assert_eq!(
            a("\u{2068}@15550001111\u{2069} /activation mention"),
            mention
        );
        assert_eq!(a("/activation"), Some(Command::Activation(None)));
        assert_eq!(a("/activation sometimes"), Some(Command::Activation(None)));
        assert_eq!(a("/activation always now"), None);
        assert_eq!(a("/activation 42"), None);
        assert_eq!(a("hey /activation always"), None);
        assert_eq!(a("@15550009999 /activation always"), None);
        assert_eq!(
            a("/activationalways"),
            Some(Command::Control("activationalways".into()))
        );
    }

    #[test]
    fn command_mentions_are_stripped_from_the_front_only() {
        let o = own();
        let strip = |t: &str| strip_command_mentions(t, &o, &["Clawd"]).into_owned();
        assert_eq!(strip("@15550001111 @Clawd, /new"), "/new");
        assert_eq!(strip("\u{2068}@99887766\u{2069} /status"), "/status");
        assert_eq!(strip("  /new  "), "/new");
        assert_eq!(
            strip("/activation always @Clawd"),
            "/activation always @Clawd"
        );
        assert_eq!(strip("@15550009999 /new"), "@15550009999 /new");
        assert!(matches!(
            strip_command_mentions("/new", &o, &[]),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn control_commands() {
        let o = own();
        assert_eq!(
            parse_command("/new", &o, &[]),
            Some(Command::Control("new".into()))
        );
        assert_eq!(
            parse_command("/Status please", &o, &[]),
            Some(Command::Control("status".into()))
        );
        assert_eq!(parse_command("/home/user is full", &o, &[]), None);
        assert_eq!(parse_command("/", &o, &[]), None);
        assert_eq!(parse_command("/1", &o, &[]), None);
        assert_eq!(parse_command("hello", &o, &[]), None);
        assert_eq!(parse_command("", &o, &[]), None);
    }
}
