//! Linking: QR cadence and exhaustion, scan, pair codes, passkeys.

use std::time::Duration;

use tokio::time::Instant;
use wagw_core::{CloseReason, OutboundMessage, Phone, SocketError, SocketEvent, WaSocket};
use wagw_sim::{SimError, SimNetwork};

use super::{drain, next};

#[tokio::test(start_paused = true)]
async fn qr_codes_rotate_on_the_real_cadence_then_give_up() {
    let net = SimNetwork::new();
    let account = net.unlinked_account("work");
    assert_eq!(account.own_identity(), None);
    let start = Instant::now();
    let mut rx = account.connect().await.unwrap();
    let mut seen = Vec::new();
    loop {
        match next(&mut rx).await {
            SocketEvent::QrCode { code, expires_in } => {
                assert!(code.starts_with("2@") && code.split(',').count() == 4);
                seen.push((start.elapsed(), expires_in, code));
            }
            SocketEvent::QrCodesExhausted => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    let at: Vec<u64> = seen.iter().map(|(t, _, _)| t.as_secs()).collect();
    assert_eq!(at, [0, 60, 80, 100, 120, 140]);
    let ttl: Vec<u64> = seen.iter().map(|(_, d, _)| d.as_secs()).collect();
    assert_eq!(ttl, [60, 20, 20, 20, 20, 20]);
    let mut codes: Vec<&String> = seen.iter().map(|(_, _, c)| c).collect();
    codes.dedup();
    assert_eq!(codes.len(), 6, "each QR code is new");
    assert_eq!(start.elapsed(), Duration::from_secs(160));
    match next(&mut rx).await {
        SocketEvent::Closed(CloseReason::LinkingFailed { detail }) => {
            assert!(detail.contains("160"), "{detail}")
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(rx.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn an_expired_qr_is_followed_by_the_next_at_once() {
    let net = SimNetwork::new();
    let linked = net.linked_account("home", "+15550009999");
    assert!(matches!(
        net.apply_fault(&linked, wagw_sim::SimFault::ExpireQr),
        Err(SimError::NotLinking(_))
    ));
    let account = net.unlinked_account("work");
    let start = Instant::now();
    let mut rx = account.connect().await.unwrap();
    let SocketEvent::QrCode { code: first, .. } = next(&mut rx).await else {
        panic!("no first QR")
    };
    net.apply_fault(&account, wagw_sim::SimFault::ExpireQr)
        .unwrap();
    match next(&mut rx).await {
        SocketEvent::QrCode { code, expires_in } => {
            assert_ne!(code, first, "a new code");
            assert_eq!(expires_in, Duration::from_secs(20));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        start.elapsed(),
        Duration::ZERO,
        "without waiting out the first"
    );
    // The rest keep their cadence: the third code comes 20 s later.
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    assert_eq!(start.elapsed(), Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn operations_while_linking_say_not_linked() {
    let net = SimNetwork::new();
    let alice = net.phone("+15550001111");
    let account = net.unlinked_account("work");
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    assert_eq!(
        account.send(OutboundMessage::text(alice.jid(), "x")).await,
        Err(SocketError::NotLinked)
    );
    assert_eq!(account.logout().await, Err(SocketError::NotLinked));
}

#[tokio::test(start_paused = true)]
async fn scanning_links_then_connects() {
    let net = SimNetwork::new();
    let me = net.phone("+15550009999").named("Me");
    let account = net.unlinked_account("work");
    assert_eq!(
        net.scan(&account, &me).await,
        Err(SimError::NotLinking(account.id().clone()))
    );
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    net.advance(Duration::from_secs(70)).await;
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    net.scan(&account, &me).await.unwrap();
    match next(&mut rx).await {
        SocketEvent::Paired { identity } => {
            assert_eq!(identity.phone, Phone::parse("+15550009999").unwrap());
            assert_eq!(identity.lid, Some(me.lid()));
            assert_eq!(identity.push_name.as_deref(), Some("Me"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::OfflineSyncCompleted { count: 0 }
    ));
    assert_eq!(
        account.own_identity().unwrap().phone.to_string(),
        "+15550009999"
    );
    // The QR loop stopped: no more codes, no exhaustion, the connection stays up.
    net.advance(Duration::from_secs(600)).await;
    assert!(drain(&mut rx).await.is_empty());
    assert!(net.is_connected(&account));
    assert_eq!(
        net.scan(&account, &me).await,
        Err(SimError::AlreadyLinked(account.id().clone()))
    );
}

#[tokio::test(start_paused = true)]
async fn pair_codes_link_by_phone_number() {
    let net = SimNetwork::new();
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("work");
    let number = me.phone().unwrap();
    assert_eq!(
        account.request_pair_code(&number).await,
        Err(SocketError::NotConnected)
    );
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));

    net.fail_next_pair_code(&account, "rate-overlimit");
    let err = account.request_pair_code(&number).await.unwrap_err();
    assert_eq!(
        err,
        SocketError::Rejected {
            code: 429,
            detail: "rate-overlimit".into()
        }
    );
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PairCodeError { .. }
    ));
    let stranger = Phone::parse("+15557777777").unwrap();
    assert!(matches!(
        account.request_pair_code(&stranger).await,
        Err(SocketError::NotFound(_))
    ));
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PairCodeError { .. }
    ));

    let code = account.request_pair_code(&number).await.unwrap();
    assert_eq!(code.len(), 8);
    match next(&mut rx).await {
        SocketEvent::PairCode {
            code: c,
            expires_in,
        } => {
            assert_eq!(c, code);
            assert_eq!(expires_in, Duration::from_secs(180));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(
        net.enter_pair_code(&account, &me, "WRONGCDE").await,
        Err(SimError::WrongPairCode { .. })
    ));
    net.enter_pair_code(&account, &me, &code).await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::Paired { .. }));
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
    assert_eq!(
        account.request_pair_code(&number).await,
        Err(SocketError::AlreadyLinked)
    );
}

#[tokio::test(start_paused = true)]
async fn passkey_step_when_required() {
    let net = SimNetwork::new();
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("work");
    net.require_passkey(&account, true);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    assert_eq!(
        account.submit_passkey_assertion("{}").await,
        Err(SocketError::InvalidRequest(
            "no passkey step is in progress".into()
        ))
    );
    net.scan(&account, &me).await.unwrap();
    let options = match next(&mut rx).await {
        SocketEvent::PasskeyRequired { options_json } => options_json,
        other => panic!("unexpected {other:?}"),
    };
    let options: serde_json::Value = serde_json::from_str(&options).unwrap();
    assert_eq!(options["rpId"], "web.whatsapp.com");

    let bad = account
        .submit_passkey_assertion(r#"{"challenge":"nope"}"#)
        .await;
    assert!(matches!(bad, Err(SocketError::Rejected { code: 401, .. })));
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PasskeyError { .. }
    ));

    // The ExpireQr fault has no code to expire while the passkey step runs.
    assert!(matches!(
        net.apply_fault(&account, wagw_sim::SimFault::ExpireQr),
        Err(SimError::NotLinking(_))
    ));
    // What a WebAuthn authenticator returns: the challenge inside clientDataJSON. One
    // that answers another challenge is refused like the bare one above.
    let webauthn = wagw_sim::webauthn_assertion;
    let bad = account.submit_passkey_assertion(&webauthn("nope")).await;
    assert!(matches!(bad, Err(SocketError::Rejected { code: 401, .. })));
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PasskeyError { .. }
    ));

    let good = webauthn(options["challenge"].as_str().unwrap());
    account.submit_passkey_assertion(&good).await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::Paired { .. }));
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
}

