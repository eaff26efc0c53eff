//! Chat commands the gateway hands to its host: `/config` (read and change the config from a
//! chat). The gateway finds the command and who sent it; the host, which owns the config
//! file, decides and answers ([`ConfigCommands`]). Without a handler `/config` is an
//! ordinary control command and reaches the agent.

use async_trait::async_trait;
use wagw_core::{AccountId, Jid};

/// A `/config` command found in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigCommandRequest {
    /// The account it arrived on.
    pub account: AccountId,
    /// The chat to answer in.
    pub chat: Jid,
    /// The sender: `+E.164`, or a JID when the number is unknown.
    pub sender: String,
    /// The sender is an owner of the account (the reference's owner list: `allowFrom`
    /// without `"*"`, else the account's own number).
    pub owner: bool,
    /// What follows `/config`.
    pub args: String,
}

/// Runs `/config` for the gateway (the daemon implements it over its config file: see
/// `wagw_config::chat`).
#[async_trait]
pub trait ConfigCommands: Send + Sync + 'static {
    /// The answer to send to the chat, or `None` to stay silent (an unauthorized sender).
    async fn run(&self, request: ConfigCommandRequest) -> Option<String>;
}

/// What follows `/config` in a command body (mentions of the bot already stripped), or
/// `None` when the body is not a `/config` command.
pub(crate) fn config_args(body: &str) -> Option<&str> {
    let rest = body.strip_prefix('/')?;
    let name_end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    if !rest[..name_end].eq_ignore_ascii_case("config") {
        return None;
    }
    let after = &rest[name_end..];
    (after.is_empty() || after.starts_with(char::is_whitespace)).then(|| after.trim())
}

#[cfg(test)]
mod tests {
    use super::config_args;

    #[test]
    fn args() {
        assert_eq!(config_args("/config"), Some(""));
        assert_eq!(config_args("/CONFIG  set a b"), Some("set a b"));
        assert_eq!(config_args("/configure"), None);
        assert_eq!(config_args("/config:x"), None);
        assert_eq!(config_args("config"), None);
    }
}
