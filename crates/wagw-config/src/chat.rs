//! `/config show|get|set|unset` sent in a chat: what to answer and what to write.
//!
//! The reference lets an authorized sender read and change the config from a chat when
//! `commands.config` is true, and writes only when the channel's (or account's)
//! `configWrites` is not false. This module decides; it does no IO. The runtime passes the
//! file's current text and a `validate` function (the same checks as `wagw config check`),
//! and on [`ChatConfigOutcome::Write`] writes the new text atomically and reloads.
//!
//! Secrets (`gateway.token`, webhook secrets, cloud tokens, the database URL, `env`) are
//! never shown (they read `"[redacted]"`) and never set or removed from a chat: a chat is
//! not where a credential should travel, and the reply would echo it.
//!
//! ```
//! use wagw_config::chat::{ChatConfigOutcome, ChatConfigRequest, run};
//! use wagw_config::{Config, ConfigError, Env};
//! let text = "{ commands: { config: true }, channels: { whatsapp: { dmPolicy: 'pairing' } } }";
//! let env = Env::from_pairs([("WAGW_DATA_DIR", "/srv/wagw")]);
//! let config = Config::from_json5_str(text, &env)?;
//! let request = ChatConfigRequest {
//!     account: config.default_account_id(),
//!     authorized: true,
//!     args: "set channels.whatsapp.dmPolicy allowlist",
//! };
//! let validate = |t: &str| Config::from_json5_str(t, &env).map(|_| ());
//! let ChatConfigOutcome::Write { text: new, reply, change } = run(text, &config, &request, validate)
//! else { panic!() };
//! assert!(new.contains("dmPolicy: \"allowlist\""));
//! assert_eq!(reply, "⚙️ Config updated: channels.whatsapp.dmPolicy = \"allowlist\"");
//! assert_eq!(change.path, "channels.whatsapp.dmPolicy");
//! # Ok::<(), ConfigError>(())
//! ```

use serde::Serialize;
use serde_json::Value as Json;
use wagw_core::AccountId;

use crate::config::Config;
use crate::edit::{self, ConfigPath, EditError};
use crate::error::ConfigError;

/// `commands` after defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CommandSettings {
    /// `/config` is enabled (`commands.config`, default false).
    pub config: bool,
    /// Command authorization follows the allowlists (`commands.useAccessGroups`, default
    /// true).
    pub use_access_groups: bool,
}

/// A parsed `/config` command.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigCommand {
    /// `/config`, `/config show [path]`, `/config get <path>`.
    Show(Option<ConfigPath>),
    /// `/config set <path> <value>` or `/config set <path>=<value>`.
    Set(ConfigPath, Json),
    /// `/config unset <path>`.
    Unset(ConfigPath),
}

/// The answer to a malformed command.
pub const USAGE: &str = "⚠️ Usage: /config show [path] | get <path> | set <path> <value> | unset <path> (values are JSON5: \"text\", 42, true, [\"+15551234567\"], {…})";

/// Parses what follows `/config`. The error is the text to answer.
pub fn parse_command(args: &str) -> Result<ConfigCommand, String> {
    let args = args.trim();
    let (verb, rest) = match args.find(char::is_whitespace) {
        Some(i) => (&args[..i], args[i..].trim()),
        None => (args, ""),
    };
    let path = |s: &str| ConfigPath::parse(s).map_err(|e| format!("⚠️ {e}"));
    match verb.to_ascii_lowercase().as_str() {
        "" | "show" if rest.is_empty() => Ok(ConfigCommand::Show(None)),
        "show" | "get" if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
            Ok(ConfigCommand::Show(Some(path(rest)?)))
        }
        "unset" if !rest.is_empty() && !rest.contains(char::is_whitespace) => {
            Ok(ConfigCommand::Unset(path(rest)?))
        }
        "set" if !rest.is_empty() => {
            let (p, raw) = split_set(rest).ok_or_else(|| USAGE.to_owned())?;
            let value = parse_set_value(raw)?;
            Ok(ConfigCommand::Set(path(p)?, value))
        }
        _ => Err(USAGE.to_owned()),
    }
}

/// `path value` or `path=value`: the path ends at the first space or `=` outside brackets.
fn split_set(rest: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in rest.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if depth > 0 => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, c) if depth == 0 && (c == '=' || c.is_whitespace()) => {
                let value = rest[i + c.len_utf8()..].trim();
                return (!value.is_empty()).then_some((&rest[..i], value));
            }
            _ => {}
        }
    }
    None
}

