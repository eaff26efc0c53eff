//! The operator console against the built `wagw gateway --sim`: its files and headers over
//! plain HTTP, then every page in headless Debian Chromium driven over WebDriver
//! (chromedriver). Screenshots of each page go to `target/console-screenshots/`
//! (`docs/console.md` shows them).

use super::e2e::{Agent, SECRET, TOKEN, http, wait_for};
use super::*;
use std::future::Future;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The simulated number of the first configured account.
const OWN_NUMBER: &str = "+15550190001";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `wagw gateway --sim` with one webhook agent that dead-letters on its first failure.
struct Daemon {
    dir: tempfile::TempDir,
    port: u16,
    child: Child,
}

impl Daemon {
    fn start(agent_port: u16) -> Daemon {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("wagw.json5");
        std::fs::write(
            &config,
            format!(
                "{{ gateway: {{ listen: \"127.0.0.1:{port}\", agents: [ {{ id: \"main\", type: \"webhook\", url: \"http://127.0.0.1:{agent_port}/turn\", secret: \"{SECRET}\", timeoutMs: 2000, maxAttempts: 1 }} ] }} }}"
            ),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_wagw"))
            .args(["gateway", "--sim", "--config", config.to_str().unwrap()])
            .env_clear()
            .env("HOME", "/nonexistent-home")
            .env("WAGW_DATA_DIR", dir.path().join("data"))
            .env("WAGW_TOKEN", TOKEN)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("gateway.log")).unwrap())
            .spawn()
            .unwrap();
        wait_for("the gateway to listen", 60, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        wait_for("the account to connect", 60, || {
            let (_, b) = http(port, "GET", "/v1/accounts/default", TOKEN, None);
            b.contains("\"connected\":true").then_some(())
        });
        Daemon { dir, port, child }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("gateway.log")).unwrap_or_default()
    }

    fn outbox(&self) -> Vec<String> {
        let (s, b) = http(self.port, "GET", "/v1/sim/outbox/default", TOKEN, None);
        assert_eq!(s, 200, "{b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_owned))
            .collect()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A GET without a token: (status line, headers in lower case, body).
fn get_raw(port: u16, path: &str) -> (String, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    )
}

#[test]
fn console_files_are_open_strict_and_the_api_stays_closed() {
    let agent = Agent::start();
    let gw = Daemon::start(agent.port);

    let (status, headers, body) = get_raw(gw.port, "/");
    assert!(status.contains(" 200 "), "{status}");
    assert!(headers.contains("content-type: text/html"), "{headers}");
    assert!(
        headers.contains("content-security-policy: default-src 'none'; script-src 'self';"),
        "{headers}"
    );
    assert!(headers.contains("frame-ancestors 'none'"), "{headers}");
    assert!(headers.contains("x-content-type-options: nosniff"));
    assert!(body.contains("<script src=\"/console/console.js\" defer>"));
    assert!(!body.contains(TOKEN));
    let (status, headers, _) = get_raw(gw.port, "/console");
    assert!(status.contains(" 308 "), "{status}");
    assert!(headers.contains("location: /console/"), "{headers}");
    let (_, headers, js) = get_raw(gw.port, "/console/console.js");
    assert!(
        headers.contains("content-type: text/javascript"),
        "{headers}"
    );
    assert!(js.contains("Authorization"));
    // The pages are open; the API behind them is not.
    let (status, _, body) = get_raw(gw.port, "/v1/accounts");
    assert!(status.contains(" 401 "), "{status}: {body}");
    let (status, _, _) = get_raw(gw.port, "/console/../v1/accounts");
    assert!(!status.contains(" 200 "), "{status}");
    let (status, _, _) = get_raw(gw.port, "/console/secrets.txt");
    assert!(
        status.contains(" 401 ") || status.contains(" 404 "),
        "{status}"
    );

    // The simulated scan: refused while linked, bad input named, nothing changed.
    let (s, b) = http(gw.port, "POST", "/v1/sim/scan", TOKEN, Some("{}"));
    assert_eq!(s, 409, "{b}");
    assert!(b.contains("already_linked"), "{b}");
    let (s, b) = http(
        gw.port,
        "POST",
        "/v1/sim/scan",
        TOKEN,
        Some("{\"phone\": \"not a number\"}"),
    );
    assert_eq!(s, 422, "{b}");
    assert!(b.contains("\"field\":\"phone\""), "{b}");
    let (s, b) = http(
        gw.port,
        "POST",
        "/v1/sim/scan",
        TOKEN,
        Some("{\"account\": \"nope\"}"),
    );
    assert_eq!(s, 404, "{b}");
    let (s, b) = http(
        gw.port,
        "POST",
        "/v1/sim/scan",
        TOKEN,
        Some("{\"qr\": \"x\"}"),
    );
    assert_eq!(s, 422, "{b}");
    let (s, b) = http(gw.port, "POST", "/v1/sim/scan", "wrong", Some("{}"));
    assert_eq!(s, 401, "{b}");
    let (_, b) = http(gw.port, "GET", "/v1/accounts/default", TOKEN, None);
    assert!(b.contains("\"connected\":true"), "{b}\n{}", gw.log());
}

// ------------------------------------------------------------------ the browser

/// The browser is installed, or the test says why it does not run (never in CI).
fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser tests: install chromium and chromium-driver (.ci/run does)"
        );
        eprintln!(
            "SKIPPED the console browser test: {CHROMIUM} or {CHROMEDRIVER} is missing \
             (apt-get install chromium chromium-driver)"
        );
    }
    present
}

