//! Deterministic identifiers in the shapes WhatsApp uses, drawn from the network's seeded RNG.

use rand::Rng;
use rand::rngs::StdRng;

const HEX: &[u8; 16] = b"0123456789ABCDEF";
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// WhatsApp's pair-code alphabet (no 0, O, 1, I, U).
const PAIR: &[u8; 32] = b"123456789ABCDEFGHJKLMNPQRSTVWXYZ";

fn draw(rng: &mut StdRng, alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// A message id as WhatsApp Web assigns for this device's sends: `3EB0` + 18 hex.
pub(crate) fn web_message_id(rng: &mut StdRng) -> String {
    format!("3EB0{}", draw(rng, HEX, 18))
}

/// A message id as a phone assigns: `3A` + 18 hex.
pub(crate) fn phone_message_id(rng: &mut StdRng) -> String {
    format!("3A{}", draw(rng, HEX, 18))
}

/// A LID's digits: 15 digits, not starting with 0.
pub(crate) fn lid_digits(rng: &mut StdRng) -> String {
    let first = rng.gen_range(1..=9u8);
    format!("{first}{}", draw(rng, b"0123456789", 14))
}

/// A modern group id's digits: `120363` + 12 digits.
pub(crate) fn group_digits(rng: &mut StdRng) -> String {
    format!("120363{}", draw(rng, b"0123456789", 12))
}

/// A QR payload shaped like the real one: `ref,noiseKey,identityKey,advSecret`.
pub(crate) fn qr_code(rng: &mut StdRng) -> String {
    format!(
        "2@{},{}=,{}=,{}=",
        draw(rng, B64, 86),
        draw(rng, B64, 43),
        draw(rng, B64, 43),
        draw(rng, B64, 43)
    )
}

/// An 8-character pair code.
pub(crate) fn pair_code(rng: &mut StdRng) -> String {
    draw(rng, PAIR, 8)
}

/// Random bytes (media keys, passkey challenges).
pub(crate) fn bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.r#gen::<u8>()).collect()
}

/// Lowercase hex of bytes.
pub(crate) fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shapes_and_determinism() {
        let mut a = StdRng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        let id = web_message_id(&mut a);
        assert_eq!(id, web_message_id(&mut b));
        assert!(id.starts_with("3EB0") && id.len() == 22);
        let lid = lid_digits(&mut a);
        assert_eq!(lid.len(), 15);
        assert!(!lid.starts_with('0'));
        let g = group_digits(&mut a);
        assert!(g.starts_with("120363") && g.len() == 18);
        let code = pair_code(&mut a);
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|c| PAIR.contains(&c)));
        assert_eq!(qr_code(&mut a).split(',').count(), 4);
        assert_eq!(hex(&[0, 255]), "00ff");
    }
}
