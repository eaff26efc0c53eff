//! Traffic both ways: text, identities, quotes, reactions, polls, edits, revokes, receipts,
//! presence, multi-account routing, injection, determinism.

use std::time::Duration;

use wagw_core::{
    ChatPresence, Content, JidKind, MessageKey, OutboundContent, OutboundMessage, OutboundQuote,
    ReceiptKind, Sender, SocketError, SocketEvent, WaSocket,
};
use wagw_sim::{SimInbound, SimNetwork, SimOutboxKind};

use super::{drain, live, next, next_message};

#[tokio::test(start_paused = true)]
async fn dm_text_both_ways() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111").named("Alice");
    let mut rx = live(&account).await;

    net.clock().skew(Duration::from_secs(5));
    let key = alice.send_text(&account, "hi").await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(m.id, key.id);
    assert!(m.id.as_str().starts_with("3A"));
    assert_eq!(m.account.as_str(), "default");
    assert_eq!(m.chat, alice.jid());
    assert_eq!(m.chat.kind(), JidKind::User);
    assert_eq!(m.sender, Sender::both(alice.phone().unwrap(), alice.lid()));
    assert_eq!(m.push_name.as_deref(), Some("Alice"));
    assert_eq!(m.timestamp_ms, wagw_sim::DEFAULT_START_MS + 5_000);
    assert!(!m.from_me && !m.offline);
    assert_eq!(m.content, Content::text("hi"));
    assert_eq!(m.key(), key);

    let sent = account
        .send(OutboundMessage::text(m.chat.clone(), "hello Alice"))
        .await
        .unwrap();
    assert!(sent.id.as_str().starts_with("3EB0"));
    assert_eq!(sent.timestamp_ms, net.now_ms());
    match next(&mut rx).await {
        SocketEvent::Receipt(r) => {
            assert_eq!(r.kind, ReceiptKind::Delivered);
            assert_eq!(r.ids, std::slice::from_ref(&sent.id));
            assert_eq!(r.chat, alice.jid());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(alice.received_texts(), ["hello Alice"]);
    let out = net.sent_by(&account);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].id, sent.id);
    assert_eq!(out[0].kind, SimOutboxKind::Text);
    assert!(out[0].confirmed);

    alice.read(&account, std::slice::from_ref(&sent.id)).await;
    match next(&mut rx).await {
        SocketEvent::Receipt(r) => {
            assert_eq!(r.kind, ReceiptKind::Read);
            assert_eq!(r.sender, Some(alice.jid()));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn chunked_replies_are_separate_entries() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let _rx = live(&account).await;
    for chunk in ["part one", "part two", "part three"] {
        account
            .send(OutboundMessage::text(alice.jid(), chunk))
            .await
            .unwrap();
    }
    assert_eq!(
        net.sent_texts(&account),
        ["part one", "part two", "part three"]
    );
    assert_eq!(net.sent_to(&account, &alice.jid()).len(), 3);
    let ids: std::collections::HashSet<_> =
        net.sent_by(&account).into_iter().map(|e| e.id).collect();
    assert_eq!(ids.len(), 3);
}

#[tokio::test(start_paused = true)]
async fn lid_only_and_lid_addressed_contacts() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let carol = net.lid_contact("Carol");
    let dave = net.phone("+15550004444").named("Dave").dm_via_lid();
    let mut rx = live(&account).await;

    carol.send_text(&account, "from a lid").await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(m.chat, carol.lid().to_jid());
    assert_eq!(m.sender, Sender::lid(carol.lid()));
    assert_eq!(account.phone_for_lid(&carol.lid()).await, Ok(None));

    dave.send_text(&account, "lid chat, phone known").await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(m.chat.kind(), JidKind::Lid);
    assert_eq!(m.sender.phone, dave.phone());
    assert_eq!(
        account.lid_for_phone(&dave.phone().unwrap()).await,
        Ok(Some(dave.lid()))
    );
    assert_eq!(account.phone_for_lid(&dave.lid()).await, Ok(dave.phone()));
    let unknown = wagw_core::Phone::parse("+15558888888").unwrap();
    assert_eq!(account.lid_for_phone(&unknown).await, Ok(None));

    // Replies addressed by LID reach the phone.
    account
        .send(OutboundMessage::text(carol.jid(), "hi Carol"))
        .await
        .unwrap();
    assert_eq!(carol.received_texts(), ["hi Carol"]);
    // A number nobody has is not on WhatsApp.
    assert!(matches!(
        account
            .send(OutboundMessage::text(unknown.to_jid(), "?"))
            .await,
        Err(SocketError::NotFound(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn quoted_replies_both_ways() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111").named("Alice");
    let mut rx = live(&account).await;

    let sent = account
        .send(OutboundMessage::text(alice.jid(), "what's 2+2?"))
        .await
        .unwrap();
    let mine = net.sent_by(&account)[0].key();
    let reply = alice.reply_text(&account, &mine, "4").await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    let q = m.context.quoted.expect("quoted");
    assert_eq!(q.stanza_id, sent.id);
    assert_eq!(q.participant, net.owner(&account).map(|o| o.jid()));
    assert_eq!(q.content.as_deref(), Some(&Content::text("what's 2+2?")));

    account
        .send(OutboundMessage {
            quote: Some(OutboundQuote {
                key: reply.clone(),
                content: None,
            }),
            ..OutboundMessage::text(alice.jid(), "correct")
        })
        .await
        .unwrap();
    assert_eq!(net.sent_by(&account)[1].quote, Some(reply));
}

#[tokio::test(start_paused = true)]
async fn reactions_polls_edits_revokes() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;

    // Peer side.
    let hi = alice.send_text(&account, "hi").await;
    next_message(&mut rx).await.1.commit();
    account
        .send(OutboundMessage {
            chat: alice.jid(),
            content: OutboundContent::Reaction {
                target: hi.clone(),
                emoji: "👀".into(),
            },
            quote: None,
            mentions: vec![],
        })
        .await
        .unwrap();
    let sent = account
        .send(OutboundMessage::text(alice.jid(), "hello"))
        .await
        .unwrap();
    let mine = net.sent_by(&account)[1].key();
    alice.react(&account, &mine, "👍").await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    match m.content {
        Content::Reaction { target, emoji } => {
            assert_eq!(emoji, "👍");
            assert_eq!(target.id, sent.id);
            assert!(
                target.from_me,
                "the account sees its own message as from_me"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    alice.react(&account, &mine, "").await;
    let (m, _ack) = next_message(&mut rx).await;
    assert!(matches!(m.content, Content::Reaction { ref emoji, .. } if emoji.is_empty()));

    let poll = alice
        .send_poll(&account, "Lunch?", &["Pizza", "Sushi"], 1)
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    assert!(matches!(m.content, Content::Poll { ref options, .. } if options.len() == 2));
    alice.vote(&account, &poll, &["Sushi"]).await;
    let (m, _ack) = next_message(&mut rx).await;
    assert!(matches!(m.content, Content::PollVote { ref selected, .. } if selected == &["Sushi"]));

    alice.edit(&hi, "hi there").await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(
        m.content,
        Content::Unsupported {
            kind: "edit".into()
        }
    );
    alice.revoke(&hi).await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(
        m.content,
        Content::Unsupported {
            kind: "revoke".into()
        }
    );

    // Gateway side: polls validated, edits and revokes only of own messages.
    let poll = |options: Vec<&str>| OutboundMessage {
        chat: alice.jid(),
        content: OutboundContent::Poll {
            name: "Q".into(),
            options: options.into_iter().map(String::from).collect(),
            selectable_count: 1,
        },
        quote: None,
        mentions: vec![],
    };
    assert!(account.send(poll(vec!["a", "b"])).await.is_ok());
    assert!(matches!(
        account.send(poll(vec!["a"])).await,
        Err(SocketError::InvalidRequest(_))
    ));
    let edit = |target: MessageKey| OutboundMessage {
        chat: alice.jid(),
        content: OutboundContent::Edit {
            target,
            text: "hello!".into(),
        },
        quote: None,
        mentions: vec![],
    };
    assert!(account.send(edit(mine.clone())).await.is_ok());
    assert!(matches!(
        account.send(edit(hi.clone())).await,
        Err(SocketError::InvalidRequest(_))
    ));
    let revoke = OutboundMessage {
        chat: alice.jid(),
        content: OutboundContent::Revoke {
            target: mine.clone(),
        },
        quote: None,
        mentions: vec![],
    };
    assert!(account.send(revoke).await.is_ok());
    let kinds: Vec<_> = net.sent_by(&account).iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            SimOutboxKind::Reaction,
            SimOutboxKind::Text,
            SimOutboxKind::Poll,
            SimOutboxKind::Edit,
            SimOutboxKind::Revoke
        ]
    );
    assert_eq!(net.sent_by(&account)[3].text.as_deref(), Some("hello!"));
    assert_eq!(net.sent_by(&account)[0].emoji.as_deref(), Some("👀"));
}

#[tokio::test(start_paused = true)]
async fn read_marks_and_presence_are_recorded() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    let k = alice.send_text(&account, "hi").await;
    next_message(&mut rx).await.1.commit();
    account
        .mark_read(&k.chat, None, std::slice::from_ref(&k.id))
        .await
        .unwrap();
    account
        .send_chat_presence(&k.chat, ChatPresence::Composing)
        .await
        .unwrap();
    assert_eq!(
        account.mark_read(&k.chat, None, &[]).await,
        Err(SocketError::InvalidRequest(
            "mark_read needs at least one id".into()
        ))
    );
    let reads = net.read_marks(&account);
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].ids, [k.id]);
    let p = net.presences(&account);
    assert_eq!(p[0].presence, ChatPresence::Composing);
    assert_eq!(p[0].chat, alice.jid());
    net.clear_outbox(&account);
    assert!(net.read_marks(&account).is_empty());
}

#[tokio::test(start_paused = true)]
async fn accounts_talk_to_each_other_and_self_chat_is_from_me() {
    let net = SimNetwork::new();
    let a = net.linked_account("a", "+15550000001");
    let b = net.linked_account("b", "+15550000002");
    let mut rx_a = live(&a).await;
    let mut rx_b = live(&b).await;
    let b_phone = net.owner(&b).unwrap();
    a.send(OutboundMessage::text(b_phone.jid(), "hello b"))
        .await
        .unwrap();
    let (m, ack) = next_message(&mut rx_b).await;
    ack.commit();
    assert_eq!(m.content, Content::text("hello b"));
    assert_eq!(m.chat, net.owner(&a).unwrap().jid());
    assert!(!m.from_me);
    // The sender does not get its own message back.
    assert!(
        drain(&mut rx_a)
            .await
            .iter()
            .all(|e| !matches!(e, SocketEvent::Message { .. }))
    );

    // The owner writes from their phone: the linked device sees it as from_me.
    let owner = net.owner(&a).unwrap();
    let alice = net.phone("+15550001111");
    owner.send_text_to(&alice, "sent from my phone").await;
    let (m, _ack) = next_message(&mut rx_a).await;
    assert!(m.from_me);
    assert_eq!(m.chat, alice.jid());
    owner.send_text_to(&owner, "note to self").await;
    let (m, _ack) = next_message(&mut rx_a).await;
    assert!(m.from_me);
    assert_eq!(m.chat, owner.jid());
}

#[tokio::test(start_paused = true)]
async fn injection_over_serde() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let mut rx = live(&account).await;
    let json = r#"{"from":"+15550001111","name":"Alice","text":"hi","timestampMs":1600000000000,"forwarded":true}"#;
    let inbound: SimInbound = serde_json::from_str(json).unwrap();
    let key = net.inject(account.id(), inbound).await.unwrap();
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.id, key.id);
    assert_eq!(m.push_name.as_deref(), Some("Alice"));
    assert_eq!(m.timestamp_ms, 1_600_000_000_000);
    assert!(m.context.forwarded);
    let bad = SimInbound {
        from: "999999999999999@lid".into(),
        text: Some("x".into()),
        ..SimInbound::default()
    };
    assert!(net.inject(account.id(), bad).await.is_err());
    let empty = SimInbound {
        from: "+15550001111".into(),
        ..SimInbound::default()
    };
    assert!(net.inject(account.id(), empty).await.is_err());

    account
        .send(OutboundMessage::text(m.chat.clone(), "hey"))
        .await
        .unwrap();
    let out = serde_json::to_value(net.sent_by(&account)).unwrap();
    assert_eq!(out[0]["text"], "hey");
    assert_eq!(out[0]["kind"], "text");
    assert_eq!(out[0]["chat"], "15550001111@s.whatsapp.net");
    assert!(out[0]["timestampMs"].is_i64());
}