#[tokio::test(start_paused = true)]
async fn passkey_confirmation_stage_when_required() {
    let net = SimNetwork::new();
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("work");
    net.require_passkey(&account, true);
    net.require_passkey_confirmation(&account, true);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    assert_eq!(
        account.confirm_passkey().await,
        Err(SocketError::InvalidRequest(
            "no passkey link is waiting for confirmation".into()
        ))
    );
    net.scan(&account, &me).await.unwrap();
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PasskeyRequired { .. }
    ));
    let good = net.passkey_assertion(&account).unwrap();
    account.submit_passkey_assertion(&good).await.unwrap();
    let code = match next(&mut rx).await {
        SocketEvent::PasskeyConfirmation { code, expires_in } => {
            assert_eq!(expires_in, Duration::from_secs(180));
            code
        }
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(code.len(), 8);
    // Not linked until the operator confirms; the assertion cannot be replayed.
    assert_eq!(account.own_identity(), None);
    assert!(account.submit_passkey_assertion(&good).await.is_err());
    account.confirm_passkey().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::Paired { .. }));
    assert!(matches!(next(&mut rx).await, SocketEvent::Connected { .. }));
    assert_eq!(
        account.confirm_passkey().await,
        Err(SocketError::AlreadyLinked)
    );
}

#[tokio::test(start_paused = true)]
async fn passkey_step_times_out() {
    let net = SimNetwork::new();
    let me = net.phone("+15550009999");
    let account = net.unlinked_account("work");
    net.require_passkey(&account, true);
    let mut rx = account.connect().await.unwrap();
    assert!(matches!(next(&mut rx).await, SocketEvent::QrCode { .. }));
    net.scan(&account, &me).await.unwrap();
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::PasskeyRequired { .. }
    ));
    let start = Instant::now();
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(300), rx.recv()).await,
        Ok(Some(SocketEvent::PasskeyError { .. }))
    ));
    assert_eq!(start.elapsed(), Duration::from_secs(120));
    assert!(matches!(
        next(&mut rx).await,
        SocketEvent::Closed(CloseReason::LinkingFailed { .. })
    ));
    assert_eq!(account.own_identity(), None);
}
