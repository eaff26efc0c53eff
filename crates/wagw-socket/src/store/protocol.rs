//! `ProtocolStore`: sender-key device status, LID↔phone mappings, base keys, device lists,
//! group metadata, trusted-contact tokens, the sent-message retry store and the
//! pending-inbound buffer behind the durability hook.

use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::{
    DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow, ProtocolStore,
    TcTokenEntry,
};

use super::keys::{composite, split, stamped, unstamp, utf8};
use super::{AccountStore, db_err, from_json, to_json};

fn now_secs() -> i64 {
    whatsapp_rust::wacore::time::now_secs()
}

impl AccountStore {
    fn put_lid_mapping_locked(&self, entry: &LidPnMappingEntry) -> Result<()> {
        // Drop the stale reverse entry when this LID moves to another phone number
        // (the same rule as the library's in-memory reference).
        if let Some(old) = self
            .t
            .lid_mappings
            .get(entry.lid.as_bytes())
            .map_err(db_err)?
        {
            let old: LidPnMappingEntry = from_json(&old)?;
            if old.phone_number != entry.phone_number {
                self.t
                    .pn_to_lid
                    .remove(old.phone_number.as_bytes())
                    .map_err(db_err)?;
            }
        }
        self.t
            .pn_to_lid
            .insert(entry.phone_number.as_bytes(), entry.lid.as_bytes())
            .map_err(db_err)?;
        self.t
            .lid_mappings
            .insert(entry.lid.as_bytes(), to_json(entry)?)
            .map_err(db_err)?;
        Ok(())
    }

    fn get_tc_token_sync(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        match self.t.tc_tokens.get(jid.as_bytes()).map_err(db_err)? {
            Some(v) => Ok(Some(from_json(&v)?)),
            None => Ok(None),
        }
    }

    fn put_tc_token_sync(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        self.t
            .tc_tokens
            .insert(jid.as_bytes(), to_json(entry)?)
            .map_err(db_err)?;
        Ok(())
    }

    /// Removes every entry of `tree` whose stamped timestamp is below `cutoff`.
    fn delete_stamped_before(&self, tree: &wagw_store::Tree, cutoff: i64) -> Result<u32> {
        let mut batch = wagw_store::Batch::default();
        let mut n = 0u32;
        for item in tree.iter() {
            let (k, v) = item.map_err(db_err)?;
            let (ts, _) = unstamp(&v)?;
            if ts < cutoff {
                batch.remove(k);
                n += 1;
            }
        }
        tree.apply_batch(batch).map_err(db_err)?;
        Ok(n)
    }
}

