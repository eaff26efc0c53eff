//! The pipeline end to end on the simulated network (`wagw-sim`): the same events, ids,
//! receipts and faults as the real transport.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use wagw_core::*;
use wagw_gateway::*;
use wagw_sim::{SimFault, SimMedia, SimNetwork, SimSocket};

/// The gateway's clock on the simulator's clock, so message times and the gateway agree.
pub struct SimTime(pub wagw_sim::SimClock);

impl Clock for SimTime {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

pub struct Harness {
    pub net: SimNetwork,
    pub account: SimSocket,
    pub gw: Gateway,
    pub turns: Arc<Mutex<Vec<InboundTurn>>>,
    pub dir: tempfile::TempDir,
}

impl Harness {
    /// A gateway on a fresh network with one linked account (`+15550009999`), an agent
    /// that records each turn and answers `reply(turn)` when it returns text.
    pub async fn start(config: &str, reply: fn(&InboundTurn) -> Option<String>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let net = SimNetwork::with_seed(11);
        net.linked_account("default", "+15550009999");
        Harness::start_on(net, dir, config, reply).await
    }

    /// A gateway on `net` (its `default` account must exist) with its data in `dir`.
    pub async fn start_on(
        net: SimNetwork,
        dir: tempfile::TempDir,
        config: &str,
        reply: fn(&InboundTurn) -> Option<String>,
    ) -> Harness {
        Harness::start_with_commands(net, dir, config, reply, None).await
    }

    /// `start_on` with a `/config` handler.
    pub async fn start_with_commands(
        net: SimNetwork,
        dir: tempfile::TempDir,
        config: &str,
        reply: fn(&InboundTurn) -> Option<String>,
        commands: Option<Arc<dyn ConfigCommands>>,
    ) -> Harness {
        let account = net.socket(&AccountId::default_account()).unwrap();
        let turns: Arc<Mutex<Vec<InboundTurn>>> = Arc::default();
        let seen = turns.clone();
        let sink = sink_fn(move |turn: InboundTurn| {
            let seen = seen.clone();
            async move {
                let answer = reply(&turn);
                seen.lock().unwrap().push(turn);
                Ok(answer.map(Reply::text).into_iter().collect())
            }
        });
        let socket = account.clone();
        let mut builder = Gateway::builder();
        if let Some(commands) = commands {
            builder = builder.config_commands(commands);
        }
        let gw = builder
            .settings(GatewaySettings::from_json5(config, dir.path()).unwrap())
            .transport(
                move |_: &AccountId,
                      _: &TransportSettings|
                      -> Result<Arc<dyn WaSocket>, SocketError> {
                    Ok(Arc::new(socket.clone()))
                },
            )
            .clock(Arc::new(SimTime(net.clock().clone())))
            .sink_arc(sink)
            .start()
            .await
            .unwrap();
        let h = Harness {
            net,
            account,
            gw,
            turns,
            dir,
        };
        h.settle().await;
        h
    }

    /// Shuts the gateway down and hands back the network and data folder (for restarts).
    pub async fn stop(self) -> (SimNetwork, tempfile::TempDir) {
        self.gw.shutdown().await.unwrap();
        drop(self.gw);
        (self.net, self.dir)
    }

