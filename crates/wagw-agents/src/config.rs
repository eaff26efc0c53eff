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

/// One problem in a `gateway.agents[]` entry: the config path of the field and what is
/// wrong with it. [`validate_agents`] reports every problem of every entry at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProblem {
    /// The config path, e.g. `gateway.agents[1].url`.
    pub field: String,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl std::fmt::Display for AgentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

/// Collects the problems of one entry, so the operator sees all of them in one run.
struct Problems<'a> {
    path: &'a str,
    found: Vec<AgentProblem>,
}

impl Problems<'_> {
    fn add(&mut self, name: &str, problem: impl Into<String>) {
        self.found.push(AgentProblem {
            field: format!("{}.{name}", self.path),
            problem: problem.into(),
        });
    }
}

impl AgentConfig {
    /// Checks the entry and resolves defaults. `path` prefixes field names in errors
    /// (e.g. `gateway.agents[2]` gives `gateway.agents[2].url: ...`). Every problem of
    /// the entry is reported ([`AgentsError::Invalid`]), not only the first.
    pub fn validate(&self, path: &str) -> Result<AgentSpec, AgentsError> {
        let mut p = Problems {
            path,
            found: Vec::new(),
        };
        let spec = self.check(&mut p);
        match spec {
            Some(spec) if p.found.is_empty() => Ok(spec),
            _ => Err(AgentsError::Invalid { problems: p.found }),
        }
    }

    /// The checks behind [`AgentConfig::validate`]: `None` (or problems in `p`) when the
    /// entry is invalid.
    fn check(&self, p: &mut Problems<'_>) -> Option<AgentSpec> {
        if !valid_agent_id(&self.id) {
            p.add(
                "id",
                format!(
                    "{:?} is not a valid agent id: use 1-64 characters from A-Z a-z 0-9 _ - .",
                    self.id
                ),
            );
        }
        let kind = self.kind.as_str();
        let only = |p: &mut Problems<'_>, name: &str, set: bool, used_by: &str| {
            if set {
                p.add(
                    name,
                    format!("`{name}` is only used by {used_by} agents, not {kind}; remove it"),
                );
            }
        };
        let timeout = |p: &mut Problems<'_>, default: u64| -> Duration {
            match self.timeout_ms {
                None => Duration::from_millis(default),
                Some(ms) if (1..=MAX_TIMEOUT_MS).contains(&ms) => Duration::from_millis(ms),
                Some(ms) => {
                    p.add(
                        "timeoutMs",
                        format!("{ms} is out of range: use 1..={MAX_TIMEOUT_MS}"),
                    );
                    Duration::from_millis(default)
                }
            }
        };
        // An empty list or map is the same as leaving the field out (converted configs
        // often carry empty defaults).
        let has_command = self.command.as_ref().is_some_and(|c| !c.is_empty());
        let has_env = self.env.as_ref().is_some_and(|e| !e.is_empty());
        match self.kind {
            AgentKind::Webhook => {
                only(p, "command", has_command, "exec");
                only(p, "env", has_env, "exec");
                only(p, "cwd", self.cwd.is_some(), "exec");
                let url = match self.url.as_deref() {
                    None => {
                        p.add("url", "required for webhook agents");
                        None
                    }
                    Some(raw) => match reqwest::Url::parse(raw) {
                        Err(e) => {
                            p.add("url", format!("{raw:?} is not a URL: {e}"));
                            None
                        }
                        Ok(url)
                            if !matches!(url.scheme(), "http" | "https")
                                || url.host_str().is_none() =>
                        {
                            p.add(
                                "url",
                                format!("{raw:?} must be an http:// or https:// URL with a host"),
                            );
                            None
                        }
                        Ok(url) => Some(url),
                    },
                };
                let secret = match self.secret.clone() {
                    None => {
                        p.add(
                            "secret",
                            "required for webhook agents (turns are signed with it); generate one with: openssl rand -hex 32",
                        );
                        None
                    }
                    Some(s) if s.len() < MIN_SECRET_LEN => {
                        p.add(
                            "secret",
                            format!(
                                "too short: use at least {MIN_SECRET_LEN} bytes (openssl rand -hex 32)"
                            ),
                        );
                        None
                    }
                    Some(s) => Some(s),
                };
                let max_attempts = self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
                if !(1..=MAX_ATTEMPTS_LIMIT).contains(&max_attempts) {
                    p.add(
                        "maxAttempts",
                        format!("{max_attempts} is out of range: use 1..={MAX_ATTEMPTS_LIMIT}"),
                    );
                }
                let timeout = timeout(p, DEFAULT_WEBHOOK_TIMEOUT_MS);
                Some(AgentSpec::Webhook(WebhookTarget {
                    agent_id: self.id.clone(),
                    url: url?,
                    secret: secret?,
                    timeout,
                    max_attempts,
                    backoff: Backoff::default(),
                }))
            }
            AgentKind::Exec => {
                only(p, "url", self.url.is_some(), "webhook");
                only(p, "secret", self.secret.is_some(), "webhook");
                only(p, "maxAttempts", self.max_attempts.is_some(), "webhook");
                let command = self.command.clone().unwrap_or_default();
                match command.first() {
                    None => p.add(
                        "command",
                        "required for exec agents: an argv array such as [\"python3\", \"agent.py\"]",
                    ),
                    Some(program) if program.trim().is_empty() => {
                        p.add("command[0]", "the program must not be empty");
                    }
                    Some(_) => {}
                }
                for (i, _) in command.iter().enumerate().filter(|(_, a)| a.contains('\0')) {
                    p.add(&format!("command[{i}]"), "contains a NUL byte");
                }
                let env = self.env.clone().unwrap_or_default();
                for (key, value) in &env {
                    if key.is_empty()
                        || key.contains('=')
                        || key.contains('\0')
                        || value.contains('\0')
                    {
                        p.add(
                            &format!("env.{key}"),
                            "variable names must be non-empty without '=' or NUL, values without NUL",
                        );
                    }
                }
                let cwd = match &self.cwd {
                    Some(dir) if dir.is_empty() => {
                        p.add("cwd", "must not be empty");
                        None
                    }
                    Some(dir) => Some(PathBuf::from(dir)),
                    None => None,
                };
                let timeout = timeout(p, DEFAULT_EXEC_TIMEOUT_MS);
                Some(AgentSpec::Exec(ExecSpec {
                    agent_id: self.id.clone(),
                    command,
                    env,
                    cwd,
                    timeout,
                }))
            }
            AgentKind::Events | AgentKind::Echo => {
                only(p, "url", self.url.is_some(), "webhook");
                only(p, "secret", self.secret.is_some(), "webhook");
                only(p, "maxAttempts", self.max_attempts.is_some(), "webhook");
                only(
                    p,
                    "timeoutMs",
                    self.timeout_ms.is_some(),
                    "webhook and exec",
                );
                only(p, "command", has_command, "exec");
                only(p, "env", has_env, "exec");
                only(p, "cwd", self.cwd.is_some(), "exec");
                let agent_id = self.id.clone();
                Some(if self.kind == AgentKind::Events {
                    AgentSpec::Events { agent_id }
                } else {
                    AgentSpec::Echo { agent_id }
                })
            }
        }
    }
}

