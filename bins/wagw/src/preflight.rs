//! The checks the gateway runs at start, in one place: `wagw config check`, `wagw gateway`
//! and a reload (SIGHUP, `POST /v1/reload`) all call [`check`], so "valid" means "the
//! daemon starts with it". Every problem is reported at once, each with its dotted path and
//! line:column, like the loader's own problems.

use wagw_access::{AccessError, AccessPolicy};
use wagw_agents::{AgentConfig, AgentKind, AgentSpec, AgentsError};
use wagw_config::{Config, ConfigError, Problem, ProblemKind, SinkKind};
use wagw_gateway::GatewaySettings;

/// What start needs from a config that passed every check.
pub struct Checked {
    /// The agent sinks (`gateway.agents`), validated.
    pub specs: Vec<AgentSpec>,
    /// The runtime settings (access policies, pairing templates, normalization).
    pub settings: GatewaySettings,
}

/// Runs every start-time check on a loaded config: the agent sinks, each account's pairing
/// reply template and the runtime settings. (The listen address's token rule depends on
/// the daemon's environment as well: see [`listen_refusal`].)
pub fn check(config: &Config) -> Result<Checked, ConfigError> {
    let mut problems = Vec::new();
    let specs = match agent_specs(config) {
        Ok(specs) => specs,
        Err(found) => {
            problems.extend(found);
            Vec::new()
        }
    };
    for account in config.accounts() {
        if let Err(AccessError::InvalidTemplate { reason }) =
            AccessPolicy::from_config(config, account)
        {
            let own = format!(
                "channels.whatsapp.accounts.{}.pairing.replyTemplate",
                account.account_id
            );
            let path = if config.written(&own) {
                own
            } else {
                "channels.whatsapp.pairing.replyTemplate".to_owned()
            };
            // Accounts that inherit the channel's template would repeat its problem.
            if !problems.iter().any(|p: &Problem| p.path == path) {
                problems.push(config.problem(
                    &path,
                    ProblemKind::Value,
                    format!("{reason}; see docs/access-control.md, \"Pairing reply\""),
                ));
            }
        }
    }
    if let Err(ConfigError::Invalid {
        problems: found, ..
    }) = crate::storage::check(config)
    {
        problems.extend(found);
    }
    if !problems.is_empty() {
        return Err(config.invalid(problems));
    }
    // Whatever the settings still refuse (nothing the checks above missed, today) fails
    // the same way, so a new rule cannot slip past `config check`.
    let settings = GatewaySettings::from_config(config)
        .map_err(|e| config.invalid(vec![config.problem("", ProblemKind::Value, e.to_string())]))?;
    Ok(Checked { specs, settings })
}

/// Why the gateway would refuse to start with this config in this environment: a
/// network-facing `gateway.listen` needs a strong token the operator chose (`gateway.token`
/// or `WAGW_TOKEN`). The environment of `config check` may not be the daemon's (a
/// container gets `WAGW_TOKEN` at run time), so `config check` reports it as a warning and
/// `wagw gateway` refuses.
pub fn listen_refusal(config: &Config) -> Result<(), crate::error::CliError> {
    let gw = config.gateway();
    let configured = gw.token.as_deref().map(str::trim).filter(|t| !t.is_empty());
    crate::cmd::gateway::check_listen(gw.listen, configured)
}

/// Maps `gateway.agents[]` into `wagw-agents` sink specs; every sink rule broken, each at
/// its `gateway.agents[i].field` with line:column.
fn agent_specs(config: &Config) -> Result<Vec<AgentSpec>, Vec<Problem>> {
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
    wagw_agents::validate_agents(&entries).map_err(|e| match e {
        AgentsError::Invalid { problems } => problems
            .into_iter()
            .map(|p| config.problem(&p.field, ProblemKind::Value, p.problem))
            .collect(),
        other => vec![config.problem("gateway.agents", ProblemKind::Value, other.to_string())],
    })
}