/// A JSON5 value; a bare word (`allowlist`, `+15551234567`) is taken as a string, as the
/// reference does, so the common case needs no quotes.
fn parse_set_value(raw: &str) -> Result<Json, String> {
    match edit::parse_value(raw) {
        Ok(v) => Ok(v),
        Err(_)
            if !raw
                .chars()
                .any(|c| matches!(c, '"' | '\'' | '{' | '}' | '[' | ']')) =>
        {
            Ok(Json::String(raw.to_owned()))
        }
        Err(EditError::Syntax { message, .. }) => {
            Err(format!("⚠️ `{raw}` is not a JSON5 value: {message}"))
        }
        Err(e) => Err(format!("⚠️ {e}")),
    }
}

/// Who sent the command, and its text.
#[derive(Debug, Clone)]
pub struct ChatConfigRequest<'a> {
    /// The account the command arrived on (its `configWrites` applies).
    pub account: &'a AccountId,
    /// The sender may run commands (an owner).
    pub authorized: bool,
    /// What follows `/config`.
    pub args: &'a str,
}

/// A change written from a chat, for the event log. Secrets never appear here: they cannot
/// be set from a chat.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigChange {
    /// The dotted path changed.
    pub path: String,
    /// `set` or `unset`.
    pub action: &'static str,
    /// The new value (`set`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// The value before, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Json>,
}

/// What to do about a `/config` command.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatConfigOutcome {
    /// Not from an authorized sender: the reference ignores it (no answer, and the agent
    /// does not see it).
    Ignored,
    /// Answer this; nothing changes.
    Reply(String),
    /// Write `text` to the config file (atomically), reload, then answer `reply`.
    Write {
        /// The whole new file.
        text: String,
        /// The answer once written and reloaded.
        reply: String,
        /// What changed.
        change: ConfigChange,
    },
}

/// Decides what a `/config` command does. `text` is the config file as it is on disk
/// (`config` was loaded from it); `validate` runs the checks of `wagw config check` on a
/// candidate text.
pub fn run(
    text: &str,
    config: &Config,
    request: &ChatConfigRequest<'_>,
    validate: impl FnOnce(&str) -> Result<(), ConfigError>,
) -> ChatConfigOutcome {
    use ChatConfigOutcome::{Ignored, Reply};
    if !request.authorized {
        return Ignored;
    }
    if !config.commands().config {
        return Reply("⚠️ /config is disabled. Set commands.config: true to enable it.".to_owned());
    }
    let command = match parse_command(request.args) {
        Ok(c) => c,
        Err(answer) => return Reply(answer),
    };
    if let ConfigCommand::Set(..) | ConfigCommand::Unset(..) = command {
        let writes = config
            .accounts()
            .iter()
            .find(|a| &a.account_id == request.account)
            .is_none_or(|a| a.config_writes);
        if !writes {
            let account_path = format!(
                "channels.whatsapp.accounts.{}.configWrites",
                request.account
            );
            let path = if config.written(&account_path) {
                account_path
            } else {
                "channels.whatsapp.configWrites".to_owned()
            };
            return Reply(format!(
                "⚠️ Config writes from chats are disabled for this account ({path} is false)."
            ));
        }
    }
    if let Err(e) = edit::document(text) {
        return Reply(format!(
            "⚠️ The config file cannot be read as JSON5; fix it before using /config: {e}"
        ));
    }
    match command {
        ConfigCommand::Show(path) => match edit::show(text, path.as_ref()) {
            Ok(Some(shown)) => Reply(match path {
                Some(path) => format!("⚙️ Config {path}:\n```json\n{shown}\n```"),
                None => format!("⚙️ Config:\n```json\n{shown}\n```"),
            }),
            Ok(None) => Reply(format!(
                "⚙️ No config value found for {}.",
                path.map(|p| p.to_string()).unwrap_or_default()
            )),
            Err(e) => Reply(format!("⚠️ {e}")),
        },
        ConfigCommand::Set(path, value) => {
            if edit::is_secret(&path) || edit::redact(&value, &path) != value {
                return Reply(secret_refusal(&path));
            }
            let previous = edit::get(text, &path).ok().flatten();
            if let Some(p) = &previous
                && edit::redact(p, &path) != *p
            {
                return Reply(secret_refusal(&path));
            }
            if previous.as_ref() == Some(&value) {
                return Reply(format!("⚙️ {path} is already {}.", compact(&value)));
            }
            let new = match edit::set(text, &path, &value) {
                Ok(t) => t,
                Err(e) => return Reply(format!("⚠️ {e}")),
            };
            if !same_host_settings(text, &new) {
                return Reply(host_refusal(&path));
            }
            if let Err(e) = validate(&new) {
                return Reply(invalid("set", &e));
            }
            ChatConfigOutcome::Write {
                text: new,
                reply: format!("⚙️ Config updated: {path} = {}", compact(&value)),
                change: ConfigChange {
                    path: path.to_string(),
                    action: "set",
                    value: Some(value),
                    previous,
                },
            }
        }
        ConfigCommand::Unset(path) => {
            let previous = edit::get(text, &path).ok().flatten();
            if edit::is_secret(&path)
                || previous
                    .as_ref()
                    .is_some_and(|p| edit::redact(p, &path) != *p)
            {
                return Reply(secret_refusal(&path));
            }
            let new = match edit::unset(text, &path) {
                Ok(Some(t)) => t,
                Ok(None) => return Reply(format!("⚙️ No config value found for {path}.")),
                Err(e) => return Reply(format!("⚠️ {e}")),
            };
            if !same_host_settings(text, &new) {
                return Reply(host_refusal(&path));
            }
            if let Err(e) = validate(&new) {
                return Reply(invalid("unset", &e));
            }
            ChatConfigOutcome::Write {
                text: new,
                reply: format!("⚙️ Config updated: {path} removed."),
                change: ConfigChange {
                    path: path.to_string(),
                    action: "unset",
                    value: None,
                    previous,
                },
            }
        }
    }
}

