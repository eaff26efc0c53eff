//! Maps `gateway.agents[]` from the config into `wagw-agents` sink specs, so the sink rules
//! (secret length, ranges, fields of another sink type) are checked by `wagw config check`
//! and at gateway start alike.

use wagw_agents::{AgentConfig, AgentKind, AgentSpec};
use wagw_config::{Config, SinkKind};

use crate::error::CliError;

/// The configured sinks, validated; the error names the offending `gateway.agents[i]` field.
pub fn agent_specs(config: &Config) -> Result<Vec<AgentSpec>, CliError> {
    let entries: Vec<AgentConfig> = config
        .gateway()
        .agents
        .iter()
        .map(|sink| AgentConfig {
            id: sink.id.clone(),
            kind: match sink.kind {
                SinkKind::Webhook => AgentKind::Webhook,
                SinkKind::Events => AgentKind::Events,
                SinkKind::Exec => AgentKind::Exec,
                SinkKind::Echo => AgentKind::Echo,
            },
            url: sink.url.clone(),
            secret: sink.secret.clone(),
            timeout_ms: sink.timeout_ms,
            max_attempts: sink.max_attempts,
            command: (!sink.command.is_empty()).then(|| sink.command.clone()),
            env: (!sink.env.is_empty()).then(|| sink.env.clone()),
            cwd: sink.cwd.clone(),
        })
        .collect();
    Ok(wagw_agents::validate_agents(&entries)?)
}
