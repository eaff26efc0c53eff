//! Table test over `fixtures/identity.json`: every identity parser against its vectors.
//! A failing row prints its name, parser and input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;
use wagw_core::{
    AccountId, IdentityError, Jid, Lid, Phone, looks_like_target_id, normalize_agent_id,
};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/identity.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {path}: {e}"))
}

/// What one row produced: the display form plus, for JIDs, the derived views.
struct Outcome {
    display: String,
    kind: Option<String>,
    phone: Option<Option<String>>,
    without_device: Option<String>,
}

impl Outcome {
    fn plain(display: impl ToString) -> Outcome {
        Outcome {
            display: display.to_string(),
            kind: None,
            phone: None,
            without_device: None,
        }
    }

    fn jid(j: Jid) -> Outcome {
        Outcome {
            display: j.to_string(),
            kind: Some(j.kind().to_string()),
            phone: Some(j.to_phone().map(|p| p.to_string())),
            without_device: Some(j.without_device().to_string()),
        }
    }
}

fn run(parser: &str, input: &str) -> Result<Outcome, IdentityError> {
    Ok(match parser {
        "phone" => Outcome::plain(Phone::parse(input)?),
        "jid" => Outcome::jid(Jid::parse(input)?),
        "target" => Outcome::jid(Jid::from_target(input)?),
        "lid" => Outcome::plain(Lid::parse(input)?),
        "account" => Outcome::plain(AccountId::parse(input)?),
        "agent" => Outcome::plain(normalize_agent_id(input)),
        "looksLikeTarget" => Outcome::plain(looks_like_target_id(input)),
        other => panic!("unknown parser {other:?} in fixtures/identity.json"),
    })
}

#[test]
fn identity_vectors() {
    let doc = fixture();
    let cases = doc["cases"].as_array().expect("a `cases` array");
    assert!(cases.len() >= 60, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let parser = case["parse"].as_str().unwrap_or("?");
        let input = case["input"].as_str().expect("input");
        let row = format!("{name} [{parser} {input:?}]");
        match (run(parser, input), case.get("output"), case.get("error")) {
            (Ok(got), Some(Value::String(want)), None) => {
                if &got.display != want {
                    failures.push(format!("{row}: got {:?}, want {want:?}", got.display));
                }
                if let Some(want) = case.get("kind").and_then(Value::as_str)
                    && got.kind.as_deref() != Some(want)
                {
                    failures.push(format!("{row}: kind {:?}, want {want:?}", got.kind));
                }
                if let Some(want) = case.get("phone") {
                    let want = want.as_str().map(str::to_string);
                    if got.phone != Some(want.clone()) {
                        failures.push(format!("{row}: to_phone {:?}, want {want:?}", got.phone));
                    }
                }
                if let Some(want) = case.get("withoutDevice").and_then(Value::as_str)
                    && got.without_device.as_deref() != Some(want)
                {
                    failures.push(format!(
                        "{row}: without_device {:?}, want {want:?}",
                        got.without_device
                    ));
                }
            }
            (Err(e), None, Some(Value::String(want))) => {
                if e.kind() != want {
                    failures.push(format!("{row}: error {} ({e}), want {want}", e.kind()));
                }
                // Errors quote the input so a user can find it (the empty case has none).
                let trimmed = input.trim();
                if !trimmed.is_empty() && e.kind() != "empty" && !e.to_string().contains(trimmed) {
                    failures.push(format!(
                        "{row}: message {:?} does not quote the input",
                        e.to_string()
                    ));
                }
            }
            (Ok(got), _, Some(want)) => {
                failures.push(format!(
                    "{row}: parsed as {:?}, want error {want}",
                    got.display
                ));
            }
            (Err(e), Some(want), _) => {
                failures.push(format!("{row}: error {} ({e}), want {want}", e.kind()));
            }
            _ => failures.push(format!("{row}: a case needs exactly one of output / error")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
