//! Resident memory per account on the real transport (whatsapp-rust through `WhatsAppSocket`)
//! over the in-process fake WhatsApp server (`wagw-fakewa`, Noise + Signal like the real one):
//! idle after connecting, and after each account has received 1,000 end-to-end encrypted DMs
//! (from 50 contacts, so 50 Signal sessions each) and acknowledged them.
//!
//! Not criterion: the figure is a process's resident memory, not a time per iteration.
//! Run: `cargo bench -p wagw-socket --bench memory` (`WAGW_MEM_ACCOUNTS`, default 10;
//! `WAGW_MEM_MESSAGES`, default 1000). The per-account figure is (RSS − RSS before the first
//! account) / accounts, so the process, the runtime and the fake server are not counted.
//! The fake servers (one per account: a fake server holds one account's keys) live in the same
//! process, so their per-account state (the contacts' Signal sessions and identities, the
//! inbox until acked) is included: the figure is an upper bound for the client.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use wagw_core::{AccountId, SocketEvent, WaSocket};
use wagw_fakewa::{FakeConfig, FakeWhatsApp};
use wagw_socket::store::{AccountStore, StoreOptions};
use wagw_socket::{SocketConfig, WhatsAppSocket};
use whatsapp_rust::store::traits::DeviceStore;

const CONTACTS: usize = 50;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn mb(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    // `cargo bench` passes `--bench`; this harness takes no other arguments.
    let accounts = env_or("WAGW_MEM_ACCOUNTS", 10);
    let messages = env_or("WAGW_MEM_MESSAGES", 1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(accounts, messages));
}

async fn run(accounts: usize, messages: usize) {
    let dir = tempfile::tempdir().unwrap();
    let before = rss_kib();

    let mut live = Vec::new();
    for i in 0..accounts {
        // One fake server per account: a fake server holds one account's keys.
        let server = FakeWhatsApp::new(FakeConfig::default());
        let id = AccountId::parse(&format!("acct{i}")).unwrap();
        let mut cfg = SocketConfig::new(id, dir.path().join(format!("accounts/acct{i}")));
        cfg.version = Some((2, 3000, 1_023_000_000));
        cfg.device_name = "wagw-bench".into();
        let store = AccountStore::open(&cfg.auth_dir, StoreOptions::default()).unwrap();
        let mut d = whatsapp_rust::wacore::store::Device::new();
        d.pn = Some(whatsapp_rust::Jid::pn(format!("1555700{i:04}")));
        d.lid = Some(whatsapp_rust::Jid::lid(format!("10000000000{i:04}")));
        d.push_name = "Gateway".into();
        store.save(&d).await.unwrap();
        drop(store);

        let socket = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();
        let mut rx = socket.connect().await.unwrap();
        let conn = server
            .next_connection()
            .await
            .expect("client never connected");
        loop {
            match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                Ok(Some(SocketEvent::Connected { .. })) => break,
                Ok(Some(SocketEvent::Closed(r))) => panic!("acct{i} closed: {r}"),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => panic!("acct{i} never connected"),
            }
        }
        // Every message is acknowledged as the gateway would once it has handled it.
        let received = Arc::new(AtomicUsize::new(0));
        let count = received.clone();
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if let SocketEvent::Message { ack, .. } = ev {
                    ack.commit();
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        live.push((socket, conn, received, server));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_kib();

    let start = Instant::now();
    for (_, conn, _, _) in &live {
        for m in 0..messages {
            let from = format!("1555800{:04}", m % CONTACTS);
            conn.send_dm_text(&from, "hello there, how are you today?")
                .await
                .unwrap();
        }
    }
    for (i, (_, _, received, _)) in live.iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(120);
        while received.load(Ordering::Relaxed) < messages {
            assert!(
                Instant::now() < deadline,
                "acct{i}: {received:?} of {messages} messages"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let took = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib();

    let report = live[0].0.resources().await.unwrap();
    let per = |kib: u64| mb(kib.saturating_sub(before)) / accounts as f64;
    println!(
        "memory (real transport, fake server): {accounts} accounts; process before the first account {:.1} MB",
        mb(before)
    );
    println!(
        "memory: idle (connected): {:.1} MB total, {:.2} MB per account",
        mb(idle),
        per(idle)
    );
    println!(
        "memory: after {messages} DMs per account from {CONTACTS} contacts ({:.1} s): {:.1} MB total, {:.2} MB per account",
        took.as_secs_f64(),
        mb(after),
        per(after)
    );
    println!("memory: acct0's client: {report:?}");
    for (socket, _, _, _) in &live {
        socket.disconnect().await;
    }
}
