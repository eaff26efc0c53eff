//! Linking through `WhatsAppSocket` against the fake server: QR codes until they run out
//! (and no new connection until asked), a QR scanned and a pair code typed by a fake phone
//! through to the login as the linked device (and a forged `pair-success` refused), pair
//! codes by phone number, and the passkey flow (request → assertion → verification code →
//! confirmation → the phone opens the pairing request and links the device), with the
//! server's refusals.

use std::time::{Duration, Instant};

use base64::Engine as _;
use wagw_core::{CloseReason, Phone, SocketError, SocketEvent, SocketEvents, WaSocket};
use wagw_fakewa::{
    ConnKind, FakeConfig, FakeConnection, FakeWhatsApp, Forgery, PAIR_CODE_REF, attr, child_bytes,
    passkey_verification_code,
};
use wagw_socket::WhatsAppSocket;

use crate::fake_server::{closed, config, connected, linked_socket, next, until};

const T: Duration = Duration::from_secs(30);

/// An unlinked socket on `server`, connected, with the server's side of the connection and
/// the first QR code seen (so the registration handshake is done).
async fn linking(
    server: &FakeWhatsApp,
) -> (
    tempfile::TempDir,
    WhatsAppSocket,
    SocketEvents,
    FakeConnection,
) {
    let dir = tempfile::tempdir().unwrap();
    let socket = WhatsAppSocket::with_test_transport(config(dir.path()), server.factory()).unwrap();
    let mut rx = socket.connect().await.unwrap();
    let conn = server
        .next_connection()
        .await
        .expect("client never connected");
    assert_eq!(conn.kind(), &ConnKind::Registration);
    until(&mut rx, "QrCode", |e| {
        matches!(e, SocketEvent::QrCode { .. })
    })
    .await;
    (dir, socket, rx, conn)
}

fn md_query_with(child: &'static str) -> impl Fn(&whatsapp_rust::wacore_binary::Node) -> bool {
    move |n| {
        n.tag.as_ref() == "iq"
            && attr(n, "xmlns").as_deref() == Some("md")
            && n.children()
                .is_some_and(|c| c.iter().any(|c| c.tag.as_ref() == child))
    }
}

