//! Groups: metadata, addressing modes, mentions by phone and LID, replies, updates.

use wagw_core::{
    AddressingMode, Content, JidKind, OutboundMessage, ReceiptKind, SocketError, SocketEvent,
    WaSocket,
};
use wagw_sim::SimNetwork;

use super::{drain, live, next, next_message};

#[tokio::test(start_paused = true)]
async fn group_metadata_and_membership() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let alice = net.phone("+15550001111").named("Alice");
    let bob = net.phone("+15550002222").named("Bob");
    let team = net
        .group("Team")
        .with(&[&alice, &bob])
        .with_account(&account)
        .admins(&[&alice]);
    let others = net.group("Others").with(&[&alice]);
    let mut rx = live(&account).await;

    assert!(team.jid().user_part().starts_with("120363"));
    let meta = account.group_metadata(&team.jid()).await.unwrap();
    assert_eq!(meta.subject, "Team");
    assert_eq!(meta.addressing_mode, AddressingMode::Phone);
    assert_eq!(meta.participants.len(), 3);
    assert_eq!(meta.participants[0].jid, alice.jid());
    assert!(meta.participants[0].admin);
    assert!(!meta.participants[1].admin);
    assert_eq!(meta, team.metadata());

    assert!(matches!(
        account.group_metadata(&others.jid()).await,
        Err(SocketError::Rejected { code: 403, .. })
    ));
    let unknown = wagw_core::Jid::parse("120363999999999999@g.us").unwrap();
    assert!(matches!(
        account.group_metadata(&unknown).await,
        Err(SocketError::NotFound(_))
    ));
    assert!(matches!(
        account.send(OutboundMessage::text(others.jid(), "x")).await,
        Err(SocketError::Rejected { code: 403, .. })
    ));

    team.set_subject("Team 2");
    match next(&mut rx).await {
        SocketEvent::GroupUpdate { group } => assert_eq!(group, team.jid()),
        other => panic!("unexpected {other:?}"),
    }
    team.remove(&bob);
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::GroupUpdate { .. }
    ));
    assert_eq!(team.members().len(), 2);
    assert_eq!(team.subject(), "Team 2");
    // Changes to groups the account is not in stay silent.
    others.set_subject("Elsewhere");
    assert!(drain(&mut rx).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn group_messages_mentions_and_replies() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let bot = net.owner(&account).unwrap();
    let alice = net.phone("+15550001111").named("Alice");
    let bob = net.phone("+15550002222").named("Bob");
    let team = net
        .group("Team")
        .with(&[&alice, &bob])
        .with_account(&account);
    let mut rx = live(&account).await;

    let k = alice
        .message_in(&team)
        .text("@15550009999 ping")
        .mention(&bot)
        .send()
        .await;
    let (m, ack) = next_message(&mut rx).await;
    ack.commit();
    assert_eq!(m.chat, team.jid());
    assert_eq!(m.sender_jid, Some(alice.jid()));
    assert_eq!(m.sender.phone, alice.phone());
    assert_eq!(m.context.mentioned, [bot.jid()]);
    assert_eq!(m.key(), k);
    assert_eq!(k.participant, Some(alice.jid()));

    alice
        .message_in(&team)
        .text("hey you")
        .mention_lid(&bot)
        .send()
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.context.mentioned, [bot.lid().to_jid()]);

    // The gateway replies in the group, quoting Alice; each member gets a delivery receipt.
    let sent = account
        .send(OutboundMessage {
            quote: Some(wagw_core::OutboundQuote {
                key: k.clone(),
                content: None,
            }),
            mentions: vec![alice.jid()],
            ..OutboundMessage::text(team.jid(), "pong")
        })
        .await
        .unwrap();
    let receipts: Vec<_> = drain(&mut rx)
        .await
        .into_iter()
        .filter_map(|e| match e {
            SocketEvent::Receipt(r) if r.kind == ReceiptKind::Delivered => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(receipts.len(), 2);
    assert!(receipts.iter().all(|r| r.ids == [sent.id.clone()]));
    let out = net.sent_to(&account, &team.jid());
    assert_eq!(out[0].quote, Some(k));
    assert_eq!(out[0].mentions, [alice.jid()]);

    // Bob replies to the bot's message.
    let mine = out[0].key();
    bob.message_in(&team)
        .text("thanks")
        .quote(&mine)
        .send()
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    let q = m.context.quoted.unwrap();
    assert_eq!(q.stanza_id, sent.id);
    assert_eq!(q.participant, Some(bot.jid()));

    // Outsiders cannot post.
    let carol = net.phone("+15550003333");
    assert!(carol.message_in(&team).text("hi").try_send().await.is_err());
}

#[tokio::test(start_paused = true)]
async fn lid_addressed_groups_use_lids() {
    let net = SimNetwork::new();
    let account = net.linked_account("default", "+15550009999");
    let bot = net.owner(&account).unwrap();
    let alice = net.phone("+15550001111").named("Alice");
    let carol = net.lid_contact("Carol");
    let team = net
        .group("Team")
        .with(&[&alice, &carol])
        .with_account(&account)
        .lid_addressed();
    let mut rx = live(&account).await;

    alice
        .message_in(&team)
        .text("hello")
        .mention(&bot)
        .send()
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.sender_jid.as_ref().map(|j| j.kind()), Some(JidKind::Lid));
    assert_eq!(m.sender.phone, alice.phone(), "the phone rides along");
    assert_eq!(m.context.mentioned, [bot.lid().to_jid()]);
    alice
        .message_in(&team)
        .text("by number")
        .mention_phone(&bot)
        .send()
        .await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.context.mentioned, [bot.phone().unwrap().to_jid()]);

    carol.send_group_text(&team, "lid only").await;
    let (m, _ack) = next_message(&mut rx).await;
    assert_eq!(m.sender.phone, None);
    assert_eq!(m.content, Content::text("lid only"));

    let meta = account.group_metadata(&team.jid()).await.unwrap();
    assert_eq!(meta.addressing_mode, AddressingMode::Lid);
    assert!(
        meta.participants
            .iter()
            .all(|p| p.jid.kind() == JidKind::Lid)
    );
}
