//! Agent heartbeats: `agents.defaults.heartbeat` and `agents.list[].heartbeat`, checked and
//! resolved. As in the reference, per-agent entries win: when any `agents.list[]` entry sets
//! a heartbeat, only those agents get one (each inheriting the fields it leaves out from
//! `agents.defaults.heartbeat`); otherwise `agents.defaults.heartbeat` runs for the default
//! agent (`main`).

use serde::Serialize;

use crate::check::Checker;
use crate::error::ProblemKind;
use crate::file::{ConfigFile, HeartbeatEntry};

/// The prompt a heartbeat turn carries unless `prompt` is set (the reference's, verbatim).
pub const DEFAULT_PROMPT: &str = "Read HEARTBEAT.md if it exists (workspace context). Follow it strictly. Do not infer or repeat old tasks from prior chats. If nothing needs attention, reply HEARTBEAT_OK.";

/// The reply token that means "nothing to say".
pub const HEARTBEAT_OK: &str = "HEARTBEAT_OK";

/// The default interval.
pub const DEFAULT_EVERY_MS: u64 = 30 * 60_000;

/// Where a heartbeat's reply goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "to")]
pub enum HeartbeatTarget {
    /// The last DM sender the agent answered (the main session's last route), else the first
    /// `allowFrom` number.
    Last,
    /// Nowhere: the agent runs, nothing is sent.
    None,
    /// WhatsApp: `to`, else the first `allowFrom` number.
    Whatsapp(Option<String>),
}

/// One agent's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatSettings {
    /// The agent that gets the heartbeat turns.
    pub agent_id: String,
    /// Interval, ms.
    pub every_ms: u64,
    /// Where replies go.
    pub target: HeartbeatTarget,
    /// The session key of the turns (`None`: the agent's main session).
    pub session: Option<String>,
    /// The turn's text.
    pub prompt: String,
    /// Passed through to the agent.
    pub model: Option<String>,
}

/// Parses `30m`, `1h`, `90s`, `500ms`, `1d`, or a bare number of minutes.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write a number and a unit, as in \"30m\", \"1h\" or \"90s\""))?;
    let factor = match unit.trim() {
        "ms" => 1,
        "s" => 1_000,
        "" | "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        other => {
            return Err(format!(
                "`{other}` is not a duration unit: use ms, s, m, h or d"
            ));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| format!("`{text}` is too long"))
}

fn merged(own: Option<&HeartbeatEntry>, defaults: Option<&HeartbeatEntry>) -> HeartbeatEntry {
    let d = defaults.cloned().unwrap_or_default();
    let o = own.cloned().unwrap_or_default();
    HeartbeatEntry {
        every: o.every.or(d.every),
        target: o.target.or(d.target),
        to: o.to.or(d.to),
        session: o.session.or(d.session),
        prompt: o.prompt.or(d.prompt),
        model: o.model.or(d.model),
    }
}

/// Where each field of a merged entry was written: the agent's own entry, else the
/// defaults.
struct Paths<'a> {
    own: Option<(&'a str, &'a HeartbeatEntry)>,
    defaults: &'a str,
}

impl Paths<'_> {
    fn of(&self, field: &str, set: impl Fn(&HeartbeatEntry) -> bool) -> String {
        match self.own {
            Some((path, e)) if set(e) => format!("{path}.{field}"),
            _ => format!("{}.{field}", self.defaults),
        }
    }
}

