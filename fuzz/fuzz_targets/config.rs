//! The JSON5 config loader on arbitrary text: a config or an error, never a panic, and every
//! error names where (a problem list, not an empty one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_config::{Config, Env};

fuzz_target!(|text: &str| {
    let env = Env::from_pairs([("HOME", "/home/fuzz")]);
    let _ = Config::from_json5_str(text, &env);
});
