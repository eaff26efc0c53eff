//! Throughput of the simulator's hot paths, so gateway benches know the sim is not their
//! bottleneck: a peer's DM delivered to the gateway and committed, and a gateway send.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use wagw_core::{OutboundMessage, SocketEvent, SocketEvents, WaSocket};
use wagw_sim::{SimNetwork, SimPhone, SimSocket};

/// A fresh network with one live account and one contact.
async fn setup() -> (SimNetwork, SimSocket, SimPhone, SocketEvents) {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = match account.connect().await {
        Ok(rx) => rx,
        Err(e) => panic!("connect: {e}"),
    };
    while let Some(ev) = rx.recv().await {
        if matches!(ev, SocketEvent::OfflineSyncCompleted { .. }) {
            break;
        }
    }
    (net, account, alice, rx)
}

/// Fresh networks every this many iterations, so stored messages do not pile up.
const BATCH: u64 = 5_000;

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    c.bench_function("inbound_dm_deliver_and_commit", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let (_net, account, alice, mut rx) = setup().await;
                    let n = BATCH.min(iters - done);
                    let start = Instant::now();
                    for _ in 0..n {
                        alice.send_text(&account, "hi").await;
                        loop {
                            match rx.recv().await {
                                Some(SocketEvent::Message { ack, .. }) => {
                                    ack.commit();
                                    break;
                                }
                                Some(_) => {}
                                None => panic!("stream ended"),
                            }
                        }
                    }
                    total += start.elapsed();
                    done += n;
                }
                total
            })
        })
    });
    c.bench_function("gateway_send_text", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                let mut done = 0;
                while done < iters {
                    let (net, account, alice, rx) = setup().await;
                    // Delivery receipts would fill the unread channel; drop the receiver.
                    drop(rx);
                    let n = BATCH.min(iters - done);
                    let start = Instant::now();
                    for _ in 0..n {
                        if let Err(e) = account
                            .send(OutboundMessage::text(alice.jid(), "hello"))
                            .await
                        {
                            panic!("send: {e}");
                        }
                    }
                    total += start.elapsed();
                    done += n;
                    net.clear_outbox(&account);
                }
                total
            })
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
