//! The operator commands against a real HTTP server (the router over the fake gateway on
//! a loopback port), as an operator would run them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wagw_config::{Config, Env};

use super::{channels, doctor, message, pairing};
use crate::client::Client;
use crate::error::CliError;
use wagw_http::fake::{Fake, view};
use wagw_http::{ApiToken, RouterOptions, router};

const TOKEN: &str = "cli-test-token";

/// Serves the router over `fake` on 127.0.0.1:<free port>; returns the base URL.
async fn serve(fake: Arc<Fake>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(fake, ApiToken::new(TOKEN), RouterOptions { sim: true });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn config() -> Config {
    let env = Env::from_pairs([("WAGW_DATA_DIR", "/nonexistent/wagw-data")]);
    Config::from_json5_str(
        "{ channels: { whatsapp: { accounts: { default: {}, work: {} } } } }",
        &env,
    )
    .unwrap()
}

fn text(buf: Vec<u8>) -> String {
    String::from_utf8(buf).unwrap()
}

#[tokio::test]
async fn status_shows_each_account_and_the_fix_for_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let mut out = Vec::new();
    let code = channels::status(&client, &config(), false, false, false, 0, &mut out)
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let out = text(out);
    assert!(
        out.starts_with(&format!("Gateway reachable ({base}).")),
        "{out}"
    );
    assert!(out.contains("- WhatsApp default: enabled, linked, running, connected, dm:pairing, allow:+15551234567"), "{out}");
    assert!(out.contains("- whatsapp work: Not linked (no WhatsApp Web session). (Run: wagw channels login --account work"), "{out}");
    assert!(out.trim_end().ends_with("- Run: wagw doctor"), "{out}");
}

#[tokio::test]
async fn status_with_resources_adds_each_running_accounts_transport_resources() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let mut out = Vec::new();
    channels::status(&client, &config(), false, true, false, 0, &mut out)
        .await
        .unwrap();
    let out = text(out);
    assert!(out.contains("\nTransport resources:\n"), "{out}");
    assert!(
        out.contains("- WhatsApp default: reconnects 0 in a row, 1 total; connected, messages 0 out / 0 in, wire 0 B out / 4 kB in"),
        "{out}"
    );
    assert!(out.contains("    signal_sessions=2\n"), "{out}");
    let mut json = Vec::new();
    channels::status(&client, &config(), true, true, false, 0, &mut json)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(v["resources"][0]["resources"]["bytesReceived"], 4096, "{v}");
    assert!(fake.calls().iter().any(|c| c == "resources default"));
}

#[test]
fn byte_sizes_read_like_the_reference() {
    assert_eq!(channels::bytes(12), "12 B");
    assert_eq!(channels::bytes(4096), "4 kB");
    assert_eq!(channels::bytes(1_500_000), "1.5 MB");
    assert_eq!(channels::bytes(2_000_000_000), "2.0 GB");
}

#[test]
fn status_warns_about_linked_but_disconnected_accounts() {
    let mut a = view("work", true, false);
    a.last_inbound_at_ms = Some(1_000_000 - 5 * 60_000);
    let out = channels::render_status("http://x", &[a], 1_000_000);
    assert!(out.contains("in:5m ago"), "{out}");
    assert!(
        out.contains("error:connection closed (status 428)"),
        "{out}"
    );
    assert!(out.contains("- whatsapp work: Linked but disconnected (reconnectAttempts=3): connection closed (status 428) (Run: wagw doctor"), "{out}");
    let healthy = channels::render_status("http://x", &[view("default", true, true)], 0);
    assert!(!healthy.contains("Warnings"), "{healthy}");
}

#[test]
fn ages_read_like_the_reference() {
    let rows = [
        (0, "just now"),
        (59_000, "just now"),
        (120_000, "2m ago"),
        (3 * 3_600_000, "3h ago"),
        (47 * 3_600_000, "47h ago"),
        (72 * 3_600_000, "3d ago"),
    ];
    for (ago, want) in rows {
        assert_eq!(
            channels::age(100 * 86_400_000, 100 * 86_400_000 - ago),
            want,
            "{ago}"
        );
    }
}