/// chromedriver on a free loopback port, with a fresh browser profile.
struct Driver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        let port = free_port();
        let profile = tempfile::tempdir().unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(profile.path().join("chromedriver.log")).unwrap())
            .spawn()
            .unwrap();
        wait_for("chromedriver to listen", 60, || {
            TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ())
        });
        Driver {
            child,
            port,
            profile,
        }
    }

    async fn browser(&self) -> Client {
        let user_data = self.profile.path().join("chromium");
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                    format!("--user-data-dir={}", user_data.display()),
                ],
            },
        });
        let caps = caps.as_object().unwrap().clone();
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .unwrap_or_else(|e| panic!("chromium did not start through chromedriver: {e}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `f` to return Some (the page updates on its own; nothing here is timed).
async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn find(c: &Client, css: &str) -> Option<Element> {
    c.find(Locator::Css(css)).await.ok()
}

/// The element, once it is on the page and shown.
async fn shown(c: &Client, css: &str) -> Element {
    until(css, || async move {
        let e = find(c, css).await?;
        e.is_displayed().await.ok()?.then_some(e)
    })
    .await
}

/// Waits until the text of `css` contains `needle`.
async fn text_with(c: &Client, css: &str, needle: &str) -> String {
    until(&format!("{css} to say {needle:?}"), || async move {
        let t = find(c, css).await?.text().await.ok()?;
        t.contains(needle).then_some(t)
    })
    .await
}

async fn go(c: &Client, page: &str) {
    shown(c, &format!("nav a[data-page=\"{page}\"]"))
        .await
        .click()
        .await
        .unwrap();
    shown(c, &format!("#page-{page}")).await;
}

async fn shot(c: &Client, name: &str) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = c.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_chromium_pairs_replays_and_links() {
    if !browser_available() {
        return;
    }
    let agent = Agent::start();
    let daemon = Daemon::start(agent.port);
    let gw = &daemon;
    let driver = Driver::start();
    let client = driver.browser().await;
    let c = &client;

    // Sign in: a wrong token is refused with the API's own words; the right one, typed and
    // sent with Enter, stays in this tab's session storage and never in the URL.
    c.goto(&gw.url("/")).await.unwrap();
    let input = shown(c, "#token-input").await;
    shot(c, "01-sign-in").await;
    input.send_keys("wrong-token\u{E007}").await.unwrap();
    text_with(c, "#token-error", "wrong bearer token").await;
    let input = shown(c, "#token-input").await;
    input.clear().await.unwrap();
    input.send_keys(&format!("{TOKEN}\u{E007}")).await.unwrap();

    // Accounts: the simulated account, linked and connected.
    let card = shown(c, "[data-account=\"default\"][data-connected=\"true\"]").await;
    assert!(card.text().await.unwrap().contains(OWN_NUMBER));
    assert!(!c.current_url().await.unwrap().as_str().contains(TOKEN));
    let kept = c
        .execute("return sessionStorage.getItem('wagw.token')", vec![])
        .await
        .unwrap();
    assert_eq!(kept, Value::from(TOKEN));
    let unlabelled = c
        .execute(
            "return [...document.querySelectorAll('input,select,textarea')].filter(e => e.labels.length === 0).map(e => e.id || e.name)",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(unlabelled, serde_json::json!([]), "every field has a label");
    // The policy holds in the browser: an injected inline script does not run.
    let ran = c
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.append(s); return window.injected === 1",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ran, Value::Bool(false), "inline script ran despite the CSP");
    shot(c, "02-accounts").await;

    // Sandbox: an unknown sender writes and gets a pairing code.
    go(c, "sandbox").await;
    shown(c, "#sandbox-text")
        .await
        .send_keys("hi")
        .await
        .unwrap();
    shown(c, "#sandbox-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    text_with(c, "#outbox", "Pairing code").await;
    shot(c, "03-sandbox").await;

    // Pairing: approve; the sender's next message reaches the agent and is answered.
    go(c, "pairing").await;
    let approve = shown(c, "tr[data-code] button.approve").await;
    shot(c, "04-pairing").await;
    approve.click().await.unwrap();
    text_with(c, "#notice", "Approved +15550001111").await;
    text_with(c, "#pairing-list", "No pending requests").await;
    go(c, "sandbox").await;
    shown(c, "#sandbox-text")
        .await
        .send_keys("hello agent")
        .await
        .unwrap();
    shown(c, "#sandbox-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    text_with(c, "#outbox", "got: hello agent").await;

    // Allow-list: the approved sender is there; add and remove another one.
    go(c, "allow").await;
    shown(c, "tr[data-entry=\"+15550001111\"]").await;
    shown(c, "#allow-entry")
        .await
        .send_keys("+1 555 000 2222")
        .await
        .unwrap();
    shown(c, "#allow-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    let remove = shown(c, "tr[data-entry=\"+15550002222\"] button").await;
    shot(c, "05-allow-list").await;
    remove.click().await.unwrap();
    text_with(c, "#notice", "Removed +15550002222").await;
    until("the removed entry to go", || async move {
        find(c, "tr[data-entry=\"+15550002222\"]")
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // Deliveries: the agent is down, the turn is dead-lettered; replay it once the agent
    // is back and its reply reaches the chat.
    agent.down.store(true, Ordering::SeqCst);
    let body = serde_json::json!({"from": "+15550001111", "text": "lost"}).to_string();
    let (s, b) = http(gw.port, "POST", "/v1/sim/inbound", TOKEN, Some(&body));
    assert_eq!(s, 200, "{b}");
    go(c, "deliveries").await;
    let replay = shown(c, "tr[data-state=\"dead\"] button.replay").await;
    shot(c, "06-deliveries").await;
    agent.down.store(false, Ordering::SeqCst);
    replay.click().await.unwrap();
    text_with(c, "#notice", "Replayed dlv_").await;
    until("the replayed turn's reply", || async move {
        gw.outbox()
            .iter()
            .any(|t| t.contains("got: lost"))
            .then_some(())
    })
    .await;

    // Activity: the live stream shows what happened; explain a stranger.
    go(c, "activity").await;
    text_with(c, "#stream-state", "live").await;
    text_with(c, "#events", "pairing_challenge").await;
    shown(c, "#explain-from")
        .await
        .send_keys("+15550003333")
        .await
        .unwrap();
    shown(c, "#explain-form button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    text_with(c, "#explain-result", "+15550003333").await;
    // A new event arrives live, without a reload.
    let body = serde_json::json!({"from": "+15550004444", "text": "knock knock"}).to_string();
    let (s, b) = http(gw.port, "POST", "/v1/sim/inbound", TOKEN, Some(&body));
    assert_eq!(s, 200, "{b}");
    text_with(c, "#events", "+15550004444").await;
    shot(c, "07-activity").await;

    // Link: unlink, show the QR, a simulated phone scans it, the page turns linked.
    go(c, "link").await;
    shown(c, "#link-logout").await.click().await.unwrap();
    until("the unlink confirmation", || async move {
        c.accept_alert().await.ok()
    })
    .await;
    text_with(c, "#notice", "Cleared account default").await;
    until("the account to be unlinked", || async move {
        let (_, b) = http(gw.port, "GET", "/v1/accounts/default", TOKEN, None);
        b.contains("\"connected\":false").then_some(())
    })
    .await;
    shown(c, "#link-qr").await.click().await.unwrap();
    let img = until("the QR image", || async move {
        let img = find(c, "#link-qr-img[src^=\"data:image/png;base64,\"]").await?;
        img.is_displayed().await.ok()?.then_some(img)
    })
    .await;
    text_with(c, "#link-message", "Scan").await;
    let valid_for = || async move {
        let t = find(c, "#link-expires").await?.text().await.ok()?;
        let secs = t.strip_prefix("Valid for ")?.split(' ').next()?;
        secs.parse::<u64>().ok()
    };
    let first_ttl = until("the first QR's lifetime", valid_for).await;
    assert!(
        (21..=60).contains(&first_ttl),
        "the first QR is valid ~60 s: {first_ttl}"
    );
    shot(c, "08-link-qr").await;
    // WhatsApp rotates the code: the page redraws the new one by itself.
    let first_qr = img.attr("src").await.unwrap().unwrap_or_default();
    let body = serde_json::json!({"fault": {"kind": "expireQr"}}).to_string();
    let (s, b) = http(gw.port, "POST", "/v1/sim/faults", TOKEN, Some(&body));
    assert_eq!(s, 200, "{b}");
    until("the rotated QR", || {
        let (img, first_qr) = (img.clone(), first_qr.clone());
        async move {
            let now = img.attr("src").await.ok()??;
            (now.starts_with("data:image/png;base64,") && now != first_qr).then_some(())
        }
    })
    .await;
    until("the rotated QR's lifetime", || async move {
        valid_for().await.filter(|s| *s <= 20)
    })
    .await;
    let (s, b) = http(gw.port, "POST", "/v1/sim/scan", TOKEN, Some("{}"));
    assert_eq!(s, 200, "{b}\n{}", gw.log());
    shown(c, "#link-message[data-state=\"connected\"]").await;
    text_with(c, "#link-message", "Linked").await;
    until("the QR to go once linked", || {
        let img = img.clone();
        async move { (!img.is_displayed().await.ok()?).then_some(()) }
    })
    .await;
    shot(c, "09-linked").await;

    // Link with a passkey: after the scan WhatsApp asks for the account's passkey; the
    // operator pastes the assertion an authenticator gave, then confirms the code the phone
    // shows.
    shown(c, "#link-logout").await.click().await.unwrap();
    until("the unlink confirmation", || async move {
        c.accept_alert().await.ok()
    })
    .await;
    until("the account to be unlinked again", || async move {
        let (_, b) = http(gw.port, "GET", "/v1/accounts/default", TOKEN, None);
        b.contains("\"connected\":false").then_some(())
    })
    .await;
    for kind in ["requirePasskey", "requirePasskeyConfirmation"] {
        let body = serde_json::json!({"fault": {"kind": kind, "required": true}}).to_string();
        let (s, b) = http(gw.port, "POST", "/v1/sim/faults", TOKEN, Some(&body));
        assert_eq!(s, 200, "{kind}: {b}");
    }
    shown(c, "#link-qr").await.click().await.unwrap();
    shown(c, "#link-qr-img[src^=\"data:image/png;base64,\"]").await;
    let (s, b) = http(gw.port, "POST", "/v1/sim/scan", TOKEN, Some("{}"));
    assert_eq!(s, 200, "{b}\n{}", gw.log());
    shown(c, "#passkey").await;
    // The request options sit in a closed <details>: read them as the operator's
    // authenticator would get them, not as shown text.
    let options = until("the passkey request options", || async move {
        let v = c
            .execute(
                "return document.getElementById('passkey-options').textContent",
                vec![],
            )
            .await
            .ok()?;
        let text = v.as_str()?.to_owned();
        serde_json::from_str::<Value>(&text).ok()
    })
    .await;
    let challenge = options["challenge"]
        .as_str()
        .unwrap_or_else(|| panic!("no challenge in the options: {options}"))
        .to_owned();
    shot(c, "09b-link-passkey").await;
    // What an authenticator returns (PublicKeyCredential.toJSON()), the challenge inside
    // clientDataJSON. A wrong one is refused with the reason, and the step stays open.
    let assertion = wagw_sim::webauthn_assertion;
    let field = shown(c, "#passkey-json").await;
    field.send_keys(&assertion("wrong")).await.unwrap();
    shown(c, "#passkey-send").await.click().await.unwrap();
    text_with(c, "#notice", "does not answer the challenge").await;
    let field = shown(c, "#passkey-json").await;
    field.clear().await.unwrap();
    field.send_keys(&assertion(&challenge)).await.unwrap();
    shown(c, "#passkey-send").await.click().await.unwrap();
    let code = shown(c, "#passkey-code").await.text().await.unwrap();
    assert!(!code.is_empty(), "no verification code shown");
    // The refusal is gone, and the code is not said to refresh (only QR codes do).
    until("the refusal to clear", || async move {
        find(c, "#notice")
            .await?
            .text()
            .await
            .ok()?
            .is_empty()
            .then_some(())
    })
    .await;
    let expires = text_with(c, "#link-expires", "Valid for").await;
    assert!(!expires.contains("refreshes"), "{expires}");
    shot(c, "09c-link-passkey-confirm").await;
    shown(c, "#passkey-confirm-btn")
        .await
        .click()
        .await
        .unwrap();
    shown(c, "#link-message[data-state=\"connected\"]").await;
    text_with(c, "#link-message", "Linked").await;
    until("the passkey steps to go once linked", || async move {
        let gone = !find(c, "#passkey").await?.is_displayed().await.ok()?
            && !find(c, "#passkey-confirm")
                .await?
                .is_displayed()
                .await
                .ok()?;
        gone.then_some(())
    })
    .await;

    // A phone-sized screen: one column, everything reachable.
    c.set_window_size(390, 844).await.unwrap();
    go(c, "accounts").await;
    shown(c, "[data-account=\"default\"][data-connected=\"true\"]").await;
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        overflow,
        Value::Bool(false),
        "the page scrolls sideways on a phone"
    );
    shot(c, "10-accounts-phone").await;
    go(c, "link").await;
    shot(c, "11-link-phone").await;

    // Forgetting the token leaves nothing behind.
    shown(c, "#forget").await.click().await.unwrap();
    shown(c, "#token-input").await;
    let kept = c
        .execute("return sessionStorage.getItem('wagw.token')", vec![])
        .await
        .unwrap();
    assert_eq!(kept, Value::Null);
    client.close().await.unwrap();
}
