//! The phone's side of linking a companion by QR code: the phone reads the QR string the
//! client shows (`ref,noise,identity,advSecret,clientType`, base64 keys), signs an
//! `ADVDeviceIdentity` for a new device number of its account with its account key, wraps it
//! in an `ADVSignedDeviceIdentityHMAC` keyed by the companion's adv secret, and WhatsApp
//! sends that to the companion as `<iq type="set"><pair-success>`. The companion verifies
//! the HMAC and the account signature (whatsapp-rust 0.7 `PairUtils::do_pair_crypto`),
//! stores the identity and answers `<pair-device-sign>` with its own device signature;
//! the server checks that signature, records the linked device, and ends the stream with
//! `<stream:error code="515"/>` (restart required), after which the companion logs in as
//! `<phone>:<device>`.

use std::sync::Mutex;

use base64::Engine as _;
use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::libsignal::crypto::{RustCryptoProvider, SignalCryptoProvider};
use whatsapp_rust::wacore::libsignal::protocol::{KeyPair, PublicKey};
use whatsapp_rust::wacore_binary::Node;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;
use crate::conn::{FakeConnection, attr};
use crate::pairing::child_bytes;

/// `ADV_PREFIX_ACCOUNT_SIGNATURE`: what the primary's account signature covers first.
const ADV_PREFIX_ACCOUNT_SIGNATURE: &[u8] = &[6, 0];
/// `ADV_PREFIX_DEVICE_SIGNATURE_GENERATE`: what the companion's device signature covers first.
const ADV_PREFIX_DEVICE_SIGNATURE: &[u8] = &[6, 1];
/// The platform the fake phones announce in `<pair-success>`.
const PHONE_PLATFORM: &str = "android";

/// A companion device a fake phone linked (announced in `<pair-success>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedDevice {
    /// The phone number's digits (the account's user part).
    pub phone: String,
    /// The device number WhatsApp assigned the companion (1 and up).
    pub device: u32,
    /// The account's LID user part (the server's [`crate::FakeConfig::lid`]).
    pub lid: String,
    /// The companion's identity public key, from the QR code.
    pub companion_identity: [u8; 32],
}

impl LinkedDevice {
    /// `<phone>:<device>@s.whatsapp.net`.
    pub fn jid(&self) -> String {
        format!("{}:{}@s.whatsapp.net", self.phone, self.device)
    }

    /// `<lid>:<device>@lid`.
    pub fn lid_jid(&self) -> String {
        format!("{}:{}@lid", self.lid, self.device)
    }
}

/// How a fake phone tampers with its `<pair-success>`, to test that the client refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// The HMAC is keyed by another adv secret than the one in the QR code (what a party
    /// that never saw the QR code would send).
    WrongHmac,
    /// The HMAC is right but the account signature comes from another key than the one it
    /// names.
    WrongAccountSignature,
}

/// A `<pair-success>` sent and not answered yet.
#[derive(Debug)]
pub(crate) struct PendingLink {
    req_id: String,
    device: LinkedDevice,
    account_key: [u8; 32],
    details: Vec<u8>,
}

/// What the client answered to a `<pair-success>`.
#[derive(Debug)]
pub(crate) enum LinkAnswer {
    /// A valid `<pair-device-sign>`: the device is linked.
    Signed(LinkedDevice),
    /// An IQ error, or a device signature that does not verify.
    Refused(String),
}

