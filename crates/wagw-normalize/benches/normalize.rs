//! Throughput of normalization: a plain DM (target ≥ 1,000,000/s on one core) and a group turn
//! with 50 messages of pending history and known metadata (target ≥ 100,000/s). Also the
//! cost of recording one unanswered group message (its history line is rendered then).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};
use wagw_core::{
    AccountId, AddressingMode, Content, ContextInfo, GroupMetadata, GroupParticipant,
    InboundMessage, Jid, MessageId, OwnIdentity, Phone, Sender,
};
use wagw_normalize::{GroupHistory, MentionPatterns, NormalizeSettings, Normalizer, TurnContext};

const T0: i64 = 1_735_787_040_000;

fn message(id: &str, chat: &str, from: &str, name: &str, text: &str, at: i64) -> InboundMessage {
    let phone = Phone::parse(from).unwrap();
    InboundMessage {
        id: MessageId::new(id),
        account: AccountId::default_account(),
        chat: Jid::parse(chat).unwrap(),
        sender_jid: Some(phone.to_jid()),
        sender: Sender::phone(phone),
        push_name: Some(name.into()),
        timestamp_ms: at,
        from_me: false,
        offline: false,
        content: Content::text(text),
        context: ContextInfo::default(),
    }
}

fn bench(c: &mut Criterion) {
    let settings = NormalizeSettings {
        group_mention_patterns: Some(
            MentionPatterns::compile(["\\bclawd\\b", "@?assistant"]).unwrap(),
        ),
        ..NormalizeSettings::default()
    };
    let normalizer = Normalizer::new(settings).unwrap();
    let own = OwnIdentity {
        phone: Phone::parse("+15550009999").unwrap(),
        lid: None,
        push_name: None,
    };

    let dm = message(
        "3EB0A1B2C3D4E5F6",
        "15551234567@s.whatsapp.net",
        "+15551234567",
        "Alice",
        "hey, are we still on for lunch tomorrow?",
        T0,
    );
    let mut group = c.benchmark_group("normalize");
    group.throughput(Throughput::Elements(1));
    group.bench_function("dm_plain", |b| {
        let ctx = TurnContext::new(&own, "main").with_previous(Some(T0 - 300_000));
        b.iter(|| {
            normalizer
                .normalize(black_box(&dm), black_box(&ctx))
                .unwrap()
        })
    });

    let gjid = "120363012345678901@g.us";
    let members: Vec<String> = (0..20)
        .map(|i| format!("+1555000{:04}", 1000 + i))
        .collect();
    let mut history = GroupHistory::new();
    for i in 0..60 {
        let from = &members[i % members.len()];
        let h = message(
            &format!("3EB0HIST{i:08}"),
            gjid,
            from,
            &format!("Member {}", i % members.len()),
            "sounds good, I'll bring the slides and the projector",
            T0 - 3_600_000 + i as i64 * 30_000,
        );
        let entry = normalizer.history_entry(&h).unwrap();
        history.record(&normalizer.history_key(&h), entry, 50);
    }
    let current = message(
        "3EB0CURRENT0001",
        gjid,
        &members[3],
        "Member 3",
        "clawd, can you summarise the plan?",
        T0,
    );
    let key = normalizer.history_key(&current);
    let pending = history.pending(&key);
    assert_eq!(pending.len(), 50);
    let meta = GroupMetadata {
        jid: Jid::parse(gjid).unwrap(),
        subject: "Offsite planning".into(),
        participants: members
            .iter()
            .map(|m| {
                let p = Phone::parse(m).unwrap();
                GroupParticipant {
                    jid: p.to_jid(),
                    sender: Sender::phone(p),
                    admin: false,
                }
            })
            .collect(),
        addressing_mode: AddressingMode::Phone,
    };
    group.bench_function("group_50_history", |b| {
        let ctx = TurnContext::new(&own, "main")
            .with_group(&meta)
            .with_history(pending)
            .with_previous(Some(T0 - 60_000));
        b.iter(|| {
            normalizer
                .normalize(black_box(&current), black_box(&ctx))
                .unwrap()
        })
    });
    // Rendering a history line happens once, when the unanswered message is recorded.
    group.bench_function("history_entry_record", |b| {
        b.iter(|| normalizer.history_entry(black_box(&current)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
