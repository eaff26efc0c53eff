//! `GET /v1/events`: resume with Last-Event-ID, live follow-up, catch-up after lagging.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

/// Reads SSE frames from a streaming body until `n` events arrived.
async fn read_events(body: &mut Body, n: usize) -> Vec<(String, String, Value)> {
    let mut buf = String::new();
    let mut out = Vec::new();
    while out.len() < n {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
            .await
            .expect("event stream stalled")
            .expect("stream ended")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buf.push_str(std::str::from_utf8(&data).unwrap());
        }
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
            for line in block.lines() {
                if let Some(v) = line
                    .strip_prefix("id: ")
                    .or_else(|| line.strip_prefix("id:"))
                {
                    id = v.to_owned();
                } else if let Some(v) = line
                    .strip_prefix("event: ")
                    .or_else(|| line.strip_prefix("event:"))
                {
                    event = v.to_owned();
                } else if let Some(v) = line
                    .strip_prefix("data: ")
                    .or_else(|| line.strip_prefix("data:"))
                {
                    data.push_str(v);
                }
            }
            if !id.is_empty() {
                out.push((id, event, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn event_stream_resumes_after_last_event_id_without_gaps_or_duplicates() {
    let (app, fake, _d) = setup(false);
    for i in 1..=3 {
        fake.emit("account_state", json!({"account": "default", "n": i}));
    }
    let mut r = req("GET", "/v1/events", None);
    r.headers_mut()
        .insert("last-event-id", "1".parse().unwrap());
    let res = app.clone().oneshot(r).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = res.into_body();
    let first = read_events(&mut body, 2).await;
    assert_eq!(
        first.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["2", "3"]
    );
    assert_eq!(first[0].1, "account_state");
    assert_eq!(first[0].2["data"]["n"], 2);
    assert_eq!(first[0].2["seq"], 2);

    // Live events follow.
    fake.emit("turn", json!({"text": "hello"}));
    let live = read_events(&mut body, 1).await;
    assert_eq!(live[0].0, "4");
    assert_eq!(live[0].1, "turn");

    // A client that reconnects after 3 gets 4 again, then 5 live.
    let res = app
        .clone()
        .oneshot(req("GET", "/v1/events?after=3", None))
        .await
        .unwrap();
    let mut body = res.into_body();
    let again = read_events(&mut body, 1).await;
    assert_eq!(again[0].0, "4");
    fake.emit("linked", json!({}));
    assert_eq!(read_events(&mut body, 1).await[0].0, "5");
}

#[tokio::test]
async fn event_stream_catches_up_from_the_log_after_lagging() {
    let (app, fake, _d) = setup(false);
    fake.emit("a", json!({}));
    let res = app
        .clone()
        .oneshot(req("GET", "/v1/events?after=0", None))
        .await
        .unwrap();
    let mut body = res.into_body();
    assert_eq!(read_events(&mut body, 1).await[0].0, "1");
    // More than the live channel holds (16) while the client is not reading.
    for _ in 0..40 {
        fake.emit("b", json!({}));
    }
    let got = read_events(&mut body, 40).await;
    let ids: Vec<u64> = got.iter().map(|e| e.0.parse().unwrap()).collect();
    assert_eq!(ids, (2..=41).collect::<Vec<_>>());
}
