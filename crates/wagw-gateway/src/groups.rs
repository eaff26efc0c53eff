//! Group metadata (subject, members) cached per group for 5 minutes, failures included, so
//! a busy group costs one metadata query per 5 minutes rather than one per message.
//! `GroupUpdate` events invalidate an entry at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use wagw_core::{GroupMetadata, Jid, WaSocket};

/// How long an entry (or a failed lookup) is reused.
pub(crate) const GROUP_METADATA_TTL_MS: i64 = 5 * 60 * 1000;

type Entry = (i64, Option<Arc<GroupMetadata>>);

/// One account's group metadata cache.
#[derive(Debug, Default)]
pub(crate) struct GroupCache {
    entries: Mutex<HashMap<Jid, Entry>>,
}

impl GroupCache {
    /// The metadata of `group`, from the cache when fresh, else fetched through `socket`.
    pub(crate) async fn get(
        &self,
        socket: &dyn WaSocket,
        group: &Jid,
        now_ms: i64,
    ) -> Option<Arc<GroupMetadata>> {
        if let Some((at, cached)) = self
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(group)
            && now_ms - at < GROUP_METADATA_TTL_MS
        {
            return cached.clone();
        }
        let fetched = match socket.group_metadata(group).await {
            Ok(meta) => Some(Arc::new(meta)),
            Err(e) => {
                tracing::debug!(target: "wagw::inbound", %group, error = %e, "group metadata unavailable");
                None
            }
        };
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(group.clone(), (now_ms, fetched.clone()));
        fetched
    }

    /// Forgets `group` (its metadata changed).
    pub(crate) fn invalidate(&self, group: &Jid) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(group);
    }
}
