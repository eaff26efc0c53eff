//! WhatsApp's side of linking beyond the QR refs: the pair-code companion hello
//! (`<link_code_companion_reg stage="companion_hello">` answered with a pairing ref), the
//! phone completing the code ([`FakeConnection::enter_pair_code`]), and
//! the passkey (SHORTCAKE) stanzas: the `passkey_prologue_request` notification, the
//! `<ref/>` query, the continuation carrying the phone's ephemeral identity, and the
//! verification code both sides derive from it. Any `xmlns="md"` query can be refused with
//! an IQ error, once, to test how the client reports it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::crypto::hkdf_sha256_into;
use whatsapp_rust::wacore::libsignal::crypto::{RustCryptoProvider, SignalCryptoProvider};
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PublicKey};
use whatsapp_rust::wacore::pair_code::PairCodeUtils;
use whatsapp_rust::wacore::shortcake::ShortcakeUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Node, NodeContent};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;
use crate::conn::{FakeConnection, attr};

/// The pairing ref the server hands out for a pair-code request.
pub const PAIR_CODE_REF: &str = "fake-pair-code-ref";
/// The ref the server hands out at the start of a passkey link.
pub const PASSKEY_REF: &str = "fake-passkey-ref";

/// One connection's linking state: the `md` queries to refuse.
#[derive(Debug, Default)]
pub(crate) struct Pairing {
    /// Child tag of an `md` IQ → the error (code, text) to answer it with, once.
    refusals: Mutex<HashMap<String, (u16, String)>>,
    /// The companion's wrapped ephemeral key from its pair-code hello (what the phone
    /// unwraps with the code the user types).
    companion_hello: Mutex<Option<Vec<u8>>>,
    /// The companion's passkey prologue payload (its ephemeral identity and commitment).
    passkey_prologue: Mutex<Option<Vec<u8>>>,
    /// The phone's ephemeral key pair of a passkey link it continued itself
    /// ([`FakeConnection::continue_passkey_as_phone`]): what opens the pairing request.
    primary_ephemeral: Mutex<Option<PhoneKey>>,
}

/// The phone's ephemeral key pair; `Debug` never prints the private half.
#[derive(Clone)]
struct PhoneKey(KeyPair);

impl std::fmt::Debug for PhoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneKey(..)")
    }
}

impl Pairing {
    /// The answer to an `xmlns="md"` IQ this module knows, or `None` to leave it to the
    /// generic empty result.
    pub(crate) fn answer(&self, node: &Node) -> Option<Node> {
        if node.tag.as_ref() != "iq" || attr(node, "xmlns").as_deref() != Some("md") {
            return None;
        }
        let id = attr(node, "id")?;
        let child = node.children()?.first()?;
        let tag = child.tag.as_ref();
        if tag == "passkey_prologue" {
            *lock(&self.passkey_prologue) = child_bytes(node, "prologue_payload");
        }
        let refused = self
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(tag);
        if let Some((code, text)) = refused {
            return Some(
                reply(&id, "error")
                    .children([NodeBuilder::new("error")
                        .attr("code", code.to_string())
                        .attr("text", text)
                        .build()])
                    .build(),
            );
        }
        let body = match tag {
            "link_code_companion_reg"
                if attr(child, "stage").as_deref() == Some("companion_hello") =>
            {
                *self
                    .companion_hello
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) =
                    child_bytes(node, "link_code_pairing_wrapped_companion_ephemeral_pub");
                NodeBuilder::new("link_code_companion_reg")
                    .children([NodeBuilder::new("link_code_pairing_ref")
                        .bytes(PAIR_CODE_REF.as_bytes().to_vec())
                        .build()])
                    .build()
            }
            "ref" => NodeBuilder::new("ref")
                .bytes(PASSKEY_REF.as_bytes().to_vec())
                .build(),
            _ => return None,
        };
        Some(reply(&id, "result").children([body]).build())
    }
}

/// A poisoned lock still holds consistent data here (plain values, set in one store).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn reply(id: &str, ty: &str) -> NodeBuilder {
    NodeBuilder::new("iq")
        .attr("type", ty)
        .attr("id", id)
        .attr("from", "s.whatsapp.net")
}

