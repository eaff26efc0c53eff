//! `SignalStore`: identities, sessions, pre-keys, signed pre-keys and sender keys.

use std::sync::Arc;

use bytes::Bytes;
use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::SignalStore;

use super::keys::{corrupt, u32_from, u32_key};
use super::{AccountStore, db_err};

/// Pre-key values carry one flag byte (uploaded) before the record.
fn prekey_value(record: &[u8], uploaded: bool) -> Vec<u8> {
    let mut v = Vec::with_capacity(record.len() + 1);
    v.push(u8::from(uploaded));
    v.extend_from_slice(record);
    v
}

fn prekey_record(v: &[u8]) -> Result<Bytes> {
    match v.split_first() {
        Some((_, record)) => Ok(Bytes::copy_from_slice(record)),
        None => Err(corrupt("empty pre-key value")),
    }
}

/// True when `addr` is `user@...` or `user:device@...`.
fn address_of_user(addr: &[u8], user: &[u8]) -> bool {
    addr.strip_prefix(user)
        .is_some_and(|rest| rest.first().is_some_and(|c| *c == b'@' || *c == b':'))
}

#[async_trait::async_trait]
impl SignalStore for AccountStore {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.t
            .identities
            .insert(address.as_bytes(), &key[..])
            .map_err(db_err)?;
        self.commit().await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for (address, key) in identities {
            batch.insert(address.as_bytes(), &key[..]);
        }
        self.t.identities.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        match self.t.identities.get(address.as_bytes()).map_err(db_err)? {
            Some(v) => {
                let key: [u8; 32] = v
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("identity key is not 32 bytes"))?;
                Ok(Some(key))
            }
            None => Ok(None),
        }
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.t
            .identities
            .remove(address.as_bytes())
            .map_err(db_err)?;
        self.commit().await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self
            .t
            .sessions
            .get(address.as_bytes())
            .map_err(db_err)?
            .map(|v| Bytes::copy_from_slice(&v)))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.t
            .sessions
            .insert(address.as_bytes(), session)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for (address, session) in sessions {
            batch.insert(address.as_bytes(), session.as_ref());
        }
        self.t.sessions.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.t.sessions.remove(address.as_bytes()).map_err(db_err)?;
        self.commit().await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        self.t
            .sessions
            .contains_key(address.as_bytes())
            .map_err(db_err)
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        let user = user.as_bytes();
        for tree in [&self.t.sessions, &self.t.identities] {
            for item in tree.scan_prefix(user) {
                let (k, _) = item.map_err(db_err)?;
                if address_of_user(&k, user) {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.t
            .prekeys
            .insert(u32_key(id), prekey_value(record, uploaded))
            .map_err(db_err)?;
        self.commit().await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for (id, record) in keys {
            batch.insert(&u32_key(*id)[..], prekey_value(record, uploaded));
        }
        self.t.prekeys.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        match self.t.prekeys.get(u32_key(id)).map_err(db_err)? {
            Some(v) => Ok(Some(prekey_record(&v)?)),
            None => Ok(None),
        }
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let mut out = Vec::with_capacity(ids.len());
        for &id in ids {
            if let Some(v) = self.t.prekeys.get(u32_key(id)).map_err(db_err)? {
                out.push((id, prekey_record(&v)?));
            }
        }
        Ok(out)
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        // UPDATE semantics: a key consumed meanwhile must stay deleted.
        {
            let _g = self.rmw_lock();
            for &id in ids {
                if let Some(v) = self.t.prekeys.get(u32_key(id)).map_err(db_err)?
                    && v.first() == Some(&0)
                {
                    let mut nv = v.to_vec();
                    nv[0] = 1;
                    self.t.prekeys.insert(u32_key(id), nv).map_err(db_err)?;
                }
            }
        }
        self.commit().await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        self.t.prekeys.remove(u32_key(id)).map_err(db_err)?;
        self.commit().await
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        // Keys are big-endian, so the last key is the largest id.
        match self.t.prekeys.last().map_err(db_err)? {
            Some((k, _)) => u32_from(&k),
            None => Ok(0),
        }
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        self.t
            .signed_prekeys
            .insert(u32_key(id), record)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .signed_prekeys
            .get(u32_key(id))
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let mut out = Vec::new();
        for item in self.t.signed_prekeys.iter() {
            let (k, v) = item.map_err(db_err)?;
            out.push((u32_from(&k)?, v.to_vec()));
        }
        Ok(out)
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        self.t.signed_prekeys.remove(u32_key(id)).map_err(db_err)?;
        self.commit().await
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.t
            .sender_keys
            .insert(address.as_bytes(), record)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for (address, record) in sender_keys {
            batch.insert(address.as_bytes(), record.as_ref());
        }
        self.t.sender_keys.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .sender_keys
            .get(address.as_bytes())
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.t
            .sender_keys
            .remove(address.as_bytes())
            .map_err(db_err)?;
        self.commit().await
    }
}

#[cfg(test)]
mod tests {
    use super::address_of_user;

    #[test]
    fn user_address_matching_requires_a_separator() {
        assert!(address_of_user(b"123@s.whatsapp.net", b"123"));
        assert!(address_of_user(b"123:4@lid", b"123"));
        assert!(!address_of_user(b"1234@s.whatsapp.net", b"123"));
        assert!(!address_of_user(b"123", b"123"));
    }
}
