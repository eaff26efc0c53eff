//! `gateway.agents[]`: the configured agent sinks, as written ([`AgentConfig`]) and as
//! validated ([`AgentSpec`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::backoff::Backoff;
use crate::error::AgentsError;

/// Default webhook request timeout (`timeoutMs`).
pub const DEFAULT_WEBHOOK_TIMEOUT_MS: u64 = 10_000;
/// Default exec timeout (`timeoutMs`): commands often call a model, which takes a while.
pub const DEFAULT_EXEC_TIMEOUT_MS: u64 = 60_000;
/// Default number of webhook attempts before a delivery is dead-lettered (`maxAttempts`).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Largest accepted `timeoutMs` (one hour).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// Largest accepted `maxAttempts`.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;
/// Shortest accepted webhook `secret`, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// Which kind of sink an agent is (`type` in the config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AgentKind {
    /// POST each turn to `url`, signed, through the durable outbox.
    Webhook,
    /// Append each turn to the event log; the agent reads `/v1/events`.
    Events,
    /// Run `command` per turn, the turn JSON on stdin, stdout is the reply.
    Exec,
    /// Built in: answer with the turn's own text (demo, smoke tests).
    Echo,
}

impl AgentKind {
    /// The config spelling (`webhook`, `events`, `exec`, `echo`).
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::Webhook => "webhook",
            AgentKind::Events => "events",
            AgentKind::Exec => "exec",
            AgentKind::Echo => "echo",
        }
    }
}

/// One `gateway.agents[]` entry as written in the config file.
///
/// ```
/// use wagw_agents::AgentConfig;
/// let json = r#"{ "id": "support", "type": "webhook",
///                 "url": "https://agent.example/turns", "secret": "0123456789abcdef0123" }"#;
/// let cfg: AgentConfig = serde_json::from_str(json)?;
/// let spec = cfg.validate("gateway.agents[0]")?;
/// assert_eq!(spec.id(), "support");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent's id, referred to by `bindings[].agentId`.
    pub id: String,
    /// The sink kind.
    #[serde(rename = "type")]
    pub kind: AgentKind,
    /// Webhook: where turns are POSTed (`http` or `https`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Webhook: the HMAC-SHA256 signing secret (at least 16 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Webhook: per-request timeout (default 10 000). Exec: run timeout (default 60 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Webhook: attempts before a delivery is dead-lettered (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// Exec: the argv (no shell; use `["sh", "-c", "..."]` for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Exec: extra environment variables (added to the gateway's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<BTreeMap<String, String>>,
    /// Exec: the working directory (default: the gateway's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
}

/// A validated webhook agent: where and how to deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookTarget {
    /// The agent id.
    pub agent_id: String,
    /// The endpoint (`http` or `https`).
    pub url: reqwest::Url,
    /// The signing secret.
    pub secret: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Attempts before dead-lettering (≥ 1).
    pub max_attempts: u32,
    /// Delay between attempts (not in the config file; tests shorten it).
    pub backoff: Backoff,
}

/// A validated exec agent: what to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSpec {
    /// The agent id.
    pub agent_id: String,
    /// argv; never empty.
    pub command: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// Working directory, if set.
    pub cwd: Option<PathBuf>,
    /// Run timeout; the process group is killed when it passes.
    pub timeout: Duration,
}

/// A validated agent, ready to wire.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentSpec {
    /// A signed webhook behind the durable outbox.
    Webhook(WebhookTarget),
    /// Turns go to the event log.
    Events {
        /// The agent id.
        agent_id: String,
    },
    /// A command per turn.
    Exec(ExecSpec),
    /// The built-in echo agent.
    Echo {
        /// The agent id.
        agent_id: String,
    },
}

impl AgentSpec {
    /// The agent id.
    pub fn id(&self) -> &str {
        match self {
            AgentSpec::Webhook(t) => &t.agent_id,
            AgentSpec::Events { agent_id } | AgentSpec::Echo { agent_id } => agent_id,
            AgentSpec::Exec(e) => &e.agent_id,
        }
    }

