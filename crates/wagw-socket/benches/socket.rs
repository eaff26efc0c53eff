//! Costs on the inbound hot path: converting one protocol message, and one acknowledged
//! (flushed) protocol-store write.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use wagw_core::AccountId;
use wagw_socket::inbound;
use wagw_socket::store::{AccountStore, StoreOptions};
use whatsapp_rust::buffa::MessageField;
use whatsapp_rust::store::traits::SignalStore;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::whatsapp as wa;

fn convert(c: &mut Criterion) {
    let info = MessageInfo {
        source: MessageSource {
            chat: "120363012345678901@g.us".parse().unwrap(),
            sender: "100000012345678:3@lid".parse().unwrap(),
            sender_alt: Some("15551234567@s.whatsapp.net".parse().unwrap()),
            is_group: true,
            ..Default::default()
        },
        id: "3EB0ABCDEF".into(),
        push_name: "Alice".into(),
        ..Default::default()
    };
    let msg = wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some("@bot what is the weather like today?".into()),
            context_info: MessageField::some(wa::ContextInfo {
                stanza_id: Some("Q".into()),
                participant: Some("15550001111@s.whatsapp.net".into()),
                mentioned_jid: vec!["15550002222@s.whatsapp.net".into()],
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let account = AccountId::default_account();
    c.bench_function("inbound_convert_group_text_with_quote", |b| {
        b.iter(|| inbound::convert(&account, &msg, &info))
    });
}

fn store_write(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = AccountStore::open(dir.path().join("a"), StoreOptions::default()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let session = vec![7u8; 1500];
    let mut i = 0u64;
    c.bench_function("store_put_session_flushed", |b| {
        b.iter(|| {
            i += 1;
            rt.block_on(store.put_session(&format!("{}@s.whatsapp.net", i % 500), &session))
                .unwrap()
        })
    });
}

criterion_group!(benches, convert, store_write);
criterion_main!(benches);
