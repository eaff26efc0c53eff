//! `X-Wagw-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
//!
//! The timestamp is inside the signed string so a captured request cannot be replayed
//! later than the receiver's tolerance; each retry is signed afresh with its own `t` (the
//! body and `X-Wagw-Delivery` stay the same).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::error::AgentsError;

/// The signature header's name.
pub const SIGNATURE_HEADER: &str = "X-Wagw-Signature";
/// The delivery id header's name (the idempotency key).
pub const DELIVERY_HEADER: &str = "X-Wagw-Delivery";
/// A sensible default tolerance for [`verify_signature`]: five minutes.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

fn mac(secret: &[u8], timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac_key(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cold]
fn unreachable_hmac_key() -> ! {
    // HMAC's key length is unrestricted (long keys are hashed), so this cannot happen.
    panic!("HMAC-SHA256 rejected a key; HMAC accepts any key length")
}

/// The `X-Wagw-Signature` value for `body` sent at `timestamp` (Unix seconds).
///
/// ```
/// use wagw_agents::{sign, verify_signature};
/// let header = sign(b"0123456789abcdef", 1_700_000_000, br#"{"body":"hi"}"#);
/// assert!(header.starts_with("t=1700000000,v1="));
/// verify_signature(b"0123456789abcdef", &header, br#"{"body":"hi"}"#, 1_700_000_030, 300)?;
/// # Ok::<(), wagw_agents::AgentsError>(())
/// ```
pub fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(digest))
}

/// Checks an `X-Wagw-Signature` header against `body` (the raw bytes, before any JSON
/// parsing) as an agent receiving a webhook would. `now` is Unix seconds; the header's `t`
/// must be within `tolerance_secs` of it. Several `v1=` values are accepted (any one
/// matching passes) so a secret can be rotated. The comparison is constant-time.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: u64,
    tolerance_secs: u64,
) -> Result<(), AgentsError> {
    let mut timestamp: Option<u64> = None;
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(AgentsError::SignatureMalformed(format!(
                "{part:?} is not key=value"
            )));
        };
        match key {
            "t" => {
                let t = value.parse::<u64>().map_err(|_| {
                    AgentsError::SignatureMalformed(format!("t={value:?} is not Unix seconds"))
                })?;
                timestamp = Some(t);
            }
            "v1" => {
                let bytes = hex::decode(value).map_err(|_| {
                    AgentsError::SignatureMalformed(format!("v1={value:?} is not hex"))
                })?;
                candidates.push(bytes);
            }
            // Unknown schemes are ignored so new ones can be added alongside v1.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or_else(|| AgentsError::SignatureMalformed("no t=".into()))?;
    if candidates.is_empty() {
        return Err(AgentsError::SignatureMalformed("no v1=".into()));
    }
    let skew = now.abs_diff(timestamp);
    if skew > tolerance_secs {
        return Err(AgentsError::SignatureExpired {
            timestamp,
            skew_secs: skew,
            tolerance_secs,
        });
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(AgentsError::SignatureMismatch)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const SECRET: &[u8] = b"whsec_test_0123456789";

    #[test]
    fn known_vector() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test_0123456789
        assert_eq!(
            sign(SECRET, 1_700_000_000, br#"{"a":1}"#),
            "t=1700000000,v1=d45143ed412aa9d672e3e06cc6753ced7e0e5a1757b1109ff599ba71790e646d"
        );
    }

    #[test]
    fn round_trip_and_failures() {
        let body = br#"{"body":"hello"}"#;
        let header = sign(SECRET, 1000, body);
        assert!(verify_signature(SECRET, &header, body, 1000, 0).is_ok());
        assert!(matches!(
            verify_signature(SECRET, &header, br#"{"body":"hellO"}"#, 1000, 10),
            Err(AgentsError::SignatureMismatch)
        ));
        assert!(matches!(
            verify_signature(b"another-secret-0123", &header, body, 1000, 10),
            Err(AgentsError::SignatureMismatch)
        ));
        assert!(matches!(
            verify_signature(SECRET, &header, body, 1400, 300),
            Err(AgentsError::SignatureExpired { skew_secs: 400, .. })
        ));
        // Exactly at the tolerance passes, in either direction.
        assert!(verify_signature(SECRET, &header, body, 700, 300).is_ok());
        assert!(verify_signature(SECRET, &header, body, 1300, 300).is_ok());
    }

    #[test]
    fn rotation_accepts_any_v1() {
        let body = b"x";
        let good = sign(SECRET, 5, body);
        let good_v1 = good.split_once("v1=").unwrap().1;
        let header = format!("t=5,v1={},v1={good_v1},v0=legacy", "00".repeat(32));
        assert!(verify_signature(SECRET, &header, body, 5, 0).is_ok());
    }

    #[test]
    fn malformed_headers() {
        for bad in ["", "t=1", "v1=00", "t=abc,v1=00", "t=1,v1=zz", "garbage"] {
            assert!(
                matches!(
                    verify_signature(SECRET, bad, b"", 1, 10),
                    Err(AgentsError::SignatureMalformed(_))
                ),
                "{bad:?}"
            );
        }
    }
}
