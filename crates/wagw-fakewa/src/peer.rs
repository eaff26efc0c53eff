//! The fake phones: Signal peers that exchange end-to-end encrypted 1:1 messages with the
//! account, using the library's own libsignal.
//!
//! - **The account's keys.** A linked device whose store says the server has no prekeys
//!   uploads them at login (`<iq xmlns="encrypt" type="set">`: registration id, identity
//!   key, signed prekey, one-time prekeys). The server keeps that bundle, per account, and
//!   answers the prekey-count query from it.
//! - **Phone → account.** A phone (a phone number, device 0) builds its session from that
//!   bundle on its first message, consuming one one-time prekey as a real sender does, and
//!   encrypts each message padded the WhatsApp way (`enc v="2"`). Until the account
//!   answers, every message is a `pkmsg` carrying the session setup, like a real sender's.
//! - **Account → phone.** The server answers the client's device-list query (`usync`:
//!   device 0 for a phone number, no devices for the account's own users) and prekey fetch
//!   (the phone's bundle); [`Peers::open`] decrypts what the client then sends, as the phone.
use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::libsignal::protocol::{
    CiphertextMessage, DeviceId, IdentityKey, PreKeyBundle, PreKeySignalMessage, ProtocolAddress,
    PublicKey, SignalMessage, SignalProtocolError, UsePQRatchet, message_decrypt, message_encrypt,
    process_prekey_bundle,
};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Node, NodeContent};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;
use crate::conn::attr;
use crate::contact::{Contact, key_of};

/// The key bundle the client uploaded (what WhatsApp hands to anyone who messages it).
#[derive(Clone)]
pub(crate) struct ClientKeys {
    registration_id: u32,
    identity: IdentityKey,
    signed_pre_key_id: u32,
    signed_pre_key: PublicKey,
    signed_pre_key_signature: Vec<u8>,
    /// One-time prekeys not yet handed out, oldest first.
    pre_keys: Vec<(u32, PublicKey)>,
}

/// An encrypted payload ready for `<enc>`.
pub(crate) struct Sealed {
    /// `pkmsg` or `msg`.
    pub enc_type: &'static str,
    /// The Signal message bytes.
    pub ciphertext: Vec<u8>,
}

/// Every fake phone of one server, and the account's published keys.
pub(crate) struct Peers {
    keys: watch::Sender<Option<ClientKeys>>,
    contacts: Mutex<HashMap<String, Contact>>,
}