    /// Waits until the gateway handled (acknowledged) everything sent to it so far.
    pub async fn settle(&self) {
        // Bounded in real time: under paused time, tokio may jump ahead while the store's
        // commit runs off the runtime, so a virtual-time bound could expire spuriously.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if self.net.is_connected(&self.account) && self.net.pending_inbound(&self.account) == 0
            {
                // Let fire-and-forget work (receipts, reactions) run too.
                tokio::time::sleep(Duration::from_millis(20)).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("the gateway did not settle");
    }

    pub fn turns(&self) -> Vec<InboundTurn> {
        self.turns.lock().unwrap().clone()
    }
}

const OPEN: &str = "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }";

pub fn echo(turn: &InboundTurn) -> Option<String> {
    Some(format!("echo: {}", turn.raw_body))
}

#[tokio::test(start_paused = true)]
async fn a_dm_is_answered_and_read() {
    let h = Harness::start(OPEN, echo).await;
    let alice = h.net.phone("+15550001111").named("Alice");
    let key = alice.send_text(&h.account, "hi").await;
    h.settle().await;
    assert_eq!(alice.received_texts(), ["echo: hi"]);
    let turn = &h.turns()[0];
    assert_eq!(turn.sender_name.as_deref(), Some("Alice"));
    assert_eq!(turn.sender_e164.as_deref(), Some("+15550001111"));
    assert!(
        h.net
            .read_marks(&h.account)
            .iter()
            .any(|m| m.ids.contains(&key.id)),
        "read receipt sent"
    );
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn resources_are_reported_per_account() {
    let h = Harness::start(OPEN, echo).await;
    let alice = h.net.phone("+15550001111");
    alice.send_text(&h.account, "hi").await;
    h.settle().await;
    let id = AccountId::default_account();
    let r =
        h.gw.resources(&id)
            .await
            .unwrap()
            .expect("the simulator reports");
    assert!(r.connected, "{r:?}");
    assert_eq!(r.sizes["outbox"], 1, "the echo reply: {r:?}");
    assert_eq!(r.sizes["unacked_inbound"], 0, "committed: {r:?}");
    assert_eq!(h.gw.all_resources().await[&id], r);
    let unknown = AccountId::parse("nobody").unwrap();
    assert!(matches!(
        h.gw.resources(&unknown).await,
        Err(GatewayError::UnknownAccount(_))
    ));
    h.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_quoted_reply_shows_the_replying_to_block() {
    let h = Harness::start(OPEN, |_| None).await;
    let alice = h.net.phone("+15550001111").named("Alice");
    let first = alice
        .send_text(&h.account, "what's the capital of France?")
        .await;
    alice.reply_text(&h.account, &first, "and of Spain?").await;
    h.settle().await;
    let turn = &h.turns()[1];
    assert!(
        turn.body
            .contains(&format!("[Replying to +15550001111 id:{}]", first.id)),
        "{}",
        turn.body
    );
    assert!(
        turn.body
            .contains("what's the capital of France?\n[/Replying]")
    );
    assert_eq!(turn.reply_to_id.as_deref(), Some(first.id.as_str()));
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_redelivered_message_is_handled_once() {
    let h = Harness::start(OPEN, echo).await;
    let alice = h.net.phone("+15550001111");
    h.net
        .apply_fault(&h.account, SimFault::DuplicateNextInbound)
        .unwrap();
    alice.send_text(&h.account, "once").await;
    h.settle().await;
    assert_eq!(h.turns().len(), 1);
    assert_eq!(alice.received_texts(), ["echo: once"]);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn messages_survive_a_dropped_connection() {
    let h = Harness::start(OPEN, echo).await;
    let alice = h.net.phone("+15550001111");
    alice.send_text(&h.account, "before").await;
    h.settle().await;
    h.net.apply_fault(&h.account, SimFault::Disconnect).unwrap();
    alice.send_text(&h.account, "while down").await;
    // The supervisor backs off and reconnects; the backlog arrives and is answered once.
    tokio::time::sleep(Duration::from_secs(5)).await;
    h.settle().await;
    assert_eq!(alice.received_texts(), ["echo: before", "echo: while down"]);
    let metrics = &h.gw.metrics()[&AccountId::default_account()];
    assert_eq!(metrics.reconnects["network"], 1);
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn group_turns_carry_subject_and_members() {
    let h = Harness::start(
        "{ channels: { whatsapp: { groupPolicy: 'open', groups: { '*': { requireMention: false } } } } }",
        |_| None,
    )
    .await;
    let bob = h.net.phone("+15550002222").named("Bob");
    let group = h
        .net
        .group("Book club")
        .with(&[&bob])
        .with_account(&h.account);
    bob.send_group_text(&group, "chapter 3 tonight").await;
    h.settle().await;
    let turn = &h.turns()[0];
    assert_eq!(turn.group_subject.as_deref(), Some("Book club"));
    assert!(turn.body.contains("Bob (+15550002222): "), "{}", turn.body);
    assert!(turn.body.contains("chapter 3 tonight"), "{}", turn.body);
    assert!(turn.session_key.starts_with("agent:main:whatsapp:group:"));
    h.gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn inbound_media_is_saved_before_the_turn() {
    let h = Harness::start(OPEN, |_| None).await;
    let alice = h.net.phone("+15550001111");
    alice
        .send_media(
            &h.account,
            SimMedia::image(&b"\xff\xd8\xff\xe0fakejpeg"[..]).caption("look"),
        )
        .await;
    h.settle().await;
    let turn = &h.turns()[0];
    let media = turn.media.as_ref().expect("media on the turn");
    let path = media.path.as_deref().expect("saved path");
    assert!(
        path.contains("/media/inbound/") && path.ends_with(".jpg"),
        "{path}"
    );
    assert_eq!(std::fs::read(path).unwrap(), b"\xff\xd8\xff\xe0fakejpeg");
    h.gw.shutdown().await.unwrap();
}

/// Polls the gateway's status until `pred` holds for the default account's login prompt.
async fn login_prompt_until(
    gw: &Gateway,
    pred: impl Fn(&Option<LoginPrompt>) -> bool,
) -> Option<LoginPrompt> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let login = gw.status().into_iter().next().and_then(|s| s.login);
        if pred(&login) {
            return login;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the login prompt never matched: {:?}", gw.status());
}

#[tokio::test(start_paused = true)]
async fn a_passkey_link_surfaces_in_status_and_events() {
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::with_seed(11);
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("default");
    net.require_passkey(&account, true);
    net.require_passkey_confirmation(&account, true);
    let socket = account.clone();
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(OPEN, dir.path()).unwrap())
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    let id = AccountId::default_account();
    gw.login(&id).await.unwrap();
    login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Qr { .. }))).await;
    net.scan(&account, &me).await.unwrap();
    let prompt = login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Passkey { .. }))).await;
    let Some(LoginPrompt::Passkey {
        options_json,
        error: None,
    }) = prompt
    else {
        panic!("unexpected {prompt:?}");
    };
    assert!(options_json.contains("challenge"));