/// The verification code a passkey link shows on both sides (`XXXX-XXXX`), derived from
/// the companion's nonce (sent in its `<companion_nonce>` query) and the phone's
/// ephemeral identity (sent in the continuation).
pub fn passkey_verification_code(
    companion_nonce: &[u8; 32],
    primary_public_key: &[u8; 32],
    primary_nonce: &[u8; 32],
) -> String {
    let bare = ShortcakeUtils::derive_verification_code(
        companion_nonce,
        primary_public_key,
        primary_nonce,
    );
    let (a, b) = bare.split_at(bare.len().min(4));
    format!("{a}-{b}")
}

/// The bytes of `node`'s child `tag`, if it has them.
pub fn child_bytes(node: &Node, tag: &str) -> Option<Vec<u8>> {
    fn find<'a>(n: &'a Node, tag: &str) -> Option<&'a Node> {
        n.children()?.iter().find_map(|c| {
            if c.tag.as_ref() == tag {
                Some(c)
            } else {
                find(c, tag)
            }
        })
    }
    match &find(node, tag)?.content {
        Some(NodeContent::Bytes(b)) => Some(b.clone()),
        Some(NodeContent::String(s)) => Some(s.as_bytes().to_vec()),
        _ => None,
    }
}

impl FakeConnection {
    pub(crate) fn pairing(&self) -> &Arc<Pairing> {
        &self.pairing
    }