    /// The sink kind.
    pub fn kind(&self) -> AgentKind {
        match self {
            AgentSpec::Webhook(_) => AgentKind::Webhook,
            AgentSpec::Events { .. } => AgentKind::Events,
            AgentSpec::Exec(_) => AgentKind::Exec,
            AgentSpec::Echo { .. } => AgentKind::Echo,
        }
    }
}

/// Validates an agent id: 1-64 characters from `A-Z a-z 0-9 _ - .` (as wagw-config).
fn valid_agent_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl AgentConfig {
    /// Checks the entry and resolves defaults. `path` prefixes field names in errors
    /// (e.g. `gateway.agents[2]` gives `gateway.agents[2].url: ...`).
    pub fn validate(&self, path: &str) -> Result<AgentSpec, AgentsError> {
        let field = |name: &str| format!("{path}.{name}");
        if !valid_agent_id(&self.id) {
            return Err(AgentsError::config(
                field("id"),
                format!(
                    "{:?} is not a valid agent id: use 1-64 characters from A-Z a-z 0-9 _ - .",
                    self.id
                ),
            ));
        }
        let kind = self.kind.as_str();
        let only = |name: &str, set: bool, used_by: &str| -> Result<(), AgentsError> {
            if set {
                Err(AgentsError::config(
                    field(name),
                    format!("`{name}` is only used by {used_by} agents, not {kind}; remove it"),
                ))
            } else {
                Ok(())
            }
        };
        let timeout = |default: u64| -> Result<Duration, AgentsError> {
            match self.timeout_ms {
                None => Ok(Duration::from_millis(default)),
                Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Ok(Duration::from_millis(ms)),
                Some(ms) => Err(AgentsError::config(
                    field("timeoutMs"),
                    format!("{ms} is out of range: use 1..={MAX_TIMEOUT_MS}"),
                )),
            }
        };
        // An empty list or map is the same as leaving the field out (converted configs
        // often carry empty defaults).
        let has_command = self.command.as_ref().is_some_and(|c| !c.is_empty());
        let has_env = self.env.as_ref().is_some_and(|e| !e.is_empty());
        match self.kind {
            AgentKind::Webhook => {
                only("command", has_command, "exec")?;
                only("env", has_env, "exec")?;
                only("cwd", self.cwd.is_some(), "exec")?;
                let raw = self.url.as_deref().ok_or_else(|| {
                    AgentsError::config(field("url"), "required for webhook agents")
                })?;
                let url = reqwest::Url::parse(raw).map_err(|e| {
                    AgentsError::config(field("url"), format!("{raw:?} is not a URL: {e}"))
                })?;
                if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                    return Err(AgentsError::config(
                        field("url"),
                        format!("{raw:?} must be an http:// or https:// URL with a host"),
                    ));
                }
                let secret = self.secret.clone().ok_or_else(|| {
                    AgentsError::config(
                        field("secret"),
                        "required for webhook agents (turns are signed with it); generate one with: openssl rand -hex 32",
                    )
                })?;
                if secret.len() < MIN_SECRET_LEN {
                    return Err(AgentsError::config(
                        field("secret"),
                        format!(
                            "too short: use at least {MIN_SECRET_LEN} bytes (openssl rand -hex 32)"
                        ),
                    ));
                }
                let max_attempts = self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
                if !(1..=MAX_ATTEMPTS_LIMIT).contains(&max_attempts) {
                    return Err(AgentsError::config(
                        field("maxAttempts"),
                        format!("{max_attempts} is out of range: use 1..={MAX_ATTEMPTS_LIMIT}"),
                    ));
                }
                Ok(AgentSpec::Webhook(WebhookTarget {
                    agent_id: self.id.clone(),
                    url,
                    secret,
                    timeout: timeout(DEFAULT_WEBHOOK_TIMEOUT_MS)?,
                    max_attempts,
                    backoff: Backoff::default(),
                }))
            }
            AgentKind::Exec => {
                only("url", self.url.is_some(), "webhook")?;
                only("secret", self.secret.is_some(), "webhook")?;
                only("maxAttempts", self.max_attempts.is_some(), "webhook")?;
                let command = self.command.clone().unwrap_or_default();
                match command.first() {
                    None => {
                        return Err(AgentsError::config(
                            field("command"),
                            "required for exec agents: an argv array such as [\"python3\", \"agent.py\"]",
                        ));
                    }
                    Some(program) if program.trim().is_empty() => {
                        return Err(AgentsError::config(
                            field("command[0]"),
                            "the program must not be empty",
                        ));
                    }
                    Some(_) => {}
                }
                if let Some((bad, _)) = command.iter().enumerate().find(|(_, a)| a.contains('\0')) {
                    return Err(AgentsError::config(
                        field(&format!("command[{bad}]")),
                        "contains a NUL byte",
                    ));
                }
                let env = self.env.clone().unwrap_or_default();
                for (key, value) in &env {
                    if key.is_empty()
                        || key.contains('=')
                        || key.contains('\0')
                        || value.contains('\0')
                    {
                        return Err(AgentsError::config(
                            field(&format!("env.{key}")),
                            "variable names must be non-empty without '=' or NUL, values without NUL",
                        ));
                    }
                }
                let cwd = match &self.cwd {
                    Some(dir) if dir.is_empty() => {
                        return Err(AgentsError::config(field("cwd"), "must not be empty"));
                    }
                    Some(dir) => Some(PathBuf::from(dir)),
                    None => None,
                };
                Ok(AgentSpec::Exec(ExecSpec {
                    agent_id: self.id.clone(),
                    command,
                    env,
                    cwd,
                    timeout: timeout(DEFAULT_EXEC_TIMEOUT_MS)?,
                }))
            }
            AgentKind::Events | AgentKind::Echo => {
                only("url", self.url.is_some(), "webhook")?;
                only("secret", self.secret.is_some(), "webhook")?;
                only("maxAttempts", self.max_attempts.is_some(), "webhook")?;
                only("timeoutMs", self.timeout_ms.is_some(), "webhook and exec")?;
                only("command", has_command, "exec")?;
                only("env", has_env, "exec")?;
                only("cwd", self.cwd.is_some(), "exec")?;
                let agent_id = self.id.clone();
                Ok(if self.kind == AgentKind::Events {
                    AgentSpec::Events { agent_id }
                } else {
                    AgentSpec::Echo { agent_id }
                })
            }
        }
    }
}

