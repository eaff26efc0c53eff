//! The per-account supervisor task: it drives `wagw-reconnect`'s pure state machine with
//! real events and performs the actions it returns — connect, disconnect, timers, probes,
//! notices — while reading the current connection's events in order.
//!
//! Transports never reconnect on their own (the `WaSocket` contract); this task owns that.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use wagw_core::{CloseReason, SocketEvent, SocketEvents};
use wagw_reconnect::{
    Action, EffectivePolicy, Input, ReconnectPolicy, SplitMix64, Supervisor, log_notice,
    log_transition,
};

use crate::account::{Account, LoginPrompt};
use crate::store::GatewayEvent;

/// Where an account's runtime is in its life: the supervisor reads while `Run`, stops
/// reading at `Drain` (in-flight turns finish, the socket stays up for their replies), and
/// disconnects and exits at `Close`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Run,
    Drain,
    Close,
}

/// Operator commands for a running account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Start linking (show QR / pair codes): `wagw channels login`.
    Link,
    /// Close the connection, keep the link.
    Disconnect,
    /// Connect again (after a stop).
    Reconnect,
    /// The settings changed: re-read the reconnect policy.
    Reload,
}

/// The runtime half: the current connection, the one pending timer, probe results.
struct Driver {
    account: Arc<Account>,
    events: Option<SocketEvents>,
    timer_at_ms: Option<i64>,
    probe_tx: mpsc::Sender<bool>,
    rng: SplitMix64,
}

/// The reconnect policy from the settings in effect.
pub(crate) fn policy_for(account: &Account) -> EffectivePolicy {
    let settings = account.shared.settings();
    let (policy, clamps) = EffectivePolicy::new(ReconnectPolicy {
        heartbeat_seconds: settings.heartbeat.as_secs().max(1),
        ..settings.reconnect.clone()
    });
    for clamp in clamps {
        tracing::warn!(target: "wagw::reconnect", account = %account.id(), key = clamp.key,
            given = clamp.given, used = clamp.used, rule = clamp.rule, "reconnect setting clamped");
    }
    policy
}

/// Runs one account until its phase reaches `Close`.
pub(crate) async fn run(
    account: Arc<Account>,
    mut phase: watch::Receiver<Phase>,
    mut control: mpsc::Receiver<Control>,
) {
    let policy = policy_for(&account);
    let heartbeat = Duration::from_millis(u64::try_from(policy.heartbeat_ms()).unwrap_or(60_000));
    let mut sup = Supervisor::new(policy);
    let (probe_tx, mut probe_rx) = mpsc::channel(4);
    let seed = account.shared.clock.now_ms() as u64 ^ seed_of(account.id().as_str());
    let mut driver = Driver {
        account: account.clone(),
        events: None,
        timer_at_ms: None,
        probe_tx,
        rng: SplitMix64::new(seed),
    };
    let linked = account.socket().is_linked();
    driver.feed(&mut sup, Input::Start { linked }).await;
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
    loop {
        let timer = driver.timer_at_ms.map(|at| {
            let wait = at - account.shared.clock.now_ms();
            tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
        });
        let input = tokio::select! {
            biased;
            () = until(&mut phase, |p| p != Phase::Run) => break,
            event = next_event(&mut driver.events) => match event {
                Some(event) => {
                    let input = Input::from_socket_event(&event);
                    if matches!(event, SocketEvent::Closed(_)) {
                        driver.events = None;
                    }
                    handle_event(&account, event).await;
                    input
                }
                None => {
                    driver.events = None;
                    Some(Input::Closed { reason: CloseReason::Network {
                        detail: "the transport ended its event stream without a close reason".to_owned(),
                    }})
                }
            },
            () = async { match timer { Some(t) => t.await, None => std::future::pending().await } } => {
                driver.timer_at_ms = None;
                Some(Input::TimerFired)
            }
            _ = ticker.tick() => Some(Input::HeartbeatTick),
            Some(alive) = probe_rx.recv() => Some(Input::ProbeResult { alive }),
            Some(command) = control.recv() => match command {
                Control::Link => Some(Input::LinkRequested),
                Control::Disconnect => Some(Input::DisconnectRequested),
                Control::Reconnect => Some(Input::Start { linked: account.socket().is_linked() }),
                Control::Reload => {
                    sup.set_policy(policy_for(&account));
                    None
                }
            },
        };
        if let Some(input) = input {
            tracing::trace!(target: "wagw::reconnect", account = %account.id(), input = input.label(), "supervisor input");
            driver.feed(&mut sup, input).await;
        }
    }
    // Draining: stop reading but keep the connection (and its unread events, which stay
    // unacknowledged and are redelivered later) until in-flight turns have replied.
    until(&mut phase, |p| p == Phase::Close).await;
    driver.feed(&mut sup, Input::StopRequested).await;
    if driver.events.take().is_some() {
        account.socket().disconnect().await;
    }
    account.connection_closed();
}