/// One connection's QR link state: the refs it was given, the pending pair-success and
/// how the last one was refused.
#[derive(Debug, Default)]
pub(crate) struct QrLink {
    refs: Mutex<Vec<String>>,
    pending: Mutex<Option<PendingLink>>,
    refusal: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl QrLink {
    /// Remembers the pairing refs this connection was given (only they can be scanned).
    pub(crate) fn issued(&self, refs: Vec<String>) {
        *lock(&self.refs) = refs;
    }

    /// Checks the client's `node` against the pending pair-success; `Some` when it is the
    /// answer to it.
    pub(crate) fn answer(&self, node: &Node) -> Option<LinkAnswer> {
        if node.tag.as_ref() != "iq" {
            return None;
        }
        let id = attr(node, "id")?;
        let mut pending = lock(&self.pending);
        if pending.as_ref().is_none_or(|p| p.req_id != id) {
            return None;
        }
        let link = pending.take()?;
        drop(pending);
        let answer = match attr(node, "type").as_deref() {
            Some("result") => verify_device_signature(&link, node),
            _ => {
                let error = node
                    .get_optional_child("error")
                    .map(|e| {
                        format!(
                            "{} {}",
                            attr(e, "code").unwrap_or_default(),
                            attr(e, "text").unwrap_or_default()
                        )
                    })
                    .unwrap_or_else(|| "an answer without <pair-device-sign>".to_string());
                LinkAnswer::Refused(error)
            }
        };
        if let LinkAnswer::Refused(why) = &answer {
            *lock(&self.refusal) = Some(why.clone());
        }
        Some(answer)
    }
}

/// The companion's `<pair-device-sign>`: the identity the phone signed, with the
/// companion's device signature over it.
fn verify_device_signature(link: &PendingLink, node: &Node) -> LinkAnswer {
    let Some(bytes) = child_bytes(node, "device-identity") else {
        return LinkAnswer::Refused("<pair-device-sign> without <device-identity>".into());
    };
    let Ok(signed) = wa::ADVSignedDeviceIdentity::decode_from_slice(&bytes) else {
        return LinkAnswer::Refused("undecodable ADVSignedDeviceIdentity".into());
    };
    if signed.details.as_deref() != Some(link.details.as_slice())
        || signed.account_signature_key.as_deref() != Some(&link.account_key[..])
    {
        return LinkAnswer::Refused("the signed identity is not the one the phone sent".into());
    }
    let message = [
        ADV_PREFIX_DEVICE_SIGNATURE,
        &link.details,
        &link.device.companion_identity,
        &link.account_key,
    ]
    .concat();
    let valid =
        PublicKey::from_djb_public_key_bytes(&link.device.companion_identity).is_ok_and(|k| {
            k.verify_signature(&message, signed.device_signature.as_deref().unwrap_or(&[]))
        });
    if valid {
        LinkAnswer::Signed(link.device.clone())
    } else {
        LinkAnswer::Refused("the device signature does not verify".into())
    }
}

/// A phone number as digits.
pub(crate) fn check_phone(phone: &str) -> Result<(), FakeError> {
    if phone.is_empty() || !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FakeError::Link(format!(
            "phone {phone:?}: expected the number's digits"
        )));
    }
    Ok(())
}

/// The fields of a QR string a phone uses: the ref, the companion's identity key and its
/// adv secret.
fn parse_qr(qr: &str) -> Result<(String, [u8; 32], [u8; 32]), FakeError> {
    let bad = |what: &str| FakeError::Link(format!("QR string {qr:?}: {what}"));
    let fields: Vec<&str> = qr.split(',').collect();
    if fields.len() != 5 {
        return Err(bad(
            "expected 5 fields (ref,noise,identity,advSecret,clientType)",
        ));
    }
    let key = |i: usize, name: &str| -> Result<[u8; 32], FakeError> {
        base64::engine::general_purpose::STANDARD
            .decode(fields[i])
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| bad(&format!("{name} is not 32 bytes of base64")))
    };
    Ok((
        fields[0].to_string(),
        key(2, "identity")?,
        key(3, "advSecret")?,
    ))
}

impl FakeConnection {
    /// The phone with the number `phone` (digits) scans `qr`, a QR string this connection's
    /// client showed (its QR code event), and WhatsApp sends the client its
    /// `<pair-success>` for a new device of the account. The client answers with
    /// `<pair-device-sign>`; the server then records the device
    /// ([`crate::FakeWhatsApp::linked_devices`]) and closes the stream with 515, and the
    /// client's next connection logs in as [`LinkedDevice::jid`]. The phone's account key
    /// is the same for every link of `phone` on this server.
    pub fn scan_qr(&self, qr: &str, phone: &str) -> Result<LinkedDevice, FakeError> {
        self.send_pair_success(qr, phone, None)
    }

    /// Like [`FakeConnection::scan_qr`], with a `<pair-success>` the client must refuse
    /// (it answers an IQ error: [`FakeConnection::link_refusal`]); nothing is linked.
    pub fn scan_qr_forged(
        &self,
        qr: &str,
        phone: &str,
        forgery: Forgery,
    ) -> Result<LinkedDevice, FakeError> {
        self.send_pair_success(qr, phone, Some(forgery))
    }

    /// How the client refused this connection's last `<pair-success>` (`"<code> <text>"`
    /// of its IQ error, or what was wrong with its `<pair-device-sign>`), once it answered.
    pub fn link_refusal(&self) -> Option<String> {
        lock(&self.qr_link().refusal).clone()
    }

    fn send_pair_success(
        &self,
        qr: &str,
        phone: &str,
        forgery: Option<Forgery>,
    ) -> Result<LinkedDevice, FakeError> {
        check_phone(phone)?;
        let (qr_ref, companion_identity, adv_secret) = parse_qr(qr)?;
        if !lock(&self.qr_link().refs).contains(&qr_ref) {
            return Err(FakeError::Link(format!(
                "QR ref {qr_ref:?} was not issued to this connection"
            )));
        }
        self.pair_success(phone, companion_identity, adv_secret, forgery)
    }

