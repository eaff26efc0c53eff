//! Groups on the simulator: the 5-minute metadata cache and its invalidation, the ack
//! reaction's group modes, and owner `/activation` persisting across a restart.

use std::time::Duration;

use wagw_core::*;
use wagw_sim::{SimGroup, SimOutboxKind, SimPhone};

use crate::sim::{Harness, echo};

const ALWAYS_ANSWER: &str = "{ channels: { whatsapp: { groupPolicy: 'open', groups: { '*': { requireMention: false } } } } }";

fn group_with(h: &Harness, subject: &str, members: &[&SimPhone]) -> SimGroup {
    h.net.group(subject).with(members).with_account(&h.account)
}

#[tokio::test(start_paused = true)]
async fn group_metadata_is_cached_for_five_minutes_and_invalidated_by_updates() {
    let h = Harness::start(ALWAYS_ANSWER, |_| None).await;
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = group_with(&h, "Book club", &[&bob]);
    let base = h.net.metadata_queries(&h.account);

    bob.send_group_text(&group, "one").await;
    h.settle().await;
    assert_eq!(
        h.net.metadata_queries(&h.account),
        base + 1,
        "first message"
    );

    tokio::time::sleep(Duration::from_secs(4 * 60)).await;
    bob.send_group_text(&group, "two").await;
    h.settle().await;
    assert_eq!(
        h.net.metadata_queries(&h.account),
        base + 1,
        "within 5 minutes: served from the cache"
    );

    tokio::time::sleep(Duration::from_secs(61)).await;
    bob.send_group_text(&group, "three").await;
    h.settle().await;
    assert_eq!(
        h.net.metadata_queries(&h.account),
        base + 2,
        "after 5 minutes: queried again"
    );

    // A subject change reaches the account as `GroupUpdate` and drops the entry at once.
    group.set_subject("Reading circle");
    h.settle().await;
    bob.send_group_text(&group, "four").await;
    h.settle().await;
    assert_eq!(h.net.metadata_queries(&h.account), base + 3, "invalidated");
    let turns = h.turns();
    assert_eq!(turns.len(), 4);
    assert_eq!(turns[2].group_subject.as_deref(), Some("Book club"));
    assert_eq!(turns[3].group_subject.as_deref(), Some("Reading circle"));
    h.gw.shutdown().await.unwrap();
}

/// Runs one group scenario under `ackReaction.group: <mode>` and returns the reactions the
/// gateway sent (`(message id reacted to, group participant)`) and the turns delivered.
async fn reactions_under(mode: &str, require_mention: bool) -> (Vec<(MessageId, Jid)>, usize) {
    let config = format!(
        "{{ channels: {{ whatsapp: {{ dmPolicy: 'open', allowFrom: ['*'], groupPolicy: 'open', ackReaction: {{ emoji: '👀', direct: false, group: '{mode}' }}, groups: {{ '*': {{ requireMention: {require_mention} }} }} }} }} }}"
    );
    let h = Harness::start(&config, |_| None).await;
    let bot = h.net.owner(&h.account).unwrap();
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = group_with(&h, "Trip", &[&bob]);
    bob.send_group_text(&group, "plain message").await;
    bob.message_in(&group)
        .text("@bot a question")
        .mention(&bot)
        .send()
        .await;
    // And a DM: `direct: false` means no reaction there.
    bob.send_text(&h.account, "a dm").await;
    h.settle().await;
    let reactions = h
        .net
        .sent_by(&h.account)
        .into_iter()
        .filter(|e| e.kind == SimOutboxKind::Reaction)
        .map(|e| {
            assert_eq!(e.emoji.as_deref(), Some("👀"));
            assert_eq!(e.chat, group.jid(), "reactions only in the group");
            let target = e.target.expect("reaction target");
            (target.id, target.participant.expect("group participant"))
        })
        .collect();
    let turns = h.turns().len();
    h.gw.shutdown().await.unwrap();
    (reactions, turns)
}