/// Whether an edit leaves the host's settings ([`edit::host_settings`]) as they were. A
/// file that does not parse either way is left to `validate`.
fn same_host_settings(before: &str, after: &str) -> bool {
    match (edit::host_settings(before), edit::host_settings(after)) {
        (Ok(a), Ok(b)) => a == b,
        _ => true,
    }
}

fn host_refusal(path: &ConfigPath) -> String {
    format!(
        "⚠️ {path} touches a host setting (what the gateway runs, reads or listens on, or where it sends credentials): it cannot be changed from a chat. Edit the config file on the gateway's host."
    )
}

fn secret_refusal(path: &ConfigPath) -> String {
    format!(
        "⚠️ {path} holds a secret: it cannot be shown or changed from a chat. Edit the config file on the gateway's host."
    )
}

/// The problems of a refused change, each as `path: why` like `wagw config check` prints
/// them (without line:column, which would point into a file that was not written).
fn invalid(action: &str, e: &ConfigError) -> String {
    let problems = e.problems();
    let lines: Vec<String> = if problems.is_empty() {
        vec![e.to_string()]
    } else {
        problems
            .iter()
            .map(|p| {
                if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect()
    };
    format!(
        "⚠️ Config invalid after {action}; nothing was changed.\n{}",
        lines.join("\n")
    )
}

fn compact(v: &Json) -> String {
    v.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_forms() {
        let p = |s: &str| ConfigPath::parse(s).unwrap();
        assert_eq!(parse_command(""), Ok(ConfigCommand::Show(None)));
        assert_eq!(parse_command("show"), Ok(ConfigCommand::Show(None)));
        assert_eq!(
            parse_command("get gateway.listen"),
            Ok(ConfigCommand::Show(Some(p("gateway.listen"))))
        );
        assert_eq!(
            parse_command("set a.b=true"),
            Ok(ConfigCommand::Set(p("a.b"), Json::Bool(true)))
        );
        assert_eq!(
            parse_command("set groups[\"1 2@g.us\"].x  'y z'"),
            Ok(ConfigCommand::Set(
                p("groups[\"1 2@g.us\"].x"),
                Json::from("y z")
            ))
        );
        assert_eq!(
            parse_command("set a allowlist"),
            Ok(ConfigCommand::Set(p("a"), Json::from("allowlist")))
        );
        assert!(parse_command("set a").is_err());
        assert!(
            parse_command("set a [1,")
                .unwrap_err()
                .contains("not a JSON5 value")
        );
        assert!(parse_command("frob").is_err());
        assert!(parse_command("unset").is_err());
    }
}
