//! The event log: ids, trimming, reopening, resumable cursors.

use std::time::Duration;

use serde_json::json;
use wagw_agents::*;

use crate::support::temp_db;

async fn next(cursor: &mut EventCursor) -> CursorItem {
    tokio::time::timeout(Duration::from_secs(5), cursor.next())
        .await
        .expect("an item")
        .unwrap()
}

fn ids(events: &[Event]) -> Vec<u64> {
    events.iter().map(|e| e.id).collect()
}

#[tokio::test]
async fn ids_grow_trimming_keeps_the_newest_and_reopen_never_reuses() {
    let (dir, db) = temp_db();
    let log = EventLog::open(db.open_tree("events").unwrap(), 5).unwrap();
    assert_eq!(log.last_id().unwrap(), 0);
    for i in 1..=12u64 {
        assert_eq!(log.append("turn", &json!({"n": i})).await.unwrap(), i);
    }
    let page = log.read_after(0, 100).unwrap();
    assert_eq!(ids(&page.events), [8, 9, 10, 11, 12]);
    assert_eq!(page.missed, 7);
    let page = log.read_after(9, 2).unwrap();
    assert_eq!((ids(&page.events), page.missed), (vec![10, 11], 0));
    let page = log.read_after(12, 10).unwrap();
    assert_eq!((page.events.len(), page.missed), (0, 0));
    assert_eq!(
        log.read_after(9, 10).unwrap().events[0].data,
        json!({"n": 10})
    );

    drop(log);
    drop(db);
    let db = wagw_store::Db::open(dir.path().join("state.sqlite3"), &Default::default()).unwrap();
    let log = EventLog::open(db.open_tree("events").unwrap(), 3).unwrap();
    assert_eq!(log.last_id().unwrap(), 12);
    assert_eq!(log.append("status", &json!({})).await.unwrap(), 13);
    // A smaller capacity after the restart trims down to it.
    assert_eq!(ids(&log.read_after(0, 100).unwrap().events), [11, 12, 13]);
}

#[tokio::test]
async fn cursor_resumes_after_last_event_id_then_goes_live() {
    let (_dir, db) = temp_db();
    let log = EventLog::open(db.open_tree("events").unwrap(), 100).unwrap();
    for i in 1..=5 {
        log.append("turn", &json!({"n": i})).await.unwrap();
    }
    let mut resumed = log.cursor(Some(3)).unwrap();
    let mut fresh = log.cursor(None).unwrap();
    assert_eq!(
        next(&mut resumed).await,
        CursorItem::Event(log.read_after(3, 1).unwrap().events[0].clone())
    );
    assert!(matches!(
        next(&mut resumed).await,
        CursorItem::Event(Event { id: 5, .. })
    ));
    let appender = {
        let log = log.clone();
        tokio::spawn(async move { log.append("status", &json!({"state": "connected"})).await })
    };
    let CursorItem::Event(live) = next(&mut resumed).await else {
        panic!()
    };
    assert_eq!((live.id, live.kind.as_str()), (6, "status"));
    assert_eq!(appender.await.unwrap().unwrap(), 6);
    // A client without Last-Event-ID starts from now.
    assert!(matches!(
        next(&mut fresh).await,
        CursorItem::Event(Event { id: 6, .. })
    ));
    assert_eq!(fresh.last_id(), 6);
    // An id from the future (a wiped log) also starts from now rather than waiting forever.
    let mut future = log.cursor(Some(999)).unwrap();
    log.append("turn", &json!({})).await.unwrap();
    assert!(matches!(
        next(&mut future).await,
        CursorItem::Event(Event { id: 7, .. })
    ));
}

#[tokio::test]
async fn a_client_away_too_long_is_told_what_it_missed() {
    let (_dir, db) = temp_db();
    let log = EventLog::open(db.open_tree("events").unwrap(), 3).unwrap();
    for _ in 0..10 {
        log.append("turn", &json!({})).await.unwrap();
    }
    let mut cursor = log.cursor(Some(2)).unwrap();
    let missed = next(&mut cursor).await;
    assert_eq!(
        missed,
        CursorItem::Missed {
            count: 5,
            resume_after: 7
        }
    );
    assert_eq!(
        missed.to_sse(),
        "id: 7\nevent: missed\ndata: {\"count\":5}\n\n"
    );
    for want in 8..=10 {
        assert!(
            matches!(next(&mut cursor).await, CursorItem::Event(Event { id, .. }) if id == want)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_that_lags_reads_the_rest_from_the_store() {
    let (_dir, db) = temp_db();
    let log = EventLog::open(db.open_tree("events").unwrap(), 5000).unwrap();
    let mut cursor = log.cursor(None).unwrap();
    // More than the live channel holds, from several tasks at once.
    let mut tasks = Vec::new();
    for t in 0..4 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..300 {
                log.append("turn", &json!({"task": t, "i": i}))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for want in 1..=1200u64 {
        match next(&mut cursor).await {
            CursorItem::Event(e) => assert_eq!(e.id, want),
            other => panic!("expected event {want}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn events_format_as_sse() {
    let (_dir, db) = temp_db();
    let log = EventLog::open(db.open_tree("events").unwrap(), 10).unwrap();
    log.append("turn", &json!({"body": "line one\nline two"}))
        .await
        .unwrap();
    let e = &log.read_after(0, 1).unwrap().events[0];
    // JSON escapes the newline, so a turn is always one data line.
    assert_eq!(
        e.to_sse(),
        "id: 1\nevent: turn\ndata: {\"body\":\"line one\\nline two\"}\n\n"
    );
}
