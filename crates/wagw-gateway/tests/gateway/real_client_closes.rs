//! The gateway over the real client and the fake server (harness in `real_client`): each
//! close classified, and reconnects on the configured backoff.
//!
//! Real time, so every timing assertion is a generous bound: a gap is never shorter than 0.8×
//! its configured delay and never longer than the delay plus [`SLACK`].

use std::time::{Duration, Instant};

use wagw_fakewa::{FakeConfig, LoginOutcome};

use crate::real_client::{Rig, delay};

/// Upper bound on anything the client and server do between two steps (handshake, login).
const SLACK: Duration = Duration::from_millis(1500);

/// Asserts that `gap` honours the configured `delay`: at least 0.8× of it, at most it plus
/// the time a handshake can take.
fn assert_gap(what: &str, gap: Duration, delay: Duration) {
    assert!(
        gap >= delay.mul_f64(0.8),
        "{what}: reconnected after {gap:?}, before the configured {delay:?}"
    );
    assert!(
        gap <= delay + SLACK,
        "{what}: reconnected after {gap:?}, long after the configured {delay:?}"
    );
}

/// The attempt number in a backoff detail (`disconnected; retry 2/12 in 600ms`).
fn retry_attempt(detail: &str) -> u32 {
    let rest = detail
        .split("retry ")
        .nth(1)
        .unwrap_or_else(|| panic!("no retry in {detail:?}"));
    rest.split('/').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transient_closes_reconnect_on_the_configured_backoff_and_stability_resets_it() {
    let init = 300;
    let rig = Rig::start(FakeConfig::default(), init).await;
    let (mut conn, _) = rig.accepted().await;
    rig.until_connected().await;

    // Three failures in a row: stream error 503, EOF, 503. Each close is issued right after
    // the connection came up, so the streak continues and the delay doubles.
    let mut gaps = Vec::new();
    for n in 1..=3u32 {
        let closed_at = Instant::now();
        if n == 2 {
            conn.close();
        } else {
            conn.stream_error(503);
            conn.close();
        }
        let (next, at) = rig.accepted().await;
        gaps.push(at - closed_at);
        assert_gap(&format!("failure {n}"), at - closed_at, delay(init, n));
        conn = next;
        rig.until_connected().await;
    }
    println!("reconnect gaps after failures 1, 2, 3: {gaps:?}");
    assert!(
        gaps.windows(2).all(|w| w[1] > w[0]),
        "delays did not grow: {gaps:?}"
    );
    let backoffs: Vec<u32> = rig
        .states()
        .iter()
        .filter(|(state, _)| state == "backoff")
        .map(|(_, d)| retry_attempt(d))
        .collect();
    assert_eq!(backoffs, [1, 2, 3], "states: {:?}", rig.states());
    let m = rig.status().metrics;
    assert_eq!(m.reconnects.get("stream_error"), Some(&2), "{m:?}");
    assert_eq!(m.reconnects.get("network"), Some(&1), "{m:?}");
    // Every retry went backoff → connecting → connected.
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    let tail: Vec<&str> = states.iter().map(String::as_str).rev().take(9).collect();
    assert_eq!(
        tail,
        [
            "connected",
            "connecting",
            "backoff",
            "connected",
            "connecting",
            "backoff",
            "connected",
            "connecting",
            "backoff"
        ],
        "states: {states:?}"
    );

    // A connection that stays up past `web.heartbeatSeconds` resets the streak: the next
    // failure waits the first delay again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let closed_at = Instant::now();
    conn.close();
    let (_conn, at) = rig.accepted().await;
    assert_gap("after a stable connection", at - closed_at, delay(init, 1));
    assert!(
        at - closed_at < delay(init, 4),
        "the streak was not reset: {:?}",
        at - closed_at
    );
    let last_backoff = rig
        .states()
        .into_iter()
        .rfind(|(state, _)| state == "backoff")
        .unwrap();
    assert_eq!(retry_attempt(&last_backoff.1), 1, "{last_backoff:?}");
    rig.until_connected().await;
    assert_eq!(rig.server.transports_opened(), 5);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_required_515_reconnects_at_once() {
    // A long initial delay, so "at once" cannot be mistaken for a short backoff.
    let init = 3000;
    let rig = Rig::start(FakeConfig::default(), init).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    let closed_at = Instant::now();
    conn.stream_error(515);
    let (_conn, at) = rig.accepted().await;
    let gap = at - closed_at;
    assert!(
        gap < delay(init, 1).mul_f64(0.8),
        "515 waited {gap:?}, like a backoff"
    );
    rig.until_connected().await;
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    assert!(
        !states.iter().any(|s| s == "backoff"),
        "515 went through backoff: {states:?}"
    );
    assert_eq!(rig.server.transports_opened(), 2);
    let m = rig.status().metrics;
    assert_eq!(m.reconnects.get("stream_error"), Some(&1), "{m:?}");
    rig.stop().await;
}

/// Checks that the gateway stops for good with an operator message containing each of
/// `says` (the notice replaces the state's detail once the stop's actions ran).
async fn assert_stops(rig: &Rig, says: &[&str]) {
    rig.until("stopped with the operator message", |s| {
        let detail = s.detail.as_deref().unwrap_or_default();
        s.state == "stopped" && says.iter().all(|part| detail.contains(part))
    })
    .await;
    assert!(!rig.status().connected);
    rig.assert_no_retry(6).await;
    let s = rig.status();
    assert_eq!(s.state, "stopped");
    assert!(s.metrics.reconnects.is_empty(), "{s:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logged_out_401_stops_and_discards_the_credentials() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    assert!(rig.auth_dir.exists());
    conn.stream_error(401);
    assert_stops(
        &rig,
        &["logged out (401)", "wagw channels login --account default"],
    )
    .await;
    assert!(!rig.auth_dir.exists(), "the dead credentials were kept");
    assert_eq!(rig.server.transports_opened(), 1);
    // The event stream carries the full notice, relink command included.
    assert!(
        rig.states().iter().any(|(state, detail)| state == "stopped"
            && detail.contains("wagw channels login --account default")),
        "{:?}",
        rig.states()
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_failure_401_stops_without_retrying() {
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 401,
                code: None,
                expire_secs: None,
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let _conn = rig.accepted().await;
    assert_stops(
        &rig,
        &["logged out (401)", "wagw channels login --account default"],
    )
    .await;
    assert!(!rig.auth_dir.exists(), "the dead credentials were kept");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_conflict_440_stops_instead_of_fighting() {
    let rig = Rig::start(FakeConfig::default(), 300).await;
    let (conn, _) = rig.accepted().await;
    rig.until_connected().await;
    conn.conflict_replaced();
    assert_stops(&rig, &["440", "another client holds the session"]).await;
    assert!(rig.auth_dir.exists(), "a conflict must not delete the link");
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_outdated_405_stops_and_says_to_update() {
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 405,
                code: None,
                expire_secs: None,
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let _conn = rig.accepted().await;
    assert_stops(&rig, &["405", "Update wagw"]).await;
    assert!(rig.auth_dir.exists());
    assert_eq!(rig.server.transports_opened(), 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_ban_402_waits_until_its_expiry() {
    let ban = Duration::from_secs(2);
    let rig = Rig::start(
        FakeConfig {
            login: LoginOutcome::Failure {
                reason: 402,
                code: Some(101),
                expire_secs: Some(ban.as_secs()),
            },
            ..FakeConfig::default()
        },
        300,
    )
    .await;
    let (_conn, banned_at) = rig.accepted().await;
    rig.until("banned", |s| s.state == "banned").await;
    let detail = rig.status().detail.unwrap_or_default();
    assert!(
        detail.contains("temporarily banned") && detail.contains("402"),
        "{detail}"
    );
    // The ban is over by the time the gateway retries.
    rig.server.set_login(LoginOutcome::Success);
    let (_conn, at) = rig.accepted().await;
    let gap = at - banned_at;
    assert!(
        gap >= ban.mul_f64(0.8),
        "reconnected {gap:?} into a {ban:?} ban"
    );
    assert!(gap <= ban + SLACK, "waited {gap:?} for a {ban:?} ban");
    rig.until_connected().await;
    let states: Vec<String> = rig.states().into_iter().map(|(s, _)| s).collect();
    assert!(
        !states.iter().any(|s| s == "backoff"),
        "a ban is not a failure: {states:?}"
    );
    assert_eq!(rig.server.transports_opened(), 2);
    let m = rig.status().metrics;
    assert_eq!(m.reconnects.values().sum::<u64>(), 1, "{m:?}");
    rig.stop().await;
}