#[tokio::test(start_paused = true)]
async fn notifications_undecryptable_and_number_change() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let mut rx = live(&account).await;
    let id = alice.send_undecryptable(&account).await;
    match next(&mut rx).await {
        SocketEvent::Undecryptable { id: got, chat, .. } => {
            assert_eq!(got, id);
            assert_eq!(chat, alice.jid());
        }
        other => panic!("unexpected {other:?}"),
    }
    alice.change_number("+15550002222");
    match next(&mut rx).await {
        SocketEvent::ContactChanged {
            lid,
            old_phone,
            new_phone,
        } => {
            assert_eq!(lid, Some(alice.lid()));
            assert_eq!(old_phone.unwrap().to_string(), "+15550001111");
            assert_eq!(new_phone.unwrap().to_string(), "+15550002222");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(alice.jid().to_string(), "15550002222@s.whatsapp.net");
}

/// Runs one fixed script and returns every id and LID it produced.
async fn script(seed: u64) -> Vec<String> {
    let net = SimNetwork::with_seed(seed);
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let group = net.group("Team").with(&[&alice]).with_account(&account);
    let _rx = live(&account).await;
    let k = alice.send_text(&account, "hi").await;
    let s = account
        .send(OutboundMessage::text(alice.jid(), "yo"))
        .await
        .unwrap();
    vec![
        alice.lid().to_string(),
        group.jid().to_string(),
        k.id.to_string(),
        s.id.to_string(),
    ]
}

#[tokio::test(start_paused = true)]
async fn seeded_runs_repeat_exactly() {
    assert_eq!(script(1).await, script(1).await);
    assert_ne!(script(1).await, script(2).await);
}

#[tokio::test(start_paused = true)]
async fn resources_report_the_connection_and_queues() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111");
    let before = account.resources().await.unwrap();
    assert!(!before.connected);
    assert_eq!(before.sizes["connections_opened"], 0);

    let mut rx = live(&account).await;
    alice.send_text(&account, "one").await;
    let (m, ack) = next_message(&mut rx).await;
    let held = account.resources().await.unwrap();
    assert!(held.connected);
    assert_eq!(held.sizes["connections_opened"], 1);
    assert_eq!(held.sizes["unacked_inbound"], 1, "{held:?}");
    ack.commit();
    tokio::task::yield_now().await;
    account
        .send(OutboundMessage::text(m.chat.clone(), "hello"))
        .await
        .unwrap();
    let after = account.resources().await.unwrap();
    assert_eq!(after.sizes["unacked_inbound"], 0, "{after:?}");
    assert_eq!(after.sizes["outbox"], 1);
    assert_eq!(after.messages_sent, 1);
}
