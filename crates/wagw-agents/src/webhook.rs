//! The webhook worker: takes due deliveries from the [`Outbox`], POSTs them signed, and
//! records each attempt's result (delivered, retry later, or dead).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::backoff::{Clock, RandomUnit, SplitMix64, SystemClock, parse_retry_after};
use crate::config::{AgentSpec, WebhookTarget};
use crate::error::AgentsError;
use crate::handoff::{Completion, DeliveryOutcome};
use crate::outbox::{DeliveryRecord, DeliveryState, Outbox};
use crate::reply::parse_replies;
use crate::signature::{DELIVERY_HEADER, SIGNATURE_HEADER, sign};
use crate::turn::DeliveryId;

/// Largest response body read for replies (bigger bodies are cut off and ignored).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Default number of deliveries attempted at once.
pub const DEFAULT_CONCURRENCY: usize = 8;
/// How long shutdown waits for attempts in flight before abandoning them (they stay
/// pending and are retried after the restart).
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The worker re-checks the outbox at least this often, even with nothing due.
const IDLE_RECHECK: Duration = Duration::from_secs(30);
const TARGET: &str = "wagw::agents";

/// The configured webhook agents by id. Cheap to clone; [`WebhookTargets::replace`] applies
/// a config reload to a running worker.
#[derive(Clone, Debug, Default)]
pub struct WebhookTargets(Arc<RwLock<HashMap<String, WebhookTarget>>>);

impl WebhookTargets {
    /// The webhook agents among `specs` (others are ignored).
    pub fn from_specs(specs: &[AgentSpec]) -> Self {
        let targets = WebhookTargets::default();
        targets.replace(specs);
        targets
    }

    /// Replaces the set with the webhook agents among `specs`. Pending deliveries for an
    /// agent that is no longer configured are dead-lettered when next due.
    pub fn replace(&self, specs: &[AgentSpec]) {
        let map = specs
            .iter()
            .filter_map(|s| match s {
                AgentSpec::Webhook(t) => Some((t.agent_id.clone(), t.clone())),
                _ => None,
            })
            .collect();
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = map;
    }

    /// Adds or replaces one target.
    pub fn insert(&self, target: WebhookTarget) {
        self.0
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(target.agent_id.clone(), target);
    }

    /// The target for `agent_id`.
    pub fn get(&self, agent_id: &str) -> Option<WebhookTarget> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(agent_id)
            .cloned()
    }
}

/// What one HTTP attempt amounted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptVerdict {
    /// 2xx: delivered.
    Delivered,
    /// Worth another try (network error, timeout, 5xx, 408, 429), after `retry_after` if
    /// the receiver said so.
    Retry {
        /// The receiver's `Retry-After`, parsed.
        retry_after: Option<Duration>,
    },
    /// Retrying cannot help (other 4xx, redirects).
    Permanent,
}

/// Classifies an HTTP status (and its `Retry-After` header value) — the retry policy in one
/// place: 2xx delivered; 408, 429 and 5xx retried (honouring `Retry-After`); redirects and
/// every other 4xx permanent.
///
/// ```
/// use std::time::Duration;
/// use wagw_agents::{classify_status, AttemptVerdict};
/// assert_eq!(classify_status(204, None, 0), AttemptVerdict::Delivered);
/// assert_eq!(classify_status(404, None, 0), AttemptVerdict::Permanent);
/// assert_eq!(classify_status(429, Some("7"), 0),
///            AttemptVerdict::Retry { retry_after: Some(Duration::from_secs(7)) });
/// ```
pub fn classify_status(status: u16, retry_after: Option<&str>, now_ms: u64) -> AttemptVerdict {
    let retry = || AttemptVerdict::Retry {
        retry_after: retry_after.and_then(|v| parse_retry_after(v, now_ms)),
    };
    match status {
        200..=299 => AttemptVerdict::Delivered,
        408 | 429 => retry(),
        300..=499 => AttemptVerdict::Permanent,
        _ => retry(),
    }
}