#[async_trait::async_trait]
impl ProtocolStore for AccountStore {
    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        for item in self
            .t
            .sender_key_devices
            .scan_prefix(composite(&[group_jid.as_bytes()]))
        {
            let (k, v) = item.map_err(db_err)?;
            let parts = split(&k)?;
            if let Some(device) = parts.get(1) {
                out.push((utf8(device)?, v.first() == Some(&1)));
            }
        }
        Ok(out)
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for (device, has_key) in entries {
            batch.insert(
                composite(&[group_jid.as_bytes(), device.as_bytes()]),
                &[u8::from(*has_key)][..],
            );
        }
        self.t
            .sender_key_devices
            .apply_batch(batch)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for item in self
            .t
            .sender_key_devices
            .scan_prefix(composite(&[group_jid.as_bytes()]))
        {
            batch.remove(item.map_err(db_err)?.0);
        }
        self.t
            .sender_key_devices
            .apply_batch(batch)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let mut batch = wagw_store::Batch::default();
        for item in self.t.sender_key_devices.iter() {
            let (k, _) = item.map_err(db_err)?;
            let parts = split(&k)?;
            if parts
                .get(1)
                .is_some_and(|d| device_jids.iter().any(|j| j.as_bytes() == *d))
            {
                batch.remove(k);
            }
        }
        self.t
            .sender_key_devices
            .apply_batch(batch)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        self.t.sender_key_devices.clear().map_err(db_err)?;
        self.commit().await
    }

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        match self.t.lid_mappings.get(lid.as_bytes()).map_err(db_err)? {
            Some(v) => Ok(Some(from_json(&v)?)),
            None => Ok(None),
        }
    }

    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let Some(lid) = self.t.pn_to_lid.get(phone.as_bytes()).map_err(db_err)? else {
            return Ok(None);
        };
        match self.t.lid_mappings.get(&lid).map_err(db_err)? {
            Some(v) => Ok(Some(from_json(&v)?)),
            None => Ok(None),
        }
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        {
            let _g = self.rmw_lock();
            self.put_lid_mapping_locked(entry)?;
        }
        self.commit().await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        {
            let _g = self.rmw_lock();
            for entry in entries {
                self.put_lid_mapping_locked(entry)?;
            }
        }
        self.commit().await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let mut out = Vec::new();
        for item in self.t.lid_mappings.iter() {
            out.push(from_json(&item.map_err(db_err)?.1)?);
        }
        Ok(out)
    }

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        self.t
            .base_keys
            .insert(
                composite(&[address.as_bytes(), message_id.as_bytes()]),
                base_key,
            )
            .map_err(db_err)?;
        self.commit().await
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        Ok(self
            .t
            .base_keys
            .get(composite(&[address.as_bytes(), message_id.as_bytes()]))
            .map_err(db_err)?
            .is_some_and(|v| v.as_slice() == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        self.t
            .base_keys
            .remove(composite(&[address.as_bytes(), message_id.as_bytes()]))
            .map_err(db_err)?;
        self.commit().await
    }

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.t
            .device_lists
            .insert(record.user.as_bytes(), to_json(&record)?)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for record in &records {
            batch.insert(record.user.as_bytes(), to_json(record)?);
        }
        self.t.device_lists.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        match self.t.device_lists.get(user.as_bytes()).map_err(db_err)? {
            Some(v) => Ok(Some(from_json(&v)?)),
            None => Ok(None),
        }
    }

    async fn delete_devices(&self, user: &str) -> Result<()> {
        self.t
            .device_lists
            .remove(user.as_bytes())
            .map_err(db_err)?;
        self.commit().await
    }

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .group_metadata
            .get(group_jid.as_bytes())
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        self.t
            .group_metadata
            .insert(group_jid.as_bytes(), blob)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        self.t
            .group_metadata
            .remove(group_jid.as_bytes())
            .map_err(db_err)?;
        self.commit().await
    }

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        self.get_tc_token_sync(jid)
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        {
            let _g = self.rmw_lock();
            self.put_tc_token_sync(jid, entry)?;
        }
        self.commit().await
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        self.t.tc_tokens.remove(jid.as_bytes()).map_err(db_err)?;
        self.commit().await
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for item in self.t.tc_tokens.iter() {
            out.push(utf8(&item.map_err(db_err)?.0)?);
        }
        Ok(out)
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        let n = {
            let _g = self.rmw_lock();
            let mut batch = wagw_store::Batch::default();
            let mut n = 0u32;
            for item in self.t.tc_tokens.iter() {
                let (k, v) = item.map_err(db_err)?;
                let entry: TcTokenEntry = from_json(&v)?;
                let token_live = !entry.token.is_empty() && entry.token_timestamp >= token_cutoff;
                let sender_live = entry.sender_timestamp.is_some_and(|ts| ts >= sender_cutoff);
                if !(token_live || sender_live) {
                    batch.remove(k);
                    n += 1;
                }
            }
            self.t.tc_tokens.apply_batch(batch).map_err(db_err)?;
            n
        };
        self.commit().await?;
        Ok(n)
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        {
            let _g = self.rmw_lock();
            let entry = match self.get_tc_token_sync(jid)? {
                Some(existing) => TcTokenEntry {
                    sender_timestamp: Some(
                        existing
                            .sender_timestamp
                            .map_or(sender_timestamp, |e| e.max(sender_timestamp)),
                    ),
                    ..existing
                },
                None => TcTokenEntry {
                    token: Vec::new(),
                    token_timestamp: sender_timestamp,
                    sender_timestamp: Some(sender_timestamp),
                },
            };
            self.put_tc_token_sync(jid, &entry)?;
        }
        self.commit().await
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        {
            let _g = self.rmw_lock();
            let existing = self.get_tc_token_sync(jid)?;
            // Newer wins; a byte-less placeholder never blocks the first real token.
            let stale = existing
                .as_ref()
                .is_some_and(|e| !e.token.is_empty() && token_timestamp < e.token_timestamp);
            if !stale {
                let entry = TcTokenEntry {
                    token: token.to_vec(),
                    token_timestamp,
                    sender_timestamp: existing.and_then(|e| e.sender_timestamp),
                };
                self.put_tc_token_sync(jid, &entry)?;
            }
        }
        self.commit().await
    }

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        // No count cap here (the in-memory reference caps at 4096 to bound RAM); this
        // store is on disk and the client's keepalive sweep prunes by age.
        self.t
            .sent_messages
            .insert(
                composite(&[chat_jid.as_bytes(), message_id.as_bytes()]),
                stamped(now_secs(), payload),
            )
            .map_err(db_err)?;
        self.commit().await
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let taken = self
            .t
            .sent_messages
            .remove(composite(&[chat_jid.as_bytes(), message_id.as_bytes()]))
            .map_err(db_err)?;
        let Some(v) = taken else { return Ok(None) };
        self.commit().await?;
        Ok(Some(unstamp(&v)?.1.to_vec()))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let n = self.delete_stamped_before(&self.t.sent_messages, cutoff_timestamp)?;
        self.commit().await?;
        Ok(n)
    }

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.t
            .pending_inbound
            .insert(
                composite(&[chat.as_bytes(), sender.as_bytes(), id.as_bytes()]),
                stamped(now_secs(), message),
            )
            .map_err(db_err)?;
        self.commit().await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        match self
            .t
            .pending_inbound
            .get(composite(&[
                chat.as_bytes(),
                sender.as_bytes(),
                id.as_bytes(),
            ]))
            .map_err(db_err)?
        {
            Some(v) => Ok(Some(unstamp(&v)?.1.to_vec())),
            None => Ok(None),
        }
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        self.t
            .pending_inbound
            .remove(composite(&[
                chat.as_bytes(),
                sender.as_bytes(),
                id.as_bytes(),
            ]))
            .map_err(db_err)?;
        self.commit().await
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let n = self.delete_stamped_before(&self.t.pending_inbound, cutoff_timestamp)?;
        if n > 0 {
            self.commit().await?;
        }
        Ok(n)
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        let now = now_secs();
        let mut batch = wagw_store::Batch::default();
        for r in rows {
            batch.insert(
                composite(&[r.chat.as_bytes(), r.sender.as_bytes(), r.id.as_bytes()]),
                stamped(now, r.message),
            );
        }
        self.t.pending_inbound.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for k in keys {
            batch.remove(composite(&[
                k.chat.as_bytes(),
                k.sender.as_bytes(),
                k.id.as_bytes(),
            ]));
        }
        self.t.pending_inbound.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }
}
