//! Runtime behaviour on the simulator: the `wagw::heartbeat` log line every
//! `web.heartbeatSeconds`, and `web.enabled: false` starting no accounts.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use wagw_core::*;
use wagw_gateway::*;
use wagw_sim::SimNetwork;

use crate::sim::{Harness, SimTime};

type Fields = BTreeMap<String, String>;

/// Records the fields of every event under target `wagw::heartbeat`.
#[derive(Clone, Default)]
struct Heartbeats(Arc<Mutex<Vec<Fields>>>);

struct Recorder<'a>(&'a mut Fields);

impl Visit for Recorder<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Heartbeats {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "wagw::heartbeat" {
            let mut fields = Fields::new();
            event.record(&mut Recorder(&mut fields));
            self.0.lock().unwrap().push(fields);
        }
    }
}

impl Heartbeats {
    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }
    fn last(&self) -> Fields {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

/// The `last_inbound_age_s` field (`Some(n)`) as a number.
fn age(line: &Fields) -> i64 {
    line["last_inbound_age_s"]
        .trim_start_matches("Some(")
        .trim_end_matches(')')
        .parse()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_heartbeat_line_every_heartbeat_seconds() {
    let beats = Heartbeats::default();
    // Thread-local: the test runtime is single-threaded, so the gateway's tasks log here.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(beats.clone()));
    let h = Harness::start(
        "{ web: { heartbeatSeconds: 30 }, channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        |_| None,
    )
    .await;
    let alice = h.net.phone("+15550001111");
    alice.send_text(&h.account, "hi").await;
    h.settle().await;
    assert_eq!(beats.count(), 0, "nothing before the first period");
    // Other tests' gateways, on other threads, may have registered the heartbeat's
    // callsite while this thread's subscriber was being installed, caching "never"
    // (tracing's per-callsite interest cache); recompute it now that ours is in place.
    tracing::callsite::rebuild_interest_cache();

    tokio::time::sleep(Duration::from_secs(29)).await;

    assert_eq!(beats.count(), 0, "not before 30 s");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(beats.count(), 1, "one line per account after 30 s");
    let line = beats.last();
    assert_eq!(line["account"], "default");
    assert_eq!(line["state"], "connected");
    assert_eq!(line["connected"], "true");
    assert_eq!(line["queue_depth"], "0");
    assert_eq!(line["messages_in"], "1");
    // The message came in just after start; the beat at 30 s sees it 29-30 s old.
    assert!((29..=30).contains(&age(&line)), "{line:?}");

    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(beats.count(), 3, "every 30 s");
    assert!(
        (89..=90).contains(&age(&beats.last())),
        "{:?}",
        beats.last()
    );
    h.gw.shutdown().await.unwrap();
    let after = beats.count();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(beats.count(), after, "no heartbeat after shutdown");
}

#[tokio::test(start_paused = true)]
async fn web_enabled_false_starts_no_accounts() {
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::with_seed(11);
    let account = net.linked_account("default", "+15550009999");
    let built = Arc::new(AtomicUsize::new(0));
    let counter = built.clone();
    let socket = account.clone();
    let settings = GatewaySettings::from_json5(
        "{ web: { enabled: false }, channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        dir.path(),
    )
    .unwrap();
    assert!(!settings.enabled);
    let gw = Gateway::builder()
        .settings(settings)
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    let alice = net.phone("+15550001111");
    alice.send_text(&account, "anyone?").await;
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert!(gw.account_ids().is_empty());
    assert!(gw.status().is_empty());
    assert!(gw.metrics().is_empty());
    assert_eq!(built.load(Ordering::SeqCst), 0, "no transport was built");
    assert!(!net.is_connected(&account), "nothing connected");
    assert_eq!(
        net.pending_inbound(&account),
        1,
        "the message waits on the server"
    );
    assert!(alice.received_texts().is_empty());
    gw.shutdown().await.unwrap();
}