impl Peers {
    pub fn new() -> Peers {
        Peers {
            keys: watch::Sender::new(None),
            contacts: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the account has published its key bundle.
    pub fn has_client_keys(&self) -> bool {
        self.keys.borrow().is_some()
    }

    /// The children of the result for a Signal-related IQ: stores an uploaded bundle,
    /// answers a prekey-count query, a device-list query (`xmlns="usync"`: every phone
    /// number but the account's own, `own_user`, has device 0) and a prekey fetch (a fake
    /// phone's bundle). `None` for IQs this module does not serve.
    pub async fn answer_iq(&self, iq: &Node, own_user: Option<u64>) -> Option<Vec<Node>> {
        let ty = attr(iq, "type").unwrap_or_default();
        match attr(iq, "xmlns").as_deref() {
            Some("usync") if ty == "get" => return device_lists(iq, own_user),
            Some("encrypt") => {}
            _ => return None,
        }
        if ty == "get"
            && let Some(key) = iq.get_optional_child("key")
        {
            return Some(vec![self.fetch_bundles(key).await]);
        }
        if ty == "set"
            && let Some(keys) = parse_upload(iq)
        {
            tracing::debug!(
                prekeys = keys.pre_keys.len(),
                "fake server: the client uploaded its key bundle"
            );
            self.keys.send_replace(Some(keys));
            return Some(Vec::new());
        }
        if ty == "get" && iq.get_optional_child("count").is_some() {
            let count = self.keys.borrow().as_ref().map_or(0, |k| k.pre_keys.len());
            return Some(vec![
                NodeBuilder::new("count")
                    .attr("value", count.to_string())
                    .build(),
            ]);
        }
        None
    }

    /// `<list>` of bundles for the users in a prekey fetch's `<key>`.
    async fn fetch_bundles(&self, key: &Node) -> Node {
        let mut contacts = self.contacts.lock().await;
        let mut users = Vec::new();
        for user in key.children().unwrap_or_default() {
            let Some(jid) = attr(user, "jid") else {
                continue;
            };
            let Some(phone) = phone_of(&jid) else {
                continue;
            };
            let contact = contacts.entry(phone).or_insert_with(Contact::generate);
            users.push(contact.bundle_node(&jid));
        }
        NodeBuilder::new("list").children(users).build()
    }

    /// Decrypts a 1:1 `<message>` the account sent to a fake phone: the recipient's phone
    /// number and the message. `None` for anything else (a newsletter message, a message
    /// to an unknown phone, a ciphertext the phone cannot open).
    pub async fn open(
        &self,
        node: &Node,
        client_user: u64,
        client_device: u32,
    ) -> Option<(String, wa::Message)> {
        if node.tag.as_ref() != "message" {
            return None;
        }
        let phone = phone_of(&attr(node, "to")?)?;
        let enc = node.get_optional_child("enc").or_else(|| {
            node.get_optional_child("participants")?
                .children()
                .unwrap_or_default()
                .iter()
                .filter(|to| attr(to, "jid").and_then(|j| phone_of(&j)).as_ref() == Some(&phone))
                .find_map(|to| to.get_optional_child("enc"))
        })?;
        let Some(NodeContent::Bytes(ct)) = &enc.content else {
            return None;
        };
        let ciphertext = match attr(enc, "type").as_deref() {
            Some("pkmsg") => CiphertextMessage::PreKeySignalMessage(
                PreKeySignalMessage::try_from(ct.as_slice()).ok()?,
            ),
            Some("msg") => {
                CiphertextMessage::SignalMessage(SignalMessage::try_from(ct.as_slice()).ok()?)
            }
            _ => return None,
        };
        let mut contacts = self.contacts.lock().await;
        let c = contacts.get_mut(&phone)?;
        let address = ProtocolAddress::new(&client_user.to_string(), DeviceId::from(client_device));
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let plain = message_decrypt(
            &ciphertext,
            &address,
            &mut c.sessions,
            &mut c.identity,
            &mut c.pre_keys,
            &c.signed_pre_keys,
            &mut rng,
            UsePQRatchet::No,
        )
        .await
        .map_err(|e| tracing::debug!("fake phone {phone}: cannot decrypt: {e}"))
        .ok()?;
        let body = MessageUtils::unpad_message_ref(&plain.plaintext, 2).ok()?;
        Some((phone, wa::Message::decode_from_slice(body).ok()?))
    }

    /// Encrypts `message` from the contact `phone` (device 0) to the client device
    /// `client_user:client_device`, creating the contact and its session on first use.
    /// Waits up to `wait` for the client to publish its keys.
    pub async fn seal(
        &self,
        phone: &str,
        client_user: u64,
        client_device: u32,
        message: &wa::Message,
        wait: Duration,
    ) -> Result<Sealed, FakeError> {
        let mut rx = self.keys.subscribe();
        // `wait_for` answers with a read guard: drop it before `bundle` writes.
        let published = tokio::time::timeout(wait, rx.wait_for(Option::is_some))
            .await
            .is_ok_and(|r| r.is_ok());
        if !published {
            return Err(FakeError::NoClientKeys);
        }
        let mut contacts = self.contacts.lock().await;
        let contact = contacts
            .entry(phone.to_string())
            .or_insert_with(Contact::generate);
        let address = ProtocolAddress::new(&client_user.to_string(), DeviceId::from(client_device));
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        if !contact.sessions.0.contains_key(&key_of(&address)) {
            let bundle = self.bundle(client_device)?;
            process_prekey_bundle(
                &address,
                &mut contact.sessions,
                &mut contact.identity,
                &bundle,
                &mut rng,
                UsePQRatchet::No,
            )
            .await
            .map_err(signal)?;
        }
        let padded = MessageUtils::encode_and_pad(message);
        let sealed = message_encrypt(
            &padded,
            &address,
            &mut contact.sessions,
            &mut contact.identity,
        )
        .await
        .map_err(signal)?;
        let enc_type = match &sealed {
            CiphertextMessage::PreKeySignalMessage(_) => "pkmsg",
            _ => "msg",
        };
        Ok(Sealed {
            enc_type,
            ciphertext: sealed.serialize().to_vec(),
        })
    }

    /// The client's bundle with the next unused one-time prekey (which it consumes).
    fn bundle(&self, client_device: u32) -> Result<PreKeyBundle, FakeError> {
        let mut bundle = Err(FakeError::NoClientKeys);
        self.keys.send_modify(|k| {
            let Some(k) = k.as_mut() else { return };
            let one_time = (!k.pre_keys.is_empty()).then(|| k.pre_keys.remove(0));
            bundle = PreKeyBundle::new(
                k.registration_id,
                DeviceId::from(client_device),
                one_time.map(|(id, key)| (id.into(), key)),
                k.signed_pre_key_id.into(),
                k.signed_pre_key,
                k.signed_pre_key_signature.clone(),
                k.identity,
            )
            .map_err(signal);
        });
        bundle
    }
}

/// The phone number of a `<digits>[:device]@s.whatsapp.net` JID.
fn phone_of(jid: &str) -> Option<String> {
    let user = jid.strip_suffix("@s.whatsapp.net")?;
    let user = user.split(':').next().unwrap_or(user);
    (!user.is_empty() && user.bytes().all(|b| b.is_ascii_digit())).then(|| user.to_string())
}

/// `<usync><list>` with each queried user's devices: device 0 for a phone number (the
/// fake phones), none for the account's own users and LIDs (no other devices to fan out
/// to). `None` for usync queries that do not ask for devices.
fn device_lists(iq: &Node, own_user: Option<u64>) -> Option<Vec<Node>> {
    let usync = iq.get_optional_child("usync")?;
    usync
        .get_optional_child("query")?
        .get_optional_child("devices")?;
    let own = own_user.map(|u| u.to_string());
    let users = usync
        .get_optional_child("list")?
        .children()
        .unwrap_or_default()
        .iter()
        .filter_map(|u| attr(u, "jid"))
        .map(|jid| {
            let devices = match phone_of(&jid) {
                Some(p) if Some(&p) != own.as_ref() => {
                    vec![NodeBuilder::new("device").attr("id", "0").build()]
                }
                _ => Vec::new(),
            };
            NodeBuilder::new("user")
                .attr("jid", jid)
                .children([NodeBuilder::new("devices")
                    .attr("version", "2")
                    .children([NodeBuilder::new("device-list").children(devices).build()])
                    .build()])
                .build()
        });
    Some(vec![
        NodeBuilder::new("usync")
            .children([NodeBuilder::new("list").children(users).build()])
            .build(),
    ])
}

fn signal(e: SignalProtocolError) -> FakeError {
    FakeError::Signal(e.to_string())
}

/// The byte content of the child `tag` of `node`.
fn bytes_of<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    match &node.get_optional_child(tag)?.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        _ => None,
    }
}