    /// The phone `phone` (digits) completes a pair-code link: the user typed `code` (the
    /// one the client showed after its companion hello on this connection). The phone
    /// unwraps the companion's ephemeral key with the code, sends the
    /// `link_code_companion_reg` `primary_hello` notification (its own wrapped ephemeral
    /// key and its identity key), waits up to `timeout` for the client's
    /// `companion_finish`, opens its key bundle, derives the adv secret both sides now
    /// share, and sends the `<pair-success>` that secret authenticates; from there it goes
    /// as for a scanned QR ([`FakeConnection::scan_qr`]). A wrong code leaves the phone
    /// unable to open the bundle: a [`FakeError::Link`], nothing linked.
    pub async fn enter_pair_code(
        &mut self,
        phone: &str,
        code: &str,
        timeout: Duration,
    ) -> Result<crate::LinkedDevice, FakeError> {
        crate::link::check_phone(phone)?;
        let link = |what: String| FakeError::Link(what);
        let wrapped = self
            .pairing()
            .companion_hello
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| link("the client asked for no pair code on this connection".into()))?;
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let ephemeral = KeyPair::generate(&mut rng);
        let account = self.state().account_key(phone);
        let key32 = |k: &PublicKey| -> Result<[u8; 32], FakeError> {
            k.public_key_bytes()
                .try_into()
                .map_err(|_| FakeError::Signal("a public key is not 32 bytes".into()))
        };
        let account_pub = key32(&account.public_key)?;
        let ephemeral_pub = key32(&ephemeral.public_key)?;
        // Both wrappings run 131 072 PBKDF2 rounds: off the runtime's workers, which the
        // client in the same process needs meanwhile.
        let typed = code.to_string();
        let (companion_ephemeral, wrapped_primary) = tokio::task::spawn_blocking(move || {
            (
                PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped, &typed),
                PairCodeUtils::encrypt_ephemeral_pub(&ephemeral_pub, &typed),
            )
        })
        .await
        .map_err(|e| link(format!("the code derivation did not finish: {e}")))?;
        let companion_ephemeral =
            companion_ephemeral.map_err(|e| link(format!("the companion hello: {e}")))?;
        self.send_node(
            NodeBuilder::new("notification")
                .attr("type", "link_code_companion_reg")
                .attr("id", "pair-code-1")
                .attr("from", "s.whatsapp.net")
                .children([NodeBuilder::new("link_code_companion_reg")
                    .attr("stage", "primary_hello")
                    .children([
                        NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                            .bytes(wrapped_primary.to_vec())
                            .build(),
                        NodeBuilder::new("primary_identity_pub")
                            .bytes(account_pub.to_vec())
                            .build(),
                        NodeBuilder::new("link_code_pairing_ref")
                            .bytes(PAIR_CODE_REF.as_bytes().to_vec())
                            .build(),
                    ])
                    .build()])
                .build(),
        );
        let finish = self
            .wait_for(timeout, |n| {
                n.tag.as_ref() == "iq"
                    && n.children().is_some_and(|c| {
                        c.iter().any(|c| {
                            c.tag.as_ref() == "link_code_companion_reg"
                                && attr(c, "stage").as_deref() == Some("companion_finish")
                        })
                    })
            })
            .await
            .ok_or_else(|| link(format!("no companion_finish within {timeout:?}")))?;
        let bundle = child_bytes(&finish, "link_code_pairing_wrapped_key_bundle")
            .filter(|b| b.len() == 32 + 12 + 96 + 16)
            .ok_or_else(|| link("companion_finish without a 156-byte key bundle".into()))?;
        let (salt, rest) = bundle.split_at(32);
        let (iv, sealed) = rest.split_at(12);
        let agree = |private: &KeyPair, public: &[u8]| -> Result<Vec<u8>, FakeError> {
            let public = PublicKey::from_djb_public_key_bytes(public)
                .map_err(|e| FakeError::Signal(e.to_string()))?;
            private
                .private_key
                .calculate_agreement(&public)
                .map(|s| s.to_vec())
                .map_err(|e| FakeError::Signal(e.to_string()))
        };
        let ephemeral_shared = agree(&ephemeral, &companion_ephemeral)?;
        let mut key = [0u8; 32];
        hkdf_sha256_into(
            &ephemeral_shared,
            Some(salt),
            b"link_code_pairing_key_bundle_encryption_key",
            &mut key,
        )
        .map_err(|e| FakeError::Signal(e.to_string()))?;
        let iv: [u8; 12] = iv
            .try_into()
            .map_err(|_| link("the key bundle's IV".into()))?;
        let mut plain = Vec::new();
        RustCryptoProvider
            .aes_256_gcm_decrypt(&key, &iv, b"", sealed, &mut plain)
            .map_err(|_| {
                link("the key bundle does not open: the code typed is not the one shown".into())
            })?;
        let (companion_identity, rest) = plain.split_at(32);
        let (primary_identity, random) = rest.split_at(32);
        if primary_identity != account_pub {
            return Err(link("the key bundle names another phone's identity".into()));
        }
        let identity_shared = agree(&account, companion_identity)?;
        let mut adv_secret = [0u8; 32];
        hkdf_sha256_into(
            &[&ephemeral_shared[..], &identity_shared, random].concat(),
            None,
            b"adv_secret",
            &mut adv_secret,
        )
        .map_err(|e| FakeError::Signal(e.to_string()))?;
        let companion_identity: [u8; 32] = companion_identity
            .try_into()
            .map_err(|_| link("the companion identity is not 32 bytes".into()))?;
        self.pair_success(phone, companion_identity, adv_secret, None)
    }

    /// Answers the client's next `xmlns="md"` query whose child is `child_tag`
    /// (`link_code_companion_reg`, `ref`, `passkey_prologue`, `companion_nonce`,
    /// `encrypted_pairing_request`) with `<error code text>`.
    pub fn refuse_md_query(&self, child_tag: &str, code: u16, text: &str) {
        self.pairing()
            .refusals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(child_tag.to_string(), (code, text.to_string()));
    }

    /// WhatsApp asks the linking client for a passkey: the `passkey_prologue_request`
    /// notification carrying the WebAuthn request options.
    pub fn request_passkey(&self, options_json: &str) {
        self.send_node(
            NodeBuilder::new("notification")
                .attr("type", "passkey_prologue_request")
                .attr("id", "passkey-1")
                .attr("from", "s.whatsapp.net")
                .children([NodeBuilder::new("passkey_request_options")
                    .bytes(options_json.as_bytes().to_vec())
                    .build()])
                .build(),
        );
    }

    /// The phone accepted the assertion: the `crsc_continuation` notification with its
    /// ephemeral identity. The client answers with its nonce and shows the verification
    /// code ([`passkey_verification_code`]).
    pub fn continue_passkey(&self, primary_public_key: &[u8; 32], primary_nonce: &[u8; 32]) {
        let identity = wa::PrimaryEphemeralIdentity {
            public_key: Some(primary_public_key.to_vec()),
            nonce: Some(primary_nonce.to_vec()),
        }
        .encode_to_vec();
        self.send_continuation(Some(identity));
    }

    /// The phone accepted the assertion and continues with an ephemeral key pair and nonce
    /// of its own (kept, so [`FakeConnection::finish_passkey`] can open the companion's
    /// pairing request). Returns the public key and the nonce, from which the verification
    /// code both sides show follows ([`passkey_verification_code`]). Send it only after the
    /// client's assertion call returned: the client opens its passkey session when the
    /// server has answered the prologue, and drops a continuation that comes before.
    pub fn continue_passkey_as_phone(&self) -> ([u8; 32], [u8; 32]) {
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let pair = KeyPair::generate(&mut rng);
        let mut public = [0u8; 32];
        public.copy_from_slice(&pair.public_key.public_key_bytes()[..32]);
        let mut nonce = [0u8; 32];
        rand::RngExt::fill(&mut rng, &mut nonce);
        *lock(&self.pairing().primary_ephemeral) = Some(PhoneKey(pair));
        self.continue_passkey(&public, &nonce);
        (public, nonce)
    }

    /// The phone `phone` (digits) completes a passkey link it continued with
    /// [`FakeConnection::continue_passkey_as_phone`]: it waits up to `timeout` for the
    /// client's `<encrypted_pairing_request>` (sent when the operator confirms the code),
    /// derives the key both sides share (X25519 of its ephemeral key and the companion's
    /// from the prologue, HKDF salted with the companion's platform and the ref), opens the
    /// request, and sends the `<pair-success>` that the companion's new adv secret
    /// authenticates; from there it goes as for a scanned QR ([`FakeConnection::scan_qr`]).
    /// Send it only after the client's confirmation returned: the client commits the new
    /// adv secret when the server has answered the request.
    pub async fn finish_passkey(
        &mut self,
        phone: &str,
        timeout: Duration,
    ) -> Result<crate::LinkedDevice, FakeError> {
        crate::link::check_phone(phone)?;
        let link = |what: &str| FakeError::Link(what.to_string());
        let PhoneKey(primary) = lock(&self.pairing().primary_ephemeral)
            .clone()
            .ok_or_else(|| link("the phone did not continue this passkey link itself"))?;
        let request = self
            .wait_for(timeout, |n| {
                n.tag.as_ref() == "iq"
                    && n.children().is_some_and(|c| {
                        c.iter()
                            .any(|c| c.tag.as_ref() == "encrypted_pairing_request")
                    })
            })
            .await
            .ok_or_else(|| link("no encrypted_pairing_request in time"))?;
        let prologue = lock(&self.pairing().passkey_prologue)
            .clone()
            .ok_or_else(|| link("the client sent no passkey prologue"))?;
        let prologue = wa::ProloguePayload::decode_from_slice(&prologue)
            .map_err(|e| link(&format!("the prologue payload: {e}")))?;
        let identity = wa::CompanionEphemeralIdentity::decode_from_slice(
            prologue
                .companion_ephemeral_identity
                .as_deref()
                .unwrap_or_default(),
        )
        .map_err(|e| link(&format!("the companion ephemeral identity: {e}")))?;
        let companion = PublicKey::from_djb_public_key_bytes(
            identity.public_key.as_deref().unwrap_or_default(),
        )
        .map_err(|e| FakeError::Signal(e.to_string()))?;
        let shared: [u8; 32] = primary
            .private_key
            .calculate_agreement(&companion)
            .map_err(|e| FakeError::Signal(e.to_string()))?
            .as_ref()
            .try_into()
            .map_err(|_| FakeError::Signal("the shared secret is not 32 bytes".into()))?;
        let key = ShortcakeUtils::derive_encryption_key_from_shared_secret(
            &shared,
            identity
                .device_type
                .unwrap_or(wa::device_props::PlatformType::UNKNOWN),
            identity.r#ref.as_deref().unwrap_or_default(),
        )
        .map_err(|e| FakeError::Signal(e.to_string()))?;
        let wrapped = child_bytes(&request, "encrypted_pairing_request")
            .ok_or_else(|| link("an empty encrypted_pairing_request"))?;
        let wrapped = wa::EncryptedPairingRequest::decode_from_slice(&wrapped)
            .map_err(|e| link(&format!("the encrypted pairing request: {e}")))?;
        let iv: [u8; 12] = wrapped
            .iv
            .as_deref()
            .unwrap_or_default()
            .try_into()
            .map_err(|_| link("the pairing request's IV is not 12 bytes"))?;
        let mut plain = Vec::new();
        RustCryptoProvider
            .aes_256_gcm_decrypt(
                &key,
                &iv,
                b"",
                wrapped.encrypted_payload.as_deref().unwrap_or_default(),
                &mut plain,
            )
            .map_err(|_| link("the pairing request does not open with the derived key"))?;
        let request = wa::PairingRequest::decode_from_slice(&plain)
            .map_err(|e| link(&format!("the pairing request: {e}")))?;
        let key32 = |b: Option<&[u8]>, what: &str| -> Result<[u8; 32], FakeError> {
            b.unwrap_or_default()
                .try_into()
                .map_err(|_| link(&format!("the pairing request's {what} is not 32 bytes")))
        };
        let companion_identity = key32(request.companion_identity_key.as_deref(), "identity")?;
        let adv_secret = key32(request.adv_secret.as_deref(), "adv secret")?;
        self.pair_success(phone, companion_identity, adv_secret, None)
    }

    /// A continuation without the phone's identity (what a broken server sends): the
    /// client reports a passkey error at the verification stage.
    pub fn continue_passkey_without_identity(&self) {
        self.send_continuation(None);
    }

    fn send_continuation(&self, identity: Option<Vec<u8>>) {
        let children = identity.map(|b| {
            NodeBuilder::new("primary_ephemeral_identity")
                .bytes(b)
                .build()
        });
        self.send_node(
            NodeBuilder::new("notification")
                .attr("type", "crsc_continuation")
                .attr("id", "passkey-2")
                .attr("from", "s.whatsapp.net")
                .children(children)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn md_iq(child: Node) -> Node {
        NodeBuilder::new("iq")
            .attr("xmlns", "md")
            .attr("type", "set")
            .attr("id", "q1")
            .children([child])
            .build()
    }

    #[test]
    fn companion_hello_gets_a_ref_and_a_refusal_is_used_once() {
        let p = Pairing::default();
        let hello = md_iq(
            NodeBuilder::new("link_code_companion_reg")
                .attr("stage", "companion_hello")
                .build(),
        );
        let r = p.answer(&hello).unwrap();
        assert_eq!(attr(&r, "type").as_deref(), Some("result"));
        assert_eq!(
            child_bytes(&r, "link_code_pairing_ref").unwrap(),
            PAIR_CODE_REF.as_bytes()
        );
        p.refusals.lock().unwrap().insert(
            "link_code_companion_reg".into(),
            (429, "rate-overlimit".into()),
        );
        let r = p.answer(&hello).unwrap();
        assert_eq!(attr(&r, "type").as_deref(), Some("error"));
        assert_eq!(
            attr(&r.children().unwrap()[0], "code").as_deref(),
            Some("429")
        );
        assert_eq!(
            attr(&p.answer(&hello).unwrap(), "type").as_deref(),
            Some("result")
        );
        // Other md queries and other namespaces are left to the generic answer.
        assert!(
            p.answer(&md_iq(NodeBuilder::new("companion_nonce").build()))
                .is_none()
        );
        assert!(
            p.answer(
                &NodeBuilder::new("iq")
                    .attr("xmlns", "w:p")
                    .attr("id", "x")
                    .build()
            )
            .is_none()
        );
    }

    #[test]
    fn the_verification_code_has_two_groups_of_four() {
        let code = passkey_verification_code(&[1; 32], &[2; 32], &[3; 32]);
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(code.as_bytes()[4], b'-');
    }
}