#[tokio::test]
async fn login_draws_the_qr_redraws_it_on_refresh_and_waits_until_linked() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let args = channels::LoginArgs {
        account: None,
        code: None,
        force: false,
        timeout: 10,
        channel: Default::default(),
        passkey_assertion: None,
        passkey_confirm: false,
    };
    let mut out = Vec::new();
    let code = channels::login(
        &client,
        "default",
        &args,
        false,
        Duration::from_millis(10),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let out = text(out);
    assert_eq!(
        out.matches("Scan this QR").count(),
        2,
        "drawn, then redrawn once: {out}"
    );
    assert!(out.contains("(QR refreshed)"), "{out}");
    assert!(
        out.contains('▀') || out.contains('▄') || out.contains('█'),
        "{out}"
    );
    assert!(
        out.trim_end()
            .ends_with("✅ Linked as +15550009999! WhatsApp account default is ready."),
        "{out}"
    );
    assert_eq!(*fake.polls.lock().unwrap(), 3);
}

#[tokio::test]
async fn login_with_a_pair_code_prints_the_code() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let args = channels::LoginArgs {
        account: None,
        code: Some("+15550009999".into()),
        force: false,
        timeout: 10,
        channel: Default::default(),
        passkey_assertion: None,
        passkey_confirm: false,
    };
    let mut out = Vec::new();
    channels::login(
        &client,
        "work",
        &args,
        false,
        Duration::from_millis(10),
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(
        out.contains("Pair code for account work: ABCD-EFGH"),
        "{out}"
    );
    assert!(!out.contains("Scan this QR"), "{out}");
    assert_eq!(
        fake.calls()[0],
        "login_start work Code Some(\"+15550009999\")"
    );
}

#[tokio::test]
async fn pairing_and_send_go_through_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let mut out = Vec::new();
    pairing::list(&client, false, 1, &mut out).await.unwrap();
    let listed = text(std::mem::take(&mut out));
    assert!(
        listed.contains("K7PQ2MZX   default    +15550001111       Alice"),
        "{listed}"
    );
    assert!(listed.contains("in 60m"), "{listed}");

    let media = dir.path().join("pic.jpg");
    std::fs::write(&media, b"\xff\xd8\xff").unwrap();
    let args = message::SendArgs {
        to: "+15550001111".into(),
        text: Some("hello".into()),
        media: vec![
            media.display().to_string(),
            "https://example.invalid/a.png".into(),
        ],
        gif_playback: false,
        reply_to: None,
        mentions: Vec::new(),
        account: None,
        dry_run: false,
        channel: Default::default(),
    };
    let request = message::build(&args).unwrap();
    assert_eq!(request.media[0].base64.as_deref(), Some("/9j/"));
    assert_eq!(request.media[0].file_name.as_deref(), Some("pic.jpg"));
    assert_eq!(
        request.media[1].url.as_deref(),
        Some("https://example.invalid/a.png")
    );
    message::send(&client, "default", &request, false, &mut out)
        .await
        .unwrap();
    assert_eq!(text(out), "Sent from default to +15550001111: 3EB0AAA\n");

    // The gateway's refusal comes back as the gateway's message.
    let e = message::send(&client, "work", &request, false, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("No active WhatsApp listener for account work"),
        "{e}"
    );
}

#[tokio::test]
async fn a_wrong_token_or_no_gateway_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let wrong = Client::new(&base, ApiToken::new("nope"));
    let e = pairing::list(&wrong, false, 0, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, CliError::Api { status: 401, .. }), "{e:?}");
    assert!(e.to_string().contains("wagw token"), "{e}");
    let checks = doctor::gateway_checks(&wrong).await.unwrap();
    assert!(
        checks
            .iter()
            .any(|c| !c.ok && c.what.contains("rejected this CLI's token")),
        "{checks:?}"
    );

    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let free = listener.local_addr().unwrap();
    drop(listener);
    let gone = Client::new(format!("http://{free}"), ApiToken::new(TOKEN));
    let e = pairing::list(&gone, false, 0, &mut Vec::new())
        .await
        .unwrap_err();
    assert!(matches!(e, CliError::Unreachable { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Start it with `wagw gateway`"),
        "{e}"
    );
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn doctor_lists_each_account_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let checks = doctor::gateway_checks(&client).await.unwrap();
    let ok: Vec<_> = checks
        .iter()
        .filter(|c| c.ok)
        .map(|c| c.what.as_str())
        .collect();
    assert!(
        ok.contains(&"gateway ready (store open, accounts started)"),
        "{checks:?}"
    );
    assert!(
        ok.iter()
            .any(|w| w.starts_with("account default: linked and connected as +15550009999")),
        "{checks:?}"
    );
    let work = checks
        .iter()
        .find(|c| c.what == "account work: not linked")
        .unwrap();
    assert!(
        work.fix
            .as_deref()
            .unwrap()
            .starts_with("wagw channels login --account work"),
        "{work:?}"
    );
}

#[tokio::test]
async fn allow_and_explain_go_through_the_gateway_when_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let added = super::allow::change_http(&client, "+15550002222", Some("work"), true)
        .await
        .unwrap();
    assert!(added.changed);
    let removed = super::allow::change_http(&client, "123456789@lid", Some("work"), false)
        .await
        .unwrap();
    assert_eq!(removed.entry, "123456789@lid");
    let args = super::access::ExplainArgs {
        from: "+15550001111".into(),
        account: Some("work".into()),
        group: None,
        mentioned: false,
        reply_to_bot: false,
        from_me: false,
        text: None,
    };
    let view: wagw_http::model_access::ExplainView = client
        .post("/v1/access/explain", &args.request())
        .await
        .unwrap();
    let mut out = Vec::new();
    super::access::print(&view, None, false, &mut out).unwrap();
    assert!(text(out).starts_with("drop (not_in_allowlist, rule channels.whatsapp.allowFrom)"),);
    assert_eq!(
        fake.calls(),
        vec![
            "allow_add Some(AccountId(work)) +15550002222",
            "allow_remove Some(AccountId(work)) 123456789@lid",
            "explain Some(AccountId(work)) +15550001111 group=None mentioned=false",
        ]
    );
}

