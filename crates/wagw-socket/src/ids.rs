//! Identity conversion at the border: whatsapp-rust's `Jid` ↔ wagw's [`Jid`], and senders.

use wagw_core::{Jid, Lid, Phone, Sender};
use whatsapp_rust::{Jid as WaJid, Server};

/// Converts a protocol JID into wagw's. JIDs wagw does not model (bots, interop, calls,
/// messenger) give `None`.
pub fn from_wa(jid: &WaJid) -> Option<Jid> {
    let server = match jid.server {
        Server::Pn | Server::Legacy => "s.whatsapp.net",
        Server::Lid => "lid",
        Server::Hosted => "hosted",
        Server::HostedLid => "hosted.lid",
        Server::Group => "g.us",
        Server::Broadcast => "broadcast",
        Server::Newsletter => "newsletter",
        _ => return None,
    };
    let text =
        if jid.device > 0 && matches!(server, "s.whatsapp.net" | "lid" | "hosted" | "hosted.lid") {
            format!("{}:{}@{}", jid.user, jid.device, server)
        } else {
            format!("{}@{}", jid.user, server)
        };
    Jid::parse(&text).ok()
}

/// Parses a JID string as the protocol writes it (context info, message keys).
pub fn from_wire(s: &str) -> Option<Jid> {
    if s.is_empty() {
        return None;
    }
    match s.parse::<WaJid>() {
        Ok(j) => from_wa(&j),
        Err(_) => Jid::parse(s).ok(),
    }
}

/// Converts a wagw JID into the protocol's.
pub fn to_wa(jid: &Jid) -> Option<WaJid> {
    jid.to_string().parse::<WaJid>().ok()
}

/// The sender behind a JID and its alternate identity (phone and LID, when both are known).
pub fn sender_of(primary: Option<&Jid>, alt: Option<&Jid>) -> Option<Sender> {
    let mut phone: Option<Phone> = None;
    let mut lid: Option<Lid> = None;
    for j in [primary, alt].into_iter().flatten() {
        if phone.is_none() {
            phone = j.to_phone();
        }
        if lid.is_none() {
            lid = j.to_lid();
        }
    }
    match (phone, lid) {
        (None, None) => None,
        (phone, lid) => Some(Sender { phone, lid }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn converts_every_modelled_server() {
        let cases = [
            ("15551234567@s.whatsapp.net", "15551234567@s.whatsapp.net"),
            (
                "15551234567:3@s.whatsapp.net",
                "15551234567:3@s.whatsapp.net",
            ),
            ("100000012345678@lid", "100000012345678@lid"),
            ("100000012345678:2@lid", "100000012345678:2@lid"),
            ("120363012345678901@g.us", "120363012345678901@g.us"),
            ("status@broadcast", "status@broadcast"),
            (
                "120363000000000001@newsletter",
                "120363000000000001@newsletter",
            ),
        ];
        for (wire, want) in cases {
            let got = from_wire(wire).unwrap_or_else(|| panic!("{wire} did not convert"));
            assert_eq!(got.to_string(), want, "input {wire}");
            let back = to_wa(&got).unwrap_or_else(|| panic!("{want} did not convert back"));
            assert_eq!(from_wa(&back), Some(got), "round trip of {wire}");
        }
        assert_eq!(from_wire(""), None);
    }

    #[test]
    fn sender_combines_phone_and_lid() {
        let pn = from_wire("15551234567:1@s.whatsapp.net").unwrap();
        let lid = from_wire("100000012345678@lid").unwrap();
        let s = sender_of(Some(&lid), Some(&pn)).unwrap();
        assert_eq!(s.phone.unwrap().to_string(), "+15551234567");
        assert_eq!(s.lid.unwrap().to_string(), "100000012345678@lid");
        assert!(sender_of(None, None).is_none());
    }
}
