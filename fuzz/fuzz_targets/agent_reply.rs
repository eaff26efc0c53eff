//! A webhook agent's response body: any bytes give replies or a described error, never a
//! panic, and no reply comes back empty (empty replies are dropped, not sent).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match wagw_agents::parse_replies(body) {
        Ok(replies) => assert!(replies.iter().all(|r| !r.is_empty())),
        Err(why) => assert!(!why.is_empty()),
    }
});
