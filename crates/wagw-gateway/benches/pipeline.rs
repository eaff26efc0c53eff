//! Bench binary (not criterion: the figures are a throughput over a stream and a process's
//! resident memory, which criterion's per-iteration model does not measure).
//!
//! - `throughput`: the full inbound pipeline on the simulator (dedupe, access, normalization,
//!   delivery to a null sink, dedupe record, grouped flush, acknowledgement) for 100,000 DMs
//!   from 1,000 senders on ONE core (a current-thread runtime). Target: >= 50,000 DMs/s.
//! - `memory`: resident memory of a process running 100 idle simulated linked accounts. Target:
//!   <= 30 MB. Runs in a child process so the throughput run does not inflate it.
//!
//! - `throughput-postgres`, `memory-postgres`: `throughput` and `memory` with the gateway's
//!   store in PostgreSQL (a server the bench starts, as the tests do:
//!   `wagw_store::test_support`, or `WAGW_TEST_POSTGRES_URL`). Not part of the default run.
//!
//! Run: `cargo bench -p wagw-gateway --bench pipeline` (throughput and memory), or
//! `-- throughput` / `-- memory` / `-- throughput-postgres` / `-- memory-postgres`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use wagw_core::*;
use wagw_gateway::*;

use wagw_sim::{SimNetwork, SimPhone, SimSocket};

/// The gateway's clock on the simulator's clock, so message times and the gateway agree.
struct SimTime(wagw_sim::SimClock);

impl Clock for SimTime {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

fn sim_factory(net: &SimNetwork, owner: fn(&str) -> String) -> impl TransportFactory {
    let net = net.clone();
    move |id: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
        let socket: SimSocket = match net.socket(id) {
            Some(s) => s,
            None => net.linked_account(id.as_str(), &owner(id.as_str())),
        };
        Ok(Arc::new(socket))
    }
}

