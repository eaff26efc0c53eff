//! Inbound protocol-message conversion: any bytes that decode as a WhatsApp `Message`,
//! from any sender in a DM or a group, become an `InboundMessage` without a panic, with
//! the chat and id it came with (wrappers nested without bound included).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wagw_core::AccountId;
use wagw_socket::inbound;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::types::message::{MessageInfo, MessageSource};
use whatsapp_rust::waproto::whatsapp as wa;

const SENDERS: [&str; 4] = [
    "15551234567:2@s.whatsapp.net",
    "100000012345678:3@lid",
    "15551234567@s.whatsapp.net",
    "447700900123@s.whatsapp.net",
];

fuzz_target!(|data: (u8, &[u8])| {
    let (pick, bytes) = data;
    let Ok(msg) = wa::Message::decode_from_slice(bytes) else {
        return;
    };
    let group = pick & 1 == 1;
    let chat = if group {
        "120363012345678901@g.us"
    } else {
        "15551234567@s.whatsapp.net"
    };
    let (Ok(chat), Ok(sender)) = (
        chat.parse(),
        SENDERS[usize::from(pick >> 1) % SENDERS.len()].parse(),
    ) else {
        return;
    };
    let info = MessageInfo {
        source: MessageSource {
            chat,
            sender,
            is_group: group,
            is_from_me: pick & 0x80 != 0,
            ..Default::default()
        },
        id: "3EB0FUZZ".into(),
        push_name: "Fuzz".into(),
        ..Default::default()
    };
    let account = AccountId::default_account();
    let converted = inbound::convert(&account, &msg, &info);
    assert_eq!(converted.id.as_str(), "3EB0FUZZ");
    assert_eq!(converted.account, account);
    let _ = inbound::is_edit(&msg);
    if let Some(context) = inbound::context_of(&msg) {
        let _ = inbound::convert_context(context);
    }
});
