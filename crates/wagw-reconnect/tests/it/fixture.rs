//! Drives the supervisor through `fixtures/reconnect.json`. Every failing step is reported
//! with its case name, step number, time and input; all failures are listed before the test
//! fails.

use std::collections::BTreeSet;

use serde::Deserialize;
use wagw_core::AccountId;
use wagw_reconnect::{
    Action, EffectivePolicy, Input, PinnedRandom, RandomUnit, ReconnectPolicy, SequenceRandom,
    State, step,
};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/reconnect.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Fixture {
    #[allow(dead_code)]
    description: String,
    account: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    policy: Option<ReconnectPolicy>,
    #[serde(default)]
    random: Option<Draws>,
    #[serde(default)]
    from: Option<State>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Draws {
    One(f64),
    Many(Vec<f64>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Step {
    at: i64,
    input: Input,
    state: Expected,
    actions: Vec<String>,
    #[serde(default)]
    notices: Option<Vec<String>>,
}

/// A phase name, or the full state.
#[derive(Deserialize)]
#[serde(untagged)]
enum Expected {
    Phase(String),
    Full(State),
}

impl Expected {
    fn matches(&self, state: &State) -> bool {
        match self {
            Expected::Phase(p) => state.phase().label() == p,
            Expected::Full(s) => s == state,
        }
    }

    fn describe(&self) -> String {
        match self {
            Expected::Phase(p) => format!("phase {p}"),
            Expected::Full(s) => serde_json::to_string(s).unwrap(),
        }
    }
}

fn load() -> Fixture {
    let text = std::fs::read_to_string(FIXTURE).expect("fixtures/reconnect.json is readable");
    serde_json::from_str(&text).expect("fixtures/reconnect.json parses")
}

/// Runs one case; returns a message per failing step (a case stops at its first failure,
/// since later steps depend on the state it should have reached).
fn run_case(case: &Case, account: &AccountId) -> Option<String> {
    let settings = case.policy.clone().unwrap_or_default();
    let (policy, clamps) = EffectivePolicy::new(settings);
    if !clamps.is_empty() {
        return Some(format!(
            "case '{}': its policy needs clamping ({clamps:?}); fix the fixture",
            case.name
        ));
    }
    let mut rng: Box<dyn RandomUnit> = match &case.random {
        None => Box::new(PinnedRandom(0.0)),
        Some(Draws::One(x)) => Box::new(PinnedRandom(*x)),
        Some(Draws::Many(xs)) => Box::new(SequenceRandom::new(xs.clone())),
    };
    let mut state = case.from.clone().unwrap_or_default();
    for (i, s) in case.steps.iter().enumerate() {
        let (next, actions) = step(&policy, state, s.input.clone(), s.at, &mut *rng);
        let got: Vec<String> = actions.iter().map(Action::summary).collect();
        let mut problems = Vec::new();
        if !s.state.matches(&next) {
            problems.push(format!(
                "  state:   expected {}\n           got      {}",
                s.state.describe(),
                serde_json::to_string(&next).unwrap()
            ));
        }
        if got != s.actions {
            problems.push(format!(
                "  actions: expected {:?}\n           got      {:?}",
                s.actions, got
            ));
        }
        if let Some(want) = &s.notices {
            let notices: Vec<String> = actions
                .iter()
                .filter_map(|a| match a {
                    Action::Notify(n) => Some(n.message(account)),
                    _ => None,
                })
                .collect();
            if &notices != want {
                problems.push(format!(
                    "  notices: expected {want:#?}\n           got      {notices:#?}"
                ));
            }
        }
        // Every recorded transition must describe this very step.
        for a in &actions {
            if let Action::Record(t) = a
                && (t.at_ms != s.at || t.to != next)
            {
                problems.push(format!("  transition record is inconsistent: {t:?}"));
            }
        }
        if !problems.is_empty() {
            return Some(format!(
                "case '{}' step {} (at {}, input {}):\n{}",
                case.name,
                i + 1,
                s.at,
                serde_json::to_string(&s.input).unwrap(),
                problems.join("\n")
            ));
        }
        state = next;
    }
    None
}

#[test]
fn supervisor_table() {
    let fixture = load();
    let account = AccountId::parse(&fixture.account).unwrap();
    let mut names = BTreeSet::new();
    let mut failures = Vec::new();
    for case in &fixture.cases {
        assert!(
            names.insert(case.name.clone()),
            "duplicate case name {}",
            case.name
        );
        if let Some(f) = run_case(case, &account) {
            failures.push(f);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixture cases failed:\n\n{}",
        failures.len(),
        fixture.cases.len(),
        failures.join("\n\n")
    );
}

/// The table must exercise every close reason in every state that has a connection, so a
/// new `CloseReason` variant (or a forgotten row) fails here rather than going untested.
#[test]
fn table_covers_every_close_reason_in_every_connection_state() {
    let fixture = load();
    let reasons = [
        "logged_out",
        "session_conflict",
        "temporary_ban",
        "client_outdated",
        "linking_failed",
        "stream_error",
        "connect_failed",
        "network",
        "requested",
    ];
    let phases = ["linking", "connecting", "connected", "probing"];
    let mut seen = BTreeSet::new();
    for case in &fixture.cases {
        let policy = EffectivePolicy::new(case.policy.clone().unwrap_or_default()).0;
        let mut state = case.from.clone().unwrap_or_default();
        for s in &case.steps {
            if let Input::Closed { reason } = &s.input {
                seen.insert((state.phase().label(), reason.label()));
            }
            state = step(
                &policy,
                state,
                s.input.clone(),
                s.at,
                &mut PinnedRandom(0.0),
            )
            .0;
        }
    }
    let mut missing = Vec::new();
    for phase in phases {
        for reason in reasons {
            if !seen.contains(&(phase, reason)) {
                missing.push(format!("{phase} + closed:{reason}"));
            }
        }
    }
    assert!(missing.is_empty(), "no fixture row for: {missing:?}");
}