/// Delivers the outbox's webhook deliveries. Build it, then `run` it on its own task.
///
/// ```no_run
/// # async fn demo(db: wagw_store::Db, specs: Vec<wagw_agents::AgentSpec>) -> Result<(), wagw_agents::AgentsError> {
/// use wagw_agents::{Outbox, WebhookTargets, WebhookWorker};
/// let outbox = Outbox::new(db.open_tree("outbox")?);
/// let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
/// let worker = WebhookWorker::new(outbox.clone(), WebhookTargets::from_specs(&specs))?
///     .completions(done_tx);
/// tokio::spawn(worker.run(std::future::pending()));
/// while let Some(done) = done_rx.recv().await {
///     // send done.outcome's replies to the chat of done.record.turn()
/// #   let _ = done;
/// }
/// # Ok(()) }
/// ```
pub struct WebhookWorker {
    outbox: Outbox,
    targets: WebhookTargets,
    client: reqwest::Client,
    clock: Arc<dyn Clock>,
    rng: Mutex<Box<dyn RandomUnit>>,
    completions: Option<mpsc::UnboundedSender<Completion>>,
    concurrency: usize,
    shutdown_grace: Duration,
    /// Agents whose last attempt failed and that have deliveries waiting in backoff: the
    /// first success of one of them makes the rest due at once.
    retrying: Mutex<HashSet<String>>,
    /// Agents that answered again, for the loop to reschedule (it alone knows what is in
    /// flight, which must not be touched).
    recovered: Mutex<Vec<String>>,
}

impl std::fmt::Debug for WebhookWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWorker")
            .field("outbox", &self.outbox)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// How one attempt ended, before it is written down.
struct Attempted {
    status: Option<u16>,
    verdict: AttemptVerdict,
    error: Option<String>,
    body: Vec<u8>,
}

impl WebhookWorker {
    /// A worker over `outbox` delivering to `targets`, with the system clock, seeded
    /// jitter, [`DEFAULT_CONCURRENCY`] and no completion channel.
    pub fn new(outbox: Outbox, targets: WebhookTargets) -> Result<Self, AgentsError> {
        let client = reqwest::Client::builder()
            // A POST must not silently become a GET to somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wagw/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AgentsError::HttpClient(e.to_string()))?;
        Ok(WebhookWorker {
            outbox,
            targets,
            client,
            clock: Arc::new(SystemClock),
            rng: Mutex::new(Box::new(SplitMix64::from_entropy())),
            completions: None,
            concurrency: DEFAULT_CONCURRENCY,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            retrying: Mutex::new(HashSet::new()),
            recovered: Mutex::new(Vec::new()),
        })
    }

    /// Where outcomes nobody waited for go (see [`Completion`]). Without it they are logged
    /// and their replies dropped.
    pub fn completions(mut self, tx: mpsc::UnboundedSender<Completion>) -> Self {
        self.outbox.route_completions(tx.clone());
        self.completions = Some(tx);
        self
    }

    /// The clock (signature timestamps, due times).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The jitter source.
    pub fn random(mut self, rng: Box<dyn RandomUnit>) -> Self {
        self.rng = Mutex::new(rng);
        self
    }

