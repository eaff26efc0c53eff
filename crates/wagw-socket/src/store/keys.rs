//! Key encodings: composite keys are length-prefixed parts, so no separator byte can
//! collide with data and a prefix scan over the leading parts is exact.

use whatsapp_rust::store::error::StoreError;

/// Encodes parts as `len(u32 BE) ++ bytes` each.
pub(crate) fn composite(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Splits a composite key back into its parts.
pub(crate) fn split(mut key: &[u8]) -> Result<Vec<&[u8]>, StoreError> {
    let mut parts = Vec::new();
    while !key.is_empty() {
        if key.len() < 4 {
            return Err(corrupt("composite key truncated"));
        }
        let len = u32::from_be_bytes([key[0], key[1], key[2], key[3]]) as usize;
        key = &key[4..];
        if key.len() < len {
            return Err(corrupt("composite key part truncated"));
        }
        parts.push(&key[..len]);
        key = &key[len..];
    }
    Ok(parts)
}

/// A `u32` key in big-endian so the store's byte order is numeric order.
pub(crate) fn u32_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

/// Decodes a big-endian `u32` key.
pub(crate) fn u32_from(key: &[u8]) -> Result<u32, StoreError> {
    let arr: [u8; 4] = key
        .try_into()
        .map_err(|_| corrupt("numeric key is not 4 bytes"))?;
    Ok(u32::from_be_bytes(arr))
}

/// A value prefixed with an `i64` timestamp.
pub(crate) fn stamped(ts: i64, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + payload.len());
    out.extend_from_slice(&ts.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Splits a stamped value into its timestamp and payload.
pub(crate) fn unstamp(v: &[u8]) -> Result<(i64, &[u8]), StoreError> {
    if v.len() < 8 {
        return Err(corrupt("stamped value shorter than its timestamp"));
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&v[..8]);
    Ok((i64::from_be_bytes(ts), &v[8..]))
}

/// A string from stored bytes.
pub(crate) fn utf8(b: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(b.to_vec()).map_err(|_| corrupt("stored key is not UTF-8"))
}

/// A validation error for data that cannot have been written by this store.
pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Validation(format!("corrupt protocol store: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composite_round_trips_and_prefixes() -> Result<(), StoreError> {
        let k = composite(&[b"a:b", b"", b"\x00\x01"]);
        assert_eq!(split(&k)?, vec![&b"a:b"[..], &b""[..], &b"\x00\x01"[..]]);
        assert!(k.starts_with(&composite(&[b"a:b"])));
        // "ab" + "c" must not share a prefix with "a" + "bc".
        assert_ne!(composite(&[b"ab", b"c"]), composite(&[b"a", b"bc"]));
        Ok(())
    }

    #[test]
    fn truncated_keys_are_errors() {
        assert!(split(&[0, 0, 0, 5, b'a']).is_err());
        assert!(split(&[0, 0]).is_err());
        assert!(u32_from(&[1, 2, 3]).is_err());
        assert!(unstamp(&[1, 2]).is_err());
    }
}
