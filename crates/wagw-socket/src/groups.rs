//! Group metadata, cached for five minutes per group and invalidated when WhatsApp reports a
//! change to the group (any `GroupUpdate`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use wagw_core::{AddressingMode, GroupMetadata, GroupParticipant, Jid, Sender, SocketError};
use whatsapp_rust::Client;
use whatsapp_rust::features::GroupMetadata as WaGroupMetadata;
use whatsapp_rust::wacore::types::message::AddressingMode as WaAddressingMode;

use crate::ids;

/// How long fetched metadata is served from the cache.
pub const GROUP_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// Group metadata by group JID, with fetch time.
#[derive(Debug, Default)]
pub struct GroupCache {
    entries: Mutex<HashMap<Jid, (Instant, GroupMetadata)>>,
}

impl GroupCache {
    /// The cached metadata if fetched less than [`GROUP_CACHE_TTL`] before `now`.
    pub fn get(&self, group: &Jid, now: Instant) -> Option<GroupMetadata> {
        let g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        g.get(group)
            .filter(|(at, _)| now.saturating_duration_since(*at) < GROUP_CACHE_TTL)
            .map(|(_, m)| m.clone())
    }

    /// Stores metadata fetched at `now`.
    pub fn put(&self, meta: GroupMetadata, now: Instant) {
        let mut g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Drop stale entries on the way so the map tracks only groups in use.
        g.retain(|_, (at, _)| now.saturating_duration_since(*at) < GROUP_CACHE_TTL);
        g.insert(meta.jid.clone(), (now, meta));
    }

    /// Forgets a group (its metadata changed).
    pub fn invalidate(&self, group: &Jid) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(group);
    }
}

/// Converts the library's group metadata.
pub fn convert(m: &WaGroupMetadata) -> Option<GroupMetadata> {
    Some(GroupMetadata {
        jid: ids::from_wa(&m.id)?,
        subject: m.subject.clone(),
        participants: m
            .participants
            .iter()
            .filter_map(|p| {
                let jid = ids::from_wa(&p.jid)?;
                let pn = p.phone_number.as_ref().and_then(ids::from_wa);
                let lid = p.lid.as_ref().and_then(ids::from_wa);
                let sender = ids::sender_of(Some(&jid), pn.as_ref().or(lid.as_ref()))
                    .map(|mut s| {
                        if s.lid.is_none() {
                            s.lid = lid.as_ref().and_then(Jid::to_lid);
                        }
                        s
                    })
                    .unwrap_or(Sender {
                        phone: None,
                        lid: None,
                    });
                Some(GroupParticipant {
                    jid,
                    sender,
                    admin: p.is_admin(),
                })
            })
            .collect(),
        addressing_mode: match m.addressing_mode {
            WaAddressingMode::Lid => AddressingMode::Lid,
            WaAddressingMode::Pn => AddressingMode::Phone,
        },
    })
}

/// Fetches a group's metadata (from the cache when fresh).
pub(crate) async fn metadata(
    client: &Client,
    cache: &GroupCache,
    group: &Jid,
) -> Result<GroupMetadata, SocketError> {
    if !group.is_group() {
        return Err(SocketError::InvalidRequest(format!(
            "{group} is not a group JID"
        )));
    }
    if let Some(m) = cache.get(group, Instant::now()) {
        return Ok(m);
    }
    let wa = ids::to_wa(group)
        .ok_or_else(|| SocketError::InvalidRequest(format!("{group} is not a valid group JID")))?;
    let fetched = client.groups().get_metadata(&wa).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("404") || text.contains("item-not-found") {
            SocketError::NotFound(format!("group {group}"))
        } else {
            SocketError::Other(format!("group metadata for {group}: {text}"))
        }
    })?;
    let meta = convert(&fetched).ok_or_else(|| {
        SocketError::Other(format!("group {group} came back with an unusable id"))
    })?;
    cache.put(meta.clone(), Instant::now());
    Ok(meta)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn meta(id: &str) -> GroupMetadata {
        GroupMetadata {
            jid: Jid::parse(id).unwrap(),
            subject: "s".into(),
            participants: vec![],
            addressing_mode: AddressingMode::Phone,
        }
    }

    #[test]
    fn cache_expires_after_five_minutes_and_on_invalidation() {
        let c = GroupCache::default();
        let t0 = Instant::now();
        let g = Jid::parse("123-456@g.us").unwrap();
        c.put(meta("123-456@g.us"), t0);
        assert!(c.get(&g, t0 + Duration::from_secs(299)).is_some());
        assert!(c.get(&g, t0 + Duration::from_secs(300)).is_none());
        c.invalidate(&g);
        assert!(c.get(&g, t0).is_none());
    }
}
