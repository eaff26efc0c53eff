//! The exec sink with real processes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use wagw_agents::*;

use crate::support::turn;

fn agent(command: &[&str], timeout_ms: u64) -> ExecAgent {
    ExecAgent::new(ExecSpec {
        agent_id: "cmd".into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        env: BTreeMap::new(),
        cwd: None,
        timeout: Duration::from_millis(timeout_ms),
    })
}

#[tokio::test]
async fn stdin_is_the_turn_and_stdout_the_reply() {
    let t = turn("e1", serde_json::json!({}));
    let out = agent(&["sh", "-c", "cat; printf '\\n\\n'"], 5000)
        .run(&t)
        .await
        .unwrap();
    assert_eq!(out.as_deref(), Some(t.json.as_str()), "trimmed stdout");
    let replies = agent(&["echo", "  hi there  "], 5000)
        .replies(&t)
        .await
        .unwrap();
    assert_eq!(replies, vec![AgentReply::text("hi there")]);
}

#[tokio::test]
async fn empty_stdout_means_no_reply() {
    let t = turn("e2", serde_json::json!({}));
    assert_eq!(
        agent(&["sh", "-c", "printf '  \\n'"], 5000)
            .run(&t)
            .await
            .unwrap(),
        None
    );
    assert!(agent(&["true"], 5000).replies(&t).await.unwrap().is_empty());
}

#[tokio::test]
async fn env_and_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let a = ExecAgent::new(ExecSpec {
        agent_id: "cmd".into(),
        command: vec!["sh".into(), "-c".into(), "printf '%s %s %s %s' \"$WAGW_AGENT_ID\" \"$WAGW_ACCOUNT_ID\" \"$WAGW_DELIVERY_ID\" \"$GREETING\"; pwd".into()],
        env: [("GREETING".to_string(), "hola".to_string())].into(),
        cwd: Some(dir.path().to_path_buf()),
        timeout: Duration::from_secs(5),
    });
    let out = a
        .run(&turn("e3", serde_json::json!({})))
        .await
        .unwrap()
        .unwrap();
    let canonical = dir.path().canonicalize().unwrap();
    assert_eq!(out, format!("cmd work e3 hola{}", canonical.display()));
}

#[tokio::test]
async fn non_zero_exit_is_an_error_with_stderr_tail() {
    let t = turn("e4", serde_json::json!({}));
    let err = agent(&["sh", "-c", "echo partial; head -c 5000 /dev/zero | tr '\\0' x >&2; echo ' model overloaded' >&2; exit 3"], 5000)
        .run(&t)
        .await
        .unwrap_err();
    let AgentsError::ExecFailed {
        status,
        stderr_tail,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(status, "exited with code 3");
    assert!(stderr_tail.ends_with("model overloaded"), "{stderr_tail}");
    assert!(stderr_tail.len() <= 2048);
    let err = agent(&["sh", "-c", "kill -9 $$"], 5000)
        .run(&t)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("killed by signal 9"), "{err}");
}

#[tokio::test]
async fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    // A shell whose child (sleep) holds stdout open: killing only the shell would hang.
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let err = agent(&["sh", "-c", &script], 300)
        .run(&turn("e5", serde_json::json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AgentsError::ExecTimeout {
                timeout_ms: 300,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert_stopped(&pidfile).await;
}

#[tokio::test]
async fn an_abandoned_turn_takes_its_process_group_down() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let a = agent(&["sh", "-c", &script], 60_000);
    let t = turn("e6", serde_json::json!({}));
    let mut run = Box::pin(a.run(&t));
    // Run until the grandchild exists, then drop the turn (what shutdown does to it).
    tokio::select! {
        out = &mut run => panic!("the command finished early: {out:?}"),
        () = async {
            while !std::fs::read_to_string(&pidfile).is_ok_and(|p| p.ends_with('\n')) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        } => {}
    }
    drop(run);
    assert_stopped(&pidfile).await;
}

/// Waits until the process whose pid `pidfile` holds no longer runs (gone, or a zombie
/// waiting for a reaper).
async fn assert_stopped(pidfile: &std::path::Path) {
    let pid = std::fs::read_to_string(pidfile).unwrap().trim().to_owned();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .chars()
            .next();
        if stat.is_empty() || state == Some('Z') {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the grandchild {pid} survived: {stat}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn spawn_failure_and_oversized_output() {
    let t = turn("e6", serde_json::json!({}));
    let err = agent(&["/nonexistent/agent"], 5000)
        .run(&t)
        .await
        .unwrap_err();
    assert!(matches!(err, AgentsError::ExecSpawn { .. }), "{err:?}");
    let err = agent(
        &["sh", "-c", "head -c 1100000 /dev/zero | tr '\\0' a"],
        10_000,
    )
    .run(&t)
    .await
    .unwrap_err();
    assert!(
        matches!(err, AgentsError::ExecOutputTooLarge { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_command_that_ignores_a_large_stdin_still_works() {
    let big = turn("e7", serde_json::json!({"body": "x".repeat(1 << 20)}));
    assert_eq!(
        agent(&["echo", "ok"], 5000)
            .run(&big)
            .await
            .unwrap()
            .as_deref(),
        Some("ok")
    );
}
