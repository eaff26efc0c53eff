//! The heartbeat: every `web.heartbeatSeconds`, one log line per account (target
//! `wagw::heartbeat`) with its state, the age of its last inbound message and its queue
//! depths; and housekeeping (pruning old dedupe entries).

use std::sync::Weak;
use std::time::Duration;

use crate::gateway::Inner;

/// How long a handled message stays in the dedupe set. WhatsApp redelivers only what was not
/// acknowledged, and the gateway acknowledges after recording, so a day is ample.
pub(crate) const DEDUPE_RETENTION_MS: i64 = 24 * 3600 * 1000;

/// Runs until the gateway is dropped (or the task aborted at shutdown).
pub(crate) async fn run(inner: Weak<Inner>) {
    loop {
        let period = match inner.upgrade() {
            Some(inner) => inner.shared.settings().heartbeat,
            None => return,
        };
        tokio::time::sleep(period.max(Duration::from_secs(1))).await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        beat(&inner);
    }
}

fn beat(inner: &Inner) {
    let now = inner.shared.clock.now_ms();
    for account in inner.accounts() {
        let metrics = account.metrics().snapshot();
        let (state, _) = account.state();
        let age_s = |at_ms: i64| (at_ms > 0).then(|| (now - at_ms).max(0) / 1000);
        let last_inbound_age_s = age_s(metrics.last_inbound_ms);
        let last_outbound_age_s = age_s(metrics.last_outbound_ms);
        tracing::info!(
            target: "wagw::heartbeat",
            account = %account.id(),
            state = %state,
            connected = inner.shared.registry.is_live(account.id()),
            last_inbound_age_s = ?last_inbound_age_s,
            last_outbound_age_s = ?last_outbound_age_s,
            reconnect_attempts = metrics.reconnect_attempts,
            queue_depth = metrics.queue_depth,
            in_flight = metrics.in_flight,
            messages_in = metrics.messages_in,
            messages_out = metrics.messages_out,
            "heartbeat"
        );
    }
    match inner
        .shared
        .store
        .dedupe()
        .prune_before(now - DEDUPE_RETENTION_MS)
    {
        Ok(0) => {}
        Ok(n) => tracing::debug!(target: "wagw::store", removed = n, "pruned dedupe entries"),
        Err(e) => tracing::warn!(target: "wagw::store", error = %e, "dedupe pruning failed"),
    }
    let settings = inner.shared.settings();
    let dir = crate::media::inbound_dir(&settings.data_dir);
    let removed =
        crate::media::remove_expired(&dir, settings.media_retention, std::time::SystemTime::now());
    if removed > 0 {
        tracing::debug!(target: "wagw::inbound", removed, "deleted expired inbound media");
    }
}