/// Validates the whole `gateway.agents` list: each entry, and that ids are unique. The
/// error ([`AgentsError::Invalid`]) holds every problem of every entry, in list order.
///
/// ```
/// use wagw_agents::{validate_agents, AgentConfig, AgentsError};
/// let agents: Vec<AgentConfig> = serde_json::from_str(
///     r#"[{ "id": "a", "type": "echo" }, { "id": "a", "type": "events" },
///         { "id": "w", "type": "webhook" }]"#)?;
/// let err = validate_agents(&agents).unwrap_err();
/// assert!(err.to_string().starts_with("gateway.agents[1].id"));
/// let AgentsError::Invalid { problems } = err else { unreachable!() };
/// assert_eq!(problems.len(), 3); // the duplicate id, then w's url and secret
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn validate_agents(agents: &[AgentConfig]) -> Result<Vec<AgentSpec>, AgentsError> {
    let mut specs: Vec<AgentSpec> = Vec::with_capacity(agents.len());
    let mut problems = Vec::new();
    let mut ids: Vec<&str> = Vec::with_capacity(agents.len());
    for (i, agent) in agents.iter().enumerate() {
        let path = format!("gateway.agents[{i}]");
        if let Some(first) = ids.iter().position(|id| *id == agent.id) {
            problems.push(AgentProblem {
                field: format!("{path}.id"),
                problem: format!(
                    "{:?} is already used by gateway.agents[{first}]; agent ids must be unique",
                    agent.id
                ),
            });
        }
        ids.push(&agent.id);
        match agent.validate(&path) {
            Ok(spec) => specs.push(spec),
            Err(AgentsError::Invalid { problems: found }) => problems.extend(found),
            Err(other) => problems.push(AgentProblem {
                field: path,
                problem: other.to_string(),
            }),
        }
    }
    if problems.is_empty() {
        Ok(specs)
    } else {
        Err(AgentsError::Invalid { problems })
    }
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
    fn every_problem_of_an_entry_is_reported() {
        let cfg: AgentConfig = serde_json::from_str(
            r#"{"id":"bad id","type":"webhook","url":"ftp://x/y","secret":"short","maxAttempts":0,"cwd":"/"}"#,
        )
        .unwrap();
        let Err(AgentsError::Invalid { problems }) = cfg.validate("gateway.agents[3]") else {
            panic!("accepted")
        };
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "gateway.agents[3].id",
                "gateway.agents[3].cwd",
                "gateway.agents[3].url",
                "gateway.agents[3].secret",
                "gateway.agents[3].maxAttempts",
            ]
        );
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
