//! [`AgentSinks`]: every configured agent behind one `deliver(agent_id, turn)` call, so the
//! daemon's `AgentSink` adapter is a few lines.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use crate::backoff::{Clock, SystemClock};
use crate::config::AgentSpec;
use crate::echo::echo_replies;
use crate::error::AgentsError;
use crate::events::EventLog;
use crate::exec::ExecAgent;
use crate::handoff::{DeliveryOutcome, Waited};
use crate::outbox::Outbox;
use crate::reply::AgentReply;
use crate::turn::TurnPayload;
use crate::webhook::WebhookTargets;

/// The event kind turns are logged under for `events` agents.
pub const TURN_EVENT: &str = "turn";
/// How much longer than the webhook's timeout [`AgentSinks::deliver`] waits for the first
/// attempt before returning no replies (the outcome then arrives as a `Completion`).
pub const INLINE_WAIT_MARGIN: Duration = Duration::from_secs(2);

/// The configured agents, ready to receive turns.
///
/// - `webhook`: enqueued in the durable [`Outbox`] (flushed), then waited for up to the
///   agent's `timeoutMs` + [`INLINE_WAIT_MARGIN`]: a healthy agent's replies return
///   in-line; a retrying delivery returns no replies now and its outcome later arrives on
///   the worker's completion channel.
/// - `events`: appended to the [`EventLog`] as a `turn` event; no replies (the agent sends
///   through the HTTP API).
/// - `exec`: the command's stdout as one text reply.
/// - `echo`: [`echo_replies`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), wagw_agents::AgentsError> {
/// use wagw_agents::{validate_agents, AgentConfig, AgentSinks, DeliveryId, EventLog, Outbox, TurnPayload};
/// let db = wagw_store::Db::temporary()?;
/// let configs: Vec<AgentConfig> = serde_json::from_str(r#"[{"id": "echo", "type": "echo"}]"#).unwrap();
/// let sinks = AgentSinks::new(
///     &validate_agents(&configs)?,
///     Outbox::new(db.open_tree("outbox")?),
///     EventLog::open(db.open_tree("events")?, 1000)?,
/// );
/// let turn = serde_json::json!({"body": "hello", "accountId": "work", "messageId": "M1"});
/// let payload = TurnPayload::new(DeliveryId::derive("echo", "work", "M1"), "work", &turn)?;
/// let replies = sinks.deliver("echo", &payload).await?;
/// assert_eq!(replies[0].text.as_deref(), Some("hello"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AgentSinks {
    specs: Arc<RwLock<HashMap<String, AgentSpec>>>,
    targets: WebhookTargets,
    outbox: Outbox,
    events: EventLog,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for AgentSinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<String> = self.read().keys().cloned().collect();
        f.debug_struct("AgentSinks")
            .field("agents", &ids)
            .finish_non_exhaustive()
    }
}

impl AgentSinks {
    /// Sinks for `specs` (from [`crate::validate_agents`]) over the gateway's outbox and
    /// event log.
    pub fn new(specs: &[AgentSpec], outbox: Outbox, events: EventLog) -> Self {
        let sinks = AgentSinks {
            specs: Arc::default(),
            targets: WebhookTargets::default(),
            outbox,
            events,
            clock: Arc::new(SystemClock),
        };
        sinks.replace(specs);
        sinks
    }

    /// With an injected clock (enqueue times).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Applies a config reload. The webhook worker built from [`AgentSinks::webhook_targets`]
    /// sees the change at once.
    pub fn replace(&self, specs: &[AgentSpec]) {
        let map = specs
            .iter()
            .map(|s| (s.id().to_owned(), s.clone()))
            .collect();
        *self.specs.write().unwrap_or_else(PoisonError::into_inner) = map;
        self.targets.replace(specs);
    }

    /// The webhook targets, shared with the [`crate::WebhookWorker`] (pass this handle to it).
    pub fn webhook_targets(&self) -> WebhookTargets {
        self.targets.clone()
    }

    /// The outbox (for `wagw deliveries list|replay`).
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The event log (for `GET /v1/events` and status events).
    pub fn events(&self) -> &EventLog {
        &self.events
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, AgentSpec>> {
        self.specs.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The spec of `agent_id`, if configured.
    pub fn get(&self, agent_id: &str) -> Option<AgentSpec> {
        self.read().get(agent_id).cloned()
    }

    /// Hands `turn` to agent `agent_id` and returns the replies available now.
    pub async fn deliver(
        &self,
        agent_id: &str,
        turn: &TurnPayload,
    ) -> Result<Vec<AgentReply>, AgentsError> {
        let spec = self
            .get(agent_id)
            .ok_or_else(|| AgentsError::UnknownAgent {
                agent: agent_id.to_owned(),
            })?;
        match spec {
            AgentSpec::Webhook(target) => {
                let enqueued = self
                    .outbox
                    .enqueue(agent_id, turn, self.clock.now_ms())
                    .await?;
                match enqueued
                    .waiter
                    .wait(target.timeout + INLINE_WAIT_MARGIN)
                    .await
                {
                    Waited::Done(DeliveryOutcome::Delivered { replies, .. }) => Ok(replies),
                    Waited::Done(DeliveryOutcome::Duplicate) | Waited::Pending => Ok(Vec::new()),
                    Waited::Done(DeliveryOutcome::Dead { error }) => {
                        Err(AgentsError::DeliveryDead {
                            id: enqueued.id.to_string(),
                            error,
                        })
                    }
                }
            }
            AgentSpec::Events { .. } => {
                self.events.append(TURN_EVENT, &turn.value()).await?;
                Ok(Vec::new())
            }
            AgentSpec::Exec(spec) => ExecAgent::new(spec).replies(turn).await,
            AgentSpec::Echo { .. } => Ok(echo_replies(&turn.value())),
        }
    }
}
