//! `AppSyncStore`: app-state sync keys, collection versions and mutation MACs.

use whatsapp_rust::store::error::Result;
use whatsapp_rust::store::traits::{AppStateSyncKey, AppSyncStore};
use whatsapp_rust::wacore::appstate::hash::HashState;
use whatsapp_rust::wacore::appstate::processor::AppStateMutationMAC;

use super::keys::composite;
use super::{AccountStore, db_err, from_json, to_json};

const LATEST_SYNC_KEY: &[u8] = b"latest_sync_key_id";

#[async_trait::async_trait]
impl AppSyncStore for AccountStore {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        match self.t.sync_keys.get(key_id).map_err(db_err)? {
            Some(v) => Ok(Some(from_json(&v)?)),
            None => Ok(None),
        }
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        let value = to_json(&key)?;
        {
            let _g = self.rmw_lock();
            self.t.sync_keys.insert(key_id, value).map_err(db_err)?;
            self.t
                .meta
                .insert(LATEST_SYNC_KEY, key_id)
                .map_err(db_err)?;
        }
        self.commit().await
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        match self.t.versions.get(name.as_bytes()).map_err(db_err)? {
            Some(v) => from_json(&v),
            None => Ok(HashState::default()),
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        self.t
            .versions
            .insert(name.as_bytes(), to_json(&state)?)
            .map_err(db_err)?;
        self.commit().await
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        _version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for m in mutations {
            batch.insert(
                composite(&[name.as_bytes(), &m.index_mac]),
                m.value_mac.as_slice(),
            );
        }
        self.t.mutation_macs.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .mutation_macs
            .get(composite(&[name.as_bytes(), index_mac]))
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for im in index_macs {
            batch.remove(composite(&[name.as_bytes(), im]));
        }
        self.t.mutation_macs.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        let mut batch = wagw_store::Batch::default();
        for item in self
            .t
            .mutation_macs
            .scan_prefix(composite(&[name.as_bytes()]))
        {
            let (k, _) = item.map_err(db_err)?;
            batch.remove(k);
        }
        self.t.mutation_macs.apply_batch(batch).map_err(db_err)?;
        self.commit().await
    }

    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .t
            .meta
            .get(LATEST_SYNC_KEY)
            .map_err(db_err)?
            .map(|v| v.to_vec()))
    }
}
