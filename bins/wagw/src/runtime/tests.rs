//! The runtime behind the real HTTP router, on the simulator: `/metrics` with the protocol
//! library's series, per-account resources, and `/v1/accounts` send/reconnect figures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use wagw_config::{Config, Env};

use super::{RuntimeOptions, recorder};
use wagw_http::{ApiToken, RouterOptions, router};

const TOKEN: &str = "runtime-test-token";

async fn get(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: Option<&str>,
) -> (StatusCode, String) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"));
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    let r = b
        .body(body.map_or_else(Body::empty, |s| Body::from(s.to_owned())))
        .unwrap();
    let res = app.clone().oneshot(r).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

async fn json(app: &axum::Router, method: &str, uri: &str, body: Option<&str>) -> Value {
    let (status, text) = get(app, method, uri, body).await;
    assert!(status.is_success(), "{method} {uri}: {status} {text}");
    serde_json::from_str(&text).unwrap()
}

/// The sample value of `series` (name plus label set as rendered), if present.
fn sample(samples: &[(String, String, f64)], name: &str, labels: &str) -> Option<f64> {
    samples
        .iter()
        .find(|(n, l, _)| n == name && l == labels)
        .map(|(_, _, v)| *v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_carry_library_series_and_resources_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_string_lossy().into_owned();
    let config = Config::from_json5_str(
        "{ channels: { whatsapp: { dmPolicy: 'open', allowFrom: ['*'] } } }",
        &Env::from_pairs([("WAGW_DATA_DIR", data.as_str())]),
    )
    .unwrap();
    let started = super::start(
        &config,
        RuntimeOptions {
            sim: true,
            ..RuntimeOptions::default()
        },
    )
    .await
    .unwrap();
    let app = router(
        started.api.clone(),
        ApiToken::new(TOKEN),
        RouterOptions { sim: true },
    );

    // The runtime installed the process's recorder; the library emits into it exactly as
    // a live client does (its own telemetry functions, its own keys).
    assert!(
        recorder::install().is_some(),
        "the daemon's recorder is the global one"
    );
    whatsapp_rust::telemetry::recv("decrypted");
    whatsapp_rust::telemetry::connect("ok");
    drop(whatsapp_rust::telemetry::timer(
        whatsapp_rust::telemetry::IQ_DURATION,
    ));

    // Wait for the simulated account to connect.
    let mut connected = false;
    for _ in 0..100 {
        let v = json(&app, "GET", "/v1/accounts/default", None).await;
        if v["connected"] == true {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(connected, "the simulated account never connected");

    // A confirmed send shows as lastOutboundAtMs; nothing failed, so no reconnect streak.
    json(
        &app,
        "POST",
        "/v1/sim/inbound",
        Some(r#"{"from":"+15550001111","text":"hello"}"#),
    )
    .await;
    json(
        &app,
        "POST",
        "/v1/accounts/default/messages",
        Some(r#"{"to":"+15550001111","text":"hi there"}"#),
    )
    .await;
    let v = json(&app, "GET", "/v1/accounts", None).await;
    let account = &v["accounts"][0];
    assert!(
        account["lastOutboundAtMs"].as_i64().unwrap() > 1_600_000_000_000,
        "{account}"
    );
    assert_eq!(account["reconnectAttempts"], 0, "{account}");
    assert_eq!(account["reconnectsTotal"], 0, "{account}");

    let v = json(&app, "GET", "/v1/accounts/default/resources", None).await;
    assert_eq!(v["running"], true, "{v}");
    assert_eq!(v["resources"]["connected"], true, "{v}");
    assert_eq!(v["resources"]["sizes"]["outbox"], 1, "{v}");

    let (status, text) = get(&app, "GET", "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let samples =
        crate::runtime::metrics::parse_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(
        sample(&samples, "wa_recv_total", "outcome=\"decrypted\"").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    assert!(sample(&samples, "wa_iq_duration_seconds_count", "").unwrap_or(0.0) >= 1.0);
    assert!(
        text.contains("# HELP wa_recv_total "),
        "help from the library: {text}"
    );
    assert_eq!(
        sample(&samples, "wagw_transport_connected", "account=\"default\""),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &samples,
            "wagw_transport_entries",
            "account=\"default\",collection=\"outbox\""
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(
            &samples,
            "wagw_last_outbound_timestamp_ms",
            "account=\"default\""
        )
        .unwrap()
            > 0.0
    );
    assert_eq!(
        sample(&samples, "wagw_reconnect_attempts", "account=\"default\""),
        Some(0.0)
    );

    started
        .api
        .shutdown(tokio::time::Instant::now() + std::time::Duration::from_secs(10))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_client_emits_into_the_daemons_recorder() {
    use wagw_core::{AccountId, SocketEvent, WaSocket};
    use wagw_fakewa::{FakeConfig, FakeWhatsApp};
    use wagw_socket::store::{AccountStore, StoreOptions};
    use wagw_socket::{SocketConfig, WhatsAppSocket};
    use whatsapp_rust::store::traits::DeviceStore;

    let library = recorder::install().expect("the daemon's recorder is the global one");
    let server = FakeWhatsApp::new(FakeConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let auth_dir = dir.path().join("accounts/default");
    {
        // A device that paired before.
        let store = AccountStore::open(&auth_dir, StoreOptions::default()).unwrap();
        let mut d = whatsapp_rust::wacore::store::Device::new();
        d.pn = Some(whatsapp_rust::Jid::pn("15550001234"));
        d.lid = Some(whatsapp_rust::Jid::lid("100000000000001"));
        store.save(&d).await.unwrap();
        store.flush().await.unwrap();
    }
    let mut config = SocketConfig::new(AccountId::default_account(), &auth_dir);
    config.version = Some((2, 3000, 1_023_000_000));
    let socket = WhatsAppSocket::with_test_transport(config, server.factory()).unwrap();
    let mut rx = socket.connect().await.unwrap();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("no event within 30s")
            .expect("stream ended");
        match ev {
            SocketEvent::Connected { .. } => break,
            SocketEvent::Closed(r) => panic!("closed before connecting: {r}"),
            _ => {}
        }
    }
    // The library counts an IQ after its round-trip timer, from its own tasks: poll until
    // every expected series has shown up (or the deadline says it never will).
    let expected: [(&str, &str); 3] = [
        ("wa_connect_total", "outcome=\"ok\""),
        ("wa_connect_duration_seconds_count", ""),
        ("wa_iq_total", "result=\"ok\""),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (text, samples) = loop {
        let text = library.render();
        let samples = crate::runtime::metrics::parse_exposition(&text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let all_there = expected
            .iter()
            .all(|(name, labels)| sample(&samples, name, labels).unwrap_or(0.0) >= 1.0);
        if all_there || std::time::Instant::now() > deadline {
            break (text, samples);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    socket.disconnect().await;
    for (name, labels) in expected {
        assert!(
            sample(&samples, name, labels).unwrap_or(0.0) >= 1.0,
            "{name}{{{labels}}} missing:\n{text}"
        );
    }
}