    /// How many deliveries may be in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// How long shutdown waits for attempts in flight.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Runs until `shutdown` completes: attempts what is due, sleeps until the next due
    /// time or an enqueue/replay, and on shutdown lets attempts in flight finish for up to
    /// the grace period. Store errors are logged and retried, never fatal.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let this = Arc::new(self);
        tokio::pin!(shutdown);
        let mut in_flight: HashSet<DeliveryId> = HashSet::new();
        let mut tasks: JoinSet<DeliveryId> = JoinSet::new();
        // Deliveries left in backoff by an earlier run recover as promptly as this run's.
        match this.outbox.agents_retrying() {
            Ok(agents) => this.retrying_set().extend(agents),
            Err(e) => {
                tracing::warn!(target: TARGET, error = %e, "could not read which agents were being retried")
            }
        }
        tracing::info!(target: TARGET, concurrency = this.concurrency, "webhook worker started");
        loop {
            let now = this.clock.now_ms();
            this.hurry_recovered(now, &in_flight).await;
            let mut wait = IDLE_RECHECK;
            let free = this.concurrency.saturating_sub(in_flight.len());
            let scheduled = if free > 0 {
                this.outbox.due(now, &in_flight, free).and_then(|due| {
                    for record in due {
                        in_flight.insert(record.id.clone());
                        tasks.spawn(Arc::clone(&this).attempt(record));
                    }
                    this.outbox.next_due(&in_flight)
                })
            } else {
                Ok(None)
            };
            match scheduled {
                Ok(Some(due)) if in_flight.len() < this.concurrency => {
                    wait = wait.min(Duration::from_millis(due.saturating_sub(now)));
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(target: TARGET, error = %e, "outbox read failed; retrying in 1 s");
                    wait = Duration::from_secs(1);
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                Some(joined) = tasks.join_next() => {
                    match joined {
                        Ok(id) => { in_flight.remove(&id); }
                        Err(e) => {
                            // A panicked attempt: forget what was in flight and rescan.
                            tracing::error!(target: TARGET, error = %e, "webhook attempt task failed");
                            if tasks.is_empty() { in_flight.clear(); }
                        }
                    }
                }
                () = this.outbox.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
        if !tasks.is_empty() {
            tracing::info!(target: TARGET, in_flight = tasks.len(), "webhook worker stopping; waiting for attempts in flight");
            let drain = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(this.shutdown_grace, drain)
                .await
                .is_err()
            {
                tracing::warn!(target: TARGET, "attempts still in flight at shutdown stay pending and resume on restart");
                tasks.abort_all();
            }
        }
        tracing::info!(target: TARGET, "webhook worker stopped");
    }

    /// One attempt of one delivery, written down; returns its id for the in-flight set.
    async fn attempt(self: Arc<Self>, record: DeliveryRecord) -> DeliveryId {
        let id = record.id.clone();
        if let Err(e) = self.attempt_inner(record).await {
            // The record is unchanged (still pending, same due time): it is tried again.
            tracing::error!(target: TARGET, delivery = %id, error = %e, "could not record a webhook attempt");
        }
        id
    }

    async fn attempt_inner(&self, record: DeliveryRecord) -> Result<(), AgentsError> {
        let Some(target) = self.targets.get(&record.agent_id) else {
            let error = format!(
                "agent {:?} is not configured as a webhook agent; add it back to gateway.agents, then replay",
                record.agent_id
            );
            return self.finish_dead(record, None, error).await;
        };
        let attempted = self.post(&target, &record).await;
        let now = self.clock.now_ms();
        let mut after = record.clone();
        after.attempts = after.attempts.saturating_add(1);
        after.last_attempt_at_ms = Some(now);
        after.last_status = attempted.status;
        after.last_error = attempted.error.clone();
        match attempted.verdict {
            AttemptVerdict::Delivered => {
                let replies = match parse_replies(&attempted.body) {
                    Ok(replies) => replies,
                    Err(problem) => {
                        tracing::warn!(target: TARGET, delivery = %record.id, agent = %record.agent_id, %problem, "delivered, but the replies are invalid and were ignored");
                        after.last_error = Some(problem);
                        Vec::new()
                    }
                };
                after.state = DeliveryState::Delivered;
                after.next_attempt_at_ms = None;
                after.finished_at_ms = Some(now);
                // Committed with the completion: a crash before they are sent loses nothing.
                after.replies = replies.clone();
                self.outbox.update(&record, &after).await?;
                self.recovered(&after.agent_id);
                let status = attempted.status.unwrap_or(200);
                tracing::info!(target: TARGET, delivery = %after.id, agent = %after.agent_id, attempt = after.attempts, status, replies = replies.len(), "webhook delivered");
                self.complete(after, DeliveryOutcome::Delivered { status, replies });
                Ok(())
            }
            AttemptVerdict::Permanent => {
                let error = attempted
                    .error
                    .unwrap_or_else(|| "permanent failure".into());
                self.finish_dead_after(record, after, error).await
            }
            AttemptVerdict::Retry { retry_after } => {
                let error = attempted
                    .error
                    .unwrap_or_else(|| "temporary failure".into());
                if after.attempts >= target.max_attempts {
                    let error = format!("gave up after {} attempts; last: {error}", after.attempts);
                    return self.finish_dead_after(record, after, error).await;
                }
                let delay = match retry_after {
                    Some(d) => d,
                    None => {
                        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
                        target.backoff.delay(after.attempts, rng.as_mut())
                    }
                };
                let due = now.saturating_add(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
                after.next_attempt_at_ms = Some(due);
                self.outbox.update(&record, &after).await?;
                self.retrying_set().insert(after.agent_id.clone());
                tracing::warn!(target: TARGET, delivery = %after.id, agent = %after.agent_id, attempt = after.attempts, max_attempts = target.max_attempts, retry_in_ms = delay.as_millis() as u64, %error, "webhook attempt failed; will retry");
                Ok(())
            }
        }
    }

    fn retrying_set(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.retrying.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `agent` answered: if it had deliveries waiting in backoff, the loop makes them due
    /// now (an outage then ends in seconds, not after the longest backoff).
    fn recovered(&self, agent: &str) {
        if self.retrying_set().remove(agent) {
            self.recovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(agent.to_owned());
        }
    }

    /// Reschedules the waiting deliveries of the agents that answered again, leaving those
    /// in flight alone.
    async fn hurry_recovered(&self, now: u64, in_flight: &HashSet<DeliveryId>) {
        let agents = std::mem::take(
            &mut *self
                .recovered
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for agent in agents {
            match self.outbox.hurry(&agent, now, in_flight).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(target: TARGET, agent, deliveries = n, "agent answers again; retrying its waiting deliveries now");
                }
                Err(e) => {
                    // They keep their backoff schedule; nothing is lost.
                    tracing::warn!(target: TARGET, agent, error = %e, "could not reschedule the agent's waiting deliveries");
                }
            }
        }
    }

    async fn finish_dead(
        &self,
        record: DeliveryRecord,
        status: Option<u16>,
        error: String,
    ) -> Result<(), AgentsError> {
        let mut after = record.clone();
        after.last_status = status.or(after.last_status);
        self.finish_dead_after(record, after, error).await
    }

    async fn finish_dead_after(
        &self,
        before: DeliveryRecord,
        mut after: DeliveryRecord,
        error: String,
    ) -> Result<(), AgentsError> {
        let now = self.clock.now_ms();
        after.state = DeliveryState::Dead;
        after.next_attempt_at_ms = None;
        after.finished_at_ms = Some(now);
        after.last_error = Some(error.clone());
        self.outbox.update(&before, &after).await?;
        tracing::error!(target: TARGET, delivery = %after.id, agent = %after.agent_id, attempts = after.attempts, %error, "webhook delivery dead-lettered (replay with: wagw deliveries replay {})", after.id);
        self.complete(after, DeliveryOutcome::Dead { error });
        Ok(())
    }

    fn complete(&self, record: DeliveryRecord, outcome: DeliveryOutcome) {
        let Some(completion) = self.outbox.hand_off(record, outcome) else {
            return;
        };
        match &self.completions {
            Some(tx) => {
                if tx.send(completion).is_err() {
                    tracing::warn!(target: TARGET, "completion channel closed; a finished delivery's replies were dropped");
                }
            }
            None => {
                if let DeliveryOutcome::Delivered { replies, .. } = &completion.outcome
                    && !replies.is_empty()
                {
                    tracing::warn!(target: TARGET, delivery = %completion.record.id, replies = replies.len(), "no completion channel; late replies dropped");
                }
            }
        }
    }

    /// POSTs the record's body to the target, signed, and classifies what came back.
    async fn post(&self, target: &WebhookTarget, record: &DeliveryRecord) -> Attempted {
        let now = self.clock.now_ms();
        let signature = sign(target.secret.as_bytes(), now / 1000, record.body.as_bytes());
        let request = self
            .client
            .post(target.url.clone())
            .timeout(target.timeout)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .header(DELIVERY_HEADER, record.id.as_str())
            .header("X-Wagw-Attempt", (record.attempts + 1).to_string())
            .body(record.body.clone());
        let mut response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("timed out after {} ms", target.timeout.as_millis())
                } else if e.is_connect() {
                    format!("could not connect to {}: {}", target.url, root_cause(&e))
                } else {
                    format!("request failed: {}", root_cause(&e))
                };
                return Attempted {
                    status: None,
                    verdict: AttemptVerdict::Retry { retry_after: None },
                    error: Some(what),
                    body: Vec::new(),
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let verdict = classify_status(status, retry_after.as_deref(), now);
        let mut body = Vec::new();
        let mut body_error = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                        body_error = Some(format!(
                            "response body over {MAX_RESPONSE_BYTES} bytes; replies ignored"
                        ));
                        body.clear();
                        break;
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    body_error = Some(format!(
                        "could not read the response body: {}",
                        root_cause(&e)
                    ));
                    body.clear();
                    break;
                }
            }
        }
        let error = match &verdict {
            AttemptVerdict::Delivered => body_error,
            AttemptVerdict::Retry { .. } => Some(format!("HTTP {status}{}", snippet(&body))),
            AttemptVerdict::Permanent if (300..400).contains(&status) => Some(format!(
                "HTTP {status}: redirects are not followed; set the agent's url to the final address"
            )),
            AttemptVerdict::Permanent => {
                Some(format!("HTTP {status} (not retried){}", snippet(&body)))
            }
        };
        Attempted {
            status: Some(status),
            verdict,
            error,
            body,
        }
    }
}

