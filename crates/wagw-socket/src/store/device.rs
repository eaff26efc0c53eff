//! `DeviceStore` (the linked device's identity) and `MsgSecretStore` (per-message secrets
//! for poll votes, reactions and edits).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::{
    DeviceStore, MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry,
    merge_msg_secret_message_ts,
};
use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::device::DEVICE_PROPS;
use whatsapp_rust::{ClientProfile, StorageResourceReport};

use super::keys::{composite, corrupt};
use super::{AccountStore, db_err, from_json, to_json};

pub(super) const DEVICE_KEY: &[u8] = b"device";
const NEXT_DEVICE_ID_KEY: &[u8] = b"next_device_id";
const SECRET_LEN: usize = 32;

/// Whether a raw device record decodes as a device that completed a link.
pub(super) fn linked_record(record: &[u8]) -> bool {
    serde_json::from_slice::<Device>(record)
        .ok()
        .is_some_and(|d| crate::login::identity_of_device(&d).is_some())
}

/// Reads the persisted device-id counter (1 on a fresh database).
pub(super) fn load_next_device_id(meta: &wagw_store::Tree) -> Result<i32> {
    match meta.get(NEXT_DEVICE_ID_KEY).map_err(db_err)? {
        Some(v) => {
            let arr: [u8; 4] = v
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("device id counter is not 4 bytes"))?;
            Ok(i32::from_be_bytes(arr))
        }
        None => Ok(1),
    }
}

/// Restores the fields `Device`'s serde form skips, so a loaded device is usable as is:
/// the device properties sent at registration (the builder's override is applied on top
/// after load) and the client profile.
pub fn restore_runtime_fields(device: &mut Device) {
    device.device_props = Arc::new(DEVICE_PROPS.clone());
    device.client_profile = ClientProfile::web();
    device.nct_salt_sync_seen = false;
}

fn secret_value(secret: &[u8; SECRET_LEN], expires_at: i64, message_ts: i64) -> Vec<u8> {
    let mut v = Vec::with_capacity(SECRET_LEN + 16);
    v.extend_from_slice(secret);
    v.extend_from_slice(&expires_at.to_be_bytes());
    v.extend_from_slice(&message_ts.to_be_bytes());
    v
}

fn parse_secret(v: &[u8]) -> Result<([u8; SECRET_LEN], i64, i64)> {
    if v.len() != SECRET_LEN + 16 {
        return Err(corrupt("message secret row has the wrong length"));
    }
    let mut secret = [0u8; SECRET_LEN];
    secret.copy_from_slice(&v[..SECRET_LEN]);
    let mut a = [0u8; 8];
    a.copy_from_slice(&v[SECRET_LEN..SECRET_LEN + 8]);
    let mut b = [0u8; 8];
    b.copy_from_slice(&v[SECRET_LEN + 8..]);
    Ok((secret, i64::from_be_bytes(a), i64::from_be_bytes(b)))
}

#[async_trait::async_trait]
impl DeviceStore for AccountStore {
    async fn save(&self, device: &Device) -> Result<()> {
        self.t
            .meta
            .insert(DEVICE_KEY, to_json(device)?)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn load(&self) -> Result<Option<Device>> {
        match self.t.meta.get(DEVICE_KEY).map_err(db_err)? {
            Some(v) => {
                let mut device: Device = from_json(&v)?;
                restore_runtime_fields(&mut device);
                Ok(Some(device))
            }
            None => Ok(None),
        }
    }

    async fn exists(&self) -> Result<bool> {
        self.t.meta.contains_key(DEVICE_KEY).map_err(db_err)
    }

    async fn create(&self) -> Result<i32> {
        let id = {
            let _g = self.rmw_lock();
            let id = self.next_device_id.fetch_add(1, Ordering::SeqCst);
            self.t
                .meta
                .insert(NEXT_DEVICE_ID_KEY, &(id + 1).to_be_bytes()[..])
                .map_err(db_err)?;
            // Like the reference store: a created row exists, holding a fresh identity.
            if !self.t.meta.contains_key(DEVICE_KEY).map_err(db_err)? {
                self.t
                    .meta
                    .insert(DEVICE_KEY, to_json(&Device::new())?)
                    .map_err(db_err)?;
            }
            id
        };
        self.commit().await?;
        Ok(id)
    }

    async fn resource_report(&self) -> StorageResourceReport {
        StorageResourceReport {
            // What the page cache holds now is not tracked here; its configured cap is the
            // honest upper bound.
            memory_bytes: Some(self.cache_capacity),
            pages: None,
            io_read_bytes: None,
            io_write_bytes: None,
        }
    }
}

#[async_trait::async_trait]
impl MsgSecretStore for AccountStore {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let stored = entries.len();
        {
            let _g = self.rmw_lock();
            let mut batch = wagw_store::Batch::default();
            // Later entries in one call merge with earlier ones, like the reference.
            let mut pending: std::collections::HashMap<Vec<u8>, ([u8; SECRET_LEN], i64, i64)> =
                std::collections::HashMap::new();
            for e in entries {
                let key = composite(&[e.chat.as_bytes(), e.sender.as_bytes(), e.msg_id.as_bytes()]);
                let existing = match pending.get(&key) {
                    Some(row) => Some(*row),
                    None => match self.t.msg_secrets.get(&key).map_err(db_err)? {
                        Some(v) => Some(parse_secret(&v)?),
                        None => None,
                    },
                };
                let row = match existing {
                    Some((_, exp, ts)) => (
                        e.secret,
                        merge_msg_secret_expiry(exp, e.expires_at),
                        merge_msg_secret_message_ts(ts, e.message_ts),
                    ),
                    None => (e.secret, e.expires_at, e.message_ts),
                };
                pending.insert(key, row);
            }
            for (key, (secret, exp, ts)) in pending {
                batch.insert(key, secret_value(&secret, exp, ts));
            }
            self.t.msg_secrets.apply_batch(batch).map_err(db_err)?;
        }
        self.commit().await?;
        Ok(stored)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(s, _)| s))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        match self
            .t
            .msg_secrets
            .get(composite(&[
                chat.as_bytes(),
                sender.as_bytes(),
                msg_id.as_bytes(),
            ]))
            .map_err(db_err)?
        {
            Some(v) => {
                let (secret, _, ts) = parse_secret(&v)?;
                Ok(Some((secret.to_vec(), ts)))
            }
            None => Ok(None),
        }
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let n = {
            let _g = self.rmw_lock();
            let mut batch = wagw_store::Batch::default();
            let mut n = 0u32;
            for item in self.t.msg_secrets.iter() {
                let (k, v) = item.map_err(db_err)?;
                let (_, expires_at, _) = parse_secret(&v)?;
                if expires_at != 0 && expires_at <= cutoff_timestamp {
                    batch.remove(k);
                    n += 1;
                }
            }
            self.t.msg_secrets.apply_batch(batch).map_err(db_err)?;
            n
        };
        if n > 0 {
            self.commit().await?;
        }
        Ok(n)
    }
}

impl AccountStore {
    /// The stored device, read synchronously (for opening a socket).
    pub fn load_device_sync(&self) -> Result<Option<Device>> {
        match self.t.meta.get(DEVICE_KEY).map_err(db_err)? {
            Some(v) => {
                let mut device: Device = from_json(&v)?;
                restore_runtime_fields(&mut device);
                Ok(Some(device))
            }
            None => Ok(None),
        }
    }
}