fn resolve_one(
    agent_id: &str,
    paths: &Paths<'_>,
    e: &HeartbeatEntry,
    c: &mut Checker,
) -> Option<HeartbeatSettings> {
    let mut ok = true;
    let every_ms = match e.every.as_deref() {
        None => DEFAULT_EVERY_MS,
        Some(text) => match parse_duration_ms(text) {
            Ok(ms) if ms == 0 || ms >= 60_000 => ms,
            Ok(_) => {
                c.error(
                    &paths.of("every", |e| e.every.is_some()),
                    ProblemKind::Value,
                    "must be at least 1m (or 0m to turn heartbeats off)",
                );
                ok = false;
                0
            }
            Err(why) => {
                c.error(
                    &paths.of("every", |e| e.every.is_some()),
                    ProblemKind::Value,
                    why,
                );
                ok = false;
                0
            }
        },
    };
    let target = match e.target.as_deref() {
        None | Some("last") => HeartbeatTarget::Last,
        Some("none") => HeartbeatTarget::None,
        Some("whatsapp") => HeartbeatTarget::Whatsapp(e.to.clone()),
        Some(other) => {
            c.error(
                &paths.of("target", |e| e.target.is_some()),
                ProblemKind::Value,
                format!("`{other}` is not a heartbeat target: use \"last\", \"none\" or \"whatsapp\" (wagw has one channel)"),
            );
            ok = false;
            HeartbeatTarget::None
        }
    };
    if let Some(to) = &e.to {
        let valid = wagw_core::Phone::parse(to).is_ok()
            || wagw_core::Jid::parse(to).is_ok_and(|j| j.is_group());
        if !valid {
            c.error(
                &paths.of("to", |e| e.to.is_some()),
                ProblemKind::Value,
                format!("`{to}` is neither a phone number nor a group JID"),
            );
            ok = false;
        }
    }
    if !ok || every_ms == 0 {
        return None;
    }
    Some(HeartbeatSettings {
        agent_id: agent_id.to_owned(),
        every_ms,
        target,
        session: e.session.clone().filter(|s| !s.trim().is_empty()),
        prompt: e
            .prompt
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_PROMPT.to_owned()),
        model: e.model.clone(),
    })
}

/// The heartbeats the file configures, checked.
pub(crate) fn resolve(file: &ConfigFile, c: &mut Checker) -> Vec<HeartbeatSettings> {
    let agents = file.agents.as_ref();
    let defaults = agents
        .and_then(|a| a.defaults.as_ref())
        .and_then(|d| d.heartbeat.as_ref());
    let list = agents.and_then(|a| a.list.as_ref());
    let per_agent: Vec<(usize, &crate::file::AgentEntry)> = list
        .iter()
        .flat_map(|l| l.iter().enumerate())
        .filter(|(_, a)| a.heartbeat.is_some())
        .collect();
    if per_agent.is_empty() {
        return match defaults {
            Some(d) => {
                let paths = Paths {
                    own: None,
                    defaults: "agents.defaults.heartbeat",
                };
                resolve_one("main", &paths, d, c).into_iter().collect()
            }
            None => Vec::new(),
        };
    }
    // A default that is wrong is reported once, at its own place.
    let mut reported_defaults = false;
    let mut out = Vec::new();
    for (i, a) in per_agent {
        let Some(id) = a.id.clone() else { continue };
        let own_path = format!("agents.list[{i}].heartbeat");
        let Some(own) = a.heartbeat.as_ref() else {
            continue;
        };
        let e = merged(Some(own), defaults);
        let before = c.problems.len();
        let paths = Paths {
            own: Some((&own_path, own)),
            defaults: "agents.defaults.heartbeat",
        };
        let resolved = resolve_one(&id, &paths, &e, c);
        let mut added: Vec<_> = c.problems.drain(before..).collect();
        let from_defaults = |p: &crate::error::Problem| p.path.starts_with("agents.defaults.");
        if reported_defaults {
            added.retain(|p| !from_defaults(p));
        } else if added.iter().any(from_defaults) {
            reported_defaults = true;
        }
        c.problems.extend(added);
        out.extend(resolved);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_duration_ms;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("30m"), Ok(1_800_000));
        assert_eq!(parse_duration_ms("1h"), Ok(3_600_000));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("15"), Ok(900_000));
        assert_eq!(parse_duration_ms("0m"), Ok(0));
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("5y").is_err());
    }
}
