//! Access control in the pipeline, on the simulator: pairing challenges and approval,
//! the historical grace, group mention gating with injected history, owner `/activation`,
//! and pairing state surviving a restart.

use std::time::Duration;

use wagw_core::*;
use wagw_gateway::{ConfigCommandRequest, ConfigCommands};

use crate::sim::{Harness, echo};

const OWNER: &str = "+15550001111";
const PAIRING: &str = "{ channels: { whatsapp: { allowFrom: ['+15550001111'] } } }";

#[tokio::test(start_paused = true)]
async fn an_unknown_sender_is_challenged_once_then_answered_after_approval() {
    let h = Harness::start(PAIRING, echo).await;
    let account = AccountId::default_account();
    let bob = h.net.phone("+15550002222").named("Bob");
    bob.send_text(&h.account, "hello?").await;
    h.settle().await;
    bob.send_text(&h.account, "anyone?").await;
    h.settle().await;
    let replies = bob.received_texts();
    assert_eq!(
        replies.len(),
        1,
        "one pairing reply, not one per message: {replies:?}"
    );
    let pending = h.gw.pairing_pending(&account).unwrap();
    assert_eq!(pending.len(), 1);
    let code = pending[0].code.clone();
    assert!(replies[0].contains(&code), "{}", replies[0]);
    assert!(
        replies[0].contains("wagw pairing approve whatsapp"),
        "{}",
        replies[0]
    );
    assert!(h.turns().is_empty(), "nothing reached the agent");

    h.gw.approve_pairing(&account, &code).unwrap();
    bob.send_text(&h.account, "now?").await;
    h.settle().await;
    assert_eq!(bob.received_texts().last().unwrap(), "echo: now?");
    let m = &h.gw.metrics()[&account];
    assert_eq!(m.pairing_challenges, 1);
    assert_eq!(m.drops["pairing_pending"], 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_historical_dm_gets_no_pairing_reply() {
    let h = Harness::start(PAIRING, echo).await;
    let bob = h.net.phone("+15550002222");
    let an_hour_ago = h.net.now_ms() - 3_600_000;
    bob.message_to(&h.account)
        .text("old catch-up message")
        .at_ms(an_hour_ago)
        .send()
        .await;
    h.settle().await;
    assert!(bob.received_texts().is_empty());
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["pairing_reply_suppressed"], 1);
    assert_eq!(m.pairing_challenges, 0);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_allowlisted_sender_is_answered_and_others_under_allowlist_are_dropped() {
    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'allowlist', allowFrom: ['+15550001111'] } } }",
        echo,
    )
    .await;
    let alice = h.net.phone(OWNER);
    let bob = h.net.phone("+15550002222");
    alice.send_text(&h.account, "hi").await;
    bob.send_text(&h.account, "hi").await;
    h.settle().await;
    assert_eq!(alice.received_texts(), ["echo: hi"]);
    assert!(bob.received_texts().is_empty());
    assert_eq!(
        h.gw.metrics()[&AccountId::default_account()].drops["not_in_allowlist"],
        1
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn group_messages_need_a_mention_and_the_answer_sees_the_history() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'], groupPolicy: 'open' } } }",
        echo,
    )
    .await;
    let bot = h.net.owner(&h.account).unwrap();
    let bob = h.net.phone("+15550002222").named("Bob");
    let carol = h.net.phone("+15550003333").named("Carol");
    let group = h
        .net
        .group("Trip")
        .with(&[&bob, &carol])
        .with_account(&h.account);
    carol.send_group_text(&group, "train at 9?").await;
    bob.send_group_text(&group, "ok for me").await;
    h.settle().await;
    assert!(h.turns().is_empty(), "no mention, no turn");
    bob.message_in(&group)
        .text("@bot what do you think?")
        .mention(&bot)
        .send()
        .await;
    h.settle().await;
    let turns = h.turns();
    assert_eq!(turns.len(), 1);
    let body = &turns[0].body;
    assert!(
        body.contains("[Chat messages since your last reply - for context]"),
        "{body}"
    );
    assert!(
        body.contains("train at 9?") && body.contains("ok for me"),
        "{body}"
    );
    assert!(
        body.contains("[Current message - respond to this]"),
        "{body}"
    );
    assert!(turns[0].was_mentioned);
    assert_eq!(turns[0].history_count, 2);
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["mention_required"], 2);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn the_owner_switches_a_group_to_always() {
    let h = Harness::start(
        "{ channels: { whatsapp: { allowFrom: ['+15550001111'], groupPolicy: 'open' } } }",
        echo,
    )
    .await;
    let alice = h.net.phone(OWNER).named("Alice");
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = h
        .net
        .group("Team")
        .with(&[&alice, &bob])
        .with_account(&h.account);
    bob.send_group_text(&group, "/activation always").await;
    h.settle().await;
    assert!(h.turns().is_empty(), "not the owner: ignored");
    alice.send_group_text(&group, "/activation always").await;
    h.settle().await;
    let sent = h.net.sent_texts(&h.account);
    assert_eq!(sent.last().unwrap(), "Group activation set to always.");
    bob.send_group_text(&group, "lunch?").await;
    h.settle().await;
    assert_eq!(h.turns().len(), 1, "answered without a mention now");
    assert_eq!(h.net.sent_texts(&h.account).last().unwrap(), "echo: lunch?");
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn pairing_state_and_dedupe_survive_a_restart() {
    let h = Harness::start(PAIRING, echo).await;
    let account = AccountId::default_account();
    let bob = h.net.phone("+15550002222");
    bob.send_text(&h.account, "hello?").await;
    h.settle().await;
    let code = h.gw.pairing_pending(&account).unwrap()[0].code.clone();
    let (net, dir) = h.stop().await;

    let h = Harness::start_on(net, dir, PAIRING, echo).await;
    // The pending request survived: approving its code works after the restart, and the
    // sender is not challenged again in between.
    bob.send_text(&h.account, "still there?").await;
    h.settle().await;
    assert_eq!(
        bob.received_texts().len(),
        1,
        "no second pairing reply: {:?}",
        bob.received_texts()
    );
    h.gw.approve_pairing(&account, &code).unwrap();
    let (net, dir) = h.stop().await;

    let h = Harness::start_on(net, dir, PAIRING, echo).await;
    bob.send_text(&h.account, "and now?").await;
    h.settle().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(bob.received_texts().last().unwrap(), "echo: and now?");
    assert_eq!(h.turns().len(), 1, "earlier messages were not replayed");
    h.gw.shutdown().await.unwrap();
}

/// The turn says whether the sender is an owner and may run commands (the reference's
/// `CommandAuthorized`): an owner yes; a paired sender is authorized in DMs (the
/// allow-store counts there) without being an owner; with `"*"` everyone is authorized;
/// `commands.useAccessGroups: false` authorizes whoever reaches the agent.
#[tokio::test(start_paused = true)]
async fn turns_say_who_is_an_owner_and_who_may_run_commands() {
    let flags = |h: &Harness, body: &str| {
        let t = h
            .turns()
            .into_iter()
            .find(|t| t.raw_body == body)
            .unwrap_or_else(|| panic!("no turn {body:?}"));
        (t.sender_is_owner, t.command_authorized)
    };
    let h = Harness::start(PAIRING, echo).await;
    let account = AccountId::default_account();
    let owner = h.net.phone(OWNER);
    let bob = h.net.phone("+15550002222");
    owner.send_text(&h.account, "from the owner").await;
    bob.send_text(&h.account, "let me in").await;
    h.settle().await;
    let code = h.gw.pairing_pending(&account).unwrap()[0].code.clone();
    h.gw.approve_pairing(&account, &code).unwrap();
    bob.send_text(&h.account, "paired now").await;
    h.settle().await;
    assert_eq!(flags(&h, "from the owner"), (true, true));
    assert_eq!(flags(&h, "paired now"), (false, true));
    h.gw.shutdown().await.unwrap();

    let h = Harness::start(
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*', '+15550001111'] } } }",
        echo,
    )
    .await;
    h.net
        .phone("+15550003333")
        .send_text(&h.account, "a stranger")
        .await;
    h.net.phone(OWNER).send_text(&h.account, "the owner").await;
    h.settle().await;
    assert_eq!(flags(&h, "a stranger"), (false, true));
    assert_eq!(flags(&h, "the owner"), (true, true));
    h.gw.shutdown().await.unwrap();

    // Groups: groupAllowFrom decides; the stranger reaches the agent (open group policy)
    // but may not run commands; without access groups everyone may.
    for (use_groups, want) in [(true, false), (false, true)] {
        let config = format!(
            "{{ commands: {{ useAccessGroups: {use_groups} }}, channels: {{ whatsapp: {{ allowFrom: ['+15550001111'], groupPolicy: 'open', groupAllowFrom: ['+15550001111'], groups: {{ '*': {{ requireMention: false }} }} }} }} }}"
        );
        let h = Harness::start(&config, echo).await;
        let stranger = h.net.phone("+15550004444");
        let group = h
            .net
            .group("Team")
            .with(&[&h.net.phone(OWNER), &stranger])
            .with_account(&h.account);
        stranger.send_group_text(&group, "group stranger").await;
        h.settle().await;
        assert_eq!(
            flags(&h, "group stranger"),
            (false, want),
            "useAccessGroups {use_groups}"
        );
        h.gw.shutdown().await.unwrap();
    }
}

/// `session.identityLinks` puts one person's numbers on one session, `session.idleMinutes`
/// flags the first turn after a long silence, and `session.scope: "global"` puts every
/// chat on the session `global`.
#[tokio::test(start_paused = true)]
async fn session_keys_follow_identity_links_idle_and_scope() {
    let h = Harness::start(
        "{ session: { dmScope: 'per-peer', idleMinutes: 30, identityLinks: { Alice: ['+15550001111', 'whatsapp:+1 555 000 2222', 'telegram:42'] } }, channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        echo,
    )
    .await;
    let work = h.net.phone(OWNER);
    let home = h.net.phone("+15550002222");
    let bob = h.net.phone("+15550003333");
    let now = h.net.now_ms();
    work.message_to(&h.account)
        .text("one")
        .at_ms(now)
        .send()
        .await;
    h.settle().await;
    home.message_to(&h.account)
        .text("two")
        .at_ms(now + 60_000)
        .send()
        .await;
    h.settle().await;
    bob.message_to(&h.account)
        .text("three")
        .at_ms(now + 60_000)
        .send()
        .await;
    h.settle().await;
    // 31 minutes after "two" in the same (linked) session.
    work.message_to(&h.account)
        .text("four")
        .at_ms(now + 60_000 + 31 * 60_000)
        .send()
        .await;
    h.settle().await;
    let turn = |body: &str| {
        h.turns()
            .into_iter()
            .find(|t| t.raw_body == body)
            .unwrap_or_else(|| panic!("no turn {body:?}"))
    };
    assert_eq!(turn("one").session_key, "agent:main:dm:alice");
    assert_eq!(turn("two").session_key, "agent:main:dm:alice");
    assert_eq!(turn("three").session_key, "agent:main:dm:+15550003333");
    assert!(!turn("one").session_reset && !turn("two").session_reset);
    assert!(
        turn("four").session_reset,
        "31 minutes of silence with idleMinutes 30"
    );
    h.gw.shutdown().await.unwrap();

    let h = Harness::start(
        "{ session: { scope: 'global' }, channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        echo,
    )
    .await;
    h.net.phone(OWNER).send_text(&h.account, "dm").await;
    h.settle().await;
    assert_eq!(h.turns()[0].session_key, "global");
    h.gw.shutdown().await.unwrap();
}

/// A `/config` handler that answers owners with the arguments it got and stays silent for
/// everyone else (as `wagw_config::chat::run` does for unauthorized senders).
struct EchoConfig;

#[async_trait::async_trait]
impl ConfigCommands for EchoConfig {
    async fn run(&self, request: ConfigCommandRequest) -> Option<String> {
        request
            .owner
            .then(|| format!("config {} from {}", request.args, request.sender))
    }
}

/// `/config` reaches the host's handler, never the agent: the owner gets the handler's
/// answer (in a group without mentioning the bot, as owner commands bypass the mention
/// gate); an admitted non-owner gets nothing and the agent does not see it; without a
/// handler `/config` is an ordinary command for the agent.
#[tokio::test(start_paused = true)]
async fn config_commands_go_to_the_handler_and_only_owners_are_answered() {
    const OPEN_WITH_OWNER: &str = "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*', '+15550001111'], groupPolicy: 'open' } } }";
    let net = wagw_sim::SimNetwork::with_seed(11);
    net.linked_account("default", "+15550009999");
    let h = Harness::start_with_commands(
        net,
        tempfile::tempdir().unwrap(),
        OPEN_WITH_OWNER,
        echo,
        Some(std::sync::Arc::new(EchoConfig)),
    )
    .await;
    let owner = h.net.phone(OWNER);
    let bob = h.net.phone("+15550002222");
    owner
        .send_text(&h.account, "/config get channels.whatsapp.dmPolicy")
        .await;
    bob.send_text(&h.account, "/config set channels.whatsapp.dmPolicy open")
        .await;
    let group = h
        .net
        .group("Team")
        .with(&[&owner, &bob])
        .with_account(&h.account);
    owner.send_group_text(&group, "/config show").await;
    h.settle().await;
    assert_eq!(
        owner.received_texts(),
        ["config get channels.whatsapp.dmPolicy from +15550001111"]
    );
    assert!(
        bob.received_texts().is_empty(),
        "{:?}",
        bob.received_texts()
    );
    assert!(h.turns().is_empty(), "the agent saw {:?}", h.turns());
    let group_texts: Vec<String> = h
        .net
        .sent_by(&AccountId::default_account())
        .iter()
        .filter_map(|m| serde_json::to_value(m).ok())
        .filter(|m| m["chat"].as_str().is_some_and(|c| c.ends_with("@g.us")))
        .filter_map(|m| m["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(group_texts, ["config show from +15550001111"]);
    let m = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(m.drops["command_not_authorized"], 1);
    h.gw.shutdown().await.unwrap();

    let h = Harness::start(OPEN_WITH_OWNER, echo).await;
    h.net
        .phone(OWNER)
        .send_text(&h.account, "/config show")
        .await;
    h.settle().await;
    assert_eq!(
        h.turns().len(),
        1,
        "without a handler the agent gets /config"
    );
    h.gw.shutdown().await.unwrap();
}
