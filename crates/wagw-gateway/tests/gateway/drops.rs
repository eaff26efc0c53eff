//! Every drop reason `wagw-access`'s engine can return, through the running gateway on the
//! simulator: each is counted under its name in the metrics, nothing reaches the agent and
//! nothing is sent (no reply, no receipt, no reaction) — except the pairing reply where one
//! is due. Chat kinds the simulator cannot produce (newsletters, malformed senders, a
//! foreign account) run on the scripted double.

use std::sync::Arc;

use wagw_core::*;
use wagw_gateway::*;

use crate::fake::{FakeSocket, dm};
use crate::sim::{Harness, echo};

const OWNER: &str = "+15550001111";
/// A group JID that is not one of the simulator's (for `groups` maps naming another group).
const OTHER_GROUP: &str = "120363000000000001@g.us";

/// The gateway dropped exactly `n` messages for `reason` (and nothing else was dropped for
/// any other reason), nothing reached the agent and nothing went out.
fn assert_silently_dropped(h: &Harness, reason: &str, n: u64) {
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(
        m.drops.get(reason).copied(),
        Some(n),
        "drops by reason: {:?}",
        m.drops
    );
    assert_eq!(
        m.drops.values().sum::<u64>(),
        n,
        "no other drop reason: {:?}",
        m.drops
    );
    assert_eq!(m.turns_delivered, 0);
    assert!(h.turns().is_empty(), "nothing reached the agent");
    assert!(
        h.net.sent_by(&h.account).is_empty(),
        "nothing sent: {:?}",
        h.net.sent_by(&h.account)
    );
    assert!(
        h.net.read_marks(&h.account).is_empty(),
        "no read receipt for a dropped message"
    );
}

fn open_group(h: &Harness, members: &[&wagw_sim::SimPhone]) -> wagw_sim::SimGroup {
    h.net.group("Team").with(members).with_account(&h.account)
}

/// A group message that mentions the bot (so only the access rule under test can drop it).
async fn mention_in(h: &Harness, from: &wagw_sim::SimPhone, group: &wagw_sim::SimGroup) {
    let bot = h.net.owner(&h.account).unwrap();
    from.message_in(group)
        .text("@bot are you there?")
        .mention(&bot)
        .send()
        .await;
}