    // A wrong assertion is refused and the reason shows on the prompt, which stays up.
    assert!(
        gw.submit_passkey_assertion(&id, r#"{"challenge":"nope"}"#)
            .await
            .is_err()
    );
    let prompt = login_prompt_until(&gw, |p| {
        matches!(p, Some(LoginPrompt::Passkey { error: Some(_), .. }))
    })
    .await;
    assert!(
        format!("{prompt:?}").contains("does not answer the challenge"),
        "{prompt:?}"
    );

    let good = net.passkey_assertion(&account).unwrap();
    gw.submit_passkey_assertion(&id, &good).await.unwrap();
    let prompt = login_prompt_until(&gw, |p| {
        matches!(p, Some(LoginPrompt::PasskeyConfirmation { .. }))
    })
    .await;
    let Some(LoginPrompt::PasskeyConfirmation { code, .. }) = prompt else {
        panic!("unexpected {prompt:?}");
    };
    gw.confirm_passkey(&id).await.unwrap();
    login_prompt_until(&gw, Option::is_none).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !gw.status()[0].connected {
        assert!(std::time::Instant::now() < deadline, "never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let events: Vec<GatewayEvent> = gw
        .store()
        .events()
        .since(0, 1000)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert!(events.iter().any(
        |e| matches!(e, GatewayEvent::PasskeyRequired { options_json: o, .. } if o == &options_json)
    ));
    assert!(events.iter().any(
        |e| matches!(e, GatewayEvent::LoginError { detail, .. } if detail.contains("challenge"))
    ));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, GatewayEvent::PasskeyConfirmation { code: c, .. } if c == &code))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, GatewayEvent::Linked { .. }))
    );
    // Nothing left to confirm once linked.
    assert!(gw.confirm_passkey(&id).await.is_err());
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn linking_stops_when_the_qr_codes_run_out_until_asked_again() {
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::with_seed(11);
    let account = net.unlinked_account("default");
    let socket = account.clone();
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(OPEN, dir.path()).unwrap())
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    let id = AccountId::default_account();
    gw.login(&id).await.unwrap();
    login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Qr { .. }))).await;
    // Past every code's lifetime (60 s + 20 s each), and well beyond.
    tokio::time::sleep(Duration::from_secs(600)).await;
    // The expiry stays on the login status (after its connection closed) until asked again.
    match gw.status().remove(0).login {
        Some(LoginPrompt::Expired { detail }) => {
            assert!(
                detail.contains("wagw channels login --account default"),
                "{detail}"
            )
        }
        other => panic!("expected an expired login, got {other:?}"),
    }
    let errors: Vec<String> = gw
        .store()
        .events()
        .since(0, 1000)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            GatewayEvent::LoginError { detail, .. } => Some(detail),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("wagw channels login --account default"),
        "{errors:?}"
    );
    // Nothing restarted linking by itself; asking does.
    assert!(!net.is_connected(&account));
    gw.login(&id).await.unwrap();
    login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Qr { .. }))).await;
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_pair_code_opens_the_linking_connection_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::with_seed(11);
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("default");
    let socket = account.clone();
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(OPEN, dir.path()).unwrap())
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    let id = AccountId::default_account();
    // No login() first: the unlinked account waits, and the request opens the connection.
    let phone = Phone::parse("+15550009999").unwrap();
    let code = gw.request_pair_code(&id, &phone).await.unwrap();
    let prompt = login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::PairCode { .. }))).await;
    assert!(matches!(prompt, Some(LoginPrompt::PairCode { code: c, .. }) if c == code));
    net.enter_pair_code(&account, &me, &code).await.unwrap();
    login_prompt_until(&gw, Option::is_none).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !gw.status()[0].connected {
        assert!(std::time::Instant::now() < deadline, "never connected");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Linked now: a pair code is refused.
    assert!(matches!(
        gw.request_pair_code(&id, &phone).await,
        Err(GatewayError::Transport {
            source: SocketError::AlreadyLinked,
            ..
        })
    ));
    gw.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_passkey_request_leaves_no_stale_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let net = SimNetwork::with_seed(11);
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("default");
    net.require_passkey(&account, true);
    let socket = account.clone();
    let gw = Gateway::builder()
        .settings(GatewaySettings::from_json5(OPEN, dir.path()).unwrap())
        .transport(
            move |_: &AccountId, _: &TransportSettings| -> Result<Arc<dyn WaSocket>, SocketError> {
                Ok(Arc::new(socket.clone()))
            },
        )
        .clock(Arc::new(SimTime(net.clock().clone())))
        .sink(NullSink)
        .start()
        .await
        .unwrap();
    let id = AccountId::default_account();
    gw.login(&id).await.unwrap();
    login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Qr { .. }))).await;
    net.scan(&account, &me).await.unwrap();
    login_prompt_until(&gw, |p| matches!(p, Some(LoginPrompt::Passkey { .. }))).await;
    // The simulated WhatsApp gives up after 120 s: the link attempt closes, and so does
    // the prompt; the reason stays in the status and the log.
    tokio::time::sleep(Duration::from_secs(200)).await;
    let status = gw.status().remove(0);
    assert_eq!(status.login, None, "{status:?}");
    assert!(!status.connected);
    let logged = gw
        .store()
        .events()
        .since(0, 1000)
        .unwrap()
        .into_iter()
        .any(|e| matches!(e.event, GatewayEvent::LoginError { detail, .. } if detail.contains("timed out")));
    assert!(logged, "the passkey time-out is not in the event log");
    gw.shutdown().await.unwrap();
}
