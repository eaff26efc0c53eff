//! The server side of WhatsApp's Noise handshakes (XX for a first connect, IK when the
//! client cached this server's certificate) and the framed transport cipher after it.

use whatsapp_rust::buffa::Message as _;
use whatsapp_rust::wacore::handshake::NoiseHandshake;
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore_binary::consts::{NOISE_PATTERN_IK, NOISE_PATTERN_XX, WA_CONN_HEADER};
use whatsapp_rust::waproto::whatsapp as wa;

use crate::FakeError;

/// The server's long-lived Noise identity and its certificate chain.
pub(crate) struct ServerIdentity {
    pub keypair: KeyPair,
    pub cert_chain: Vec<u8>,
}

impl ServerIdentity {
    pub fn generate() -> ServerIdentity {
        let keypair = KeyPair::generate(&mut rand::rng());
        let chain = wacore_noise::test_util::build_cert_chain_bytes(&static_pub(&keypair));
        ServerIdentity {
            keypair,
            cert_chain: chain,
        }
    }
}

fn static_pub(kp: &KeyPair) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&kp.public_key.public_key_bytes()[..32]);
    out
}

fn proto(e: impl std::fmt::Display) -> FakeError {
    FakeError::Protocol(e.to_string())
}

/// The transport keys after a handshake: the server reads with `read`, writes with `write`.
pub(crate) struct Keys {
    pub read: whatsapp_rust::wacore::handshake::NoiseCipher,
    pub write: whatsapp_rust::wacore::handshake::NoiseCipher,
}

/// How the handshake went: the keys and the client's login payload.
pub(crate) struct Handshake {
    pub keys: Keys,
    pub client_payload: wa::ClientPayload,
    /// True for IK (the client had this server's certificate cached).
    pub ik: bool,
}

/// Starts a handshake from the ClientHello; returns the ServerHello to send and, for IK, the
/// finished handshake (XX needs the ClientFinish first: see [`finish_xx`]).
pub(crate) fn respond_hello(
    id: &ServerIdentity,
    client_hello: &[u8],
) -> Result<(Vec<u8>, HelloState), FakeError> {
    let msg = wa::HandshakeMessage::decode_from_slice(client_hello).map_err(proto)?;
    let ch = msg
        .client_hello
        .into_option()
        .ok_or_else(|| proto("no client hello"))?;
    let eph: [u8; 32] = ch
        .ephemeral
        .ok_or_else(|| proto("no ephemeral key"))?
        .try_into()
        .map_err(|_| proto("ephemeral key is not 32 bytes"))?;
    let server_eph = KeyPair::generate(&mut rand::rng());
    let server_eph_pub = static_pub(&server_eph);
    match (ch.r#static, ch.payload) {
        (Some(enc_static), Some(enc_payload)) => {
            // IK: the client already knows our static key.
            let mut n = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER).map_err(proto)?;
            n.authenticate(&static_pub(&id.keypair));
            n.authenticate(&eph);
            n.mix_shared_secret(id.keypair.private_key.serialize(), &eph)
                .map_err(proto)?;
            let client_static: [u8; 32] = n
                .decrypt(&enc_static)
                .map_err(proto)?
                .try_into()
                .map_err(|_| proto("client static is not 32 bytes"))?;
            n.mix_shared_secret(id.keypair.private_key.serialize(), &client_static)
                .map_err(proto)?;
            let payload = n.decrypt(&enc_payload).map_err(proto)?;
            n.authenticate(&server_eph_pub);
            n.mix_shared_secret(server_eph.private_key.serialize(), &eph)
                .map_err(proto)?;
            n.mix_shared_secret(server_eph.private_key.serialize(), &client_static)
                .map_err(proto)?;
            let enc_cert = n.encrypt(&id.cert_chain).map_err(proto)?;
            let hello = server_hello(server_eph_pub, None, enc_cert);
            let (read, write) = n.finish().map_err(proto)?;
            let client_payload = wa::ClientPayload::decode_from_slice(&payload).map_err(proto)?;
            Ok((
                hello,
                HelloState::Done(Handshake {
                    keys: Keys { read, write },
                    client_payload,
                    ik: true,
                }),
            ))
        }
        _ => {
            let mut n = NoiseHandshake::new(NOISE_PATTERN_XX, &WA_CONN_HEADER).map_err(proto)?;
            n.authenticate(&eph);
            n.authenticate(&server_eph_pub);
            n.mix_shared_secret(server_eph.private_key.serialize(), &eph)
                .map_err(proto)?;
            let enc_static = n.encrypt(&static_pub(&id.keypair)).map_err(proto)?;
            n.mix_shared_secret(id.keypair.private_key.serialize(), &eph)
                .map_err(proto)?;
            let enc_cert = n.encrypt(&id.cert_chain).map_err(proto)?;
            let hello = server_hello(server_eph_pub, Some(enc_static), enc_cert);
            Ok((
                hello,
                HelloState::AwaitFinish {
                    noise: n,
                    server_eph,
                },
            ))
        }
    }
}

/// Where the handshake stands after the ServerHello.
pub(crate) enum HelloState {
    /// IK finished.
    Done(Handshake),
    /// XX waits for the ClientFinish.
    AwaitFinish {
        noise: NoiseHandshake,
        server_eph: KeyPair,
    },
}

/// Completes XX from the ClientFinish.
pub(crate) fn finish_xx(
    mut n: NoiseHandshake,
    server_eph: &KeyPair,
    client_finish: &[u8],
) -> Result<Handshake, FakeError> {
    let msg = wa::HandshakeMessage::decode_from_slice(client_finish).map_err(proto)?;
    let cf = msg
        .client_finish
        .into_option()
        .ok_or_else(|| proto("no client finish"))?;
    let client_static: [u8; 32] = n
        .decrypt(cf.r#static.as_deref().ok_or_else(|| proto("no static"))?)
        .map_err(proto)?
        .try_into()
        .map_err(|_| proto("client static is not 32 bytes"))?;
    n.mix_shared_secret(server_eph.private_key.serialize(), &client_static)
        .map_err(proto)?;
    let payload = n
        .decrypt(cf.payload.as_deref().ok_or_else(|| proto("no payload"))?)
        .map_err(proto)?;
    let (read, write) = n.finish().map_err(proto)?;
    Ok(Handshake {
        keys: Keys { read, write },
        client_payload: wa::ClientPayload::decode_from_slice(&payload).map_err(proto)?,
        ik: false,
    })
}

fn server_hello(eph: [u8; 32], enc_static: Option<Vec<u8>>, enc_cert: Vec<u8>) -> Vec<u8> {
    wa::HandshakeMessage {
        server_hello: whatsapp_rust::buffa::MessageField::some(
            wa::handshake_message::ServerHello {
                ephemeral: Some(eph.to_vec()),
                r#static: enc_static,
                payload: Some(enc_cert),
                ..Default::default()
            },
        ),
        ..Default::default()
    }
    .encode_to_vec()
}
