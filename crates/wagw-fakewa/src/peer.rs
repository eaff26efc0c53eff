//! The fake phones: Signal peers that message the account end-to-end encrypted.
//!
//! The client publishes its key bundle the way it does to WhatsApp: a linked device whose
//! store says the server has no prekeys uploads them at login (`<iq xmlns="encrypt"
//! type="set">` with registration id, identity key, signed prekey and one-time prekeys).
//! The server keeps that bundle, per account, and answers the client's prekey-count query
//! from it. A contact (a phone number, device 0) has its own identity key pair and
//! registration id; its first message builds a Signal session from the bundle (consuming
//! one one-time prekey, as a real sender would) and every message is encrypted with the
//! library's own libsignal, padded the way WhatsApp pads (`enc v="2"`). Until the account
//! answers, each message stays a `pkmsg` carrying the session setup, like a real sender's.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{Mutex, watch};
use whatsapp_rust::wacore::libsignal::protocol::{
    CiphertextMessage, DeviceId, Direction, IdentityChange, IdentityKey, IdentityKeyPair,
    IdentityKeyStore, PreKeyBundle, ProtocolAddress, PublicKey, SessionRecord, SessionStore,
    SignalProtocolError, UsePQRatchet, message_encrypt, process_prekey_bundle,
};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Node, NodeContent};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;
use crate::conn::attr;

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

    /// The children of the result for an `xmlns="encrypt"` IQ: stores an uploaded bundle,
    /// answers a prekey-count query. `None` for IQs this module does not serve.
    pub fn answer_iq(&self, iq: &Node) -> Option<Vec<Node>> {
        if attr(iq, "xmlns").as_deref() != Some("encrypt") {
            return None;
        }
        let ty = attr(iq, "type").unwrap_or_default();
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

fn key_of(a: &ProtocolAddress) -> String {
    format!("{}.{}", a.name(), u32::from(a.device_id()))
}

/// One fake phone: its identity and its sessions with the account's devices.
struct Contact {
    identity: Identity,
    sessions: Sessions,
}

impl Contact {
    fn generate() -> Contact {
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        Contact {
            identity: Identity {
                pair: IdentityKeyPair::generate(&mut rng),
                // Signal registration ids are 14 bits, never 0.
                registration_id: rand::RngExt::random_range(&mut rng, 1..16_380),
                known: HashMap::new(),
            },
            sessions: Sessions(HashMap::new()),
        }
    }
}

/// The contact's identity store: its own key pair, trust on first use for the account's.
struct Identity {
    pair: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<String, IdentityKey>,
}

#[async_trait::async_trait]
impl IdentityKeyStore for Identity {
    async fn get_identity_key_pair(&self) -> Result<IdentityKeyPair, SignalProtocolError> {
        Ok(self.pair.clone())
    }

    async fn get_local_registration_id(&self) -> Result<u32, SignalProtocolError> {
        Ok(self.registration_id)
    }

    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> Result<IdentityChange, SignalProtocolError> {
        match self.known.insert(key_of(address), *identity) {
            Some(old) if old != *identity => Ok(IdentityChange::ReplacedExisting),
            _ => Ok(IdentityChange::NewOrUnchanged),
        }
    }

    async fn is_trusted_identity(
        &self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
        _direction: Direction,
    ) -> Result<bool, SignalProtocolError> {
        Ok(self
            .known
            .get(&key_of(address))
            .is_none_or(|k| k == identity))
    }

    async fn get_identity(
        &self,
        address: &ProtocolAddress,
    ) -> Result<Option<IdentityKey>, SignalProtocolError> {
        Ok(self.known.get(&key_of(address)).copied())
    }
}

/// The contact's sessions, by the account device's address.
struct Sessions(HashMap<String, SessionRecord>);

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn load_session(
        &self,
        address: &ProtocolAddress,
    ) -> Result<Option<SessionRecord>, SignalProtocolError> {
        Ok(self.0.get(&key_of(address)).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> Result<bool, SignalProtocolError> {
        Ok(self.0.contains_key(&key_of(address)))
    }

    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> Result<(), SignalProtocolError> {
        self.0.insert(key_of(address), record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn be_ids_decode_and_reject_oversized() {
        assert_eq!(be_u32(&[0, 0, 7]), Some(7));
        assert_eq!(be_u32(&[1, 0, 0, 0]), Some(1 << 24));
        assert_eq!(be_u32(&[1, 0, 0, 0, 0]), None);
    }
}
