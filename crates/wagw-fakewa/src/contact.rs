//! One fake phone's Signal state: its identity, its published prekeys (signed and
//! one-time) and its sessions with the account's devices, in the in-memory stores the
//! library's libsignal works on.

use std::collections::HashMap;

use whatsapp_rust::wacore::libsignal::protocol::{
    Direction, GenericSignedPreKey, IdentityChange, IdentityKey, IdentityKeyPair, IdentityKeyStore,
    KeyPair, PreKeyId, PreKeyRecord, PreKeyStore, ProtocolAddress, PublicKey, SessionRecord,
    SessionStore, SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore,
    Timestamp,
};
use whatsapp_rust::wacore_binary::Node;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;

pub(crate) fn key_of(a: &ProtocolAddress) -> String {
    format!("{}.{}", a.name(), u32::from(a.device_id()))
}

/// How many one-time prekeys a fake phone publishes (each account session takes one).
const CONTACT_PRE_KEYS: u32 = 32;
/// The fake phones' signed prekey id.
const SIGNED_PRE_KEY_ID: u32 = 1;

/// One fake phone: its identity, its published prekeys and its sessions with the
/// account's devices.
pub(crate) struct Contact {
    pub identity: Identity,
    pub sessions: Sessions,
    pub pre_keys: PreKeys,
    pub signed_pre_keys: SignedPreKeys,
    /// Signed prekey public key and signature, as published.
    signed: (PublicKey, Vec<u8>),
    /// The next one-time prekey id to hand out.
    next_pre_key: u32,
}

impl Contact {
    pub fn generate() -> Contact {
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let pair = IdentityKeyPair::generate(&mut rng);
        let signed = KeyPair::generate(&mut rng);
        // A signing failure would only come from a malformed key we just generated.
        let signature = pair
            .private_key()
            .calculate_signature(&signed.public_key.serialize(), &mut rng)
            .map(|s| s.to_vec())
            .unwrap_or_default();
        let record = SignedPreKeyRecord::new(
            SignedPreKeyId::from(SIGNED_PRE_KEY_ID),
            Timestamp::from_epoch_millis(whatsapp_rust::wacore::time::now_millis().max(0) as u64),
            &signed,
            &signature,
        );
        let pre_keys = (1..=CONTACT_PRE_KEYS)
            .map(|id| {
                let key = KeyPair::generate(&mut rng);
                (id, PreKeyRecord::new(PreKeyId::from(id), &key))
            })
            .collect();
        Contact {
            identity: Identity {
                pair,
                // Signal registration ids are 14 bits, never 0.
                registration_id: rand::RngExt::random_range(&mut rng, 1..16_380),
                known: HashMap::new(),
            },
            sessions: Sessions(HashMap::new()),
            pre_keys: PreKeys(pre_keys),
            signed_pre_keys: SignedPreKeys(HashMap::from([(SIGNED_PRE_KEY_ID, record)])),
            signed: (signed.public_key, signature),
            next_pre_key: 1,
        }
    }

    /// `<user jid=..>` with this phone's bundle, handing out one one-time prekey.
    pub fn bundle_node(&mut self, jid: &str) -> Node {
        let bytes = |tag: &'static str, b: Vec<u8>| NodeBuilder::new(tag).bytes(b).build();
        let id3 = |id: u32| id.to_be_bytes()[1..].to_vec();
        let mut children = vec![
            bytes(
                "registration",
                self.identity.registration_id.to_be_bytes().to_vec(),
            ),
            bytes("type", vec![5]),
            bytes(
                "identity",
                self.identity.pair.public_key().public_key_bytes().to_vec(),
            ),
        ];
        let id = self.next_pre_key;
        if let Some(key) = self.pre_keys.0.get(&id).and_then(|r| r.public_key().ok()) {
            self.next_pre_key += 1;
            children.push(
                NodeBuilder::new("key")
                    .children([
                        bytes("id", id3(id)),
                        bytes("value", key.public_key_bytes().to_vec()),
                    ])
                    .build(),
            );
        }
        children.push(
            NodeBuilder::new("skey")
                .children([
                    bytes("id", id3(SIGNED_PRE_KEY_ID)),
                    bytes("value", self.signed.0.public_key_bytes().to_vec()),
                    bytes("signature", self.signed.1.clone()),
                ])
                .build(),
        );
        NodeBuilder::new("user")
            .attr("jid", jid.to_string())
            .children(children)
            .build()
    }
}

/// The phone's one-time prekeys, by id.
pub(crate) struct PreKeys(HashMap<u32, PreKeyRecord>);

#[async_trait::async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> Result<PreKeyRecord, SignalProtocolError> {
        self.0
            .get(&u32::from(id))
            .cloned()
            .ok_or(SignalProtocolError::InvalidPreKeyId)
    }

    async fn save_pre_key(
        &mut self,
        id: PreKeyId,
        record: &PreKeyRecord,
    ) -> Result<(), SignalProtocolError> {
        self.0.insert(u32::from(id), record.clone());
        Ok(())
    }

    async fn remove_pre_key(&mut self, id: PreKeyId) -> Result<(), SignalProtocolError> {
        self.0.remove(&u32::from(id));
        Ok(())
    }
}

/// The phone's signed prekeys, by id.
pub(crate) struct SignedPreKeys(HashMap<u32, SignedPreKeyRecord>);

#[async_trait::async_trait]
impl SignedPreKeyStore for SignedPreKeys {
    async fn get_signed_pre_key(
        &self,
        id: SignedPreKeyId,
    ) -> Result<SignedPreKeyRecord, SignalProtocolError> {
        self.0
            .get(&u32::from(id))
            .cloned()
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }

    async fn save_signed_pre_key(
        &mut self,
        id: SignedPreKeyId,
        record: &SignedPreKeyRecord,
    ) -> Result<(), SignalProtocolError> {
        self.0.insert(u32::from(id), record.clone());
        Ok(())
    }
}

/// The contact's identity store: its own key pair, trust on first use for the account's.
pub(crate) struct Identity {
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
pub(crate) struct Sessions(pub HashMap<String, SessionRecord>);

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
