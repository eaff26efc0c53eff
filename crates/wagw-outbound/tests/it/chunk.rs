//! `fixtures/chunk.json`: every row is run; a failing row prints its name and input.

use serde::Deserialize;
use wagw_core::ChunkMode;
use wagw_outbound::chunk_text;

/// One row. `repeat` repeats `text` (for long inputs); `expectedLengths` gives the chunks'
/// lengths in characters instead of their text; `reference` (ignored here) notes what the
/// reference gives when it differs.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Case {
    name: String,
    text: String,
    #[serde(default)]
    repeat: Option<usize>,
    limit: usize,
    mode: ChunkMode,
    #[serde(default)]
    expected: Option<Vec<String>>,
    #[serde(default)]
    expected_lengths: Option<Vec<usize>>,
}

fn cases() -> Vec<Case> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/chunk.json");
    let raw = std::fs::read_to_string(path).expect("fixtures/chunk.json");
    let mut cases: Vec<Case> = serde_json::from_str(&raw).expect("valid chunk.json");
    for c in &mut cases {
        if let Some(n) = c.repeat.take() {
            c.text = c.text.repeat(n);
        }
    }
    cases
}

#[test]
fn chunk_fixture_table() {
    let cases = cases();
    assert!(cases.len() >= 40, "fixture has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = chunk_text(&case.text, case.limit, case.mode);
        let ok = match (&case.expected, &case.expected_lengths) {
            (Some(want), None) => &got == want,
            (None, Some(want)) => {
                &got.iter().map(|c| c.chars().count()).collect::<Vec<_>>() == want
            }
            _ => {
                failures.push(format!(
                    "{}: give exactly one of expected / expectedLengths",
                    case.name
                ));
                continue;
            }
        };
        if !ok {
            let want = case
                .expected
                .as_ref()
                .map(|e| format!("{e:?}"))
                .or_else(|| {
                    case.expected_lengths
                        .as_ref()
                        .map(|l| format!("lengths {l:?}"))
                })
                .unwrap_or_default();
            let text: String = case.text.chars().take(200).collect();
            failures.push(format!(
                "{}: text={text:?} limit={} mode={:?}\n  expected {want}\n  got      {:?}",
                case.name, case.limit, case.mode, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing rows:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Invariants on every fixture row and a few generated texts: chunks respect the limit,
/// fences balance, and no non-whitespace character is lost outside fences.
#[test]
fn chunk_invariants() {
    let mut texts: Vec<(String, usize)> = cases()
        .into_iter()
        .filter(|c| c.limit > 0)
        .map(|c| (c.text, c.limit))
        .collect();
    let prose =
        "The quick brown fox 🦊 jumps over the lazy dog. 日本語のテキスト、改行なし。\n".repeat(40);
    for limit in [7, 13, 64, 100, 333] {
        texts.push((prose.clone(), limit));
        texts.push((
            format!(
                "intro\n```rust\n{}```\noutro words here",
                "let x = 1; // a comment\n".repeat(30)
            ),
            limit.max(24),
        ));
    }
    for (text, limit) in texts {
        let chunks = chunk_text(&text, limit, ChunkMode::Length);
        for c in &chunks {
            assert!(
                c.chars().count() <= limit,
                "chunk over {limit}: {c:?} from {text:?}"
            );
            assert!(!c.trim().is_empty(), "empty chunk from {text:?}");
        }
        // Fence lines are added and dropped by design; every other visible character stays.
        let squash = |s: &str| {
            s.lines()
                .filter(|l| {
                    !l.trim_start().starts_with("```") && !l.trim_start().starts_with("~~~")
                })
                .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
                .collect::<String>()
        };
        let joined: String = chunks.iter().map(|c| squash(c)).collect();
        assert_eq!(
            joined,
            squash(&text),
            "content changed for {text:?} @{limit}"
        );
    }
}