/// A big-endian unsigned integer of up to 4 bytes (ids are 3, registration ids 4).
fn be_u32(b: &[u8]) -> Option<u32> {
    (b.len() <= 4).then(|| b.iter().fold(0u32, |n, x| (n << 8) | u32::from(*x)))
}

/// The bundle in a prekey-upload IQ (`<registration> <identity> <list><key>.. <skey>`).
fn parse_upload(iq: &Node) -> Option<ClientKeys> {
    let registration_id = be_u32(bytes_of(iq, "registration")?)?;
    let identity =
        IdentityKey::new(PublicKey::from_djb_public_key_bytes(bytes_of(iq, "identity")?).ok()?);
    let skey = iq.get_optional_child("skey")?;
    let mut pre_keys = Vec::new();
    if let Some(list) = iq.get_optional_child("list") {
        for key in list.children().unwrap_or_default() {
            let (Some(id), Some(value)) = (bytes_of(key, "id"), bytes_of(key, "value")) else {
                continue;
            };
            if let (Some(id), Ok(public)) =
                (be_u32(id), PublicKey::from_djb_public_key_bytes(value))
            {
                pre_keys.push((id, public));
            }
        }
    }
    Some(ClientKeys {
        registration_id,
        identity,
        signed_pre_key_id: be_u32(bytes_of(skey, "id")?)?,
        signed_pre_key: PublicKey::from_djb_public_key_bytes(bytes_of(skey, "value")?).ok()?,
        signed_pre_key_signature: bytes_of(skey, "signature")?.to_vec(),
        pre_keys,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn phone_numbers_come_from_pn_jids_only() {
        assert_eq!(
            phone_of("15550001111@s.whatsapp.net").as_deref(),
            Some("15550001111")
        );
        assert_eq!(
            phone_of("15550001111:3@s.whatsapp.net").as_deref(),
            Some("15550001111")
        );
        assert_eq!(phone_of("100000000000001@lid"), None);
        assert_eq!(phone_of("120363000000000001@newsletter"), None);
    }

    #[test]
    fn device_lists_give_phones_device_zero_and_the_account_none() {
        let user = |jid: &str| {
            NodeBuilder::new("user")
                .attr("jid", jid.to_string())
                .build()
        };
        let query = |q: &'static str| {
            NodeBuilder::new("iq")
                .children([NodeBuilder::new("usync")
                    .children([
                        NodeBuilder::new("query")
                            .children([NodeBuilder::new(q).build()])
                            .build(),
                        NodeBuilder::new("list")
                            .children([
                                user("15550001111@s.whatsapp.net"),
                                user("15550001234@s.whatsapp.net"),
                                user("100000000000001@lid"),
                            ])
                            .build(),
                    ])
                    .build()])
                .build()
        };
        assert!(device_lists(&query("lid"), Some(15550001234)).is_none());
        let answer = device_lists(&query("devices"), Some(15550001234)).unwrap();
        let users = answer[0]
            .get_optional_child("list")
            .unwrap()
            .children()
            .unwrap();
        let devices: Vec<usize> = users
            .iter()
            .map(|u| {
                u.get_optional_child("devices")
                    .and_then(|d| d.get_optional_child("device-list"))
                    .and_then(|l| l.children())
                    .map_or(0, |c| c.len())
            })
            .collect();
        assert_eq!(devices, [1, 0, 0], "phone, own PN user, own LID");
    }

    #[test]
    fn be_ids_decode_and_reject_oversized() {
        assert_eq!(be_u32(&[0, 0, 7]), Some(7));
        assert_eq!(be_u32(&[1, 0, 0, 0]), Some(1 << 24));
        assert_eq!(be_u32(&[1, 0, 0, 0, 0]), None);
    }
}