async fn wait_connected(net: &SimNetwork, id: &str) {
    let id = AccountId::parse(id).unwrap();
    while !net.is_connected(&id) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Sends DMs round-robin from `phones`, keeping at most ~`WINDOW` in the pipeline (as a
/// real server does; progress is read from the gateway's own counter, which is cheap).
async fn send_dms(
    gw: &Gateway,
    phones: &[SimPhone],
    account: &SimSocket,
    start: usize,
    count: usize,
) {
    const WINDOW: u64 = 512;
    let delivered = || {
        gw.metrics()
            .get(&AccountId::default_account())
            .map_or(0, |m| m.turns_delivered)
    };
    for i in start..start + count {
        phones[i % phones.len()]
            .send_text(account, "hello there, how are you today?")
            .await;
        if i % 64 == 0 {
            while (i as u64).saturating_sub(delivered()) > WINDOW {
                tokio::task::yield_now().await;
            }
        }
    }
}

async fn wait_handled(net: &SimNetwork, account: &SimSocket) {
    while net.pending_inbound(account) > 0 {
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
}

const DMS: usize = 100_000;
const CHATS: usize = 1_000;
const IDLE_ACCOUNTS: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let want = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if want("throughput") {
        throughput(None);
    }
    if args.iter().any(|a| a == "throughput-postgres") {
        let Some(server) = wagw_store::test_support::TestPostgres::start() else {
            return;
        };
        let url = server.fresh_database();
        throughput(Some(
            wagw_store::Location::postgres(&url, GatewayStore::NAMESPACE).unwrap(),
        ));
    }
    if args.iter().any(|a| a == "memory-child") {
        memory_child(
            std::env::var(CHILD_URL)
                .ok()
                .map(|url| wagw_store::Location::postgres(&url, GatewayStore::NAMESPACE).unwrap()),
        );
        return;
    }
    if want("memory") {
        memory(None);
    }
    if args.iter().any(|a| a == "memory-postgres") {
        let Some(server) = wagw_store::test_support::TestPostgres::start() else {
            return;
        };
        memory(Some(&server.fresh_database()));
    }
}

/// Where the memory child finds its PostgreSQL database (unset: SQLite).
const CHILD_URL: &str = "WAGW_BENCH_MEMORY_POSTGRES_URL";

/// Runs the memory measurement in a child process (so nothing of this one counts).
fn memory(postgres_url: Option<&str>) {
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe);
    child.arg("memory-child").env_remove(CHILD_URL);
    if let Some(url) = postgres_url {
        child.env(CHILD_URL, url);
    }
    let status = child.status().unwrap();
    assert!(status.success(), "memory child failed");
}

fn throughput(store: Option<wagw_store::Location>) {
    let engine = if store.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let net = SimNetwork::with_seed(1);
        let settings = GatewaySettings::from_json5(
            "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'], sendReadReceipts: false } } }",
            dir.path(),
        )
        .unwrap();
        let mut builder = Gateway::builder()
            .settings(settings)
            .transport(sim_factory(&net, |_| "+15550009999".to_owned()))
            .clock(Arc::new(SimTime(net.clock().clone())))
            .sink(NullSink);
        if let Some(location) = &store {
            builder = builder.store(GatewayStore::open_at(location, StoreOptions::default()).unwrap());
        }
        let gw = builder.start().await.unwrap();
        wait_connected(&net, "default").await;
        let account = net.socket(&AccountId::default_account()).unwrap();
        let phones: Vec<SimPhone> = (0..CHATS)
            .map(|i| net.phone(&format!("+1555200{i:04}")).named("Sender"))
            .collect();
        // Warm up (allocations, database pages), then measure.
        send_dms(&gw, &phones, &account, 0, 5_000).await;
        wait_handled(&net, &account).await;
        let start = Instant::now();
        let cpu_start = cpu_seconds();
        send_dms(&gw, &phones, &account, 5_000, DMS).await;
        wait_handled(&net, &account).await;
        let elapsed = start.elapsed();
        let cpu = cpu_seconds() - cpu_start;
        println!(
            "throughput ({engine}): {DMS} DMs from {CHATS} simulated senders on one runtime thread (simulator included): \
             wall {:.3} s = {:.0} DMs/s; process CPU {:.2} s = {:.0} DMs per CPU-second (target >= 50000); load average {}",
            elapsed.as_secs_f64(),
            DMS as f64 / elapsed.as_secs_f64(),
            cpu,
            DMS as f64 / cpu.max(0.001),
            std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
        );
        let m = &gw.metrics()[&AccountId::default_account()];
        assert_eq!(m.turns_delivered as usize, DMS + 5_000, "every DM reached the sink");
        gw.shutdown().await.unwrap();
    });
}

/// User + system CPU time of this process (all threads), seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the `(comm)`: state is field 3; utime and stime are fields 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn memory_child(store: Option<wagw_store::Location>) {
    let engine = if store.is_some() {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let before = rss_kib();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let net = SimNetwork::with_seed(2);
        let ids: Vec<String> = (0..IDLE_ACCOUNTS).map(|i| format!("acct{i}")).collect();
        let accounts: String = ids.iter().map(|id| format!("{id}: {{}},")).collect();
        let settings = GatewaySettings::from_json5(
            &format!("{{ channels: {{ whatsapp: {{ accounts: {{ {accounts} }} }} }} }}"),
            dir.path(),
        )
        .unwrap();
        let mut builder = Gateway::builder()
            .settings(settings)
            .transport(sim_factory(&net, |id| {
                let n = id.trim_start_matches("acct").parse::<u32>().unwrap_or(0);
                format!("+1555800{n:04}")
            }))
            .clock(Arc::new(SimTime(net.clock().clone())))
            .sink(NullSink);
        if let Some(location) = &store {
            builder = builder.store(GatewayStore::open_at(location, StoreOptions::default()).unwrap());
        }
        let gw = builder.start().await.unwrap();
        for id in &ids {
            wait_connected(&net, id).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let connected = gw.status().iter().filter(|s| s.connected).count();
        let after = rss_kib();
        println!(
            "memory ({engine}): {connected} idle linked accounts: resident {:.1} MB (process before the gateway: {:.1} MB; target <= 30 MB total)",
            after as f64 / 1024.0,
            before as f64 / 1024.0
        );
        gw.shutdown().await.unwrap();
    });
}
