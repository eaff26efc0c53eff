//! The gateway runtime behind the HTTP API: [`start`] builds the `wagw-gateway` runtime from
//! the config — transports per account ([`transport`]), the agent sinks of `wagw-agents`
//! as its `AgentSink` ([`sink`]), the webhook worker and the event log — and returns the
//! [`GatewayApi`] the daemon serves ([`api`]).
//!
//! Everything here is wiring: the pipeline, pairing, outbound planning and delivery
//! retries live in the crates.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use wagw_agents::{AgentSinks, DEFAULT_EVENT_CAPACITY, EventLog, Outbox, WebhookWorker};
use wagw_config::Config;
use wagw_gateway::{Gateway, GatewayStore};
use wagw_sim::SimNetwork;

use crate::error::CliError;
use wagw_http::GatewayApi;
use wagw_http::model::EventRecord;

pub mod api;
pub mod chat_config;
pub mod metrics;
pub mod recorder;
pub mod sim;
pub mod sink;
#[cfg(test)]
mod tests;
pub mod transport;

/// The webhook outbox's tree in the gateway's database.
pub const OUTBOX_TREE: &str = "outbox";
/// The daemon's event log tree (`GET /v1/events`): agent turns for `events` agents and
/// the gateway's status events, in one sequence. (The gateway keeps its own log in
/// `events`.)
pub const EVENT_LOG_TREE: &str = "daemon_events";

/// How the runtime is started.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuntimeOptions {
    /// Every account on the simulator (`wagw gateway --sim`).
    pub sim: bool,
    /// Simulated accounts start unlinked (`wagw gateway --sim --unlinked`): `wagw channels
    /// login` links them, completed by `POST /v1/sim/scan`.
    pub sim_unlinked: bool,
}

/// A started runtime.
pub struct Started {
    /// What the HTTP layer serves.
    pub api: Arc<dyn GatewayApi>,
    /// Some account runs on the simulator: serve `/v1/sim/*`.
    pub sim: bool,
}

fn runtime_error(what: &str) -> impl Fn(&dyn std::fmt::Display) -> CliError + '_ {
    move |e| CliError::Runtime(format!("{what}: {e}"))
}

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    crate::cmd::channels::now_ms()
}

