//! The tracing helpers emit structured events under `wagw::reconnect` at the right level.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};
use wagw_core::{AccountId, CloseReason};
use wagw_reconnect::{
    Action, EffectivePolicy, Input, Notice, PinnedRandom, State, Supervisor, log_notice,
    log_transition,
};

#[derive(Debug, Clone)]
struct Captured {
    target: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

/// A minimal subscriber that keeps every event (spans are not used by the helpers).
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_string(),
            level: *event.metadata().level(),
            fields,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

fn capture(f: impl FnOnce()) -> Vec<Captured> {
    let c = Capture::default();
    tracing::subscriber::with_default(c.clone(), f);
    c.0.lock().unwrap().clone()
}

#[test]
fn transitions_are_logged_with_structured_fields() {
    let account = AccountId::parse("work").unwrap();
    let mut sup = Supervisor::new(EffectivePolicy::default());
    let mut rng = PinnedRandom(0.0);
    let mut actions = Vec::new();
    actions.extend(sup.handle(Input::Start { linked: true }, 0, &mut rng));
    actions.extend(sup.handle(Input::Connected, 100, &mut rng));
    actions.extend(sup.handle(
        Input::Closed {
            reason: CloseReason::StreamError {
                code: 503,
                detail: "unavailable".into(),
            },
        },
        200,
        &mut rng,
    ));
    actions.extend(sup.handle(
        Input::Closed {
            reason: CloseReason::LoggedOut {
                detail: "removed".into(),
            },
        },
        300,
        &mut rng,
    ));
    // The last close arrives in Backoff (stale), so only three transitions happened.
    let events = capture(|| {
        for a in &actions {
            if let Action::Record(t) = a {
                log_transition(&account, t);
            }
        }
    });
    assert_eq!(events.len(), 3, "{events:#?}");
    assert!(events.iter().all(|e| e.target == "wagw::reconnect"));
    let levels: Vec<Level> = events.iter().map(|e| e.level).collect();
    assert_eq!(levels, [Level::INFO, Level::INFO, Level::WARN]);

    let backoff = &events[2].fields;
    assert_eq!(backoff["account"], "work");
    assert_eq!(backoff["from"], "connected");
    assert_eq!(backoff["to"], "backoff");
    assert_eq!(backoff["cause"], "closed:stream_error");
    assert_eq!(backoff["attempt"], "1");
    assert_eq!(backoff["until_ms"], "2200");
    assert_eq!(backoff["close_code"], "503");
    assert_eq!(backoff["close_reason"], "stream error 503: unavailable");
    assert_eq!(
        backoff["message"],
        "whatsapp connection connected -> backoff (closed:stream_error)"
    );
    // Absent values are simply absent.
    assert!(!events[0].fields.contains_key("close_code"));
}

#[test]
fn stops_log_at_error_unless_requested() {
    let account = AccountId::default_account();
    let p = EffectivePolicy::default();
    let connected = State::Connected {
        since_ms: 0,
        last_activity_ms: 0,
        attempt: 0,
    };
    let level_after = |input: Input| {
        let (_, actions) =
            wagw_reconnect::step(&p, connected.clone(), input, 10, &mut PinnedRandom(0.0));
        let events = capture(|| {
            if let Some(Action::Record(t)) = actions.first() {
                log_transition(&account, t);
            }
        });
        events[0].level
    };
    let conflict = Input::Closed {
        reason: CloseReason::SessionConflict { detail: "x".into() },
    };
    assert_eq!(level_after(conflict), Level::ERROR);
    assert_eq!(level_after(Input::StopRequested), Level::INFO);
}

#[test]
fn notices_log_their_message_at_their_severity() {
    let account = AccountId::parse("work").unwrap();
    let events = capture(|| {
        log_notice(&account, &Notice::LoggedOut);
        log_notice(&account, &Notice::NotLinked);
    });
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].level, Level::ERROR);
    assert_eq!(events[0].fields["notice"], "logged_out");
    assert!(events[0].fields["message"].contains("wagw channels login --account work"));
    assert_eq!(events[1].level, Level::WARN);
    assert!(events.iter().all(|e| e.target == "wagw::reconnect"));
}