/// Waits until the phase satisfies `f` (returns at once when the sender is gone).
async fn until(phase: &mut watch::Receiver<Phase>, f: impl Fn(Phase) -> bool) {
    let _ = phase.wait_for(|p| f(*p)).await;
}

/// The next event of the current connection; pending forever when there is none.
async fn next_event(events: &mut Option<SocketEvents>) -> Option<SocketEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn seed_of(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

impl Driver {
    /// Feeds `input` and performs the resulting actions; inputs the actions cause (a failed
    /// connect) are fed in turn.
    async fn feed(&mut self, sup: &mut Supervisor, input: Input) {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            let now = self.account.shared.clock.now_ms();
            if let Input::Closed { reason } = &input {
                self.account.connection_closed();
                tracing::info!(target: "wagw::reconnect", account = %self.account.id(),
                    reason = %reason, code = ?reason.code(), "connection closed");
            }
            let actions = sup.handle(input.clone(), now, &mut self.rng);
            // Also after inputs that change no phase (a heartbeat ends a failure streak).
            self.account
                .metrics()
                .set_reconnect_attempts(sup.state().attempts());
            for action in actions {
                if let Some(next) = self.perform(sup, action, &input).await {
                    queue.push(next);
                }
            }
        }
    }

    async fn perform(&mut self, sup: &Supervisor, action: Action, cause: &Input) -> Option<Input> {
        let account = &self.account;
        match action {
            Action::Record(transition) => {
                log_transition(account.id(), &transition);
                // Every close the supervisor recovers from by itself counts: a backoff wait,
                // an immediate restart (515) or a wait for a ban to end.
                if let Input::Closed { reason } = cause
                    && matches!(
                        transition.to.phase(),
                        wagw_reconnect::Phase::Backoff
                            | wagw_reconnect::Phase::Connecting
                            | wagw_reconnect::Phase::Banned
                    )
                {
                    account.metrics().reconnect(reason.label());
                }
                let now = account.shared.clock.now_ms();
                account.set_state(
                    transition.to.phase().label(),
                    Some(sup.state().describe(now, sup.policy())),
                );
                None
            }
            Action::Connect | Action::StartLinking => {
                if self.events.take().is_some() {
                    account.socket().disconnect().await;
                }
                match account.socket().connect().await {
                    Ok(events) => {
                        self.events = Some(events);
                        None
                    }
                    Err(e) => Some(Input::Closed {
                        reason: CloseReason::ConnectFailed {
                            detail: e.to_string(),
                        },
                    }),
                }
            }
            Action::Disconnect => {
                // Ignore the rest of this connection's events; unread messages stay
                // unacknowledged and come back on the next connection.
                if self.events.take().is_some() {
                    account.socket().disconnect().await;
                }
                account.connection_closed();
                None
            }
            Action::DiscardCredentials => {
                if let Err(e) = account.socket().logout().await {
                    tracing::warn!(target: "wagw::reconnect", account = %account.id(), error = %e,
                        "could not delete the dead credentials; `wagw channels logout` removes them");
                }
                None
            }
            Action::ScheduleTimer { at_ms } => {
                self.timer_at_ms = Some(at_ms);
                None
            }
            Action::CancelTimer => {
                self.timer_at_ms = None;
                None
            }
            Action::Probe => {
                // Unsupported ping: idleness alone is not a dead link.
                let socket = account.socket().clone();
                let tx = self.probe_tx.clone();
                tokio::spawn(async move {
                    let alive = match socket.ping().await {
                        Ok(()) | Err(wagw_core::SocketError::Unsupported(_)) => true,
                        Err(_) => false,
                    };
                    let _ = tx.send(alive).await;
                });
                None
            }
            Action::Notify(notice) => {
                log_notice(account.id(), &notice);
                account.set_detail(notice.message(account.id()));
                None
            }
        }
    }
}