/// Validates the whole `gateway.agents` list: each entry, and that ids are unique.
///
/// ```
/// use wagw_agents::{validate_agents, AgentConfig};
/// let agents: Vec<AgentConfig> = serde_json::from_str(
///     r#"[{ "id": "a", "type": "echo" }, { "id": "a", "type": "events" }]"#)?;
/// let err = validate_agents(&agents).unwrap_err();
/// assert!(err.to_string().starts_with("gateway.agents[1].id"));
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn validate_agents(agents: &[AgentConfig]) -> Result<Vec<AgentSpec>, AgentsError> {
    let mut specs: Vec<AgentSpec> = Vec::with_capacity(agents.len());
    for (i, agent) in agents.iter().enumerate() {
        let path = format!("gateway.agents[{i}]");
        let spec = agent.validate(&path)?;
        if let Some(first) = specs.iter().position(|s| s.id() == spec.id()) {
            return Err(AgentsError::config(
                format!("{path}.id"),
                format!(
                    "{:?} is already used by gateway.agents[{first}]; agent ids must be unique",
                    spec.id()
                ),
            ));
        }
        specs.push(spec);
    }
    Ok(specs)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse(json: &str) -> Result<AgentSpec, String> {
        let cfg: AgentConfig = serde_json::from_str(json).map_err(|e| e.to_string())?;
        cfg.validate("gateway.agents[0]").map_err(|e| e.to_string())
    }

    #[test]
    fn webhook_defaults() {
        let spec = parse(
            r#"{"id":"w","type":"webhook","url":"http://127.0.0.1:9/x","secret":"0123456789abcdef"}"#,
        )
        .unwrap();
        let AgentSpec::Webhook(t) = spec else {
            panic!("not a webhook: {spec:?}")
        };
        assert_eq!(t.timeout, Duration::from_secs(10));
        assert_eq!(t.max_attempts, 8);
        assert_eq!(t.url.as_str(), "http://127.0.0.1:9/x");
    }

    #[test]
    fn exec_with_env_and_timeout() {
        let spec = parse(
            r#"{"id":"e","type":"exec","command":["python3","a.py"],"env":{"K":"v"},"cwd":"/tmp","timeoutMs":500}"#,
        )
        .unwrap();
        let AgentSpec::Exec(e) = spec else {
            panic!("not exec: {spec:?}")
        };
        assert_eq!(e.command, ["python3", "a.py"]);
        assert_eq!(e.env.get("K").map(String::as_str), Some("v"));
        assert_eq!(e.timeout, Duration::from_millis(500));
        assert_eq!(e.cwd, Some(PathBuf::from("/tmp")));
    }

    #[test]
    fn errors_name_the_field() {
        let rows = [
            (
                r#"{"id":"w","type":"webhook","secret":"0123456789abcdef"}"#,
                "gateway.agents[0].url:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"ftp://x/y","secret":"0123456789abcdef"}"#,
                "gateway.agents[0].url:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"not a url","secret":"0123456789abcdef"}"#,
                "gateway.agents[0].url:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"http://h/"}"#,
                "gateway.agents[0].secret:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"http://h/","secret":"short"}"#,
                "gateway.agents[0].secret:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"http://h/","secret":"0123456789abcdef","maxAttempts":0}"#,
                "gateway.agents[0].maxAttempts:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"http://h/","secret":"0123456789abcdef","timeoutMs":0}"#,
                "gateway.agents[0].timeoutMs:",
            ),
            (
                r#"{"id":"w","type":"webhook","url":"http://h/","secret":"0123456789abcdef","command":["x"]}"#,
                "gateway.agents[0].command:",
            ),
            (r#"{"id":"e","type":"exec"}"#, "gateway.agents[0].command:"),
            (
                r#"{"id":"e","type":"exec","command":[]}"#,
                "gateway.agents[0].command:",
            ),
            (
                r#"{"id":"e","type":"exec","command":[" "]}"#,
                "gateway.agents[0].command[0]:",
            ),
            (
                r#"{"id":"e","type":"exec","command":["x"],"env":{"A=B":"v"}}"#,
                "gateway.agents[0].env.A=B:",
            ),
            (
                r#"{"id":"e","type":"exec","command":["x"],"url":"http://h/"}"#,
                "gateway.agents[0].url:",
            ),
            (
                r#"{"id":"e","type":"echo","timeoutMs":5}"#,
                "gateway.agents[0].timeoutMs:",
            ),
            (r#"{"id":"bad id","type":"echo"}"#, "gateway.agents[0].id:"),
            (r#"{"id":"a/b","type":"echo"}"#, "gateway.agents[0].id:"),
            (r#"{"id":"","type":"events"}"#, "gateway.agents[0].id:"),
            (
                r#"{"id":"x","type":"echo","urll":"typo"}"#,
                "unknown field `urll`",
            ),
            (
                r#"{"id":"x","type":"carrier-pigeon"}"#,
                "unknown variant `carrier-pigeon`",
            ),
        ];
        for (input, want) in rows {
            let got = parse(input).expect_err(input);
            assert!(
                got.contains(want),
                "input {input}: got {got:?}, want it to contain {want:?}"
            );
        }
    }

    #[test]
    fn empty_exec_fields_on_other_kinds_are_ignored() {
        let spec = parse(r#"{"id":"bot.v2","type":"echo","command":[],"env":{}}"#).unwrap();
        assert_eq!(
            spec,
            AgentSpec::Echo {
                agent_id: "bot.v2".into()
            }
        );
    }

    #[test]
    fn duplicate_ids_are_rejected_with_both_positions() {
        let agents: Vec<AgentConfig> = serde_json::from_str(
            r#"[{"id":"a","type":"echo"},{"id":"b","type":"events"},{"id":"a","type":"events"}]"#,
        )
        .unwrap();
        let err = validate_agents(&agents).unwrap_err().to_string();
        assert!(err.starts_with("gateway.agents[2].id:"), "{err}");
        assert!(err.contains("gateway.agents[0]"), "{err}");
        assert_eq!(validate_agents(&agents[..2]).unwrap().len(), 2);
    }
}