/// The running gateway and the daemon's parts around it.
pub struct Runtime {
    pub(crate) gateway: Gateway,
    pub(crate) config: RwLock<Arc<Config>>,
    /// The config the stores were opened with: where they live (`storage.url`) changes only
    /// at a restart, whatever a reload says.
    pub(crate) stores_config: Arc<Config>,
    pub(crate) config_path: Option<PathBuf>,
    pub(crate) sinks: AgentSinks,
    pub(crate) events: EventLog,
    pub(crate) live: broadcast::Sender<EventRecord>,
    pub(crate) sim: Option<SimNetwork>,
    pub(crate) force_sim: bool,
    /// The cloud accounts' sockets, which take the Cloud API webhooks.
    pub(crate) cloud: transport::CloudSockets,
    /// The process's `metrics` recorder (the library's `wa_*` series), when installed.
    pub(crate) library: Option<&'static recorder::LibraryMetrics>,
    /// Tells the webhook worker to stop, and its task.
    stop_worker: std::sync::Mutex<Option<(oneshot::Sender<()>, JoinHandle<()>)>>,
    /// Background loops (event forwarding, completions); they hold nothing to finish.
    tasks: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

impl Runtime {
    /// The config in effect.
    pub fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Starts every enabled account and returns the API the HTTP layer serves.
pub async fn start(config: &Config, options: RuntimeOptions) -> Result<Started, CliError> {
    // Before any transport exists, so the library's first series are recorded.
    let library = recorder::install();
    let crate::preflight::Checked { specs, settings } = crate::preflight::check(config)?;
    let transports =
        transport::Transports::for_config(config, options.sim, options.sim_unlinked, now_ms())?;
    let sim = transports.sim.clone();
    let cloud = transports.cloud.clone();
    let store = match crate::storage::state(config)? {
        wagw_store::Location::Sqlite(_) => GatewayStore::open(&config.gateway().data_dir),
        there => GatewayStore::open_at(&there, wagw_gateway::StoreOptions::default()),
    }
    .map_err(|e| runtime_error("store")(&e))?;
    let db = store.db().clone();
    let tree = |name: &str| db.open_tree(name).map_err(|e| runtime_error(name)(&e));
    let outbox = Outbox::new(tree(OUTBOX_TREE)?);
    let events = EventLog::open(tree(EVENT_LOG_TREE)?, DEFAULT_EVENT_CAPACITY)?;
    let sinks = AgentSinks::new(&specs, outbox.clone(), events.clone());
    // Subscribed before the gateway starts, so its first status events are not missed.
    let gateway_events = store.events().subscribe();
    let config_commands = Arc::new(chat_config::DaemonConfigCommands::default());
    let gateway = Gateway::builder()
        .config_commands(config_commands.clone())
        .settings(settings)
        .store(store)
        .transport(transports)
        .sink(sink::DaemonSink {
            sinks: sinks.clone(),
        })
        .start()
        .await
        .map_err(|e| runtime_error("start")(&e))?;

    let (live, _) = broadcast::channel(1024);
    let mut tasks = vec![
        tokio::spawn(forward_gateway_events(gateway_events, events.clone())),
        tokio::spawn(relay_live(events.subscribe(), live.clone())),
    ];
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let worker = WebhookWorker::new(outbox, sinks.webhook_targets())?.completions(done_tx);
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let worker = tokio::spawn(worker.run(async move {
        let _ = stop_rx.await;
    }));
    tasks.push(tokio::spawn(sink::send_late_replies(
        done_rx,
        gateway.clone(),
        sinks.outbox().clone(),
    )));
    tracing::info!(target: "wagw::daemon", accounts = ?gateway.account_ids(), agents = specs.len(),
        sim = sim.is_some(), "runtime started");
    let runtime = Arc::new(Runtime {
        gateway,
        config: RwLock::new(Arc::new(config.clone())),
        stores_config: Arc::new(config.clone()),
        config_path: config.source().map(std::path::Path::to_path_buf),
        sinks,
        events,
        live,
        sim,
        force_sim: options.sim,
        cloud,
        library,
        stop_worker: std::sync::Mutex::new(Some((stop_tx, worker))),
        tasks: std::sync::Mutex::new(tasks),
    });
    config_commands.attach(&runtime);
    let sim = runtime.sim.is_some();
    Ok(Started { api: runtime, sim })
}

impl Runtime {
    /// Stops the webhook worker (it finishes in-flight attempts within its grace) and the
    /// daemon's tasks, then the gateway — all by `by`; what still runs then is abandoned.
    pub(crate) async fn stop(&self, by: tokio::time::Instant) -> Result<(), CliError> {
        let worker = self
            .stop_worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        // Told first, so the worker finishes its attempts alongside the gateway's shutdown.
        let worker = worker.map(|(stop, task)| {
            let _ = stop.send(());
            task
        });
        let stopped = self.gateway.shutdown_by(by).await;
        if let Some(mut worker) = worker
            && tokio::time::timeout_at(by, &mut worker).await.is_err()
        {
            tracing::warn!(target: "wagw::daemon", "the webhook worker did not stop by the shutdown deadline; its attempts stay pending");
            worker.abort();
        }
        let tasks: Vec<JoinHandle<()>> = self
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        stopped.map_err(|e| runtime_error("shutdown")(&e))
    }
}

/// Copies the gateway's status events (account state, QR, linked, pairing challenges,
/// send failures) into the daemon's event log, so `/v1/events` has one sequence.
async fn forward_gateway_events(
    mut rx: broadcast::Receiver<wagw_gateway::StoredEvent>,
    log: EventLog,
) {
    loop {
        match rx.recv().await {
            Ok(stored) => {
                let Ok(value) = serde_json::to_value(&stored.event) else {
                    continue;
                };
                let kind = value
                    .get("type")
                    .and_then(|t| t.as_str())
                    .unwrap_or("status")
                    .to_owned();
                if let Err(e) = log.append(&kind, &value).await {
                    tracing::warn!(target: "wagw::daemon", error = %e, "event log append failed");
                }
            }
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!(target: "wagw::daemon", skipped = n, "status events skipped (the event log fell behind)");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The event log's live feed in the HTTP layer's shape.
async fn relay_live(
    mut rx: broadcast::Receiver<wagw_agents::Event>,
    tx: broadcast::Sender<EventRecord>,
) {
    loop {
        match rx.recv().await {
            Ok(e) => {
                let _ = tx.send(api::record(e));
            }
            // Subscribers see the gap and read the durable log.
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}