/// After a link: the client reports `Paired` as `phone`, the server restarts the stream
/// (515) with `device` recorded, and the next connection logs in as that device and is
/// `Connected`; then it disconnects.
async fn logs_in_as_the_linked_device(
    server: &FakeWhatsApp,
    socket: &WhatsAppSocket,
    mut rx: SocketEvents,
    device: &wagw_fakewa::LinkedDevice,
    phone: &Phone,
) {
    match until(&mut rx, "Paired", |e| {
        matches!(e, SocketEvent::Paired { .. })
    })
    .await
    {
        SocketEvent::Paired { identity } => {
            assert_eq!(&identity.phone, phone);
            assert_eq!(
                identity.lid.map(|l| l.to_string()),
                Some(format!("{}@lid", device.lid)),
                "the LID the phone announced"
            );
        }
        _ => unreachable!(),
    }
    assert_eq!(closed(&mut rx).await.code(), Some(515));
    assert_eq!(server.linked_devices(), vec![device.clone()]);
    assert_eq!(socket.own_identity().map(|i| i.phone), Some(phone.clone()));

    let mut rx = socket.connect().await.unwrap();
    let login = server.next_connection().await.expect("no login connection");
    assert_eq!(
        login.kind(),
        &ConnKind::Login {
            user: phone.digits().parse().unwrap(),
            device: device.device
        }
    );
    match until(&mut rx, "Connected", |e| {
        matches!(e, SocketEvent::Connected { .. })
    })
    .await
    {
        SocketEvent::Connected { identity } => assert_eq!(&identity.phone, phone),
        _ => unreachable!(),
    }
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qr_codes_run_out_then_nothing_until_connect_is_called_again() {
    let server = FakeWhatsApp::new(FakeConfig {
        qr_refs: vec!["2@ref-a".into(), "2@ref-b".into()],
        ..FakeConfig::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let socket = WhatsAppSocket::with_test_transport(config(dir.path()), server.factory()).unwrap();
    let mut rx = socket.connect().await.unwrap();
    let started = Instant::now();

    // WhatsApp's cadence: the first code lives 60 s, every later one 20 s.
    let mut codes = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(90), rx.recv())
            .await
            .expect("the QR loop stalled")
            .expect("events ended without Closed");
        match ev {
            SocketEvent::QrCode { code, expires_in } => codes.push((code, expires_in)),
            SocketEvent::QrCodesExhausted => break,
            SocketEvent::Closed(r) => panic!("closed ({r}) before the codes ran out"),
            _ => {}
        }
    }
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(codes[0].0.starts_with("2@ref-a,"), "{codes:?}");
    assert!(codes[1].0.starts_with("2@ref-b,"), "{codes:?}");
    let (first, second) = (codes[0].1, codes[1].1);
    assert!(
        first > Duration::from_secs(50) && first <= Duration::from_secs(60),
        "{first:?}"
    );
    assert!(
        second > Duration::from_secs(10) && second <= Duration::from_secs(20),
        "{second:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(70),
        "codes expired early"
    );

    // The stream closes as a linking failure that says what to do.
    match closed(&mut rx).await {
        CloseReason::LinkingFailed { detail } => {
            assert!(detail.contains("start linking again"), "{detail}")
        }
        other => panic!("expected LinkingFailed, got {other:?}"),
    }
    // No new connection on its own: a fresh login starts only when asked.
    let opened = server.transports_opened();
    assert_eq!(opened, 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server.transports_opened(), opened, "relinked by itself");

    // Asked again: a new connection and a fresh first code (a new ref, 60 s again).
    let mut rx = socket.connect().await.unwrap();
    let conn = server.next_connection().await.expect("no new connection");
    assert_eq!(conn.kind(), &ConnKind::Registration);
    match until(&mut rx, "QrCode", |e| {
        matches!(e, SocketEvent::QrCode { .. })
    })
    .await
    {
        SocketEvent::QrCode { code, expires_in } => {
            assert!(code.starts_with("2@ref-a.2,"), "{code}");
            assert_ne!(code, codes[0].0, "the same QR code again");
            assert!(expires_in > Duration::from_secs(50), "{expires_in:?}");
        }
        _ => unreachable!(),
    }
    assert_eq!(server.transports_opened(), 2);
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_code_is_requested_with_the_companion_hello() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, mut rx, mut conn) = linking(&server).await;
    let phone = Phone::parse("+15550001234").unwrap();
    let code = socket.request_pair_code(&phone).await.expect("pair code");
    assert_eq!(code.len(), 8, "{code}");
    assert!(code.chars().all(|c| c.is_ascii_alphanumeric()), "{code}");

    // What the server saw: the stage-1 query for this number.
    let hello = conn
        .wait_for(T, md_query_with("link_code_companion_reg"))
        .await
        .expect("no companion hello reached the server");
    assert_eq!(attr(&hello, "type").as_deref(), Some("set"));
    let reg = &hello.children().unwrap()[0];
    assert_eq!(attr(reg, "stage").as_deref(), Some("companion_hello"));
    assert_eq!(
        attr(reg, "jid").as_deref(),
        Some("15550001234@s.whatsapp.net")
    );
    assert_eq!(
        child_bytes(&hello, "link_code_pairing_wrapped_companion_ephemeral_pub").map(|b| b.len()),
        Some(80)
    );
    assert_eq!(
        child_bytes(&hello, "companion_server_auth_key_pub").map(|b| b.len()),
        Some(32)
    );
    assert!(!PAIR_CODE_REF.is_empty());

    match until(&mut rx, "PairCode", |e| {
        matches!(e, SocketEvent::PairCode { .. })
    })
    .await
    {
        SocketEvent::PairCode {
            code: shown,
            expires_in,
        } => {
            assert_eq!(shown, code);
            assert!(
                expires_in > Duration::from_secs(150) && expires_in <= Duration::from_secs(180)
            );
        }
        _ => unreachable!(),
    }
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_pair_code_request_says_why() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, mut rx, conn) = linking(&server).await;
    conn.refuse_md_query("link_code_companion_reg", 429, "rate-overlimit");
    let phone = Phone::parse("+15550001234").unwrap();
    match socket.request_pair_code(&phone).await {
        Err(SocketError::Rejected { detail, .. }) => {
            assert!(detail.contains("pair code request failed"), "{detail}");
            assert!(
                detail.contains("429") || detail.contains("rate"),
                "{detail}"
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    match until(&mut rx, "PairCodeError", |e| {
        matches!(e, SocketEvent::PairCodeError { .. })
    })
    .await
    {
        SocketEvent::PairCodeError { detail } => {
            assert!(
                detail.contains("throttled"),
                "the rejection is named: {detail}"
            )
        }
        _ => unreachable!(),
    }
    // The refusal was for that one request: the next one gets a code.
    let code = socket
        .request_pair_code(&phone)
        .await
        .expect("second request");
    assert_eq!(code.len(), 8);
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_device_is_refused_a_pair_code() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket) = linked_socket(&server).await;
    let mut rx = connected(&socket).await;
    let phone = Phone::parse("+15550001234").unwrap();
    assert_eq!(
        socket.request_pair_code(&phone).await,
        Err(SocketError::AlreadyLinked)
    );
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

fn options_json() -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    serde_json::json!({
        "challenge": b64.encode(b"a fake server challenge"),
        "rpId": "web.whatsapp.com",
        "userVerification": "preferred",
        "timeout": 60000,
        "allowCredentials": [{"type": "public-key", "id": b64.encode([1u8, 2, 3, 4])}],
    })
    .to_string()
}

fn assertion_json() -> String {
    serde_json::json!({
        "id": "AQIDBA", "rawId": "AQIDBA", "type": "public-key",
        "response": {"clientDataJSON": "e30", "authenticatorData": "AA", "signature": "AA", "userHandle": null},
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_link_goes_from_request_to_confirmation() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, mut rx, mut conn) = linking(&server).await;
    assert!(matches!(
        socket.confirm_passkey().await,
        Err(SocketError::InvalidRequest(_))
    ));

    // 1. WhatsApp asks for a passkey; the options reach the operator unchanged.
    let options = options_json();
    conn.request_passkey(&options);
    match until(&mut rx, "PasskeyRequired", |e| {
        matches!(e, SocketEvent::PasskeyRequired { .. })
    })
    .await
    {
        SocketEvent::PasskeyRequired { options_json } => assert_eq!(options_json, options),
        _ => unreachable!(),
    }

    // 2. The authenticator's assertion goes to the server in the prologue.
    let assertion = assertion_json();
    socket
        .submit_passkey_assertion(&assertion)
        .await
        .expect("prologue accepted");
    conn.wait_for(T, md_query_with("ref"))
        .await
        .expect("no ref query");
    let prologue = conn
        .wait_for(T, md_query_with("passkey_prologue"))
        .await
        .expect("no passkey prologue reached the server");
    assert_eq!(
        child_bytes(&prologue, "credential_id").unwrap(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        child_bytes(&prologue, "webauthn_assertion").unwrap(),
        assertion.as_bytes()
    );
    assert!(child_bytes(&prologue, "prologue_payload").is_some_and(|p| !p.is_empty()));
    // Unlinked before: no handoff proof, so the operator compares codes.
    assert!(child_bytes(&prologue, "pairing_handoff_proof").is_none());

    // 3. The phone continues; the client answers with its nonce and shows the code.
    let (primary_pub, primary_nonce) = ([9u8; 32], [7u8; 32]);
    conn.continue_passkey(&primary_pub, &primary_nonce);
    let nonce = conn
        .wait_for(T, md_query_with("companion_nonce"))
        .await
        .expect("no companion nonce reached the server");
    let nonce: [u8; 32] = child_bytes(&nonce, "companion_nonce")
        .unwrap()
        .try_into()
        .unwrap();
    let expected = passkey_verification_code(&nonce, &primary_pub, &primary_nonce);
    match until(&mut rx, "PasskeyConfirmation", |e| {
        matches!(e, SocketEvent::PasskeyConfirmation { .. })
    })
    .await
    {
        SocketEvent::PasskeyConfirmation { code, expires_in } => {
            assert_eq!(code, expected);
            assert_eq!(expires_in, Duration::from_secs(180));
        }
        _ => unreachable!(),
    }

    // 4. The operator confirms: the encrypted pairing request goes to the server, once.
    socket.confirm_passkey().await.expect("confirmation sent");
    let request = conn
        .wait_for(T, md_query_with("encrypted_pairing_request"))
        .await
        .expect("no encrypted pairing request reached the server");
    assert!(child_bytes(&request, "encrypted_pairing_request").is_some_and(|b| b.len() > 32));
    assert!(matches!(
        socket.confirm_passkey().await,
        Err(SocketError::InvalidRequest(_))
    ));
    socket.disconnect().await;
    assert_eq!(closed(&mut rx).await, CloseReason::Requested);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkey_refusals_surface_as_passkey_errors() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, mut rx, mut conn) = linking(&server).await;
    conn.request_passkey(&options_json());
    until(&mut rx, "PasskeyRequired", |e| {
        matches!(e, SocketEvent::PasskeyRequired { .. })
    })
    .await;

    // An assertion that is not one is refused before anything is sent.
    assert!(matches!(
        socket
            .submit_passkey_assertion(r#"{"type":"public-key"}"#)
            .await,
        Err(SocketError::InvalidRequest(_))
    ));

    // The server refuses the prologue: an error to the caller and on the event stream.
    conn.refuse_md_query("passkey_prologue", 401, "not-authorized");
    match socket.submit_passkey_assertion(&assertion_json()).await {
        Err(SocketError::Rejected { detail, .. }) => {
            assert!(detail.contains("passkey assertion rejected"), "{detail}")
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    match until(&mut rx, "PasskeyError", |e| {
        matches!(e, SocketEvent::PasskeyError { .. })
    })
    .await
    {
        SocketEvent::PasskeyError { detail } => assert!(detail.contains("401"), "{detail}"),
        _ => unreachable!(),
    }

    // A retry goes through; a continuation without the phone's identity fails the
    // verification stage.
    socket
        .submit_passkey_assertion(&assertion_json())
        .await
        .expect("retry accepted");
    conn.wait_for(T, md_query_with("passkey_prologue"))
        .await
        .unwrap();
    conn.continue_passkey_without_identity();
    match until(&mut rx, "PasskeyError", |e| {
        matches!(e, SocketEvent::PasskeyError { .. })
    })
    .await
    {
        SocketEvent::PasskeyError { detail } => {
            assert!(detail.contains("at verification"), "{detail}")
        }
        _ => unreachable!(),
    }
    // Nothing was waiting for confirmation, and nothing is emitted silently after.
    assert!(socket.confirm_passkey().await.is_err());
    socket.disconnect().await;
    loop {
        match next(&mut rx).await {
            SocketEvent::Closed(r) => {
                assert_eq!(r, CloseReason::Requested);
                break;
            }
            SocketEvent::QrCode { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// An unlinked socket, connected, with the server's side of the connection and the first
/// QR string the client showed.
async fn showing_qr(
    server: &FakeWhatsApp,
    cfg: &wagw_socket::SocketConfig,
) -> (WhatsAppSocket, SocketEvents, FakeConnection, String) {
    let socket = WhatsAppSocket::with_test_transport(cfg.clone(), server.factory()).unwrap();
    assert!(socket.own_identity().is_none());
    let mut rx = socket.connect().await.unwrap();
    let conn = server
        .next_connection()
        .await
        .expect("client never connected");
    assert_eq!(conn.kind(), &ConnKind::Registration);
    let qr = match until(&mut rx, "QrCode", |e| {
        matches!(e, SocketEvent::QrCode { .. })
    })
    .await
    {
        SocketEvent::QrCode { code, .. } => code,
        _ => unreachable!(),
    };
    (socket, rx, conn, qr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_scans_the_qr_and_the_device_logs_in_linked() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (socket, rx, mut conn, qr) = showing_qr(&server, &cfg).await;

    let device = conn.scan_qr(&qr, "15550001234").expect("the phone scans");
    let phone = Phone::parse("+15550001234").unwrap();
    // The client signed the identity the phone sent; the server verified that signature,
    // recorded the device and restarts the stream (515), as WhatsApp does.
    conn.wait_for(T, |n| {
        attr(n, "type").as_deref() == Some("result")
            && n.get_optional_child("pair-device-sign").is_some()
    })
    .await
    .expect("no pair-device-sign reached the server");
    logs_in_as_the_linked_device(&server, &socket, rx, &device, &phone).await;
    assert_eq!(conn.link_refusal(), None);
    drop(socket);

    // The link is in the account's store: a process that opens it later finds it linked.
    let stored = wagw_socket::linked_identity(&cfg.store_location)
        .expect("the store reopens")
        .expect("the store records the link");
    assert_eq!(stored.phone, phone);
    let reopened = WhatsAppSocket::with_test_transport(cfg, server.factory()).unwrap();
    assert_eq!(reopened.own_identity().map(|i| i.phone), Some(phone));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_pair_success_is_refused_and_nothing_is_linked() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let (socket, mut rx, mut conn, qr) = showing_qr(&server, &cfg).await;

    for forgery in [Forgery::WrongHmac, Forgery::WrongAccountSignature] {
        conn.scan_qr_forged(&qr, "15550001234", forgery).unwrap();
        let refusal = conn
            .wait_for(T, |n| attr(n, "type").as_deref() == Some("error"))
            .await
            .unwrap_or_else(|| panic!("the client did not refuse {forgery:?}"));
        let error = refusal.get_optional_child("error").expect("<error>");
        let expected = match forgery {
            Forgery::WrongHmac => "hmac-mismatch",
            Forgery::WrongAccountSignature => "signature-mismatch",
        };
        assert_eq!(attr(error, "code").as_deref(), Some("401"), "{forgery:?}");
        assert_eq!(
            attr(error, "text").as_deref(),
            Some(expected),
            "{forgery:?}"
        );
        assert_eq!(conn.link_refusal(), Some(format!("401 {expected}")));
    }
    // The client reports the failed link and stays unlinked; nothing was linked.
    conn.close();
    match closed(&mut rx).await {
        CloseReason::LinkingFailed { detail } => assert!(!detail.is_empty()),
        other => panic!("expected LinkingFailed, got {other:?}"),
    }
    assert!(server.linked_devices().is_empty());
    assert!(socket.own_identity().is_none());
    drop(socket);
    assert_eq!(
        wagw_socket::linked_identity(&cfg.store_location).expect("the store reopens"),
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_types_the_pair_code_and_the_device_logs_in_linked() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, rx, mut conn) = linking(&server).await;
    let phone = Phone::parse("+15550001234").unwrap();
    let code = socket.request_pair_code(&phone).await.expect("pair code");

    // A code the user mistyped opens nothing: no pair-success, nothing linked.
    let first = if code.starts_with('A') { "B" } else { "A" };
    let typo = format!("{first}{}", &code[1..]);
    let err = conn
        .enter_pair_code("15550001234", &typo, T)
        .await
        .expect_err("a wrong code must not link");
    assert!(err.to_string().contains("not the one shown"), "{err}");
    assert!(server.linked_devices().is_empty());

    let device = conn
        .enter_pair_code("15550001234", &code, T)
        .await
        .expect("the phone completes the pair code");
    logs_in_as_the_linked_device(&server, &socket, rx, &device, &phone).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_link_completes_and_the_device_logs_in_linked() {
    let server = FakeWhatsApp::new(FakeConfig::default());
    let (_dir, socket, mut rx, mut conn) = linking(&server).await;
    conn.request_passkey(&options_json());
    until(&mut rx, "PasskeyRequired", |e| {
        matches!(e, SocketEvent::PasskeyRequired { .. })
    })
    .await;
    socket
        .submit_passkey_assertion(&assertion_json())
        .await
        .expect("prologue accepted");

    // The phone continues with keys of its own, so it can open what the client sends.
    let (primary_pub, primary_nonce) = conn.continue_passkey_as_phone();
    let nonce = conn
        .wait_for(T, md_query_with("companion_nonce"))
        .await
        .expect("no companion nonce reached the server");
    let nonce: [u8; 32] = child_bytes(&nonce, "companion_nonce")
        .unwrap()
        .try_into()
        .unwrap();
    match until(&mut rx, "PasskeyConfirmation", |e| {
        matches!(e, SocketEvent::PasskeyConfirmation { .. })
    })
    .await
    {
        SocketEvent::PasskeyConfirmation { code, .. } => assert_eq!(
            code,
            passkey_verification_code(&nonce, &primary_pub, &primary_nonce),
            "both sides show the same code"
        ),
        _ => unreachable!(),
    }

    // The operator confirms; the phone opens the pairing request with the key both sides
    // derived and links the device it names, authenticated by the rotated adv secret.
    socket.confirm_passkey().await.expect("confirmation sent");
    let device = conn
        .finish_passkey("15550001234", T)
        .await
        .expect("the phone opens the pairing request and links the device");
    let phone = Phone::parse("+15550001234").unwrap();
    logs_in_as_the_linked_device(&server, &socket, rx, &device, &phone).await;
    assert_eq!(conn.link_refusal(), None);
}
