//! Hot paths of the sinks: signing and verifying a turn, reading replies, SSE framing, and
//! the durable writes (outbox enqueue, event append) that each turn costs.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wagw_agents::*;

fn turn_json() -> serde_json::Value {
    serde_json::json!({
        "body": "[WhatsApp +15551234567 +2m Mon 2026-01-05 10:00 UTC] Ana: ".to_string() + &"hello there ".repeat(150),
        "rawBody": "hello there ".repeat(150),
        "chatType": "dm", "chatId": "15551234567@s.whatsapp.net", "from": "+15551234567",
        "accountId": "work", "agentId": "bot", "messageId": "3EB0C767D26A1D8E", "timestamp": 1_767_607_200_000i64,
    })
}

fn pure(c: &mut Criterion) {
    let body = serde_json::to_vec(&turn_json()).unwrap();
    let secret = b"whsec_0123456789abcdef0123456789";
    c.bench_function("sign 2 KB turn", |b| {
        b.iter(|| sign(secret, black_box(1_700_000_000), black_box(&body)))
    });
    let header = sign(secret, 1_700_000_000, &body);
    c.bench_function("verify_signature 2 KB turn", |b| {
        b.iter(|| {
            verify_signature(
                secret,
                black_box(&header),
                black_box(&body),
                1_700_000_010,
                300,
            )
            .unwrap()
        })
    });
    let replies = br#"{"replies":[{"text":"Sure, here is the summary you asked for."},{"media":[{"url":"https://x/a.jpg","caption":"a"}]}]}"#;
    c.bench_function("parse_replies (2 replies)", |b| {
        b.iter(|| parse_replies(black_box(replies)).unwrap())
    });
    let text = "line of text\n".repeat(160);
    c.bench_function("sse_frame 2 KB, 160 lines", |b| {
        b.iter(|| sse_frame(Some(black_box(42)), Some("turn"), black_box(&text)))
    });
    c.bench_function("echo_replies", |b| {
        let t = turn_json();
        b.iter(|| echo_replies(black_box(&t)))
    });
}

fn durable(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
    let outbox = Outbox::new(db.open_tree("outbox").unwrap());
    let log = EventLog::open(db.open_tree("events").unwrap(), 10_000).unwrap();
    let turn = turn_json();
    let mut group = c.benchmark_group("durable");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    let mut n = 0u64;
    group.bench_function("outbox enqueue + flush (2 KB turn)", |b| {
        b.iter(|| {
            n += 1;
            let payload =
                TurnPayload::new(DeliveryId::new(format!("b{n}")).unwrap(), "work", &turn).unwrap();
            rt.block_on(outbox.enqueue("bot", &payload, n)).unwrap()
        })
    });
    group.bench_function("event append + flush (2 KB turn)", |b| {
        b.iter(|| rt.block_on(log.append("turn", &turn)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, pure, durable);
criterion_main!(benches);