#[tokio::test(start_paused = true)]
async fn ack_reaction_group_modes() {
    // mentions, mention-gated group: only the mention is accepted and reacted to.
    let (r, turns) = reactions_under("mentions", true).await;
    assert_eq!(turns, 2, "the mention and the DM");
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(
        r[0].1.user_part().contains("15550002222") || r[0].1.kind() == JidKind::Lid,
        "participant is Bob: {:?}",
        r[0].1
    );

    // always, group answering every message: both are reacted to.
    let (r, turns) = reactions_under("always", false).await;
    assert_eq!(turns, 3, "two group messages and the DM");
    assert_eq!(r.len(), 2, "{r:?}");
    assert_ne!(r[0].0, r[1].0);

    // mentions, group answering every message: activation `always` counts as addressed.
    let (r, _) = reactions_under("mentions", false).await;
    assert_eq!(r.len(), 2, "{r:?}");

    // never: not even the mention.
    let (r, turns) = reactions_under("never", true).await;
    assert_eq!(turns, 2);
    assert!(r.is_empty(), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn activation_always_from_the_owner_persists_across_a_restart() {
    const CONFIG: &str =
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'], groupPolicy: 'open' } } }";
    let h = Harness::start(CONFIG, echo).await;
    let alice = h.net.phone("+15550001111").named("Alice");
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = group_with(&h, "Team", &[&alice, &bob]);

    bob.send_group_text(&group, "lunch?").await;
    h.settle().await;
    assert!(h.turns().is_empty(), "mention-gated at first");
    assert_eq!(
        h.gw.metrics()[&AccountId::default_account()].drops["mention_required"],
        1
    );

    alice.send_group_text(&group, "/activation always").await;
    h.settle().await;
    assert_eq!(
        h.net.sent_texts(&h.account).last().unwrap(),
        "Group activation set to always."
    );
    assert!(h.turns().is_empty(), "the command itself is not a turn");
    bob.send_group_text(&group, "dinner?").await;
    h.settle().await;
    assert_eq!(h.turns().len(), 1);
    let (net, dir) = h.stop().await;

    // Reopened store: the group still answers every message.
    let h = Harness::start_on(net, dir, CONFIG, echo).await;
    bob.send_group_text(&group, "breakfast?").await;
    h.settle().await;
    let turns = h.turns();
    assert_eq!(
        turns.len(),
        1,
        "answered without a mention after the restart"
    );
    assert_eq!(turns[0].raw_body, "breakfast?");
    assert_eq!(
        h.net.sent_texts(&h.account).last().unwrap(),
        "echo: breakfast?"
    );
    assert!(
        !h.gw.metrics()[&AccountId::default_account()]
            .drops
            .contains_key("mention_required")
    );

    // And back: `/activation mention` gates the group again.
    alice.send_group_text(&group, "/activation mention").await;
    h.settle().await;
    bob.send_group_text(&group, "anyone?").await;
    h.settle().await;
    assert_eq!(h.turns().len(), 1);
    assert_eq!(
        h.gw.metrics()[&AccountId::default_account()].drops["mention_required"],
        1
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_accounts_own_number_may_switch_activation_from_its_phone() {
    // No `allowFrom`: the account's own number is the owner (quirk Q24). Its own group
    // messages are never turns, but its `/activation` command is executed.
    let h = Harness::start("{ channels: { whatsapp: { groupPolicy: 'open' } } }", echo).await;
    let me = h.net.owner(&h.account).unwrap();
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = group_with(&h, "Family", &[&bob]);
    me.send_group_text(&group, "/activation always").await;
    h.settle().await;
    assert_eq!(
        h.net.sent_texts(&h.account),
        ["Group activation set to always."]
    );
    me.send_group_text(&group, "dinner at 7").await;
    bob.send_group_text(&group, "ok!").await;
    h.settle().await;
    let turns = h.turns();
    assert_eq!(
        turns.len(),
        1,
        "Bob is answered, the owner's own post is not"
    );
    assert_eq!(turns[0].raw_body, "ok!");
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["from_me_group"], 1, "{:?}", m.drops);
    h.gw.shutdown().await.unwrap();
}
