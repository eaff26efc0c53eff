//! Reply-text normalization (silent and heartbeat tokens, prefix, chunking): never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_outbound::{TextSettings, normalize_reply_text, plan_text};

fuzz_target!(|data: (bool, &str)| {
    let (reply_tokens, text) = data;
    let _ = normalize_reply_text(text);
    let settings = TextSettings {
        limit: 64,
        prefix: Some("[wagw]".into()),
        reply_tokens,
        ..TextSettings::default()
    };
    let _ = plan_text(text, &settings);
});