fn passkey_args(assertion: Option<String>, confirm: bool) -> channels::LoginArgs {
    channels::LoginArgs {
        account: None,
        code: None,
        force: false,
        timeout: 10,
        channel: Default::default(),
        passkey_assertion: assertion,
        passkey_confirm: confirm,
    }
}

#[tokio::test]
async fn login_shows_the_passkey_request_its_code_and_failures_once() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    *fake.passkey.lock().unwrap() = true;
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let mut out = Vec::new();
    let args = passkey_args(None, false);
    channels::login(
        &client,
        "default",
        &args,
        false,
        Duration::from_millis(10),
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(out.contains("WhatsApp asks for a passkey"), "{out}");
    assert!(out.contains(r#""challenge":"Y2hhbGxlbmdl""#), "{out}");
    assert!(out.contains("--passkey-assertion <file|->"), "{out}");
    assert!(out.contains("--code <phone>"), "{out}");
    assert_eq!(out.matches("the assertion was refused").count(), 1, "{out}");
    assert_eq!(
        out.matches("Passkey code for account default: ABCD1234")
            .count(),
        1,
        "{out}"
    );
    assert!(out.contains("--passkey-confirm"), "{out}");
    assert!(out.trim_end().ends_with("is ready."), "{out}");
}

#[tokio::test]
async fn login_sends_a_passkey_assertion_from_a_file_then_confirms() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(Fake::new(dir.path().to_path_buf()));
    let base = serve(fake.clone()).await;
    let client = Client::new(&base, ApiToken::new(TOKEN));
    let file = dir.path().join("assertion.json");
    std::fs::write(
        &file,
        r#"{"rawId":"AQID","type":"public-key","response":{}}"#,
    )
    .unwrap();

    let mut out = Vec::new();
    let args = passkey_args(Some(file.display().to_string()), false);
    channels::login(
        &client,
        "default",
        &args,
        false,
        Duration::from_millis(10),
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(out.contains("Passkey assertion sent"), "{out}");
    assert!(
        out.contains("Passkey code for account default: ABCD1234"),
        "{out}"
    );
    assert!(
        fake.calls()[0].starts_with(r#"login_passkey default {"#),
        "{:?}",
        fake.calls()
    );
    assert!(fake.calls()[0].contains(r#""rawId":"AQID""#));

    let mut out = Vec::new();
    let args = passkey_args(None, true);
    channels::login(
        &client,
        "default",
        &args,
        false,
        Duration::from_millis(10),
        &mut out,
    )
    .await
    .unwrap();
    let out = text(out);
    assert!(out.contains("Passkey link confirmed"), "{out}");
    assert!(out.contains("✅ Linked as +15550009999"), "{out}");
    assert!(
        fake.calls()
            .contains(&"login_passkey_confirm default".to_owned())
    );

    // A file that is not JSON is a usage error, and nothing is sent.
    std::fs::write(&file, "not json").unwrap();
    let calls = fake.calls().len();
    let args = passkey_args(Some(file.display().to_string()), false);
    let err = channels::login(
        &client,
        "default",
        &args,
        false,
        Duration::from_millis(10),
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("is not JSON"), "{err}");
    assert_eq!(fake.calls().len(), calls);
}
