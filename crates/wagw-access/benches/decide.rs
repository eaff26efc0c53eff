//! DM decisions against a 1,000-entry allowlist. Target: >= 5 million decisions/s on one
//! core (criterion reports time per decision; 200 ns = 5 M/s).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use wagw_access::{AccessPolicy, AccessRequest, AllowList, AllowSnapshot, SelfIdentity, decide};
use wagw_core::{AccountId, DmPolicy, Phone, Sender};

fn numbers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("+1555{:07}", 1_000_000 + i))
        .collect()
}

fn bench(c: &mut Criterion) {
    let list = numbers(1000);
    let policy = AccessPolicy {
        dm_policy: DmPolicy::Allowlist,
        allow_from: AllowList::parse(&list),
        ..AccessPolicy::default()
    };
    let mut snap = AllowSnapshot::new();
    snap.allowed = AllowList::parse(numbers(1000).iter().map(|s| s.replace("+1555", "+1666")));
    let now = 1_700_000_000_000;
    let own = SelfIdentity {
        phone: Some(Phone::parse("+15550000001").unwrap()),
        lid: None,
    };
    let mk = |n: &str| {
        let mut r = AccessRequest::dm(
            AccountId::default(),
            Sender::phone(Phone::parse(n).unwrap()),
            now,
        );
        r.own = own.clone();
        r
    };
    let hit = mk(&list[999]);
    let miss = mk("+15559999999");

    let mut g = c.benchmark_group("decide_dm_1000_allowlist");
    g.throughput(Throughput::Elements(1));
    g.bench_function("allowlisted", |b| {
        b.iter(|| decide(black_box(&hit), black_box(&policy), black_box(&snap), now))
    });
    g.bench_function("not_in_allowlist", |b| {
        b.iter(|| decide(black_box(&miss), black_box(&policy), black_box(&snap), now))
    });
    let pairing = AccessPolicy {
        dm_policy: DmPolicy::Pairing,
        ..policy.clone()
    };
    let paired = mk("+16661000999");
    g.bench_function("paired_via_store", |b| {
        b.iter(|| {
            decide(
                black_box(&paired),
                black_box(&pairing),
                black_box(&snap),
                now,
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