    /// The `<pair-success>` for a new device of `phone`'s account whose companion has the
    /// identity key `companion_identity` and shares `adv_secret` with the phone.
    pub(crate) fn pair_success(
        &self,
        phone: &str,
        companion_identity: [u8; 32],
        adv_secret: [u8; 32],
        forgery: Option<Forgery>,
    ) -> Result<LinkedDevice, FakeError> {
        if !matches!(self.kind(), crate::ConnKind::Registration) {
            return Err(FakeError::Link(
                "only a registration connection (an unlinked client) can be linked".into(),
            ));
        }
        let state = self.state();
        let account = state.account_key(phone);
        let device = LinkedDevice {
            phone: phone.to_string(),
            device: state.next_device(),
            lid: state.config().lid,
            companion_identity,
        };
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let details = wa::ADVDeviceIdentity {
            raw_id: Some(rand::RngExt::random(&mut rng)),
            timestamp: Some(whatsapp_rust::wacore::time::now_secs_u64()),
            key_index: Some(device.device),
            ..Default::default()
        }
        .encode_to_vec();
        let account_key: [u8; 32] = account
            .public_key
            .public_key_bytes()
            .try_into()
            .map_err(|_| FakeError::Signal("the account key is not 32 bytes".into()))?;
        let signer = match forgery {
            Some(Forgery::WrongAccountSignature) => KeyPair::generate(&mut rng),
            _ => account,
        };
        let message = [ADV_PREFIX_ACCOUNT_SIGNATURE, &details, &companion_identity].concat();
        let account_signature = signer
            .private_key
            .calculate_signature(&message, &mut rng)
            .map_err(|e| FakeError::Signal(e.to_string()))?;
        let signed = wa::ADVSignedDeviceIdentity {
            details: Some(details.clone()),
            account_signature_key: Some(account_key.to_vec()),
            account_signature: Some(account_signature.to_vec()),
            device_signature: None,
        }
        .encode_to_vec();
        let hmac_key = match forgery {
            Some(Forgery::WrongHmac) => adv_secret.map(|b| b ^ 0x5a),
            _ => adv_secret,
        };
        let hmac = RustCryptoProvider.hmac_sha256(&hmac_key, &signed);
        let container = wa::ADVSignedDeviceIdentityHMAC {
            details: Some(signed),
            hmac: Some(hmac.to_vec()),
            ..Default::default()
        }
        .encode_to_vec();
        let req_id = format!("pair-success-{}", device.device);
        *lock(&self.qr_link().pending) = Some(PendingLink {
            req_id: req_id.clone(),
            device: device.clone(),
            account_key,
            details,
        });
        *lock(&self.qr_link().refusal) = None;
        self.send_node(
            NodeBuilder::new("iq")
                .attr("type", "set")
                .attr("id", req_id)
                .attr("from", "s.whatsapp.net")
                .attr("xmlns", "md")
                .attr("t", whatsapp_rust::wacore::time::now_secs_u64().to_string())
                .children([NodeBuilder::new("pair-success")
                    .children([
                        NodeBuilder::new("device-identity").bytes(container).build(),
                        NodeBuilder::new("device")
                            .attr("jid", device.jid())
                            .attr("lid", device.lid_jid())
                            .build(),
                        NodeBuilder::new("platform")
                            .attr("name", PHONE_PLATFORM)
                            .build(),
                    ])
                    .build()])
                .build(),
        );
        Ok(device)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_qr_string_gives_its_ref_identity_and_secret() {
        let b64 = |b: [u8; 32]| base64::engine::general_purpose::STANDARD.encode(b);
        let qr = format!("2@r,{},{},{},WEB", b64([1; 32]), b64([2; 32]), b64([3; 32]));
        let (r, identity, secret) = parse_qr(&qr).unwrap();
        assert_eq!((r.as_str(), identity, secret), ("2@r", [2; 32], [3; 32]));
        let short = format!("2@r,{},{},{}", b64([1; 32]), b64([2; 32]), b64([3; 32]));
        assert!(
            parse_qr(&short)
                .unwrap_err()
                .to_string()
                .contains("5 fields")
        );
        let bad = format!("2@r,{},AAAA,{},WEB", b64([1; 32]), b64([3; 32]));
        assert!(parse_qr(&bad).unwrap_err().to_string().contains("identity"));
    }
}
