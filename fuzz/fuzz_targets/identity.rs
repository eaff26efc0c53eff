//! Phone, JID, LID, account id and send-target parsing: never a panic, and whatever parses
//! prints back to something that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_core::{AccountId, Jid, Phone};

fuzz_target!(|input: &str| {
    if let Ok(phone) = Phone::parse(input) {
        let again = Phone::parse(&phone.to_string()).expect("a printed phone parses");
        assert_eq!(again, phone);
        let jid = phone.to_jid();
        assert_eq!(
            Jid::parse(&jid.to_string()).expect("a phone's JID parses"),
            jid
        );
    }
    if let Ok(jid) = Jid::parse(input) {
        assert_eq!(
            Jid::parse(&jid.to_string()).expect("a printed JID parses"),
            jid
        );
    }
    if let Ok(target) = Jid::from_target(input) {
        assert!(
            !target.is_status_or_broadcast(),
            "{input:?} became {target}"
        );
    }
    let _ = wagw_core::Lid::parse(input);
    if let Ok(id) = AccountId::parse(input) {
        assert_eq!(
            AccountId::parse(id.as_str()).expect("an account id parses"),
            id
        );
    }
});