async fn handle_event(account: &Arc<Account>, event: SocketEvent) {
    let id = account.id().clone();
    match event {
        SocketEvent::Message { message, ack } => account.accept(message, ack).await,
        SocketEvent::Connected { identity } => account.connected(identity),
        SocketEvent::QrCode { code, expires_in } => {
            tracing::info!(target: "wagw::login", account = %id, expires_in_s = expires_in.as_secs(),
                "scan the QR code in WhatsApp → Linked devices");
            // WhatsApp may keep rotating QR codes during a passkey step; the operator's
            // pending passkey prompt stays on screen (the codes still reach the log).
            if !matches!(
                account.login_prompt(),
                Some(LoginPrompt::Passkey { .. } | LoginPrompt::PasskeyConfirmation { .. })
            ) {
                account.set_login(Some(LoginPrompt::Qr {
                    code: code.clone(),
                    expires_at_ms: account.shared.clock.now_ms()
                        + i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX),
                }));
            }
            account.record(GatewayEvent::QrCode { account: id, code });
        }
        SocketEvent::QrCodesExhausted => {
            tracing::warn!(target: "wagw::login", account = %id,
                "no more QR codes; restart linking with: wagw channels login --account {id}");
            // Linking stops here until asked again; say so wherever the operator looks.
            let detail = format!(
                "the QR codes expired without being scanned; start linking again with: wagw channels login --account {id}"
            );
            account.set_login(Some(LoginPrompt::Expired {
                detail: detail.clone(),
            }));
            account.record(GatewayEvent::LoginError {
                detail,
                account: id,
            });
        }
        SocketEvent::PairCode { code, expires_in } => {
            account.set_login(Some(LoginPrompt::PairCode {
                code: code.clone(),
                expires_at_ms: account.shared.clock.now_ms()
                    + i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX),
            }));
            tracing::info!(target: "wagw::login", account = %id,
                "enter the pair code on the phone: WhatsApp → Linked devices → Link with phone number");
            account.record(GatewayEvent::PairCode { account: id, code });
        }
        SocketEvent::PairCodeError { detail } => {
            tracing::warn!(target: "wagw::login", account = %id, %detail, "pair code request failed");
            account.set_detail(format!("pair code request failed: {detail}"));
            account.record(GatewayEvent::LoginError {
                account: id,
                detail,
            });
        }
        SocketEvent::PasskeyRequired { options_json } => {
            tracing::info!(target: "wagw::login", account = %id,
                "WhatsApp asks for a passkey to finish linking: submit an assertion or use a pair code");
            account.set_login(Some(LoginPrompt::Passkey {
                options_json: options_json.clone(),
                error: None,
            }));
            account.record(GatewayEvent::PasskeyRequired {
                account: id,
                options_json,
            });
        }
        SocketEvent::PasskeyConfirmation { code, expires_in } => {
            tracing::info!(target: "wagw::login", account = %id,
                "passkey accepted; confirm when the phone shows the same code");
            account.set_login(Some(LoginPrompt::PasskeyConfirmation {
                code: code.clone(),
                expires_at_ms: account.shared.clock.now_ms()
                    + i64::try_from(expires_in.as_millis()).unwrap_or(i64::MAX),
                error: None,
            }));
            account.record(GatewayEvent::PasskeyConfirmation { account: id, code });
        }
        SocketEvent::PasskeyError { detail } => {
            tracing::warn!(target: "wagw::login", account = %id, %detail, "passkey step failed");
            let detail = format!("passkey step failed: {detail}");
            account.login_failed(&detail);
            account.set_detail(detail.clone());
            account.record(GatewayEvent::LoginError {
                account: id,
                detail,
            });
        }
        SocketEvent::Paired { identity } => {
            account.set_login(None);
            tracing::info!(target: "wagw::login", account = %id, phone = %identity.phone, "linked");
            account.record(GatewayEvent::Linked {
                account: id,
                phone: identity.phone.to_string(),
            });
        }
        SocketEvent::OfflineSyncCompleted { count } => {
            tracing::debug!(target: "wagw::inbound", account = %id, count, "offline backlog delivered");
        }
        SocketEvent::Receipt(receipt) => match (&receipt.kind, &receipt.error) {
            (wagw_core::ReceiptKind::Failed, error) => {
                // A send the server accepted and then could not deliver (the Cloud API's
                // `failed` status): the operator needs to know, the agent's turn is over.
                tracing::warn!(target: "wagw::outbound", account = %id, chat = %receipt.chat,
                    ids = ?receipt.ids, error = error.as_deref().unwrap_or("no reason given"),
                    "message could not be delivered");
            }
            _ => {
                tracing::trace!(target: "wagw::outbound", account = %id, kind = ?receipt.kind,
                    ids = receipt.ids.len(), "receipt");
            }
        },
        SocketEvent::Undecryptable {
            chat, id: msg_id, ..
        } => {
            account.metrics().dropped("undecryptable");
            tracing::warn!(target: "wagw::inbound", account = %id, %chat, id = %msg_id,
                "message could not be decrypted");
        }
        SocketEvent::GroupUpdate { group } => account.group_changed(&group),
        SocketEvent::ContactChanged { .. } => {
            tracing::debug!(target: "wagw::inbound", account = %id, "contact identity changed");
        }
        // A prompt belongs to its connection. (The close itself is fed to the state
        // machine by the loop.)
        SocketEvent::Closed(_) => account.end_connection_prompt(),
    }
}
