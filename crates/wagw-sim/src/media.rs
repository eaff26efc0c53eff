//! The simulated media servers: blobs kept in memory under a handle (`/sim/m/<n>/<hex>`),
//! with a media key and hashes like the real CDN references, expiry on demand and
//! re-upload by the sender's phone.

use bytes::Bytes;
use sha2::{Digest, Sha256};
use wagw_core::{Media, MediaKind, MediaRef, SocketError, UploadedMedia};

use crate::ids;
use crate::inject::SimMedia;
use crate::state::{MediaBlob, NetState};

impl NetState {
    /// Stores a blob and returns its reference; `key_ts_secs` is when its key was made.
    fn put_blob(&mut self, data: Bytes, kind: MediaKind, key_ts_secs: i64) -> MediaRef {
        let n = self.next_media;
        self.next_media += 1;
        let token = ids::hex(&ids::bytes(&mut self.rng, 8));
        let direct_path = format!("/sim/m/{n}/{token}");
        let media_key = ids::bytes(&mut self.rng, 32);
        let file_sha256 = Sha256::digest(&data).to_vec();
        // The real blob is encrypted; hashing key + data stands in for the ciphertext hash.
        let mut enc = Sha256::new();
        enc.update(&media_key);
        enc.update(&data);
        let reference = MediaRef {
            direct_path: direct_path.clone(),
            url: Some(format!("https://mmg.sim.invalid{direct_path}")),
            media_key: media_key.clone(),
            file_sha256,
            file_enc_sha256: enc.finalize().to_vec(),
            file_length: data.len() as u64,
            media_key_timestamp: Some(key_ts_secs),
        };
        self.media.insert(
            direct_path,
            MediaBlob {
                data,
                kind,
                media_key,
                expired: false,
            },
        );
        reference
    }

    /// Stores a phone's attachment (sent at `now_ms`) and describes it as inbound media.
    pub fn store_media(&mut self, media: &SimMedia, now_ms: i64) -> Media {
        let data = media.effective_data();
        let size = data.len() as u64;
        let reference = self.put_blob(data, media.kind, now_ms.div_euclid(1000));
        Media {
            kind: media.kind.into(),
            mime: Some(media.effective_mime()),
            caption: media.caption.clone(),
            file_name: media.file_name.clone(),
            size: Some(size),
            duration_secs: media.duration_secs,
            width: media.width,
            height: media.height,
            ptt: media.ptt,
            gif_playback: media.gif_playback,
            reference: Some(reference),
        }
    }

    /// An account's upload at `now_ms`.
    pub fn upload(
        &mut self,
        data: Bytes,
        kind: MediaKind,
        now_ms: i64,
    ) -> Result<UploadedMedia, SocketError> {
        if data.is_empty() {
            return Err(SocketError::InvalidRequest(
                "cannot upload an empty blob".into(),
            ));
        }
        Ok(UploadedMedia {
            kind,
            reference: self.put_blob(data, kind, now_ms.div_euclid(1000)),
        })
    }

    /// Looks up a blob the way the CDN + decryption would fail or succeed.
    pub fn download(&self, media: &MediaRef, kind: MediaKind) -> Result<Bytes, SocketError> {
        let blob = self
            .media
            .get(&media.direct_path)
            .ok_or_else(|| SocketError::NotFound(format!("media {}", media.direct_path)))?;
        if blob.expired {
            return Err(SocketError::MediaExpired);
        }
        if blob.kind != kind || blob.media_key != media.media_key {
            // Keys are derived per media kind: a wrong kind or key fails decryption.
            return Err(SocketError::Other(format!(
                "media decryption failed for {} (wrong kind or key)",
                media.direct_path
            )));
        }
        Ok(blob.data.clone())
    }

    /// The sender's phone uploads the blob again under a fresh handle. The key's timestamp
    /// stays the original's, as WhatsApp's does (the message it belongs to is unchanged).
    pub fn reupload(&mut self, media: &MediaRef) -> Result<MediaRef, SocketError> {
        let (data, kind) = {
            let blob = self
                .media
                .get(&media.direct_path)
                .ok_or_else(|| SocketError::NotFound(format!("media {}", media.direct_path)))?;
            (blob.data.clone(), blob.kind)
        };
        let key_ts = media.media_key_timestamp.unwrap_or_default();
        Ok(self.put_blob(data, kind, key_ts))
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::state::SimConfig;

    #[test]
    fn upload_download_expire_reupload() -> Result<(), SocketError> {
        let mut st = NetState::new(SimConfig::default(), rand::rngs::StdRng::seed_from_u64(1));
        let up = st.upload(
            Bytes::from_static(b"abc"),
            MediaKind::Image,
            1_700_000_000_500,
        )?;
        assert_eq!(up.reference.file_length, 3);
        assert_eq!(up.reference.media_key_timestamp, Some(1_700_000_000));
        assert_eq!(up.reference.file_sha256.len(), 32);
        assert_eq!(st.download(&up.reference, MediaKind::Image)?, &b"abc"[..]);
        assert!(matches!(
            st.download(&up.reference, MediaKind::Video),
            Err(SocketError::Other(_))
        ));
        if let Some(b) = st.media.get_mut(&up.reference.direct_path) {
            b.expired = true;
        }
        assert_eq!(
            st.download(&up.reference, MediaKind::Image),
            Err(SocketError::MediaExpired)
        );
        let fresh = st.reupload(&up.reference)?;
        assert_ne!(fresh.direct_path, up.reference.direct_path);
        assert_eq!(fresh.media_key_timestamp, Some(1_700_000_000));
        assert_eq!(st.download(&fresh, MediaKind::Image)?, &b"abc"[..]);
        assert!(st.upload(Bytes::new(), MediaKind::Image, 0).is_err());
        Ok(())
    }
}
