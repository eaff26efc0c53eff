//! `GET /v1/events`: the event log as Server-Sent Events, resumable.
//!
//! A client that reconnects with `Last-Event-ID: <seq>` (browsers and most SSE clients do
//! this on their own) first gets every retained event after `seq` from the durable log,
//! then the live feed, with no gap and no duplicate. `?after=<seq>` does the same for
//! clients that cannot set headers (`after=0` replays the whole retained log). Without
//! either, the stream starts with the next event. The stream ends when the daemon shuts
//! down (SIGTERM), so a connected client never delays the exit.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa::IntoParams;

use super::AppState;
use super::api::GatewayApi;
use super::error::ApiError;
use super::extract::ValidQuery;
use super::model::EventRecord;

/// How many events one catch-up read takes from the log.
const CATCH_UP_BATCH: usize = 256;

/// `?after=<seq>`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct EventsQuery {
    /// Resume after this sequence number (like `Last-Event-ID`; the header wins).
    pub after: Option<u64>,
}

/// The stream of inbound turns and status changes.
#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(EventsQuery,
        ("Last-Event-ID" = Option<u64>, Header, description = "Resume after this sequence number")),
    responses((status = 200, description = "text/event-stream of EventRecord (id = seq, event = type)",
        content_type = "text/event-stream", body = EventRecord),
        (status = 422, body = super::error::ErrorBody)))]
pub async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
    ValidQuery(q): ValidQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let from_header = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    ApiError::invalid(
                        "Last-Event-ID",
                        "Last-Event-ID: expected the numeric id of the last event received",
                    )
                })?,
        ),
        None => None,
    };
    let cursor = from_header.or(q.after);
    // Subscribe before reading the log, so nothing appended in between is missed.
    let live = s.api.subscribe_events();
    let stream = EventStream::new(s.api.clone(), live, cursor);
    // Ends with the daemon: an open stream must not hold the graceful shutdown.
    let stream = stream
        .into_stream()
        .take_until(s.closing.clone().cancelled_owned());
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The merge of the durable log and the live feed, as a state machine.
struct EventStream {
    api: Arc<dyn GatewayApi>,
    live: broadcast::Receiver<EventRecord>,
    /// The last sequence number sent (None: nothing sent and no resume point).
    cursor: Option<u64>,
    /// Events read from the log, not yet sent.
    backlog: VecDeque<EventRecord>,
    /// The log may hold events newer than `cursor` that the live feed will not repeat.
    catching_up: bool,
}

impl EventStream {
    fn new(
        api: Arc<dyn GatewayApi>,
        live: broadcast::Receiver<EventRecord>,
        cursor: Option<u64>,
    ) -> Self {
        EventStream {
            api,
            live,
            catching_up: cursor.is_some(),
            cursor,
            backlog: VecDeque::new(),
        }
    }

    /// The next event to send; None when the gateway closed the feed or the log failed.
    async fn next(&mut self) -> Option<EventRecord> {
        loop {
            if let Some(event) = self.backlog.pop_front() {
                if self.cursor.is_some_and(|c| event.seq <= c) {
                    continue;
                }
                self.cursor = Some(event.seq);
                return Some(event);
            }
            if self.catching_up {
                let after = self.cursor.unwrap_or(0);
                match self.api.events_after(after, CATCH_UP_BATCH) {
                    Ok(batch) if batch.is_empty() => self.catching_up = false,
                    Ok(batch) => self.backlog.extend(batch),
                    Err(e) => {
                        tracing::warn!(target: "wagw::http", error = %e, "event log read failed; closing the stream");
                        return None;
                    }
                }
                continue;
            }
            match self.live.recv().await {
                Ok(event) => match self.cursor {
                    Some(c) if event.seq <= c => continue,
                    // A gap: the event is in the log (appended before it is published), so
                    // read the log from the cursor rather than skip ahead.
                    Some(c) if event.seq > c + 1 => self.catching_up = true,
                    _ => {
                        self.cursor = Some(event.seq);
                        return Some(event);
                    }
                },
                // Too slow for the live feed: fall back to the log.
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::debug!(target: "wagw::http", skipped = n, "event stream lagged; reading the log");
                    self.catching_up = self.cursor.is_some();
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    fn into_stream(self) -> impl Stream<Item = Result<Event, Infallible>> {
        futures_util::stream::unfold(self, |mut state| async move {
            let record = state.next().await?;
            Some((Ok(frame(&record)), state))
        })
    }
}

/// One SSE frame: `id: <seq>`, `event: <type>`, `data: <the record as JSON>`.
fn frame(record: &EventRecord) -> Event {
    let data = serde_json::to_string(record).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .id(record.seq.to_string())
        .event(record.kind.clone())
        .data(data)
}