/// The innermost error's message (reqwest's outer ones say little).
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// A short, single-line excerpt of an error body for the record (bodies are the agent's,
/// not the user's, so a short excerpt is safe to keep).
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return String::new();
    }
    let cut: String = line.chars().take(200).collect();
    format!(": {cut}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn status_table() {
        let rows: &[(u16, Option<&str>, AttemptVerdict)] = &[
            (200, None, AttemptVerdict::Delivered),
            (202, None, AttemptVerdict::Delivered),
            (299, None, AttemptVerdict::Delivered),
            (301, None, AttemptVerdict::Permanent),
            (400, None, AttemptVerdict::Permanent),
            (401, Some("5"), AttemptVerdict::Permanent),
            (404, None, AttemptVerdict::Permanent),
            (408, None, AttemptVerdict::Retry { retry_after: None }),
            (410, None, AttemptVerdict::Permanent),
            (422, None, AttemptVerdict::Permanent),
            (
                429,
                Some("2"),
                AttemptVerdict::Retry {
                    retry_after: Some(Duration::from_secs(2)),
                },
            ),
            (
                429,
                Some("later"),
                AttemptVerdict::Retry { retry_after: None },
            ),
            (500, None, AttemptVerdict::Retry { retry_after: None }),
            (
                503,
                Some("1"),
                AttemptVerdict::Retry {
                    retry_after: Some(Duration::from_secs(1)),
                },
            ),
            (100, None, AttemptVerdict::Retry { retry_after: None }),
        ];
        for (status, retry_after, want) in rows {
            assert_eq!(
                &classify_status(*status, *retry_after, 0),
                want,
                "status {status}, Retry-After {retry_after:?}"
            );
        }
    }

    #[test]
    fn snippets_are_short_single_lines() {
        assert_eq!(snippet(b""), "");
        assert_eq!(snippet(b"  bad\n  thing "), ": bad thing");
        assert_eq!(snippet("x".repeat(500).as_bytes()).len(), 202);
    }
}
