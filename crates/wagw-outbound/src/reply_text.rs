//! What the text of a reply becomes before chunking: silent tokens, the response prefix.
//!
//! - `NO_REPLY` as the first or last word makes the text silent (nothing is sent for it;
//!   media in the same reply still go). The match is case-sensitive, as in the reference.
//! - `HEARTBEAT_OK` at the start or end is stripped; if nothing is left the text is silent.
//! - The response prefix (`messages.responsePrefix`) is rendered from its template and put
//!   in front as `"<prefix> <text>"`, never twice: text that already starts with it is left
//!   alone.

/// The silent-reply token: an agent answers with it to say "send nothing".
pub const SILENT_TOKEN: &str = "NO_REPLY";
/// The heartbeat acknowledgement token, stripped from replies.
pub const HEARTBEAT_TOKEN: &str = "HEARTBEAT_OK";
/// The self-chat prefix when the agent has no identity name.
pub const DEFAULT_SELF_CHAT_PREFIX: &str = "[wagw]";

/// What to do with a reply's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyText {
    /// Send nothing for the text (silent token, or nothing left after stripping).
    Silent,
    /// Send this text (not yet prefixed or chunked).
    Send(String),
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// True when `text` is a silent reply: `NO_REPLY` as its leading token (`^\s*NO_REPLY(?=$|\W)`)
/// or its trailing token (`\bNO_REPLY\b\W*$`).
///
/// ```
/// use wagw_outbound::is_silent_reply;
/// assert!(is_silent_reply("  NO_REPLY"));
/// assert!(is_silent_reply("Nothing to add. NO_REPLY."));
/// assert!(!is_silent_reply("NO_REPLYING is fine"));
/// assert!(!is_silent_reply("no_reply"));
/// ```
pub fn is_silent_reply(text: &str) -> bool {
    let lead = text.trim_start();
    if let Some(rest) = lead.strip_prefix(SILENT_TOKEN)
        && rest.chars().next().is_none_or(|c| !is_word_char(c))
    {
        return true;
    }
    let tail = text.trim_end_matches(|c: char| !is_word_char(c));
    if let Some(before) = tail.strip_suffix(SILENT_TOKEN) {
        return before.chars().next_back().is_none_or(|c| !is_word_char(c));
    }
    false
}

/// Strips `HEARTBEAT_OK` tokens at the start and end of `text` (with the space around them).
fn strip_heartbeat(text: &str) -> &str {
    let mut t = text.trim();
    loop {
        let before = t;
        if let Some(rest) = t.strip_prefix(HEARTBEAT_TOKEN)
            && rest.chars().next().is_none_or(|c| !is_word_char(c))
        {
            t = rest.trim_start();
        }
        if let Some(rest) = t.strip_suffix(HEARTBEAT_TOKEN)
            && rest.chars().next_back().is_none_or(|c| !is_word_char(c))
        {
            t = rest.trim_end();
        }
        if t == before {
            return t;
        }
    }
}

/// Normalizes a reply's text: silent token, heartbeat token, empty text.
///
/// ```
/// use wagw_outbound::{normalize_reply_text, ReplyText};
/// assert_eq!(normalize_reply_text("HEARTBEAT_OK"), ReplyText::Silent);
/// assert_eq!(normalize_reply_text("HEARTBEAT_OK all good"), ReplyText::Send("all good".into()));
/// assert_eq!(normalize_reply_text("NO_REPLY"), ReplyText::Silent);
/// ```
pub fn normalize_reply_text(text: &str) -> ReplyText {
    if is_silent_reply(text) {
        return ReplyText::Silent;
    }
    let stripped = strip_heartbeat(text);
    if stripped.is_empty() {
        ReplyText::Silent
    } else if stripped.len() == text.trim().len() {
        // Nothing stripped: keep the agent's text byte for byte (leading indent included).
        ReplyText::Send(text.trim_end().to_string())
    } else {
        ReplyText::Send(stripped.to_string())
    }
}

/// Values for the response prefix template variables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixVars {
    /// `{model}`: the short model name (`claude-sonnet-4`).
    pub model: Option<String>,
    /// `{modelFull}`: the model with its provider (`anthropic/claude-sonnet-4`).
    pub model_full: Option<String>,
    /// `{provider}`.
    pub provider: Option<String>,
    /// `{thinkingLevel}` or `{think}`.
    pub thinking_level: Option<String>,
    /// `{identity.name}` or `{identityName}`: the agent's name.
    pub identity_name: Option<String>,
}