#[tokio::test(start_paused = true)]
async fn dm_policy_disabled_drops_dms() {
    let h = Harness::start("{ channels: { whatsapp: { dmPolicy: 'disabled' } } }", echo).await;
    let bob = h.net.phone("+15550002222");
    bob.send_text(&h.account, "hello").await;
    h.settle().await;
    assert_silently_dropped(&h, "dm_disabled", 1);
    assert!(bob.received_texts().is_empty());
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_own_chat_under_dm_policy_disabled_without_self_chat_mode_is_dropped() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'disabled', selfChatMode: false } } }",
        echo,
    )
    .await;
    let me = h.net.owner(&h.account).unwrap();
    me.send_text_to(&me, "note to self").await;
    h.settle().await;
    assert_silently_dropped(&h, "self_chat_disabled", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_owners_own_dm_to_someone_else_is_never_a_turn() {
    // Even with DMs open to everyone: the owner typing to Bob from the phone is mirrored
    // to the linked device as `fromMe`; it is not a message to the bot.
    for config in [
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        "{ channels: { whatsapp: { allowFrom: ['+15550009999'] } } }",
        "{ channels: { whatsapp: { dmPolicy: 'pairing' } } }",
    ] {
        let h = Harness::start(config, echo).await;
        let me = h.net.owner(&h.account).unwrap();
        let bob = h.net.phone("+15550002222");
        me.send_text_to(&bob, "see you at 8").await;
        h.settle().await;
        assert_silently_dropped(&h, "own_outbound_dm", 1);
        assert!(
            bob.received_texts().is_empty(),
            "{config}: the gateway sent Bob nothing: {:?}",
            bob.received_texts()
        );
        assert!(
            h.gw.pairing_pending(&AccountId::default_account())
                .unwrap()
                .is_empty()
        );
        h.gw.shutdown().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn an_empty_allowlist_drops_every_dm() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'allowlist' } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    bob.send_text(&h.account, "hello").await;
    h.settle().await;
    assert_silently_dropped(&h, "allow_from_empty", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_rejected_sender_gets_no_new_code() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'] } } }",
        echo,
    )
    .await;
    let account = AccountId::default_account();
    let bob = h.net.phone("+15550002222");
    bob.send_text(&h.account, "hello?").await;
    h.settle().await;
    assert_eq!(bob.received_texts().len(), 1, "challenged once");
    let code = h.gw.pairing_pending(&account).unwrap()[0].code.clone();
    h.gw.reject_pairing(&account, &code).unwrap();
    bob.send_text(&h.account, "please?").await;
    h.settle().await;
    let m = &h.gw.metrics()[&account];
    assert_eq!(m.drops["pairing_rejected"], 1, "{:?}", m.drops);
    assert_eq!(m.pairing_challenges, 1, "no second challenge");
    assert!(h.turns().is_empty());
    assert_eq!(
        h.net.sent_by(&h.account).len(),
        1,
        "only the first pairing reply, none after the rejection"
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_pairing_cap_stops_new_codes_without_a_reply_and_counts_them() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'], pairing: { maxPending: 1 } } } }",
        echo,
    )
    .await;
    let account = AccountId::default_account();
    let bob = h.net.phone("+15550002222");
    let carol = h.net.phone("+15550003333");
    let dave = h.net.phone("+15550004444");
    bob.send_text(&h.account, "hello?").await;
    h.settle().await;
    carol.send_text(&h.account, "hi there").await;
    dave.send_text(&h.account, "hey").await;
    h.settle().await;
    assert_eq!(
        bob.received_texts().len(),
        1,
        "the first sender is challenged"
    );
    assert!(carol.received_texts().is_empty(), "over the cap: no reply");
    assert!(dave.received_texts().is_empty(), "over the cap: no reply");
    let m = &h.gw.metrics()[&account];
    assert_eq!(m.drops["pairing_cap_reached"], 2, "{:?}", m.drops);
    assert_eq!(m.pairing_challenges, 1);
    assert_eq!(h.gw.pairing_pending(&account).unwrap().len(), 1);
    assert!(h.turns().is_empty());
    assert_eq!(
        h.net.sent_by(&h.account).len(),
        1,
        "only Bob's pairing reply"
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_lid_only_sender_is_challenged_under_pairing() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'] } } }",
        echo,
    )
    .await;
    let account = AccountId::default_account();
    let zed = h.net.lid_contact("Zed");
    zed.send_text(&h.account, "hi, found you in a group").await;
    h.settle().await;
    let replies = zed.received_texts();
    assert_eq!(replies.len(), 1, "challenged, not silently dropped");
    let pending = h.gw.pairing_pending(&account).unwrap();
    assert_eq!(pending.len(), 1);
    assert!(replies[0].contains(&pending[0].code), "{}", replies[0]);
    let m = &h.gw.metrics()[&account];
    assert_eq!(m.pairing_challenges, 1);
    assert!(h.turns().is_empty());
    // Approved by code, the LID-only sender is then answered.
    h.gw.approve_pairing(&account, &pending[0].code).unwrap();
    zed.send_text(&h.account, "and now?").await;
    h.settle().await;
    assert_eq!(zed.received_texts().last().unwrap(), "echo: and now?");
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_lid_only_sender_under_allowlist_is_dropped_with_a_reason() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'allowlist', allowFrom: ['+15550001111'] } } }",
        echo,
    )
    .await;
    let zed = h.net.lid_contact("Zed");
    zed.send_text(&h.account, "hi").await;
    h.settle().await;
    assert_silently_dropped(&h, "not_in_allowlist", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_owners_own_group_message_is_not_a_turn() {
    let h = Harness::start(
        "{ channels: { whatsapp: { groupPolicy: 'open', groups: { '*': { requireMention: false } } } } }",
        echo,
    )
    .await;
    let me = h.net.owner(&h.account).unwrap();
    let bob = h.net.phone("+15550002222");
    let group = open_group(&h, &[&bob]);
    me.send_group_text(&group, "hi all, I am here too").await;
    h.settle().await;
    assert_silently_dropped(&h, "from_me_group", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn group_policy_disabled_drops_even_a_mention() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'], groupPolicy: 'disabled' } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    let group = open_group(&h, &[&bob]);
    mention_in(&h, &bob, &group).await;
    h.settle().await;
    assert_silently_dropped(&h, "group_disabled", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_group_missing_from_the_groups_map_is_dropped() {
    let h = Harness::start(
        &format!(
            "{{ channels: {{ whatsapp: {{ groupPolicy: 'open', groups: {{ '{OTHER_GROUP}': {{ requireMention: false }} }} }} }} }}"
        ),
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    let group = open_group(&h, &[&bob]);
    mention_in(&h, &bob, &group).await;
    h.settle().await;
    assert_silently_dropped(&h, "group_not_allowed", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn group_allowlist_with_nobody_listed_drops_every_sender() {
    // `groupPolicy: allowlist`, no `groupAllowFrom`, no `allowFrom`, nobody paired.
    let h = Harness::start(
        "{ channels: { whatsapp: { groupPolicy: 'allowlist' } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    let group = open_group(&h, &[&bob]);
    mention_in(&h, &bob, &group).await;
    h.settle().await;
    assert_silently_dropped(&h, "group_allow_from_empty", 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_sender_outside_group_allow_from_is_dropped_and_a_listed_one_answered() {
    let h = Harness::start(
        "{ channels: { whatsapp: { groupPolicy: 'allowlist', groupAllowFrom: ['+15550003333'] } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    let carol = h.net.phone("+15550003333");
    let group = open_group(&h, &[&bob, &carol]);
    mention_in(&h, &bob, &group).await;
    h.settle().await;
    assert_silently_dropped(&h, "sender_not_in_group_allow_from", 1);
    mention_in(&h, &carol, &group).await;
    h.settle().await;
    assert_eq!(h.turns().len(), 1, "Carol is listed");
    assert_eq!(h.net.sent_texts(&h.account), ["echo: @bot are you there?"]);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn activation_from_someone_who_is_not_an_owner_is_dropped() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'], groupPolicy: 'open' } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    let group = open_group(&h, &[&bob]);
    bob.send_group_text(&group, "/activation always").await;
    h.settle().await;
    assert_silently_dropped(&h, "activation_not_owner", 1);
    // And it changed nothing: an unmentioned message is still gated.
    bob.send_group_text(&group, "so?").await;
    h.settle().await;
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["mention_required"], 1, "{:?}", m.drops);
    assert!(h.turns().is_empty());
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_owner_dm_is_not_confused_with_a_drop() {
    // Control: the configurations above answer a listed sender, so the drops are the rules'.
    let h = Harness::start(
        &format!(
            "{{ channels: {{ whatsapp: {{ dmPolicy: 'allowlist', allowFrom: ['{OWNER}'] }} }} }}"
        ),
        echo,
    )
    .await;
    let alice = h.net.phone(OWNER);
    alice.send_text(&h.account, "hi").await;
    h.settle().await;
    assert_eq!(alice.received_texts(), ["echo: hi"]);
    assert!(
        h.gw.metrics()[&AccountId::default_account()]
            .drops
            .is_empty()
    );
    h.gw.shutdown().await.unwrap();
}

/// The scripted double, for chats and senders the simulator never produces.
async fn fake_gateway(dir: &std::path::Path, socket: &FakeSocket) -> Gateway {
    let s = socket.clone();
    let gw = Gateway::builder()
        .settings(crate::fake::open_settings(dir))
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(s.clone()))
            },
        )
        .sink_arc(sink_fn(|turn| async move {
            Ok(vec![Reply::text(format!("echo: {}", turn.raw_body))])
        }))
        .start()
        .await
        .unwrap();
    socket.wait_connects(1).await;
    gw
}

#[tokio::test]
async fn newsletters_malformed_senders_and_foreign_accounts_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let socket = FakeSocket::linked("+15550009999");
    let gw = fake_gateway(dir.path(), &socket).await;

    let mut newsletter = dm("+15550001111", "N1", "channel post");
    newsletter.chat = Jid::parse("120363111111111111@newsletter").unwrap();
    socket.deliver(newsletter).await.await.unwrap();

    let mut nobody = dm("+15550001111", "U1", "who am I?");
    nobody.chat = Jid::user("0");
    nobody.sender = Sender {
        phone: None,
        lid: None,
    };
    socket.deliver(nobody).await.await.unwrap();

    let mut foreign = dm("+15550001111", "F1", "for another account");
    foreign.account = AccountId::parse("work").unwrap();
    socket.deliver(foreign).await.await.unwrap();

    let m = &gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["unsupported_chat"], 1, "{:?}", m.drops);
    assert_eq!(m.drops["unknown_sender"], 1, "{:?}", m.drops);
    assert_eq!(m.drops["account_mismatch"], 1, "{:?}", m.drops);
    assert_eq!(m.turns_delivered, 0);
    assert!(socket.state.lock().unwrap().sent.is_empty(), "nothing sent");
    assert!(socket.state.lock().unwrap().read.is_empty(), "no receipt");
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_blank_message_is_counted_as_empty_not_delivered() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    bob.send_text(&h.account, "  \n ").await;
    h.settle().await;
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["empty"], 1, "{:?}", m.drops);
    assert!(h.turns().is_empty());
    assert!(h.net.sent_by(&h.account).is_empty(), "no reply");
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_undecryptable_message_is_counted_not_delivered() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        echo,
    )
    .await;
    let bob = h.net.phone("+15550002222");
    bob.send_undecryptable(&h.account).await;
    h.settle().await;
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["undecryptable"], 1, "{:?}", m.drops);
    assert!(h.turns().is_empty());
    assert!(h.net.sent_by(&h.account).is_empty());
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_sender_seen_with_phone_and_lid_teaches_the_lid_map() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'] } } }",
        echo,
    )
    .await;
    let account = AccountId::default_account();
    let ann = h.net.phone("+15550001111");
    assert!(h.gw.lid_map(&account).phone_of(&ann.lid()).is_none());
    ann.dm_via_lid()
        .send_text(&h.account, "hello over my LID")
        .await;
    h.settle().await;
    let ann = h.net.phone("+15550001111");
    assert_eq!(
        h.gw.lid_map(&account).phone_of(&ann.lid()),
        ann.phone().as_ref(),
        "the access map (used by `wagw access explain`) learned the pair"
    );
    assert!(
        h.gw.lid_map(&AccountId::parse("nobody").unwrap())
            .is_empty()
    );
    h.gw.shutdown().await.unwrap();
}