/// Renders a prefix template. Unknown variables, and known ones without a value, stay literal
/// (so a misconfiguration is visible rather than silently blank).
///
/// ```
/// use wagw_outbound::{render_prefix, PrefixVars};
/// let vars = PrefixVars { identity_name: Some("Ada".into()), ..PrefixVars::default() };
/// assert_eq!(render_prefix("[{identity.name}] {nope}", &vars), "[Ada] {nope}");
/// ```
pub fn render_prefix(template: &str, vars: &PrefixVars) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open..];
        let Some(close) = after.find('}') else {
            out.push_str(after);
            return out;
        };
        let name = &after[1..close];
        let value = match name {
            "model" => vars.model.as_deref(),
            "modelFull" => vars.model_full.as_deref(),
            "provider" => vars.provider.as_deref(),
            "thinkingLevel" | "think" => vars.thinking_level.as_deref(),
            "identity.name" | "identityName" => vars.identity_name.as_deref(),
            _ => None,
        };
        match value {
            Some(v) => out.push_str(v),
            None => out.push_str(&after[..=close]),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The prefix template in force for one chat, or `None` for no prefix.
///
/// - `configured` is `messages.responsePrefix`: `Some("")` disables any prefix, `Some("auto")`
///   means `[{identity.name}]` (or [`DEFAULT_SELF_CHAT_PREFIX`] without a name), any other
///   value is the template.
/// - Unset, the owner's self-chat gets `[{identity.name}]` (or `[wagw]`); other chats none.
///
/// ```
/// use wagw_outbound::resolve_prefix_template;
/// assert_eq!(resolve_prefix_template(None, true, Some("Ada")).as_deref(), Some("[{identity.name}]"));
/// assert_eq!(resolve_prefix_template(None, true, None).as_deref(), Some("[wagw]"));
/// assert_eq!(resolve_prefix_template(None, false, Some("Ada")), None);
/// assert_eq!(resolve_prefix_template(Some(""), true, Some("Ada")), None);
/// ```
pub fn resolve_prefix_template(
    configured: Option<&str>,
    is_self_chat: bool,
    identity_name: Option<&str>,
) -> Option<String> {
    let named = || {
        if identity_name.is_some_and(|n| !n.trim().is_empty()) {
            "[{identity.name}]".to_string()
        } else {
            DEFAULT_SELF_CHAT_PREFIX.to_string()
        }
    };
    match configured {
        Some("") => None,
        Some("auto") => Some(named()),
        Some(t) => Some(t.to_string()),
        None if is_self_chat => Some(named()),
        None => None,
    }
}

/// Puts `prefix` in front of `text` as `"<prefix> <text>"`, unless the text already starts
/// with it (never applied twice), the prefix is empty, or the text is the heartbeat token.
///
/// ```
/// use wagw_outbound::apply_prefix;
/// assert_eq!(apply_prefix("hi", "[Ada]"), "[Ada] hi");
/// assert_eq!(apply_prefix("[Ada] hi", "[Ada]"), "[Ada] hi");
/// ```
pub fn apply_prefix(text: &str, prefix: &str) -> String {
    let prefix = prefix.trim_end();
    if prefix.is_empty() || text.starts_with(prefix) || text.trim() == HEARTBEAT_TOKEN {
        text.to_string()
    } else {
        format!("{prefix} {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silent_token_positions() {
        assert!(is_silent_reply("NO_REPLY"));
        assert!(is_silent_reply("NO_REPLY: nothing to say"));
        assert!(is_silent_reply("ok then NO_REPLY"));
        assert!(is_silent_reply("ok then NO_REPLY!!"));
        assert!(!is_silent_reply("say NO_REPLY to them, please"));
        assert!(!is_silent_reply("XNO_REPLY"));
        assert!(!is_silent_reply(""));
    }

    #[test]
    fn heartbeat_stripped_both_ends() {
        assert_eq!(
            normalize_reply_text("HEARTBEAT_OK\nnews HEARTBEAT_OK"),
            ReplyText::Send("news".into())
        );
        assert_eq!(normalize_reply_text("  "), ReplyText::Silent);
        assert_eq!(
            normalize_reply_text("HEARTBEAT_OKAY"),
            ReplyText::Send("HEARTBEAT_OKAY".into())
        );
        assert_eq!(
            normalize_reply_text("  indented\n"),
            ReplyText::Send("  indented".into())
        );
    }

    #[test]
    fn prefix_templates() {
        let vars = PrefixVars {
            model: Some("m".into()),
            model_full: Some("p/m".into()),
            provider: Some("p".into()),
            thinking_level: Some("high".into()),
            identity_name: None,
        };
        assert_eq!(
            render_prefix(
                "{model}|{modelFull}|{provider}|{think}|{thinkingLevel}|{identityName}|{",
                &vars
            ),
            "m|p/m|p|high|high|{identityName}|{"
        );
        assert_eq!(
            resolve_prefix_template(Some("auto"), false, None).as_deref(),
            Some("[wagw]")
        );
        assert_eq!(
            resolve_prefix_template(Some("[x]"), false, None).as_deref(),
            Some("[x]")
        );
        assert_eq!(apply_prefix("HEARTBEAT_OK", "[x]"), "HEARTBEAT_OK");
        assert_eq!(apply_prefix("hi", ""), "hi");
    }
}
